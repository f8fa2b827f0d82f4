"""The page for people without a mouse: a "skip to" link for a keyboard, the sidebar folded for a
finger on a tablet.

The first Tab stop of the page jumps to a control.

From page load the Amount slider sits behind the sidebar's controls and every help "?" (each a Tab
stop of its own). A small Streamlit component (``st.components.v2``, no iframe, nothing drawn
where it is called) puts a link at the very start of the page, shown only while it has the
focus; Enter on it moves the focus to the control in container ``target_key``, where the arrow
keys move it. Without JavaScript the page is as before.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function(component) {
  const { data } = component;
  const id = `denoiser-skip-${data.target}`;
  let link = document.getElementById(id);
  if (!link) {
    link = document.createElement("a");
    link.id = id;
    link.className = "denoiser-skip";
    document.body.prepend(link);
  }
  // An in-page link to the control's container (given an id here): a skip link, as screen
  // readers and checkers know them. The control may be drawn after this runs: then the link
  // points to it as soon as it is.
  const point = () => {
    const target = document.querySelector(`.st-key-${data.target}`);
    if (!target) return false;
    if (!target.id) target.id = `denoiser-${data.target}`;
    link.href = `#${target.id}`;
    return true;
  };
  let watch = null;
  if (!point()) {
    link.href = "#";
    watch = new MutationObserver(() => { if (point()) watch.disconnect(); });
    watch.observe(document.body, {childList: true, subtree: true});
  }
  link.textContent = data.label;
  link.onclick = (event) => {
    event.preventDefault();
    const box = `.st-key-${data.target}`;
    const control = document.querySelector(`${box} input, ${box} [tabindex="0"]`);
    if (control) {
      control.scrollIntoView({block: "center"});
      control.focus();
    }
  };
  // Kept across the page's reruns (a link with the focus must not vanish under it); gone once
  // the page no longer has the control (another page is open).
  return () => {
    if (watch) watch.disconnect();
    setTimeout(() => { if (!document.querySelector(`.st-key-${data.target}`)) link.remove(); }, 1000);
  };
}
"""
_CSS = """[class*="st-key-skip-"] {
  display: none;
}
.denoiser-skip {
  position: fixed; left: 8px; top: -60px; z-index: 1000000;
  padding: 8px 14px; background: #111111; color: #ffffff; font: 16px sans-serif;
  border-radius: 4px; text-decoration: underline;
}
.denoiser-skip:focus {
  top: 8px;
}"""
_skip = st.components.v2.component("denoiser_skip_link", js=_JS, css=_CSS, isolate_styles=False)


def skip_link(target_key: str, label: str) -> None:
    """The page's first Tab stop: a link saying ``label`` that moves the focus to the control in
    container ``target_key`` (a widget's ``key``)."""
    _skip(key=f"skip-{target_key}", height=0, data={"target": target_key, "label": label})


# On a touch screen narrower than a laptop's (a tablet), the sidebar starts folded, once per
# browser tab, as Streamlit already does on a phone: the page gets the width (the canvas and the
# picture whole). Its ">>" button brings it back, and it stays as the person leaves it.
_FOLD_JS = """
export default function(component) {
  if (!matchMedia("(pointer: coarse)").matches || innerWidth >= 1024) return;
  if (sessionStorage.getItem("denoiser-sidebar-folded")) return;
  const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  if (!button || !sidebar || sidebar.getAttribute("aria-expanded") === "false") return;
  sessionStorage.setItem("denoiser-sidebar-folded", "1");
  button.click();
}
"""
_fold = st.components.v2.component("denoiser_fold_sidebar", js=_FOLD_JS, css=_CSS, isolate_styles=False)


def fold_sidebar_on_tablets() -> None:
    """Fold the sidebar once on a touch screen narrower than 1024 px (nothing drawn here)."""
    _fold(key="skip-fold-sidebar", height=0, data={})
