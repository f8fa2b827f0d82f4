"""Measure the app against a bare Streamlit page in real Chromium, in the same run.

Usage: python -m benchmarks.bench_app [--rounds 15] [--starts 5]

- cold start: process start → first useful render (the app: noisy, denoised and clean
  digits on screen and loaded; the bare page: its image), median of --starts fresh processes;
- slider round trip: a key press on the noise slider → every image replaced and loaded,
  median of --rounds.
Prints a JSON report with medians in ms and the app/bare ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from harness.machine import describe_machine  # noqa: E402
from harness.server import CHROME_ARGS, CHROMIUM, FRESH_OFFLINE, free_port, start_streamlit  # noqa: E402

# "changing": images a slider move must replace (the app: its one result-grid picture,
# holding 8 noisy, 8 denoised and 8 clean digits; the bare page: its one image).
APP = {"script": ROOT / "app.py", "ready": "Denoised by", "changing": 1}
BARE = {"script": ROOT / "benchmarks" / "bare_app.py", "ready": "Clean", "changing": 1}
IMAGES = '[data-testid="stImage"] img'


def wait_ready(page, target: dict, deadline: float) -> None:
    """Wait for the first useful render of a page that has loaded (no reloads: a reload would
    restart the very session being timed)."""
    timeout_ms = max(1, (deadline - time.time()) * 1000)
    page.get_by_text(target["ready"]).first.wait_for(timeout=timeout_ms)
    loaded = f"""() => {{ const els = Array.from(document.querySelectorAll('{IMAGES}'));
                          return els.length > 0 && els.every(e => e.complete && e.naturalWidth > 0); }}"""
    page.wait_for_function(loaded, timeout=timeout_ms)


def cold_start(browser, target: dict) -> float:
    port = free_port()
    start = time.perf_counter()
    proc = start_streamlit(target["script"], port, FRESH_OFFLINE)
    try:
        page = browser.new_page()
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/", timeout=1000)
                break
            except Exception:  # noqa: BLE001 - server not listening yet
                time.sleep(0.05)
        wait_ready(page, target, time.time() + 120)
        elapsed = time.perf_counter() - start
        page.close()
        return elapsed * 1000
    finally:
        proc.terminate()
        proc.wait(10)


def slider_round_trips(browser, target: dict, rounds: int) -> list[float]:
    port = free_port()
    proc = start_streamlit(target["script"], port, FRESH_OFFLINE)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/", timeout=1000)
                break
            except Exception:  # noqa: BLE001
                time.sleep(0.1)
        wait_ready(page, target, time.time() + 120)
        thumb = page.get_by_role("slider", name="Amount")  # both pages label it so
        thumb.focus()
        times = []
        for i in range(rounds + 2):  # the first two warm caches up and are not counted
            before = page.eval_on_selector_all(IMAGES, "els => els.map(e => e.src)")
            key = "ArrowLeft" if (i // 3) % 2 == 0 else "ArrowRight"
            start = time.perf_counter()
            thumb.press(key)
            page.wait_for_function(
                """([sel, before, n]) => {
                     const els = Array.from(document.querySelectorAll(sel));
                     const now = els.map(e => e.src);
                     return now.length === before.length
                            && now.filter((s, k) => s !== before[k]).length >= n
                            && els.every(e => e.complete && e.naturalWidth > 0);
                   }""",
                arg=[IMAGES, before, target["changing"]], polling="raf")
            if i >= 2:
                times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    report = {"machine": describe_machine(), "chromium": CHROMIUM}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        for name, target in (("bare", BARE), ("app", APP)):
            starts = [cold_start(browser, target) for _ in range(args.starts)]
            trips = slider_round_trips(browser, target, args.rounds)
            report[name] = {"cold_start_ms": round(statistics.median(starts)),
                            "cold_starts_ms": [round(s) for s in starts],
                            "slider_ms": round(statistics.median(trips), 1),
                            "slider_p95_ms": round(sorted(trips)[int(0.95 * (len(trips) - 1))], 1)}
            print(name, report[name], file=sys.stderr, flush=True)
        browser.close()
    report["ratio_cold_start"] = round(report["app"]["cold_start_ms"] / report["bare"]["cold_start_ms"], 2)
    report["ratio_slider"] = round(report["app"]["slider_ms"] / report["bare"]["slider_ms"], 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
