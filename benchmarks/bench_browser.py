"""Where a slider move's CPU goes in Chromium: the app against a bare page, and against the bare
page with each Streamlit feature the app uses.

Usage: python -m benchmarks.bench_browser [--runs 3] [--moves 30] [--pause-ms 300]

One Chromium page at a time (a fresh server each), after two untimed moves: ``--moves`` slider
moves, each followed by ``--pause-ms`` of rest, with the CPU time of every Chromium process
(grouped: the renderer that runs the page's JavaScript and layout, the browser process, the GPU
process that composites, the rest) and of the server read from /proc before and after. The
same pages' CPU at rest (3 s before the moves) is taken off, so a figure is what a move costs.
Pages: ``app`` (the Denoise page), ``bare`` (benchmarks/bare_app.py: one slider, one image),
``bare+link`` (it also writes the slider's value into the address bar with ``st.query_params``,
as the app's shareable link does), ``bare+nav`` (under a four-page top navigation bar, as the
app is), ``bare+controls`` (the Denoise page's six controls and a line of means, in its two
fragments), ``bare+all`` (all of these and the app's sidebar: the app's page without the
server's work for a move, the floor for any page with its controls). The pages alternate run
after run, so a slow spell of the machine falls on all of them.
Prints a JSON report of medians over the runs (ms of CPU per move; the trip's page-clock latency).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from harness.machine import describe_machine  # noqa: E402
from harness.server import CHROME_ARGS, CHROMIUM, FRESH_OFFLINE, free_port, start_streamlit  # noqa: E402
from harness.slider_page import APP, BARE, open_slider_page, slider_trip  # noqa: E402
from harness.timing import server_cpu_seconds  # noqa: E402

PAGES = {"app": (APP, {}), "bare": (BARE, {}), "bare+link": (BARE, {"BARE_PAGE_WITH": "link"}),
         "bare+nav": (BARE, {"BARE_PAGE_WITH": "nav"}),
         "bare+controls": (BARE, {"BARE_PAGE_WITH": "controls"}),
         "bare+all": (BARE, {"BARE_PAGE_WITH": "controls,sidebar,nav,link"})}
GROUPS = ("renderer", "browser", "gpu-process")
REST_S = 3.0


def chromium_cpu() -> dict[str, float]:
    """CPU seconds of every running Chromium process, summed by kind (``--type=``; none: browser)."""
    tick, out = os.sysconf("SC_CLK_TCK"), dict.fromkeys((*GROUPS, "other"), 0.0)
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or b"chromium" not in (cmd := (proc / "cmdline").read_bytes()):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        kind = re.search(rb"--type=([a-z-]+)", cmd)
        kind = kind.group(1).decode() if kind else "browser"
        out[kind if kind in GROUPS else "other"] += (int(fields[11]) + int(fields[12])) / tick
    return out


def measure(browser, name: str, moves: int, pause_s: float) -> dict:
    target, env = PAGES[name]
    port = free_port()
    proc = start_streamlit(target["script"], port, {**FRESH_OFFLINE, **env})
    try:
        page, thumb = open_slider_page(browser, target, port)

        def snapshot() -> dict[str, float]:  # CPU seconds so far, Chromium's by kind and the server's
            return {**chromium_cpu(), "server": server_cpu_seconds(port)}

        for key in ("ArrowLeft", "ArrowRight"):  # warm-up, untimed
            slider_trip(page, thumb, key)
        rest_start, at_rest = time.perf_counter(), snapshot()
        time.sleep(REST_S)
        rest_s = time.perf_counter() - rest_start
        rest = {k: (v - at_rest[k]) / rest_s for k, v in snapshot().items()}
        start, before = time.perf_counter(), snapshot()
        trips = []
        for i in range(moves):
            trips.append(slider_trip(page, thumb, "ArrowLeft" if (i // 3) % 2 == 0 else "ArrowRight"))
            time.sleep(pause_s)
        elapsed = time.perf_counter() - start
        used = {k: v - before[k] for k, v in snapshot().items()}
        page.close()
    finally:
        proc.terminate()
        proc.wait(10)
    per_move = {k: 1000 * max(0.0, used[k] - rest[k] * elapsed) / moves for k in used}
    per_move["browsers_total"] = sum(per_move[k] for k in (*GROUPS, "other"))
    return {"cpu_ms_per_move": per_move, "slider_ms": statistics.median(trips)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--moves", type=int, default=30)
    parser.add_argument("--pause-ms", type=float, default=300)
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=list(PAGES))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    runs: dict[str, list[dict]] = {name: [] for name in args.pages}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        for run in range(args.runs):
            order = args.pages[run % len(args.pages):] + args.pages[:run % len(args.pages)]
            for name in order:
                runs[name].append(measure(browser, name, args.moves, args.pause_ms / 1000))
                print(f"run {run + 1} {name}: {json.dumps(runs[name][-1])}", file=sys.stderr, flush=True)
        browser.close()
    report = {"machine": describe_machine(), "chromium": CHROMIUM, "runs": args.runs,
              "moves": args.moves, "pause_ms": args.pause_ms, "pages": {}}
    for name, results in runs.items():
        keys = results[0]["cpu_ms_per_move"]
        report["pages"][name] = {
            "cpu_ms_per_move": {k: round(statistics.median(r["cpu_ms_per_move"][k] for r in results), 1)
                                for k in keys},
            "slider_ms": round(statistics.median(r["slider_ms"] for r in results), 1)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
