"""What a student sees after *Start training*, in Chromium: the time to the curve's first point.

Usage: python -m benchmarks.bench_start_browser [--runs 3] [--think 15] [--onednn-isa AVX2] [--save FILE]

Two servers (the fresh offline machine's settings), one with the spare training process turned
off (``DENOISER_SPARE_TRAINER=0``: every run starts its own process and imports TensorFlow) and
one as shipped (the spare waits with TensorFlow imported and primes the model the form shows,
``denoiser.training.primed``). Each run is a new student: a new page on ``/train``, ``--think``
seconds reading the form, *Start training* with the form's defaults, then the time from the click
until the live panel draws its loss chart (the first epoch's point) and until the progress bar
first moves; then Stop. Both are read on the page's own clock (a click listener and a
MutationObserver in the page), so they are what the page shows, without the time Playwright
takes to notice it. The servers alternate run after run, so a slow spell of the machine falls
on both. ``benchmarks.bench_first_point`` measures the same start without the page.

``--onednn-isa AVX2`` holds oneDNN to that instruction set in both servers and their training
processes, as in ``benchmarks.bench_first_point`` (a stand-in, saved as ``-avx2cap.json``).

Chromium runs on the server's machine here, so its drawing of the page takes CPU from the training
(which runs at the lowest priority); in a class each browser runs on its own device.
"""

from __future__ import annotations

import argparse
import contextlib
import re

from harness.machine import held_to_isa
from harness.server import CHROME_ARGS, CHROMIUM, FRESH_OFFLINE, free_port, start_streamlit, wait_healthy
from harness.timing import publish, spread

ROOT_APP = "app.py"
CHART = '.st-key-live_panel [data-testid="stVegaLiteChart"]'  # the run's loss chart (not the runs')
#: Installed in the page before the click: the page's clock at the click, at the first "· batch"
#: of the progress bar's text, and when the loss chart is first in the page.
WATCH = """(chart) => {
  const seen = window.__seen = {};
  const mark = (what) => { if (!(what in seen)) seen[what] = performance.now(); };
  document.addEventListener('click', () => mark('click'), true);
  new MutationObserver(() => {
    if (document.body.innerText.includes('· batch')) mark('moved');
    if (document.querySelector(chart)) mark('point');
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def one_start(browser, url: str, think: float) -> tuple[float, float]:
    """ms from the click to the progress bar's first move and to the loss chart."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(url + "/train")
        start = page.get_by_role("button", name="Start training", exact=True)
        start.wait_for()
        page.wait_for_timeout(think * 1000)
        assert page.locator(CHART).count() == 0, "a chart before the run: not a new session"
        page.evaluate(WATCH, CHART)
        start.click()
        page.get_by_text("· batch").first.wait_for()  # "epoch 1/10 · batch 3/113 …"
        page.locator(CHART).first.wait_for()
        seen = page.evaluate("window.__seen")
        with contextlib.suppress(Exception):  # a run that ended already has no Stop
            page.get_by_role("button", name="Stop", exact=True).first.click(timeout=2000)
        page.get_by_text(re.compile(r" (stopped|finished)\b")).first.wait_for()  # its model is kept
        page.wait_for_timeout(3000)  # the next spare starts
        return seen["moved"] - seen["click"], seen["point"] - seen["click"]
    finally:
        context.close()


def main() -> None:
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--think", type=float, default=15.0)
    parser.add_argument("--onednn-isa", help="hold oneDNN to this instruction set, e.g. AVX2")
    parser.add_argument("--save")
    args = parser.parse_args()
    app = Path(__file__).resolve().parents[1] / ROOT_APP
    machine, held = held_to_isa(args.onednn_isa)  # the servers' training processes inherit it
    servers, urls = [], {}
    try:
        for mode, spare in (("no_spare", "0"), ("spare_primed", "1")):
            port = free_port()
            env = {**FRESH_OFFLINE, **held, "DENOISER_SPARE_TRAINER": spare}
            servers.append(start_streamlit(app, port, env))
            wait_healthy(port)
            urls[mode] = f"http://127.0.0.1:{port}"
        times = {mode: ([], []) for mode in urls}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
            for _ in range(args.runs):
                for mode, url in urls.items():
                    for kept, value in zip(times[mode], one_start(browser, url, args.think)):
                        kept.append(value)
            browser.close()
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(10)
    report = {"machine": machine, "runs": args.runs, "think_s": args.think,
              "run": "the Train form's defaults (dense, 10 epochs, 4,000 sample digits, batch 32), "
                     "a 1366×768 Chromium page",
              **{mode: {"progress_bar_moves": spread(m), "first_curve_point": spread(c)}
                 for mode, (m, c) in times.items()}}
    publish(report, args.save)


if __name__ == "__main__":
    main()
