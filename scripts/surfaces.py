"""Screenshots of the app on each surface a class uses, first screen only (what a person sees
before scrolling): a projector at 1024×768, a laptop at 1366×768, a tablet at 820×1180 and a
phone at 390×844 (both with touch). Saved into docs/surfaces/.

Usage: python -m scripts.surfaces   (about a minute; starts its own server)
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from harness.server import app_in_chromium  # noqa: E402
from harness.touch import finger_stroke  # noqa: E402
from scripts.class_demo import settle  # noqa: E402

OUT = ROOT / "docs" / "surfaces"
#: name: viewport, touch, what to open, what to wait for
SURFACES = {
    "projector": ({"width": 1024, "height": 768}, False, "/?projector=1&models=conv,dense-best",
                  "Denoised by dense-best"),
    "laptop": ({"width": 1366, "height": 768}, False, "/", "Denoised by"),
    "tablet": ({"width": 820, "height": 1180}, True, "/", "Denoised by"),
    "phone": ({"width": 390, "height": 844}, True, "/", "Denoised by"),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with app_in_chromium() as (browser, url):
        for name, (viewport, touch, link, ready) in SURFACES.items():
            context = browser.new_context(viewport=viewport, has_touch=touch, is_mobile=touch)
            page = context.new_page()
            page.set_default_timeout(120_000)
            page.goto(url + link)
            page.get_by_text(ready).first.wait_for()
            settle(page)
            page.screenshot(path=str(OUT / f"{name}-denoise.png"))
            if touch:  # drawing with a finger
                page.get_by_test_id("stRadioGroup").get_by_text("Draw", exact=True).click()
                canvas = page.locator("canvas").last
                canvas.wait_for()
                canvas.scroll_into_view_if_needed()
                box = canvas.bounding_box()
                finger_stroke(page, [(box["x"] + box["width"] * (0.35 + 0.3 * t),
                                      box["y"] + box["height"] * (0.2 + 0.6 * t))
                                     for t in (0, 0.25, 0.5, 0.75, 1)])
                page.get_by_text("What the model receives").first.wait_for()
                settle(page)
                page.screenshot(path=str(OUT / f"{name}-draw.png"))
            else:
                page.goto(url + "/train")
                page.get_by_role("button", name="Start training").wait_for()
                settle(page)
                page.screenshot(path=str(OUT / f"{name}-train.png"))
            context.close()
            print(f"saved docs/surfaces/{name}-*.png")


if __name__ == "__main__":
    main()
