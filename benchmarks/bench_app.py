"""Measure the app against a bare Streamlit page in real Chromium, in the same run.

Usage: python -m benchmarks.bench_app [--runs 3] [--rounds 15] [--starts 3] [--rest-ms 500]

- cold start: process start → first useful render (the app: noisy, denoised and clean
  digits on screen and loaded; the bare page: its image), --starts fresh processes per run;
- slider round trip: a key press on the noise slider → every image replaced and loaded, timed
  by the page's own clock from the key's arrival to the last image's load event (no polling:
  polling on animation frames rounded each trip up to a frame), --rounds per run after
  --rest-ms of rest each (a person looks at the result before moving again), then --rounds back
  to back. Back to back flatters the app: a key that arrives while the page is still settling
  the last update waits, and on the bare page that wait is most of the trip (both are reported:
  ``benchmarks/results/bench_app-*.json``).
The bare page and the app alternate, run after run (each a fresh server), so a slow spell of the
machine falls on both. Prints a JSON report: medians in ms over all runs, the app/bare ratios of
those medians, and each run's own ratios (their spread shows how far one run can be trusted).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from benchmarks.timing import CHANGED, IMAGES  # noqa: E402
from denoiser.models.quantize import precision  # noqa: E402
from harness.machine import describe_machine  # noqa: E402
from harness.server import CHROME_ARGS, CHROMIUM, FRESH_OFFLINE, free_port, start_streamlit  # noqa: E402

# A slider move replaces one picture on each page (the app: its result grid, holding 8 noisy,
# 8 denoised and 8 clean digits; the bare page: its one image).
APP = {"script": ROOT / "app.py", "ready": "Denoised by"}
BARE = {"script": ROOT / "benchmarks" / "bare_app.py", "ready": "Clean"}
# Before a key press: watch for the images to change, and note when the key arrives.
WATCH = f"""args => {{
  window.__changed = ({CHANGED})(args);
  window.__pressed = null;
  document.addEventListener("keydown", () => {{ window.__pressed = performance.now(); }},
                            {{capture: true, once: true}});
}}"""


def wait_ready(page, target: dict, deadline: float) -> None:
    """Wait for the first useful render of a page that has loaded (no reloads: a reload would
    restart the very session being timed)."""
    timeout_ms = max(1, (deadline - time.time()) * 1000)
    page.get_by_text(target["ready"]).first.wait_for(timeout=timeout_ms)
    loaded = f"""() => {{ const els = Array.from(document.querySelectorAll('{IMAGES}'));
                          return els.length > 0 && els.every(e => e.complete && e.naturalWidth > 0); }}"""
    page.wait_for_function(loaded, timeout=timeout_ms)


def goto_when_listening(page, port: int) -> None:
    """Open the server's page, retrying every 50 ms until the server listens."""
    while True:
        try:
            page.goto(f"http://127.0.0.1:{port}/", timeout=1000)
            return
        except Exception:  # noqa: BLE001 - server not listening yet
            time.sleep(0.05)


def cold_start(browser, target: dict) -> float:
    port = free_port()
    start = time.perf_counter()
    proc = start_streamlit(target["script"], port, FRESH_OFFLINE)
    try:
        page = browser.new_page()
        goto_when_listening(page, port)
        wait_ready(page, target, time.time() + 120)
        elapsed = time.perf_counter() - start
        page.close()
        return elapsed * 1000
    finally:
        proc.terminate()
        proc.wait(10)


def open_slider_page(browser, target: dict, port: int):
    """A new page on the server at ``port`` once it shows its first useful render, and its noise
    slider, focused (both pages label it "Amount")."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    goto_when_listening(page, port)
    wait_ready(page, target, time.time() + 120)
    thumb = page.get_by_role("slider", name="Amount")
    thumb.focus()
    return page, thumb


def slider_trip(page, thumb, key: str) -> float:
    """Press ``key`` on the focused slider ``thumb``; ms from the key's arrival to the last new
    picture's load event, by the page's own clock."""
    before = page.eval_on_selector_all(IMAGES, "els => els.map(e => e.src)")
    page.evaluate(WATCH, [IMAGES, before])
    thumb.press(key)
    loaded = page.evaluate("() => window.__changed")  # waits for the promise
    return loaded - page.evaluate("() => window.__pressed")


def slider_round_trips(browser, target: dict, rounds: int, rest_s: float) -> tuple[list[float], list[float]]:
    """Trips after a rest each, then trips back to back (ms, the page's clock)."""
    port = free_port()
    proc = start_streamlit(target["script"], port, FRESH_OFFLINE)
    try:
        page, thumb = open_slider_page(browser, target, port)
        rested, back_to_back = [], []
        for i in range(2 * rounds + 2):  # the first two warm caches up and are not counted
            if 2 <= i < rounds + 2:
                time.sleep(rest_s)
            trip = slider_trip(page, thumb, "ArrowLeft" if (i // 3) % 2 == 0 else "ArrowRight")
            if i >= 2:
                (rested if i < rounds + 2 else back_to_back).append(trip)
        return rested, back_to_back
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--rest-ms", type=float, default=500, help="rest before each timed trip")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    starts: dict[str, list[float]] = {"bare": [], "app": []}
    trips: dict[str, list[float]] = {"bare": [], "app": []}
    rapid: dict[str, list[float]] = {"bare": [], "app": []}
    per_run = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        for run in range(args.runs):
            this = {}
            for name, target in (("bare", BARE), ("app", APP)):
                run_starts = [cold_start(browser, target) for _ in range(args.starts)]
                run_trips, run_rapid = slider_round_trips(browser, target, args.rounds, args.rest_ms / 1000)
                starts[name] += run_starts
                trips[name] += run_trips
                rapid[name] += run_rapid
                this[name] = (statistics.median(run_starts), statistics.median(run_trips),
                              statistics.median(run_rapid))
            per_run.append({"ratio_cold_start": round(this["app"][0] / this["bare"][0], 2),
                            "ratio_slider": round(this["app"][1] / this["bare"][1], 2),
                            "ratio_slider_back_to_back": round(this["app"][2] / this["bare"][2], 2)})
            print(f"run {run + 1}", this, per_run[-1], file=sys.stderr, flush=True)
        browser.close()
    report = {"machine": describe_machine(), "chromium": CHROMIUM, "runs": args.runs, "rest_ms": args.rest_ms,
              "precision": precision()}
    for name in ("bare", "app"):
        report[name] = {"cold_start_ms": round(statistics.median(starts[name])),
                        "cold_starts_ms": [round(s) for s in starts[name]],
                        "slider_ms": round(statistics.median(trips[name]), 1),
                        "slider_p95_ms": round(sorted(trips[name])[int(0.95 * (len(trips[name]) - 1))], 1),
                        "slider_back_to_back_ms": round(statistics.median(rapid[name]), 1)}
    report["ratio_cold_start"] = round(report["app"]["cold_start_ms"] / report["bare"]["cold_start_ms"], 2)
    report["ratio_slider"] = round(report["app"]["slider_ms"] / report["bare"]["slider_ms"], 2)
    report["ratio_slider_back_to_back"] = round(report["app"]["slider_back_to_back_ms"]
                                                / report["bare"]["slider_back_to_back_ms"], 2)
    report["per_run"] = per_run
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
