"""The Denoise page: test digits, a drawing or an upload, noisy → denoised → clean, with metrics."""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

import numpy as np
import streamlit as st

from denoiser import NOISE_KINDS, to_mnist
from denoiser.digits.preprocess import BlankImageError, digit_from_bytes
from denoiser.results.classical import CLASSICAL
from denoiser.results.compare import every_amount_affordable, means_markdown
from denoiser.results.grid import enlarge
from denoiser.results.pictures import Picture, Scene
from denoiser.teaching.handwriting import collections_with_digits
from denoiser.teaching.links import AMOUNT_STEP, MAX_COUNT, SLIDER_AMOUNTS, SOURCES
from ui.alt_text import described_image, label_pictures
from ui.class_digits import ask_next, guided_prompt, offer_to_class
from ui.common import guarded
from ui.instant_slider import follow_slider, frame_urls, picture_store
from ui.layout import PROJECTOR, grid_style, projector_on
from ui.loaders import get_digits, shipped_names
from ui.no_mouse import fold_sidebar_on_tablets, skip_link
from ui.sharing import gallery_changed, upload_control
from ui.state import current_link, get_model, lock_note, locked, model_choices, model_label, sync_query_params

#: Seconds a page waits, after its picture is shown, for the pictures at every amount that another
#: session is drawing for the same digits (a class opening the page together).
ANOTHER_SESSIONS_SET = 3.0


def noise_controls() -> None:
    # One row that wraps on a narrow screen (or at 150 % zoom) rather than cutting a label short.
    row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    noise, amount = locked("noise"), locked("amount")
    row.selectbox("Noise kind", list(NOISE_KINDS), key="noise_kind", width=220, disabled=noise,
                  help="How the clean digit is corrupted: " + "; ".join(
                      f"{k}: {v}" for k, v in NOISE_KINDS.items()) + lock_note("noise"))
    row.slider("Amount", 0.0, 1.0, step=AMOUNT_STEP, key="amount", width="stretch", disabled=amount,
               help="Noise strength from 0 (none) to 1; 0.5 Gaussian is the tutorial's setting."
                    + lock_note("amount"))
    if row.button("New noise", disabled=noise,
                  help="Draw a fresh random noise pattern (otherwise it stays fixed)."
                       + lock_note("noise")):
        st.session_state.noise_seed += 1


@guarded
def results(clean: np.ndarray, labels: list[str], models: list, filters: list[str], show_diff: bool) -> None:
    """Noise controls and the result grid (always inside a fragment: see below)."""
    if gallery_changed():  # the model lists outside this fragment are out of date
        st.rerun(scope="app")
    noise_controls()
    state = st.session_state
    amount, scene = round(state.amount, 2), scene_of(clean, labels, models, filters, show_diff)
    # The pictures at every amount, when this server has them for this scene (drawn at the end of
    # an earlier run, this session's or another's): a move calls no model.
    pictures = picture_store().get(scene.key()) or {}
    shown = pictures[amount] if amount in pictures else scene.at(amount)
    # One picture for the whole grid: one file for the browser to fetch per update. A few digits
    # are drawn with the rows side by side, so the denoised digit sits beside the noisy one; the
    # picture is shown at its own size (never stretched to the page's width).
    with st.container(key="grid"):
        st.image(shown.png, output_format="PNG", width=shown.width,
                 caption=f"{'Columns' if shown.columns else 'Rows'}: {', '.join(shown.labels)}. "
                         f"Clean: {', '.join(labels)}. Under each image: PSNR in dB (higher is better) "
                         "· SSIM (1 = identical to the clean digit).")
    label_pictures("grid", shown.alt)
    st.markdown(means_markdown(shown.means))
    exports(shown)
    sync_query_params(models[0].name if models else None, [model.name for model in models[1:]])
    if amount not in SLIDER_AMOUNTS or not every_amount_affordable(len(clean), len(models), filters):
        return  # the slider asks the server, as any widget does
    if not pictures:
        # Drawn after the page has its picture (Streamlit sends each element as it is made), so
        # new digits or noise wait for no more than one amount; then the slider moves in the
        # browser (ui.instant_slider) and each rerun here only looks its picture up. While another
        # session draws the same scene, this one waits a little for it (its page is shown
        # already), then leaves the slider to the server until its next rerun finds the set.
        pictures = (scene.fill(picture_store(), SLIDER_AMOUNTS, {amount: shown})
                    or picture_store().wait(scene.key(), ANOTHER_SESSIONS_SET))
        if pictures is None:
            return
    follow_slider("amount", "grid", frame_urls({a: picture.png for a, picture in pictures.items()}, "grid"),
                  {round(a * 100): picture.alt for a, picture in pictures.items()})


def scene_of(clean: np.ndarray, labels: list[str], models: list, filters: list[str],
             show_diff: bool) -> Scene:
    """The picture this session's view draws of these digits and models (larger on a projector,
    whose side-by-side grid uses smaller digits to fit a 1024×768 screen whole)."""
    state, style = st.session_state, grid_style()
    if projector_on():  # at most three digits there: always drawn side by side
        style["scale"] = PROJECTOR["columns_scale"]
    return Scene(clean, labels, {model.name: model.denoise for model in models}, state.noise_kind,
                 state.noise_seed, filters, show_diff, wide=projector_on(),
                 versions=[model.serial for model in models], **style)


def exports(shown: Picture) -> None:
    """The picture and its numbers, to keep or hand in (downloads rerun nothing)."""
    row = st.container(horizontal=True, gap="small")
    name = f"denoise-{st.session_state.noise_kind}-{round(st.session_state.amount, 2):g}"
    # Callables: the files are made on a click, not stored with every rerun.
    row.download_button("Picture (PNG)", lambda: shown.png, file_name=f"{name}.png", mime="image/png",
                        on_click="ignore", icon=":material/download:",
                        help="Save this comparison as the picture shown.")
    row.download_button("Scores (CSV)", lambda: shown.csv, file_name=f"{name}.csv", mime="text/csv",
                        on_click="ignore", icon=":material/download:",
                        help="Every row's PSNR and SSIM for every digit, for a spreadsheet.")


# Fragments: moving a noise control reruns only the noise controls and the grid (the server and
# the browser skip the digit controls); sampling new digits reruns the fragment around them too.
show_results = st.fragment(results)


@st.fragment
@guarded
def sampled_results(data, models: list, filters: list[str], show_diff: bool) -> None:
    """Test-digit controls around the noise controls and the result grid, a fragment in a fragment."""
    clean, labels = digits_from_test(data)
    show_results(clean, labels, models, filters, show_diff)


def model_controls(sb) -> tuple[list[str], list[str], bool]:
    """The models and filters to show, drawn in ``sb`` (the sidebar, or a fold of the page)."""
    sb.header("Model")
    choices = model_choices()
    names = list(choices)
    _, manifest_error = shipped_names()
    if manifest_error:
        sb.error(f"Shipped models unavailable: {manifest_error}")
    if not names:
        sb.warning("No model available: the noisy and clean rows are still shown.")
        upload_control(sb)
        return [], [], False
    requested = st.session_state.pop("requested_model", None)
    if requested in names:
        st.session_state.model_name = requested
    if st.session_state.get("model_name") not in names:
        st.session_state.model_name = names[0]
    fixed, lock_words = locked("model"), lock_note("model")
    sb.selectbox("Denoiser", names, key="model_name", format_func=model_label(choices), disabled=fixed,
                 help="The autoencoder that cleans the noisy digits; 'blind' handles any noise." + lock_words)
    others = [n for n in names if n != st.session_state.model_name]
    requested = st.session_state.pop("requested_models", None)
    if requested is not None:
        st.session_state.more_models = [n for n in requested if n in others]
    st.session_state.more_models = [n for n in st.session_state.get("more_models", []) if n in others]
    sb.multiselect("Compare with other models", others, key="more_models", format_func=model_label(choices),
                   disabled=fixed,
                   help="A row for each: every model cleans the same noisy digits." + lock_words)
    filters = sb.multiselect("Compare with classical filters", list(CLASSICAL), key="filters", disabled=fixed,
                             help="Add rows for non-learned denoisers, with their own metrics." + lock_words)
    show_diff = sb.checkbox("Show |denoised − clean|", key="show_diff", disabled=fixed,
                            help="A row showing where the model's output differs from the clean digit."
                                 + lock_words)
    if not fixed:
        upload_control(sb)
    class_link(sb)
    return [st.session_state.model_name, *st.session_state.more_models], filters, show_diff


def class_link(place) -> None:
    """A popover that makes this screen a link for the class, with the controls it locks."""
    from denoiser.teaching.links import LOCKABLE, link_params

    pop = place.popover("Link for the class", icon=":material/link:",
                        help="This screen as a link to hand out, with chosen controls locked.")
    chosen = pop.multiselect("Lock for the class", list(LOCKABLE), key="class_locks",
                             format_func=lambda name: f"{name}: {LOCKABLE[name]}",
                             help="Students opening the link cannot change these (an exercise "
                                  "aid, not a security measure: a student can edit the link).")
    models = [st.session_state.get("model_name"), *st.session_state.get("more_models", [])]
    state = current_link(models[0], models[1:])
    state.lock = [name for name in LOCKABLE if name in chosen]
    query = urlencode(link_params(state), safe=",", quote_via=quote)
    page = urlsplit(st.context.url or "")
    base = f"{page.scheme}://{page.netloc}{page.path or '/'}" if page.netloc else ""
    pop.code(f"{base}?{query}", language=None, wrap_lines=True)
    pop.caption("The copy button at the code's corner puts it on the clipboard.")


def digits_from_test(data) -> tuple[np.ndarray, list[str]]:
    most = PROJECTOR["max_count"] if projector_on() else MAX_COUNT
    st.session_state.count = min(st.session_state.count, most)
    place = st.expander("Which digits", icon=":material/pin:") if projector_on() else st
    row = place.container(horizontal=True, vertical_alignment="bottom", gap="medium")
    fixed, lock_words = locked("digits"), lock_note("digits")
    row.slider("How many digits", 1, most, key="count", width="stretch", disabled=fixed,
               help="Number of test digits to show side by side"
                    + (" (fewer in the projector view)." if projector_on() else ".") + lock_words)
    row.selectbox("Digit class", ["any", *map(str, range(10))], key="digit", width=160, disabled=fixed,
                  help="Sample only this digit, or any digit." + lock_words)
    if row.button("New sample", disabled=fixed, help="Pick other test digits." + lock_words):
        st.session_state.sample_seed += 1
    count = st.session_state.count
    digit = None if st.session_state.digit == "any" else int(st.session_state.digit)
    images, labels = data.sample(count, digit, seed=st.session_state.sample_seed)
    return images, [f"digit {label}" for label in labels]


def pick_class(collections: list):
    """The chosen collection's digits, to sample like MNIST's test digits."""
    collection = collections[0]
    if len(collections) > 1:
        name = st.selectbox("Class collection", [c.name for c in collections], key="class_source",
                            help="Which class's digits to sample (your teacher's collections).")
        collection = next(c for c in collections if c.name == name)
    digits = collection.as_digits()
    st.caption(f"{digits.description}, drawn or photographed by the class "
               "(MNIST's were written by US census workers and students in the 1990s).")
    return digits


def show_received(digit: np.ndarray) -> None:
    """The drawn or uploaded digit, enlarged, as the model receives it."""
    described_image(f"received-{st.session_state.source.lower()}", enlarge(digit, 5),
                    "The digit as the model receives it: 28 by 28 pixels, white on black, centred.",
                    caption="What the model receives (28×28)", width=28 * 5, output_format="PNG")


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
        st.info("Draw a digit with a finger or the mouse (white on black).")
        return None
    try:
        digit = to_mnist(np.asarray(drawn))
    except BlankImageError:
        st.info("The canvas is blank: draw a digit with a finger or the mouse.")
        return None
    return digit


def digit_from_upload() -> np.ndarray | None:
    upload = st.file_uploader("A photo or scan of one digit", type=["png", "jpg", "jpeg"], max_upload_size=5,
                              help="Any size; it is cropped, scaled and centred like MNIST.")
    if upload is None:
        return None
    try:
        digit = digit_from_bytes(upload.getvalue())
    except ValueError as err:  # unreadable, too large or blank: say so, keep the page working
        st.error(f"Cannot use this file: {err}")
        return None
    return digit


def view_denoise(data) -> None:
    skip_link("amount", "Skip to the noise amount")
    fold_sidebar_on_tablets()
    # On a projector the sidebar is hidden: its controls fold into the page.
    settings = (st.expander("Models, filters, digits", icon=":material/tune:") if projector_on()
                else st.sidebar)
    names, filters, show_diff = model_controls(settings)
    models = [model for name in names if (model := get_model(name)) is not None]
    if models and models[0].description and not projector_on():  # beside its choice, not above the picture
        settings.caption(f"**{models[0].name}** — {models[0].description}")
    classes = collections_with_digits()  # the Class digits source offers them
    sources = [s for s in SOURCES if s != "Class digits" or classes]
    if st.session_state.get("source") not in sources:  # a link to class digits none of which are here
        st.session_state.source = "Test digits"
    source = (settings if projector_on() else st).radio(
        "Digits", sources, horizontal=True, key="source", disabled=locked("digits"),
        help="Sample real MNIST test digits, draw your own, upload an image"
             + (", or sample the digits your class drew" if classes else "") + "." + lock_note("digits"))
    if source == "Test digits":
        sampled_results(data, models, filters, show_diff)
        return
    if source == "Class digits":
        sampled_results(pick_class(classes), models, filters, show_diff)
        return
    left, right = st.columns([2, 3])  # the input and, right beside it, what the model makes of it
    with left:
        ask = guided_prompt()
        digit = digit_from_canvas() if source == "Draw" else digit_from_upload()
        if digit is not None:
            offer_to_class(digit)  # right under the drawing, in view on a laptop's screen
            show_received(digit)
        if ask is not None:  # after the add: it asks for the next digit
            ask_next(ask)
    with right:
        if digit is not None:
            show_results(digit[None], ["your digit"], models, filters, show_diff)
        else:
            # The noise controls stay on the page while there is no digit (as a photo is being
            # replaced): a run that left the slider out would make the browser forget its value.
            noise_controls()
            st.caption("The noisy, denoised and clean digit appear here.")
            sync_query_params(models[0].name if models else None, [model.name for model in models[1:]])


guarded(view_denoise)(get_digits())
