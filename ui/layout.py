"""The page's layout: the projector view (bigger digits and text, no sidebar) and the CSS that
keeps the result picture on one screen."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui.common import SCALE

if TYPE_CHECKING:
    pass

#: The projector view: at most this many digits, each pixel this many screen pixels, text this tall.
# columns_scale: the Denoise grid with rows side by side, which must fit a 1024×768 screen whole
PROJECTOR = {"max_count": 3, "scale": 5, "columns_scale": 3, "font_size": 28}


def projector_on() -> bool:
    """Whether this session shows the projector view (fewer, larger digits, no sidebar)."""
    return bool(st.session_state.get("projector"))


def projector_toggle() -> None:
    """The toggle, and while it is on, the style that enlarges text and hides the sidebar."""
    st.toggle("Projector view", key="projector",
              help="For a classroom screen: fewer, larger digits and text, no sidebar (link: projector=1).")
    if projector_on():
        # Streamlit sizes its text in rem: a larger root font enlarges every control and label.
        st.html("<style>html { font-size: 20px; } "
                "[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'], "
                "[data-testid='stExpandSidebarButton'] { display: none; } "
                ".block-container, [data-testid='stMainBlockContainer'] "
                "{ padding: 4rem 1rem 1rem 1rem; max-width: 100%; }</style>")


#: Where the result grid starts on the first screen, at most (px; projector view: True), with the
#: clean row's captions under it: the grid is scaled to end above the screen's bottom edge.
GRID_TOP = {False: 420, True: 400}


def page_style() -> None:
    """The app's few rules of style: a picture is never wider than its column (Streamlit gives an
    image its own width in pixels, so on a tablet or phone the result grid was cut off), and the
    result grid never taller than the screen below the controls; it shrinks, whole, instead."""
    st.html("<style>[data-testid='stImageContainer'] { max-width: 100%; } "
            "[data-testid='stImageContainer'] img { height: auto; } "
            # the result grid also fits the screen's height below the controls, scaled whole
            ".st-key-grid [data-testid='stImageContainer'] img "
            f"{{ max-height: max(240px, calc(100vh - {GRID_TOP[projector_on()]}px)); object-fit: contain; "
            "object-position: left top; } "
            # a lesson's picture fits one screen whole, scrolled to (its controls come first)
            "[class*='st-key-rows-'] [data-testid='stImageContainer'] img, "
            ".st-key-metric-examples [data-testid='stImageContainer'] img "
            "{ max-height: max(240px, calc(100vh - 140px)); object-fit: contain; "
            "object-position: left top; } "
            # less empty space above the title (Streamlit's default is 6rem under the page links)
            "[data-testid='stMainBlockContainer'] { padding-top: 4rem; }</style>")


def grid_style() -> dict:
    """``digit_grid`` size settings for this session's view."""
    if projector_on():
        return {"scale": PROJECTOR["scale"], "font_size": PROJECTOR["font_size"]}
    return {"scale": SCALE}
