"""Save screenshots of the running app (for the README) into docs/.

Usage: python -m scripts.screenshots
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from harness.server import CHROME_ARGS, CHROMIUM, FRESH_OFFLINE, free_port, start_streamlit, wait_healthy  # noqa: E402


def main() -> None:
    from playwright.sync_api import sync_playwright

    out = ROOT / "docs"
    out.mkdir(exist_ok=True)
    port = free_port()
    proc = start_streamlit(ROOT / "app.py", port, FRESH_OFFLINE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(port)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1250})
            page.set_default_timeout(120_000)
            page.goto(url + "/?noise=gaussian&amount=0.5&model=blind&digit=any")
            page.get_by_text("Denoised by blind").first.wait_for()
            page.get_by_text("Compare with classical filters").wait_for()
            page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]',
                         has_text="Compare with classical filters").click()
            page.get_by_role("option", name="median").click()
            page.keyboard.press("Escape")
            page.get_by_text("Filter: median").first.wait_for()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out / "screenshot-denoise.png"))
            print("saved docs/screenshot-denoise.png")

            page.set_viewport_size({"width": 1500, "height": 1900})
            page.goto(url + "/train")
            # The form's defaults: the tutorial's dense model, 10 epochs, batch 32.
            page.get_by_role("button", name="Start training").click()
            page.get_by_text("run 1 finished").wait_for(timeout=300_000)
            page.get_by_text("Validation loss of every run").wait_for()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out / "screenshot-train.png"))
            print("saved docs/screenshot-train.png")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
