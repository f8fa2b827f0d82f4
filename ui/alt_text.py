"""Text alternatives for the app's pictures: what a screen reader says instead of an image.

``st.image`` draws an ``<img>`` without ``alt``; a small Streamlit component (``st.components.v2``,
no iframe, nothing drawn) gives every picture in a keyed container the text that says what it
shows, and gives it again when the picture changes. A picture whose alt the instant slider keeps
up to date (``data-alt-by-frame``) is left to it.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function(component) {
  const { data } = component;
  const box = document.querySelector(`.st-key-${data.target}`);
  if (!box) return;
  const label = () => {
    box.querySelectorAll("img").forEach((img, i) => {
      if (img.dataset.altByFrame) return;
      const text = data.texts[Math.min(i, data.texts.length - 1)];
      if (img.alt !== text) img.alt = text;
    });
  };
  const watch = new MutationObserver(label);
  watch.observe(box, {childList: true, subtree: true, attributes: true, attributeFilter: ["src"]});
  label();
  return () => watch.disconnect();
}
"""
_CSS = """[class*="st-key-alt-"] {
  display: none;
}"""
_alt = st.components.v2.component("denoiser_alt_text", js=_JS, css=_CSS, isolate_styles=False)


def label_pictures(target_key: str, texts: str | list[str]) -> None:
    """Give the pictures in container ``target_key`` the text alternative ``texts`` (one text, or
    one per picture in order)."""
    _alt(key=f"alt-{target_key}", height=0,
         data={"target": target_key, "texts": [texts] if isinstance(texts, str) else list(texts)})


def described_image(key: str, image, alt: str | list[str], **kwargs) -> None:
    """``st.image(image, **kwargs)`` in a container ``key`` whose pictures say ``alt``."""
    with st.container(key=key):
        st.image(image, **kwargs)
    label_pictures(key, alt)
