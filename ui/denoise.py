"""The Denoise page: test digits, a drawing or an upload, noisy → denoised → clean, with metrics."""

from __future__ import annotations

import numpy as np
import streamlit as st

import denoiser
from denoiser import NOISE_KINDS, to_mnist
from denoiser.classical import CLASSICAL
from denoiser.compare import compare, means_markdown
from denoiser.grid import COLUMNS_UP_TO, digit_grid, enlarge, png_bytes
from denoiser.links import SOURCES
from denoiser.preprocess import BlankImageError, digit_from_bytes
from ui.common import (
    SCALE,
    get_digits,
    get_model,
    guarded,
    model_choices,
    shipped_names,
    sync_query_params,
)


def noise_controls() -> None:
    c1, c2, c3 = st.columns([3, 4, 2], vertical_alignment="bottom")
    c1.selectbox("Noise kind", list(NOISE_KINDS), key="noise_kind",
                 help="How the clean digit is corrupted: " + "; ".join(
                     f"{k}: {v}" for k, v in NOISE_KINDS.items()))
    c2.slider("Amount", 0.0, 1.0, step=0.05, key="amount",
              help="Noise strength from 0 (none) to 1; 0.5 Gaussian is the tutorial's setting.")
    if c3.button("New noise", help="Draw a fresh random noise pattern (otherwise it stays fixed)."):
        st.session_state.noise_seed += 1


@guarded
def results(clean: np.ndarray, labels: list[str], model, filters: list[str], show_diff: bool) -> None:
    """Noise controls and the result grid (always inside a fragment: see below)."""
    noise_controls()
    noisy = denoiser.add_noise(clean, st.session_state.noise_kind, st.session_state.amount,
                               seed=st.session_state.noise_seed)
    models = {model.name: model.denoise} if model is not None else {}
    result = compare(clean, labels, noisy, models, filters, show_diff)
    # One picture for the whole grid: one file for the browser to fetch per update. A few digits
    # are drawn with the rows side by side, so the denoised digit sits beside the noisy one; the
    # picture is shown at its own size (never stretched to the page's width).
    columns = len(clean) <= COLUMNS_UP_TO
    picture = digit_grid(result.rows, scale=SCALE, columns=columns)
    st.image(png_bytes(picture), output_format="PNG", width=picture.shape[1],
             caption=f"{'Columns' if columns else 'Rows'}: {', '.join(result.labels)}. "
                     f"Clean: {', '.join(labels)}. Under each image: PSNR in dB (higher is better) "
                     "· SSIM (1 = identical to the clean digit).")
    st.markdown(means_markdown(result.means))
    sync_query_params(model.name if model is not None else None)


# Fragments: moving a noise control (or sampling new digits) reruns only this part of the page.
show_results = st.fragment(results)


@st.fragment
@guarded
def sampled_results(data, model, filters: list[str], show_diff: bool) -> None:
    """Test-digit controls, noise controls and the result grid, as one fragment."""
    clean, labels = digits_from_test(data)
    results(clean, labels, model, filters, show_diff)


def sidebar_controls() -> tuple[str | None, list[str], bool]:
    sb = st.sidebar
    sb.header("Model")
    choices = model_choices()
    names = list(choices)
    _, manifest_error = shipped_names()
    if manifest_error:
        sb.error(f"Shipped models unavailable: {manifest_error}")
    if not names:
        sb.warning("No model available: the noisy and clean rows are still shown.")
        return None, [], False
    requested = st.session_state.pop("requested_model", None)
    if requested in names:
        st.session_state.model_name = requested
    if st.session_state.get("model_name") not in names:
        st.session_state.model_name = names[0]
    sb.selectbox("Denoiser", names, key="model_name",
                 format_func=lambda n: f"{n} (trained here)" if choices[n] == "session" else n,
                 help="The autoencoder that cleans the noisy digits; 'blind' handles any noise.")
    filters = sb.multiselect("Compare with classical filters", list(CLASSICAL), key="filters",
                             help="Add rows for non-learned denoisers, with their own metrics.")
    show_diff = sb.checkbox("Show |denoised − clean|", key="show_diff",
                            help="A row showing where the model's output differs from the clean digit.")
    return st.session_state.model_name, filters, show_diff


def digits_from_test(data) -> tuple[np.ndarray, list[str]]:
    c1, c2, c3 = st.columns([2, 2, 1])
    count = c1.slider("How many digits", 1, 16, key="count",
                      help="Number of test digits to show side by side.")
    c2.selectbox("Digit class", ["any", *map(str, range(10))], key="digit",
                 help="Sample only this digit, or any digit.")
    c3.write("")
    if c3.button("New sample", help="Pick other test digits."):
        st.session_state.sample_seed += 1
    digit = None if st.session_state.digit == "any" else int(st.session_state.digit)
    images, labels = data.sample(count, digit, seed=st.session_state.sample_seed)
    return images, [f"digit {label}" for label in labels]


def digit_from_canvas() -> np.ndarray | None:
    drawn = st.session_state.get("canvas_override")  # seam for tests: an RGBA array
    if drawn is None:
        from streamlit_drawable_canvas import st_canvas

        result = st_canvas(stroke_width=22, stroke_color="#FFFFFF", background_color="#000000",
                           height=280, width=280, drawing_mode="freedraw",
                           return_image_data=True, key=f"canvas-{st.session_state.canvas_key}")
        drawn = result.image_data
    if st.button("Clear drawing", help="Empty the canvas and start again."):
        st.session_state.canvas_key += 1
        st.session_state.pop("canvas_override", None)
        st.rerun()
    if drawn is None:
        st.info("Draw a digit with the mouse (white on black).")
        return None
    try:
        digit = to_mnist(np.asarray(drawn))
    except BlankImageError:
        st.info("The canvas is blank: draw a digit with the mouse.")
        return None
    st.image(enlarge(digit, 5), caption="What the model receives (28×28)", width=28 * 5,
             output_format="PNG")
    return digit


def digit_from_upload() -> np.ndarray | None:
    upload = st.file_uploader("A photo or scan of one digit", type=["png", "jpg", "jpeg"],
                              help="Any size; it is cropped, scaled and centred like MNIST.")
    if upload is None:
        return None
    try:
        digit = digit_from_bytes(upload.getvalue())
    except ValueError as err:  # unreadable, too large or blank: say so, keep the page working
        st.error(f"Cannot use this file: {err}")
        return None
    st.image(enlarge(digit, 5), caption="What the model receives (28×28)", width=28 * 5,
             output_format="PNG")
    return digit


def view_denoise(data) -> None:
    model_name, filters, show_diff = sidebar_controls()
    model = get_model(model_name) if model_name else None
    if model is not None and model.description:
        st.caption(f"**{model.name}** — {model.description}")
    source = st.radio("Digits", SOURCES, horizontal=True, key="source",
                      help="Sample real MNIST test digits, draw your own, or upload an image.")
    if source == "Test digits":
        sampled_results(data, model, filters, show_diff)
        return
    left, right = st.columns([2, 3])  # the input and, right beside it, what the model makes of it
    with left:
        digit = digit_from_canvas() if source == "Draw" else digit_from_upload()
    if digit is not None:
        with right:
            show_results(digit[None], ["your digit"], model, filters, show_diff)


guarded(view_denoise)(get_digits())
