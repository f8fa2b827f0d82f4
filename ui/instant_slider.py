"""A slider whose picture moves in the browser: the result grid at every amount, swapped in as the
slider moves, before (and while) the server is asked.

The server draws the grid at each of the slider's amounts once per change of digits, models or
noise (:func:`denoiser.results.compare.compare_amounts`) and registers each picture as a media file; a
small Streamlit component (``st.components.v2``, no iframe) watches the slider's value on the
page and, as it changes, points the grid's ``<img>`` at that amount's picture. Dragging the
slider therefore shows every amount it passes, and a key press shows the next amount within a
frame; the server's rerun that follows sends the very same picture (a media URL is a hash of its
bytes), so nothing flickers, and the slider's value still reaches the session, the link and the
other pages as before. Without JavaScript, or where the component cannot find the slider, the
page works as an ordinary Streamlit page.
"""

from __future__ import annotations

import streamlit as st

from denoiser.results.pictures import PictureStore

# Runs in the page (not an iframe): finds the slider and the picture by the keys Streamlit puts in
# their containers' class names (st-key-…) and, as the slider's value changes (each key press, each
# step of a drag), points the picture at that amount's file, in the folder the page's own picture
# comes from (so a server under a path prefix works too). The pictures are loaded and decoded
# ahead, so a swap costs no request. The server's rerun for an earlier key press may set the
# picture of that amount after a later one is shown: a picture of this set that is not the
# slider's is put right at once (before the browser paints); a picture from another set (new
# digits or noise) is left alone until its own set arrives.
_JS = """
export default function(component) {
  const { data } = component;
  const input = document.querySelector(`.st-key-${data.slider} input[type="range"]`);
  const box = document.querySelector(`.st-key-${data.target}`);
  if (!input || !box) return;
  const file = (url) => url.split("/").pop();
  const frames = {};
  for (const [hundredths, url] of Object.entries(data.frames || {})) frames[hundredths] = file(url);
  const known = new Set(Object.values(frames));
  const picture = () => box.querySelector('[data-testid="stImage"] img');
  const first = picture();
  if (!first) return;
  const cache = (window.__denoiserFrames = window.__denoiserFrames || new Map());
  if (cache.size > 200) cache.clear();
  for (const name of known) {
    const url = first.src.replace(/[^/]*$/, name);
    if (cache.has(url)) continue;
    const img = new Image();
    img.src = url;
    img.decode().catch(() => {});
    cache.set(url, img);
  }
  const alts = {};
  for (const [hundredths, text] of Object.entries(data.alts || {})) alts[frames[hundredths]] = text;
  const show = () => {
    const img = picture();
    const want = frames[Math.round(parseFloat(input.value) * 100)];
    const have = img && file(img.src);
    if (want && known.has(have) && have !== want) img.src = img.src.replace(/[^/]*$/, want);
    const text = img && alts[file(img.src)];
    if (text && img.alt !== text) {  // what the picture shown says, at its amount
      img.dataset.altByFrame = "1";
      img.alt = text;
    }
  };
  const slider = new MutationObserver(show);
  slider.observe(input, {attributes: true, attributeFilter: ["value", "aria-valuetext"]});
  const server = new MutationObserver(show);
  server.observe(box, {attributes: true, attributeFilter: ["src"], childList: true, subtree: true});
  show();
  return () => { slider.disconnect(); server.disconnect(); };
}
"""

# The component draws nothing: its element is taken out of the layout (no gap where it sits).
_CSS = """[class*="st-key-follow-"] {
  display: none;
}"""
_follow = st.components.v2.component("denoiser_instant_slider", js=_JS, css=_CSS, isolate_styles=False)


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


def follow_slider(slider_key: str, target_key: str, frames: dict[int, str],
                  alts: dict[int, str] | None = None) -> None:
    """Make the picture in container ``target_key`` follow slider ``slider_key`` in the browser,
    showing ``frames[amount in hundredths]`` (URLs) as the slider passes each amount, with
    ``alts[amount in hundredths]`` as its text alternative."""
    urls = {str(hundredths): url for hundredths, url in frames.items()}
    texts = {str(hundredths): text for hundredths, text in (alts or {}).items()}
    _follow(key=f"follow-{target_key}", height=0,
            data={"slider": slider_key, "target": target_key, "frames": urls, "alts": texts})
