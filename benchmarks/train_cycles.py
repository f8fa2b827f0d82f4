"""Start and stop trainings in the real app, and close tabs mid-training; watch the server.

Usage: python -m benchmarks.train_cycles [--cycles 10]

Each cycle starts a training in a browser session and either presses Stop or closes the tab.
After each cycle the server's RSS and thread count are read from /proc. A leak shows as threads
that never go away or RSS that keeps growing. Prints a JSON report; exits 1 on a thread leak.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from harness.machine import describe_machine  # noqa: E402
from harness.server import CHROME_ARGS, CHROMIUM, FRESH_OFFLINE, free_port, start_streamlit, wait_healthy  # noqa: E402
from harness.timing import proc_status  # noqa: E402


def settle(pid: int, threads_at_most: int, timeout: float = 30) -> dict[str, float]:
    """Wait until the server is back to at most ``threads_at_most`` threads (or time out)."""
    start = time.time()
    status = proc_status(pid)
    while status["threads"] > threads_at_most and time.time() < start + timeout:
        time.sleep(0.5)
        status = proc_status(pid)
    return {**status, "settled_after_s": round(time.time() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    proc = start_streamlit(ROOT / "app.py", port, FRESH_OFFLINE)
    url = f"http://127.0.0.1:{port}/train"
    report = {"machine": describe_machine(), "cycles": []}
    try:
        wait_healthy(port)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
            warm = browser.new_page()
            warm.goto(url)
            warm.get_by_role("button", name="Start training").wait_for(timeout=120_000)
            warm.close()
            time.sleep(2)
            baseline = proc_status(proc.pid)
            report["before"] = baseline
            for i in range(args.cycles):
                how = "stop" if i % 2 == 0 else "close tab"
                page = browser.new_page()
                page.set_default_timeout(120_000)
                page.goto(url)
                epochs = page.get_by_role("slider", name="Epochs")
                epochs.focus()
                epochs.press("End")  # 50 epochs: it is still training when we stop
                page.get_by_role("button", name="Start training").click()
                page.get_by_text(re.compile(r"epoch \d+/50|run 1 finished")).first.wait_for()
                if how == "stop" and page.get_by_role("button", name="Stop").count():
                    page.get_by_role("button", name="Stop").click()
                    page.get_by_text(re.compile(r"run 1 (stopped|finished)")).wait_for()
                page.close()
                status = settle(proc.pid, report["cycles"][0]["threads"] if report["cycles"]
                                else baseline["threads"])
                report["cycles"].append({"cycle": i + 1, "how": how, **status})
                print(report["cycles"][-1], file=sys.stderr, flush=True)
            browser.close()
        report["after"] = proc_status(proc.pid)
    finally:
        proc.kill()
        proc.wait(10)
    rss = [c["rss_mb"] for c in report["cycles"]]
    report["rss_growth_first_to_last_mb"] = round(rss[-1] - rss[0], 1)
    # A leak is threads that never go away: after the last cycle the server must be back to
    # the count it had after the first (idle worker threads of the web server come and go).
    threads = [c["threads"] for c in report["cycles"]]
    report["threads_first_max_last"] = [threads[0], max(threads), threads[-1]]
    report["thread_leak"] = threads[-1] > threads[0]
    print(json.dumps(report, indent=2))
    sys.exit(1 if report["thread_leak"] else 0)


if __name__ == "__main__":
    main()
