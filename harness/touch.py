"""A finger on a touch screen, in Chromium (Playwright's own touch API only taps)."""

from __future__ import annotations


def finger_stroke(page, points: list[tuple[float, float]]) -> None:
    """One stroke of a finger through ``points`` (touch events, as a tablet sends them)."""
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, x: float, y: float) -> None:
        cdp.send("Input.dispatchTouchEvent",
                 {"type": kind, "touchPoints": [] if kind == "touchEnd" else [{"x": x, "y": y}]})

    touch("touchStart", *points[0])
    for a, b in zip(points, points[1:]):
        for k in range(1, 9):
            touch("touchMove", a[0] + (b[0] - a[0]) * k / 8, a[1] + (b[1] - a[1]) * k / 8)
    touch("touchEnd", *points[-1])
