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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from denoiser.models.quantize import precision  # noqa: E402
from harness.machine import describe_machine  # noqa: E402
from harness.server import CHROME_ARGS, CHROMIUM  # noqa: E402
from harness.slider_page import APP, BARE, cold_start, slider_round_trips  # noqa: E402


# A slider move replaces one picture on each page (the app: its result grid, holding 8 noisy,
# 8 denoised and 8 clean digits; the bare page: its one image).
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
