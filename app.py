"""denoiser — a Streamlit app that teaches image denoising with autoencoders.

Run with ``streamlit run app.py``. The page is laid out here; all the work is
done by the ``denoiser`` package.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from typing import TYPE_CHECKING

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# One BLAS thread per numpy call (set before numpy loads): the interactive path multiplies small
# matrices, where a second thread only waits on a core the browser or another user is using
# (measured: 8-digit U-Net 11 ms instead of 17 ms with the other core busy). Sessions still run
# in parallel, and TensorFlow's training threads are not affected.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import streamlit as st  # noqa: E402

import denoiser  # noqa: E402
from denoiser import NOISE_KINDS, load_mnist, to_mnist  # noqa: E402
from denoiser.classical import CLASSICAL  # noqa: E402
from denoiser.compare import compare, means_markdown  # noqa: E402
from denoiser.data import MNIST_CREDIT, OFFLINE_VAR  # noqa: E402
from denoiser.grid import digit_grid, digit_grid_png, png_bytes  # noqa: E402
from denoiser.imageio import enlarge  # noqa: E402
from denoiser.links import LinkState, link_params, read_link  # noqa: E402
from denoiser.preprocess import BlankImageError, digit_from_bytes  # noqa: E402
from denoiser.pretrained import ModelFileError, list_pretrained, load_pretrained, model_dir  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd

VIEWS = ["Denoise", "Train", "Explore", "Learn"]
KINDS = list(NOISE_KINDS)
SOURCES = ["Test digits", "Draw", "Upload"]
MAX_RUNS = 5  # trained runs kept per browser session
SCALE = 4  # screen pixels per digit pixel
COLUMNS_UP_TO = 3  # this many digits or fewer: the rows are drawn side by side, as columns
log = logging.getLogger("denoiser.app")

st.set_page_config(page_title="denoiser · autoencoders on MNIST", page_icon="🧹", layout="wide")


def guarded(view):
    """An error boundary: a failure inside ``view`` shows one plain line (the rest of the page
    stays) and its details, traceback included, go to the server's log, never to the visitor."""

    @functools.wraps(view)
    def run(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except Exception:  # noqa: BLE001 - Streamlit's rerun and stop are BaseExceptions: not caught
            log.exception("error in %s", view.__name__)
            st.error("Something went wrong in this part of the page. Try another setting or reload; "
                     "the details are in the server's log.")
            return None

    return run


# ---------------------------------------------------------------- shared, loaded once per process
@st.cache_resource(show_spinner="Loading MNIST digits…")
def _digit_store() -> dict:
    """Digits for new sessions: whatever is on disk now (no download, no TensorFlow import)."""
    return {"digits": load_mnist(allow_download=False), "download": None, "lock": threading.Lock()}


def get_digits():
    """This session's digits; fixed for the session, so a background download never reshuffles them."""
    if "digits" not in st.session_state:
        st.session_state.digits = _digit_store()["digits"]
    return st.session_state.digits


@st.cache_resource(show_spinner=False)
def freeze_startup_objects() -> bool:
    """Once per process, after the first page is drawn: import what the other views use, then
    move every object alive now (modules, data, models) out of the garbage collector's view.

    The first page does not need altair, pandas or the training code, so they load here, after
    it is on screen: an import holds the interpreter's lock, and left to the first Train or
    Explore page it would stall every other user's update for a few hundred ms. Frozen, these
    objects also make each later collection ~1 ms instead of ~40 ms (Streamlit's own collection
    after every script run is switched off in .streamlit/config.toml: runner.postScriptGC).
    """
    import gc

    import altair  # noqa: F401
    import pandas  # noqa: F401

    import denoiser.evaluation  # noqa: F401
    import denoiser.jobs  # noqa: F401
    import denoiser.latent  # noqa: F401

    gc.collect()
    gc.freeze()
    return True


def fetch_full_mnist_in_background() -> None:
    """Once per process, after a page is drawn: with only the shipped sample at hand, let Keras
    download full MNIST in a background thread (online users); sessions opened later use it."""
    store = _digit_store()
    with store["lock"]:
        if store["download"] is not None or store["digits"].source != "sample" or os.environ.get(OFFLINE_VAR):
            return

        def download() -> None:
            digits = load_mnist(allow_download=True)
            if digits.source != "sample":
                store["digits"] = digits

        store["download"] = threading.Thread(target=download, name="mnist-download", daemon=True)
        store["download"].start()


@st.cache_resource(show_spinner=False)
def _shipped_names(directory: str) -> tuple[list[str], str]:
    try:
        return list_pretrained(directory), ""
    except ModelFileError as err:
        return [], str(err)


def shipped_names() -> tuple[list[str], str]:
    """Names of the shipped models (and an error message if the manifest is unreadable)."""
    return _shipped_names(str(model_dir()))


@st.cache_resource(show_spinner="Loading model…")
def _shipped_model(name: str, directory: str):
    # Shared by all sessions, only ever read. Lazy: small batches run on numpy, so the first
    # page needs no TensorFlow; Keras loads when a view needs it (codes, large sweeps).
    return load_pretrained(name, directory, lazy=True)


def shipped_model(name: str):
    return _shipped_model(name, str(model_dir()))


# ---------------------------------------------------------------- per-session state
#: Widget values that must survive while their widget is not on the page (another view).
PERSISTENT = ("noise_kind", "amount", "digit", "model_name", "filters", "show_diff", "source", "count")


def keep_widget_values() -> None:
    """Streamlit forgets a widget's value when a run does not draw it; keep a copy and restore it."""
    for key in PERSISTENT:
        if key in st.session_state:
            st.session_state[f"_{key}"] = st.session_state[key]
        elif f"_{key}" in st.session_state:
            st.session_state[key] = st.session_state[f"_{key}"]


def init_state() -> None:
    """Fill session state once, from the query string where it names a setting."""
    if "initialised" in st.session_state:
        keep_widget_values()
        return
    q = st.query_params
    link, notices = read_link({key: q.get_all(key) for key in q})
    state = st.session_state
    state.initialised = True
    state.runs = {}  # run name -> TrainingJob
    state.dropped_runs = 0
    state.canvas_key = 0
    state.view, state.noise_kind, state.amount, state.digit = link.view, link.noise, link.amount, link.digit
    state.count, state.sample_seed, state.noise_seed = link.count, link.sample, link.seed
    state.filters, state.show_diff, state.source = link.filters, link.diff, link.source
    state.requested_model = link.model
    state.link_notices = notices
    keep_widget_values()


def current_link(model_name: str | None) -> LinkState:
    """The settings on screen now, as a shareable link's state."""
    state = st.session_state

    def value(key, default):
        return state.get(key, state.get(f"_{key}", default))

    return LinkState(view=state.view or "Denoise", noise=value("noise_kind", "gaussian"),
                     amount=float(value("amount", 0.5)), digit=value("digit", "any"), model=model_name,
                     count=int(value("count", 8)), sample=state.sample_seed, seed=state.noise_seed,
                     filters=list(value("filters", [])), diff=bool(value("show_diff", False)),
                     source=value("source", "Test digits"))


def sync_query_params(model_name: str | None) -> None:
    params = link_params(current_link(model_name))
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def model_choices() -> dict[str, str]:
    """Model name -> "shipped" or "session": shipped models first, then this session's finished runs."""
    names, _ = shipped_names()
    choices = {name: "shipped" for name in names}
    for name, job in st.session_state.runs.items():
        if job.denoiser() is not None:
            choices[name] = "session"
    return choices


def get_model(name: str):
    """A shipped or session model by name; None (with a message shown) if it cannot be loaded."""
    if name in st.session_state.runs:
        return st.session_state.runs[name].denoiser()
    try:
        return shipped_model(name)
    except ModelFileError as err:
        st.error(f"Model **{name}** cannot be used: {err}. The other models still work.")
        return None


# ---------------------------------------------------------------- drawing the results
def line_chart(table: pd.DataFrame, x_title: str, y_title: str, height: int = 280) -> None:
    """Lines with point markers (so a single epoch shows too), one per column of ``table``."""
    import altair as alt
    import pandas as pd  # imported where needed: the first page has no use for it

    long = table.rename_axis("x").reset_index().melt("x", var_name="series", value_name="y").dropna()
    integer_x = pd.api.types.is_integer_dtype(long["x"])
    chart = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("x:Q", title=x_title, axis=alt.Axis(format="d" if integer_x else ".1f",
                                                     tickMinStep=1 if integer_x else 0.1)),
        y=alt.Y("y:Q", title=y_title, scale=alt.Scale(zero=False)),
        color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["series:N", alt.Tooltip("x:Q", title=x_title), alt.Tooltip("y:Q", title=y_title,
                                                                            format=".4f")],
    ).properties(height=height)
    st.altair_chart(chart, width="stretch")


def noise_controls() -> None:
    c1, c2, c3 = st.columns([3, 4, 2], vertical_alignment="bottom")
    c1.selectbox("Noise kind", KINDS, key="noise_kind",
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


# ---------------------------------------------------------------- views
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
    pool = np.arange(len(data.y_test))
    if st.session_state.digit != "any":
        pool = pool[data.y_test == int(st.session_state.digit)]
    rng = np.random.default_rng(st.session_state.sample_seed)
    idx = rng.choice(pool, size=min(count, len(pool)), replace=False)
    return data.x_test[idx], [f"digit {data.y_test[i]}" for i in idx]


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


def train_form(data) -> None:
    from denoiser.config import LOSSES, OPTIMIZERS, ModelConfig
    from denoiser.jobs import TrainingJob
    from denoiser.training_types import NoiseSpec

    with st.form("train"):
        st.markdown("**Architecture and the tutorial's four hyperparameters**")
        c1, c2, c3 = st.columns(3)
        arch = c1.selectbox("Architecture", ["dense", "conv", "unet"], key="t_arch",
                            help="dense: the tutorial's fully connected autoencoder; conv: convolutions; "
                                 "unet: convolutions with skip connections.")
        code = c2.select_slider("Code size", [2, 4, 8, 16, 32, 64, 128, 256], value=32, key="t_code",
                                help="dense: numbers in the bottleneck; smaller = more compression.")
        layers = c3.slider("Number of layers", 1, 4, 1, key="t_layers",
                           help="dense: encoder layers including the code (1 = 784 → code → 784).")
        c1, c2, c3 = st.columns(3)
        nodes = c1.select_slider("Nodes per layer", [64, 128, 256, 512, 1024], value=256,
                                 key="t_nodes",
                                 help="dense: width of the first hidden layer; each deeper one halves it.")
        loss = c2.radio("Loss", LOSSES, key="t_loss", horizontal=True,
                        help="What training minimises: binary cross-entropy, mean squared error, or "
                             "psnr (minus each digit's PSNR: every digit counts alike).")
        filters = c3.select_slider("Filters (conv, unet)", [4, 8, 16, 24, 32], value=8, key="t_filters",
                                   help="conv/unet: channels at full resolution; more = slower, stronger.")
        st.markdown("**Optimisation**")
        c1, c2, c3 = st.columns(3)
        optimizer = c1.selectbox("Optimizer", OPTIMIZERS, key="t_opt",
                                 help="adam adapts step sizes; adadelta at Keras' default rate barely moves.")
        lr = c2.select_slider("Learning rate", [1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 1e-1, 1.0, 10.0],
                              value=1e-3, key="t_lr", format_func=lambda v: f"{v:g}",
                              help="Step size of each update; too high diverges (try 10: the run stops "
                                   "and keeps its last good epoch), too low learns nothing.")
        epochs = c3.slider("Epochs", 1, 50, 10, key="t_epochs",
                           help="Passes over the training digits, each with a fresh noise draw.")
        c1, c2, c3 = st.columns(3)
        batch = c1.select_slider("Batch size", [16, 32, 64, 128, 256, 512], value=32, key="t_batch",
                                 help="Digits per weight update: smaller = more updates per epoch.")
        kind = c2.selectbox("Training noise", [*KINDS, "blind"], key="t_noise",
                            help="The noise the model learns to remove; blind = random kind and amount.")
        amount = c3.slider("Training noise amount", 0.0, 1.0, 0.5, 0.05, key="t_amount",
                           help="Strength of the training noise (ignored for blind).")
        n_max = len(data.x_train)
        c1, c2 = st.columns([1, 2])
        context = c1.select_slider("Whole-digit context (unet)", [0, 32, 64, 128], value=0,
                                   key="t_context",
                                   help="unet: nodes of a dense layer that sees the whole digit at "
                                        "the bottleneck (0 = none; convolutions see only a neighbourhood).")
        size = c2.slider("Training digits", min(100, n_max), n_max, min(4000, n_max), step=100,
                         key="t_size", help="How many training digits to learn from (10% are held out "
                                             "for the validation loss).")
        submitted = st.form_submit_button("Start training", type="primary",
                                          help="Train this model in the background; watch it learn below.")
    if not submitted:
        return
    active = st.session_state.get("active_job")
    if active is not None and active.running:
        st.warning("A training run is still going: stop it first.")
        return
    try:
        config = ModelConfig(arch, code_size=code, layers=layers, nodes=nodes, filters=filters,
                             context=context if arch == "unet" else 0, loss=loss,
                             optimizer=optimizer, learning_rate=lr)
        job = TrainingJob(config, NoiseSpec(kind, amount), epochs, batch, data.x_train[:size],
                          preview_clean=data.x_test[:8], x_eval=data.x_test[:500],
                          name=f"run {len(st.session_state.runs) + st.session_state.dropped_runs + 1}",
                          alive=session_alive())
    except ValueError as err:
        st.error(f"Cannot train with these settings: {err}")
        return
    runs = st.session_state.runs
    while len(runs) >= MAX_RUNS:
        oldest = next(iter(runs))
        runs.pop(oldest)
        st.session_state.dropped_runs += 1
        st.info(f"Only the last {MAX_RUNS} runs are kept: {oldest} was dropped.")
    runs[job.name] = job.start()
    st.session_state.active_job = job


def live_training() -> None:
    """The live panel: a fragment that refreshes itself every second while a run is training."""
    job = st.session_state.get("active_job")
    if job is None:
        st.info("Set the hyperparameters above and press **Start training**.")
        return
    st.fragment(live_panel, run_every=1.0 if job.running else None)()


def live_panel() -> None:
    import pandas as pd

    job = st.session_state.active_job
    p = job.progress
    if job.running:
        if p is None:
            st.progress(0.0, text=f"{job.name}: starting (loading TensorFlow takes a few seconds)…")
        else:
            eta = "" if p.eta_s is None else f" · about {p.eta_s:.0f} s left"
            st.progress(min(1.0, p.fraction),
                        text=f"{job.name}: epoch {p.epoch}/{p.epochs} · batch {p.batch}/{p.batches}{eta}")
        if st.button("Stop", help="End training after the current batch and keep the model."):
            job.stop()
    else:
        message = job.error or (job.result.message if job.result else "")
        state = {"finished": st.success, "stopped": st.warning}.get(job.status, st.error)
        state(f"{job.name} {job.status}" + (f": {message}" if message else "") +
              (" — pick it in **Denoise** to try it." if job.denoiser() is not None else ""))
    history = pd.DataFrame({"training loss": job.history["loss"],
                            "validation loss": job.history["val_loss"]},
                           index=pd.RangeIndex(1, len(job.history["loss"]) + 1, name="epoch"))
    left, right = st.columns(2)
    with left:
        st.markdown("**Loss per epoch**")
        if len(history):
            line_chart(history, "epoch", "loss")
        else:
            st.caption("The curves appear after the first epoch.")
    with right:
        st.markdown("**Test digits (never trained on), denoised after each epoch**")
        blank = [""] * len(job.preview_clean)
        rows = [("Noisy", job.preview_noisy, blank)]
        rows += [(f"After epoch {epoch}", out, blank) for epoch, out in list(enumerate(job.previews, 1))[-4:]]
        rows.append(("Clean", job.preview_clean, blank))
        st.image(digit_grid_png(rows, scale=2, per_line=len(blank)), output_format="PNG")
    if not job.running and st.session_state.get("_shown") != job.id:  # ended: finished, stopped, …
        st.session_state._shown = job.id
        st.rerun(scope="app")  # refresh the run table and the model list


def runs_table() -> None:
    import pandas as pd

    runs = st.session_state.runs
    if not runs:
        return
    st.subheader("Your runs")
    if st.session_state.dropped_runs:
        st.caption(f"Only the last {MAX_RUNS} runs are kept in this session.")
    rows, curves = [], {}
    for name, job in runs.items():
        val = [v for v in job.history["val_loss"] if v == v]
        kept = (f" (epoch {job.result.good_epoch} kept)" if job.status == "diverged"
                and job.denoiser() is not None else "")
        rows.append({"run": name, "status": job.status + kept, "settings": job.summary(),
                     "epochs": len(job.history["loss"]),
                     "final val loss": round(val[-1], 5) if val else None,
                     "PSNR (Gaussian 0.5)": round(job.metrics["psnr"], 2) if job.metrics else None,
                     "SSIM": round(job.metrics["ssim"], 3) if job.metrics else None})
        val_loss = job.history["val_loss"]
        if val_loss:
            curves[name] = pd.Series(val_loss, index=range(1, len(val_loss) + 1))
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    if curves:
        st.markdown("**Validation loss of every run**")
        line_chart(pd.DataFrame(curves), "epoch", "validation loss")
    done = [n for n, j in runs.items() if j.denoiser() is not None]
    if done:
        c1, c2 = st.columns([2, 1])
        pick = c1.selectbox("Download a run", done, key="download_pick",
                            help="Save a trained model as a .keras file to load in Keras.")
        c2.write("")
        c2.download_button("Download .keras", data=lambda job=runs[pick]: job.model_bytes,
                           file_name=f"{pick.replace(' ', '-')}.keras", mime="application/octet-stream",
                           help="The model file, loadable with keras.saving.load_model.")


def session_alive():
    """A function telling whether this browser session is still open (so training can end with it)."""
    from streamlit.runtime import Runtime, exists
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not exists():
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)


def view_train(data) -> None:
    st.markdown("Train your own denoising autoencoder on "
                f"{'up to ' + format(len(data.x_train), ',')} training digits and watch it learn. "
                "A dense model on 4,000 digits for 10 epochs takes seconds; conv and unet take minutes.")
    train_form(data)
    live_training()
    runs_table()


def view_explore(data) -> None:
    import pandas as pd

    choices = model_choices()
    st.subheader("Noise sweep")
    st.markdown("How quality falls as noise grows, for models and classical filters on the same digits.")
    with st.form("sweep"):
        c1, c2 = st.columns(2)
        names = c1.multiselect("Models", list(choices), default=list(choices)[:2], key="sweep_models",
                               help="Autoencoders to measure.")
        filters = c2.multiselect("Classical filters", list(CLASSICAL), default=["median"],
                                 key="sweep_filters", help="Non-learned denoisers to measure.")
        c1, c2 = st.columns(2)
        kind = c1.selectbox("Noise kind", KINDS, key="sweep_kind", help="The noise to sweep.")
        n = c2.slider("Test digits", 20, 500, 100, 20, key="sweep_n",
                      help="Digits per point: more is smoother but slower.")
        go = st.form_submit_button("Run sweep", help="Measure PSNR and SSIM at amounts 0.1 to 0.9.")
    if go:
        from denoiser.evaluation import evaluate_table

        methods = {"noisy input": lambda a: a}
        for name in names:
            model = get_model(name)
            if model is not None:
                methods[name] = model.denoise
        methods.update({f"filter: {f}": CLASSICAL[f] for f in filters})
        amounts = [round(a, 1) for a in np.arange(0.1, 0.95, 0.1)]
        with st.spinner("Measuring…"):
            rows = evaluate_table(methods, data.x_test[:n], [kind], amounts, seed=0)
        st.session_state.sweep_result = pd.DataFrame(rows)
    sweep = st.session_state.get("sweep_result")
    if sweep is not None:
        c1, c2 = st.columns(2)
        for col, metric, label in ((c1, "psnr", "PSNR (dB)"), (c2, "ssim", "SSIM")):
            table = sweep.pivot(index="amount", columns="method", values=metric)
            col.markdown(f"**{label} against noise amount** ({sweep['kind'].iloc[0]})")
            with col:
                line_chart(table, "noise amount", label, height=320)

    st.subheader("Latent space")
    coded = [n for n in choices if (m := get_model(n)) is not None and m.has_code]
    if not coded:
        st.info("No model with a bottleneck code is available (the U-Nets have none).")
        return
    c1, c2 = st.columns(2)
    name = c1.selectbox("Model with a code", coded, key="latent_model",
                        help="Codes of test digits, projected to 2-D with PCA and coloured by digit.")
    count = c2.slider("Digits to plot", 100, min(2000, len(data.x_test)), min(1000, len(data.x_test)), 100,
                      key="latent_n", help="How many test digits to encode.")
    from denoiser.latent import interpolate, pca_2d

    model = get_model(name)
    with st.spinner("Encoding digits (the first time also loads TensorFlow)…"):
        coords, explained = pca_2d(model.encode(data.x_test[:count]))
    points = pd.DataFrame({"PC 1": coords[:, 0], "PC 2": coords[:, 1],
                           "digit": data.y_test[:count].astype(str)})
    st.scatter_chart(points, x="PC 1", y="PC 2", color="digit", height=420)
    st.caption(f"The two axes explain {explained.sum():.0%} of the codes' variance. "
               "Digits the model finds alike sit close together.")
    st.markdown("**Walk from one digit to another through the code**")
    c1, c2, c3 = st.columns(3)
    a = c1.selectbox("From digit", range(10), index=3, key="interp_a", help="Start of the walk.")
    b = c2.selectbox("To digit", range(10), index=8, key="interp_b", help="End of the walk.")
    steps = c3.slider("Steps", 3, 12, 8, key="interp_steps", help="Images along the way.")
    first_a = data.x_test[np.flatnonzero(data.y_test == a)[0]]
    first_b = data.x_test[np.flatnonzero(data.y_test == b)[0]]
    path = interpolate(model, first_a, first_b, steps)
    st.image([enlarge(img, SCALE) for img in path], width=28 * SCALE, output_format="PNG",
             caption=[f"{t:.0%}" for t in np.linspace(0, 1, steps)])


def view_learn() -> None:
    from denoiser.lesson import lesson_markdown

    st.markdown(lesson_markdown(models_dir=model_dir()))





# ---------------------------------------------------------------- page
def main() -> None:
    init_state()
    data = get_digits()
    st.title("denoiser")
    st.caption("Image denoising with autoencoders, on handwritten MNIST digits. " + data.description
               + ".")
    st.segmented_control("View", VIEWS, key="view", label_visibility="collapsed",
                         help="Denoise digits, train your own model, explore models, or read the lesson.")
    notices = st.session_state.pop("link_notices", None)
    if notices:
        st.info("This link had settings the app could not use: " + "; ".join(notices) + ".")
    view = st.session_state.view or "Denoise"
    if view == "Denoise":
        guarded(view_denoise)(data)
    elif view == "Train":
        guarded(view_train)(data)
    elif view == "Explore":
        guarded(view_explore)(data)
    else:
        guarded(view_learn)()
    sync_query_params(st.session_state.get("_model_name", st.session_state.get("model_name")))
    st.divider()
    st.caption(f"Data: {MNIST_CREDIT}.")
    fetch_full_mnist_in_background()
    freeze_startup_objects()


main()
