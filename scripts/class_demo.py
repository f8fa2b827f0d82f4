"""A scripted class demo: the app at 1024×768 in Chromium, as a teacher shows it on a projector,
through every guided experiment of the Learn view; screenshots go to docs/demo/.

Usage: python -m scripts.class_demo            (about a minute; starts its own server)
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from harness.server import app_in_chromium  # noqa: E402

OUT = ROOT / "docs" / "demo"
SIZE = {"width": 1024, "height": 768}


def settle(page) -> None:
    """Wait until the app has finished its run and every picture on the page has loaded."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('[data-testid=\"stImage\"] img'))"
        ".every(e => e.complete && e.naturalWidth > 0)")
    page.wait_for_timeout(800)


def shot(page, name: str, full: bool = True) -> None:
    """Save what is on screen; ``full``: the whole page, as tall as it is, still 1024 px wide
    (Streamlit scrolls inside the page, so a browser's full-page capture would stop at 768 px)."""
    settle(page)
    if full:
        height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        page.set_viewport_size({"width": SIZE["width"], "height": max(SIZE["height"], int(height))})
        settle(page)
    page.screenshot(path=str(OUT / name))
    page.set_viewport_size(SIZE)
    print(f"saved docs/demo/{name}")


def main() -> None:
    from ui.learn import LESSONS

    OUT.mkdir(parents=True, exist_ok=True)
    with app_in_chromium() as (browser, url):
        page = browser.new_page(viewport=SIZE)
        page.set_default_timeout(120_000)
        # The teacher opens the projector view with three models side by side.
        page.goto(url + "/?projector=1&model=blind&models=conv,seed-dense&amount=0.6")
        page.get_by_text("Denoised by seed-dense").first.wait_for()
        shot(page, "00-projector-three-models.png", full=False)
        # Then walks the class through every lesson, in the same session.
        page.get_by_role("link", name="Learn").click()
        for number, (key, title) in enumerate(LESSONS.items(), start=1):
            page.get_by_text(f"{number}. {title}", exact=True).click()
            page.get_by_text(title if number > 1 else "What is an autoencoder?").first.wait_for()
            shot(page, f"{number:02d}-lesson-{key}.png")
        # A lesson's link sets up Train as it says (code size 4), still in this session.
        page.get_by_text("2. Code size", exact=True).click()
        page.get_by_role("button", name="Train code size 4 yourself").click()
        page.get_by_role("button", name="Start training").wait_for()
        shot(page, "08-train-from-lesson.png", full=False)


if __name__ == "__main__":
    main()
