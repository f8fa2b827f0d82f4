"""Save screenshots of the running app (for the README) into docs/.

Usage: python -m scripts.screenshots
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from harness.server import app_in_chromium  # noqa: E402


def main() -> None:
    out = ROOT / "docs"
    out.mkdir(exist_ok=True)
    with app_in_chromium() as (browser, url):
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
        page.get_by_text("run 1 finished").first.wait_for(timeout=300_000)
        page.get_by_text("Validation loss of every run").wait_for()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "screenshot-train.png"))
        print("saved docs/screenshot-train.png")


if __name__ == "__main__":
    main()
