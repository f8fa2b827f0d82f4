"""The baseline for bench_app.py: a bare Streamlit page with one slider and one image.

``$BARE_PAGE_WITH`` (comma-separated, for bench_browser.py) adds one Streamlit feature the app
uses at a time, none of them a model:

- ``link`` writes the slider's value into the address bar with ``st.query_params`` after every
  move (the app's shareable link);
- ``nav`` puts the page under a top navigation bar of four pages (the app's Denoise / Train /
  Explore / Learn);
- ``controls`` draws the Denoise page's six controls above the picture (how many digits, digit
  class, New sample; noise kind, the Amount slider, New noise) and a line of means under it, in
  the app's two fragments: a move reruns the inner one (the noise controls, the picture, the means);
- ``sidebar`` adds the Denoise page's sidebar (a model selectbox, two multiselects, a checkbox, a
  file uploader) and, above the fragment, the model's caption and the Digits radio.

All four together are the app's page with the server's work for a move left out: the floor of a
move on any page that has the app's controls.
"""

import os

import numpy as np
import streamlit as st

WITH = set(filter(None, os.environ.get("BARE_PAGE_WITH", "").split(",")))


def amount_slider(place, **style) -> float:
    return place.slider("Amount", 0.0, 1.0, 0.5, 0.05, **style)


def picture(amount: float) -> None:
    rng = np.random.default_rng(0)
    image = np.clip(0.5 + amount * rng.standard_normal((28, 28)), 0, 1)
    st.image(np.kron((image * 255).astype(np.uint8), np.ones((4, 4), np.uint8)), caption="Clean", width=112)


def controls() -> None:
    """The Denoise page's fragments, its picture one noisy square: the digit controls around a
    fragment of the noise controls, the picture and the means, which is all a move reruns."""
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    row.slider("How many digits", 1, 16, 8, width="stretch", help="Number of test digits.")
    row.selectbox("Digit class", ["any", *map(str, range(10))], width=160, help="Sample only this digit.")
    row.button("New sample", help="Pick other test digits.")
    st.fragment(noise_controls)()


def noise_controls() -> None:
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    row.selectbox("Noise kind", ["gaussian", "salt & pepper", "speckle"], width=220,
                  help="How the digit is corrupted.")
    amount = amount_slider(row, width="stretch", help="Noise strength from 0 (none) to 1.")
    row.button("New noise", help="Draw a fresh random noise pattern.")
    picture(amount)
    st.markdown(f"**Means over the digits** — noisy: {20 - 10 * amount:.2f} dB · 0.61 SSIM")
    link(amount)


def link(amount: float) -> None:
    if "link" in WITH:
        st.query_params["amount"] = f"{amount:g}"


def sidebar() -> None:
    sb = st.sidebar
    sb.header("Model")
    sb.selectbox("Denoiser", ["blind", "unet-gaussian", "conv", "dense-tutorial"], help="The autoencoder.")
    sb.multiselect("Compare with other models", ["unet-gaussian", "conv"], help="A row for each.")
    sb.multiselect("Compare with classical filters", ["median", "gaussian", "non-local means"], help="Rows.")
    sb.checkbox("Show |denoised − clean|", help="Where the output differs from the clean digit.")
    sb.file_uploader("Load a model (.keras)", type=["keras"], help="A Keras 3 model file.")
    st.caption("**blind** — a U-Net trained on every noise kind at every amount.")
    st.radio("Digits", ["Test digits", "Draw", "Upload"], horizontal=True, help="Where the digits come from.")


def bare() -> None:
    if "sidebar" in WITH:
        sidebar()
    if "controls" in WITH:
        st.fragment(controls)()
        return
    amount = amount_slider(st)
    picture(amount)
    link(amount)


if "nav" in WITH:
    icons = {"Train": ":material/model_training:", "Explore": ":material/insights:",
             "Learn": ":material/school:"}
    others = [st.Page(lambda: st.write("another page"), title=title, icon=icon, url_path=title.lower())
              for title, icon in icons.items()]
    st.navigation([st.Page(bare, title="Denoise", icon=":material/auto_fix_high:", default=True), *others],
                  position="top").run()
else:
    bare()
