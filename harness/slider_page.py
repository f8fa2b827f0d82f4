"""A page with the noise slider in Chromium, timed: its cold start, and a move's round trip
from the key press until the new picture has loaded. ``benchmarks/bench_app.py`` and
``benchmarks/bench_browser.py`` measure with it.
"""

from __future__ import annotations

import time
from pathlib import Path

from harness.server import FRESH_OFFLINE, free_port, start_streamlit
from harness.timing import CHANGED, IMAGES

ROOT = Path(__file__).resolve().parents[1]

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
