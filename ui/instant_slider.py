"""A slider whose picture moves in the browser: the result grid at every amount, swapped in as the
slider moves, before (and while) the server is asked.

The server draws the grid at each of the slider's amounts once per change of digits, models or
noise (:func:`denoiser.compare.compare_amounts`) and registers each picture as a media file; a
small Streamlit component (``st.components.v2``, no iframe) watches the slider's value on the
page and, as it changes, points the grid's ``<img>`` at that amount's picture. Dragging the
slider therefore shows every amount it passes, and a key press shows the next amount within a
frame; the server's rerun that follows sends the very same picture (a media URL is a hash of its
bytes), so nothing flickers, and the slider's value still reaches the session, the link and the
other pages as before. Without JavaScript, or where the component cannot find the slider, the
page works as an ordinary Streamlit page.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import NamedTuple

import streamlit as st

# Runs in the page (not an iframe): finds the slider and the picture by the keys Streamlit puts in
# their containers' class names (st-key-…), and swaps the picture's source as the value changes.
# The mutation observer fires for the keyboard, a drag (each step it passes) and the server's
# own updates; the pictures are loaded and decoded ahead, so a swap costs no request.
_JS = """
export default function(component) {
  const { data } = component;
  const frames = data.frames || {};
  const input = document.querySelector(`.st-key-${data.slider} input[type="range"]`);
  if (!input) return;
  const cache = (window.__denoiserFrames = window.__denoiserFrames || new Map());
  for (const url of Object.values(frames)) {
    if (cache.has(url)) continue;
    const img = new Image();
    img.src = url;
    img.decode().catch(() => {});
    cache.set(url, img);
  }
  if (cache.size > 200) cache.clear();
  const show = () => {
    const url = frames[Math.round(parseFloat(input.value) * 100)];
    const img = document.querySelector(`.st-key-${data.target} [data-testid="stImage"] img`);
    if (url && img && !img.src.endsWith(url)) img.src = url;
  };
  const observer = new MutationObserver(show);
  observer.observe(input, {attributes: true, attributeFilter: ["value", "aria-valuetext"]});
  return () => observer.disconnect();
}
"""

# The component draws nothing: its element is taken out of the layout (no gap where it sits).
_CSS = """[class*="st-key-follow-"] {
  display: none;
}"""
_follow = st.components.v2.component("denoiser_instant_slider", js=_JS, css=_CSS, isolate_styles=False)


class Picture(NamedTuple):
    """The result grid at one amount, as the page shows it."""

    labels: list[str]  # the rows'
    means: list[dict]  # each row's mean PSNR and SSIM
    png: bytes
    width: int
    columns: bool  # rows drawn side by side


class PictureStore:
    """Pictures at every amount, shared by the server's sessions, the last ``size`` sets used.

    Test digits are the same for every session at the same sample, class and count (a class
    pressing New sample walks the same seeds), so a set drawn for one student serves the next.
    A key holds ``id()`` of the models drawn with, and the entry holds the models themselves: no
    other object can take one of those ids while the entry exists.
    """

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[dict, list]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> dict[float, Picture] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, pictures: dict[float, Picture], keep: list) -> None:
        with self._lock:
            self._entries[key] = (pictures, keep)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


@st.cache_resource(show_spinner=False)
def picture_store() -> PictureStore:
    """The server's one :class:`PictureStore` (64 sets: about 40 MB of PNGs at 8 digits each)."""
    return PictureStore()


def frame_urls(pictures: dict[float, bytes], name: str) -> dict[int, str]:
    """Register PNG ``pictures`` (amount → bytes) as this session's media files; their URLs by
    amount in hundredths (the keys the page's script looks up)."""
    from streamlit.runtime import Runtime

    media = Runtime.instance().media_file_mgr
    return {round(amount * 100): media.add(png, "image/png", f"{name}-{round(amount * 100)}")
            for amount, png in pictures.items()}


def follow_slider(slider_key: str, target_key: str, frames: dict[int, str]) -> None:
    """Make the picture in container ``target_key`` follow slider ``slider_key`` in the browser,
    showing ``frames[amount in hundredths]`` (URLs) as the slider passes each amount."""
    urls = {str(hundredths): url for hundredths, url in frames.items()}
    _follow(key=f"follow-{target_key}", height=0,
            data={"slider": slider_key, "target": target_key, "frames": urls})
