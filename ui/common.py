"""What every page of the app shares: cached loaders, per-session state and the shareable link,
model lookup, charts, and the error boundary. Pages import from here; the work itself is done
by the ``denoiser`` package."""

from __future__ import annotations

import functools
import logging
import os
import threading
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from denoiser import load_mnist
from denoiser.digits.mnist import OFFLINE_VAR
from denoiser.models import quantize
from denoiser.models.files import ModelFileError, model_dir
from denoiser.models.shipped import list_pretrained, load_pretrained
from denoiser.teaching.links import VIEWS, LinkState, link_params, read_link
from denoiser.training.runlist import RunList

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_RUNS", "SCALE", "VIEWS", "bar_chart", "get_digits", "get_model", "grid_style", "guarded",
           "line_chart", "model_choices", "projector_on", "projector_toggle", "session_alive",
           "shipped_names", "sync_query_params", "locked", "lock_note"]


MAX_RUNS = 5  # trained runs kept per browser session
SCALE = 4  # screen pixels per digit pixel
#: The projector view: at most this many digits, each pixel this many screen pixels, text this tall.
# columns_scale: the Denoise grid with rows side by side, which must fit a 1024×768 screen whole
PROJECTOR = {"max_count": 3, "scale": 5, "columns_scale": 3, "font_size": 28}
log = logging.getLogger("denoiser.app")


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

    The first page does not need pandas or the training code, so they load here, after
    it is on screen: an import holds the interpreter's lock, and left to the first Train or
    Explore page it would stall every other user's update for a few hundred ms. Frozen, these
    objects also make each later collection ~1 ms instead of ~40 ms (Streamlit's own collection
    after every script run is switched off in .streamlit/config.toml: runner.postScriptGC).
    """
    import gc

    import pandas  # noqa: F401

    import denoiser.results.evaluation  # noqa: F401
    import denoiser.results.latent  # noqa: F401
    import denoiser.training.jobs  # noqa: F401

    gc.collect()
    gc.freeze()
    return True


_FROZEN_WITH_KERAS = threading.Event()


def freeze_again_if_keras_loaded() -> bool:
    """After a script run that brought Keras into the server, freeze the heap once more.

    Models run on ONNX Runtime here and TensorFlow's work runs in fresh processes, but a model
    without an ONNX export runs on Keras in the server. Once Keras is imported, Streamlit calls its
    ``clear_session`` after every script run, a full garbage collection: over unfrozen
    TensorFlow objects it multiplied a slider move's server CPU (``python -m
    benchmarks.bench_server_cpu``); frozen objects are skipped. Returns whether it froze now.
    """
    import gc
    import sys

    if "keras" not in sys.modules or _FROZEN_WITH_KERAS.is_set():
        return False
    _FROZEN_WITH_KERAS.set()
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


@st.cache_resource(show_spinner="Loading model…", max_entries=64)
def directory_model(name: str, directory: str, version: str = "", precision: str = "float32"):
    """A model of a model directory (shipped, lessons, class gallery), loaded once per process.

    Shared by all sessions, only ever read. Lazy: it runs on ONNX Runtime, so no page needs
    TensorFlow for it (the latent walk's decoder is exported in a fresh process). ``version`` (e.g. the
    file's checksum) is only part of the cache key: a model published again is loaded again.
    ``precision`` is the server's (:func:`server_precision`), named so that it is part of the key.
    """
    return load_pretrained(name, directory, lazy=True, precision=precision)


def server_precision() -> tuple[str, str]:
    """The models' precision on this server (``$DENOISER_PRECISION``), and what was wrong with
    the setting (float32 is used then)."""
    try:
        return quantize.precision(), ""
    except ValueError as err:
        return "float32", f"{err}: the models run in float32"


def shipped_model(name: str):
    return directory_model(name, str(model_dir()), precision=server_precision()[0])


# ---------------------------------------------------------------- per-session state
#: Widget values that must survive while their widget is not on the page (another view).
PERSISTENT = ("noise_kind", "amount", "digit", "model_name", "more_models", "filters", "show_diff", "source",
              "count", "projector",
              # the Learn view's lessons: each keeps its settings while another is on screen
              "lesson", "l_bottleneck_amount", "l_codes_amount", "l_opt_amount", "l_unseen_kind",
              "l_unseen_amount", "l_context_amount", "l_metrics_strength", "l_pca_n",
              # the Train page's settings, kept while the person looks at another page
              "t_arch", "t_loss", "t_opt", "t_lr", "t_epochs", "t_batch", "t_noise", "t_amount", "t_size",
              "t_code", "t_layers", "t_nodes", "t_filters", "t_context", "t_blocks", "t_flags")


def keep_widget_values() -> None:
    """Streamlit forgets a widget's value when a run does not draw it; keep a copy and restore it.

    Each value is also assigned again (Streamlit's own idiom): a value set this run is sent with
    its widget, so a widget the browser drew afresh (after another page, or a run without it,
    as while a photo is replaced) shows the session's value, not its own default.
    """
    for key in PERSISTENT:
        if key in st.session_state:
            st.session_state[f"_{key}"] = st.session_state[key] = st.session_state[key]
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
    state.runs = RunList(MAX_RUNS)  # run name -> TrainingJob
    state.canvas_key = 0
    state.link_view = link.view if "view" in q else None  # followed once by app.py
    state.noise_kind, state.amount, state.digit = link.noise, link.amount, link.digit
    state.count, state.sample_seed, state.noise_seed = link.count, link.sample, link.seed
    state.filters, state.show_diff, state.source = link.filters, link.diff, link.source
    state.requested_model, state.requested_models = link.model, link.models
    state.projector = link.projector
    state.locks = link.lock  # an exercise link's fixed controls, for the whole session
    state.link_notices = notices
    keep_widget_values()


def current_link(model_name: str | None, more_models: list[str] | None = None) -> LinkState:
    """The settings on screen now, as a shareable link's state."""
    state = st.session_state

    def value(key, default):
        return state.get(key, state.get(f"_{key}", default))

    return LinkState(noise=value("noise_kind", "gaussian"),
                     amount=float(value("amount", 0.5)), digit=value("digit", "any"), model=model_name,
                     count=int(value("count", 8)), sample=state.sample_seed, seed=state.noise_seed,
                     filters=list(value("filters", [])), diff=bool(value("show_diff", False)),
                     source=value("source", "Test digits"), models=list(more_models or []),
                     projector=bool(value("projector", False)), lock=list(state.get("locks", [])))


def locked(name: str) -> bool:
    """Whether this session's exercise link locks ``name`` (a key of denoiser.teaching.links.LOCKABLE)."""
    return name in st.session_state.get("locks", [])


#: What a locked control's help says.
LOCKED_WORDS = " Locked by this exercise's link."


def lock_note(name: str) -> str:
    """What to add to the help of a control that ``name`` locks: :data:`LOCKED_WORDS` when this
    session's link locks it, else nothing."""
    return LOCKED_WORDS if locked(name) else ""


def sync_query_params(model_name: str | None, more_models: list[str] | None = None) -> None:
    params = link_params(current_link(model_name, more_models))
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


#: How a model list shows where a model comes from (shipped models show their name alone).
ORIGIN_WORDS = {"session": "trained here", "uploaded": "uploaded", "gallery": "class gallery"}


def model_choices() -> dict[str, str]:
    """Model name -> where it comes from ("shipped", "gallery", "session" or "uploaded"):
    shipped models first, then the class gallery, this session's finished runs and its uploads."""
    from ui.sharing import uploads, visible_gallery_names

    names, _ = shipped_names()
    choices = {name: "shipped" for name in names}
    choices.update({name: "gallery" for name in visible_gallery_names() if name not in choices})
    choices.update(dict.fromkeys(st.session_state.runs.finished(), "session"))
    choices.update(dict.fromkeys(uploads(), "uploaded"))
    return choices


def model_label(choices: dict[str, str]):
    """A ``format_func`` naming each model with its origin: "run 1 (trained here)"."""
    return lambda n: f"{n} ({ORIGIN_WORDS[choices[n]]})" if choices.get(n) in ORIGIN_WORDS else n


def get_model(name: str):
    """A model by name (this session's runs and uploads first, then the gallery, then the shipped
    ones); None (with a message shown) if it cannot be loaded."""
    from ui.sharing import gallery_model, uploads, visible_gallery_names

    if name in st.session_state.runs:
        return st.session_state.runs[name].denoiser()
    if name in uploads():
        return uploads()[name].model
    try:
        if name in visible_gallery_names() and name not in shipped_names()[0]:
            return gallery_model(name)
        return shipped_model(name)
    except ModelFileError as err:
        st.error(f"Model **{name}** cannot be used: {err}. The other models still work.")
        return None


def session_alive():
    """A function telling whether this browser session is still open (so training can end with it)."""
    from streamlit.runtime import Runtime, exists
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not exists():
        return None
    runtime, session_id = Runtime.instance(), ctx.session_id
    return lambda: runtime.is_active_session(session_id)


# ---------------------------------------------------------------- the projector view
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


# ---------------------------------------------------------------- charts
def bar_chart(values: dict[str, float], title: str, height: int = 220) -> None:
    """Horizontal bars, one per name, each in its fixed colour (:mod:`denoiser.results.colours`)."""
    import pandas as pd

    from denoiser.results.colours import colours_of

    table = pd.DataFrame({"name": list(values), "value": list(values.values())})
    spec = {
        "mark": {"type": "bar"},
        "height": height,
        "encoding": {
            "x": {"field": "value", "type": "quantitative", "title": title},
            "y": {"field": "name", "type": "nominal", "title": None, "sort": None},
            "color": {"field": "name", "type": "nominal", "legend": None,
                      "scale": {"domain": list(values), "range": colours_of(list(values))}},
            "tooltip": [{"field": "name", "type": "nominal"},
                        {"field": "value", "type": "quantitative", "title": title, "format": ".2f"}],
        },
    }
    st.vega_lite_chart(table, spec, width="stretch")


def line_chart(table: pd.DataFrame, x_title: str, y_title: str, height: int = 280) -> None:
    """Lines with point markers (so a single epoch shows too), one per column of ``table``, each
    in its own fixed colour (:mod:`denoiser.results.colours`: the same method, the same colour everywhere).

    A plain Vega-Lite spec, not altair: the live training panel redraws its curves every second,
    and building and validating the same chart in altair cost several times what the spec does,
    all of it holding the interpreter's lock (timed by hand on an AVX2 EPYC).
    """
    import pandas as pd  # imported where needed: the first page has no use for it

    from denoiser.results.colours import colours_of

    long = table.rename_axis("x").reset_index().melt("x", var_name="series", value_name="y").dropna()
    integer_x = pd.api.types.is_integer_dtype(long["x"])
    spec = {
        "mark": {"type": "line", "point": True},
        "height": height,
        "encoding": {
            "x": {"field": "x", "type": "quantitative", "title": x_title,
                  "axis": {"format": "d" if integer_x else ".1f", "tickMinStep": 1 if integer_x else 0.1}},
            "y": {"field": "y", "type": "quantitative", "title": y_title, "scale": {"zero": False}},
            "color": {"field": "series", "type": "nominal", "title": None, "legend": {"orient": "bottom"},
                      "scale": {"domain": list(table.columns), "range": colours_of(list(table.columns))}},
            "tooltip": [{"field": "series", "type": "nominal"},
                        {"field": "x", "type": "quantitative", "title": x_title},
                        {"field": "y", "type": "quantitative", "title": y_title, "format": ".4f"}],
        },
    }
    st.vega_lite_chart(long, spec, width="stretch")


# ---------------------------------------------------------------- the code space
#: Projections kept per session: (model, digits) → PCA coordinates (a few models' worth).
LATENT_CACHE = 6


def latent_points(model, data, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The PCA of ``model``'s codes for the first ``count`` test digits, computed once per model
    and count in this session (a session's own runs are models too, so no global cache)."""
    from denoiser.results.latent import pca_2d

    cache = st.session_state.setdefault("latent_cache", {})
    key = (model.name, id(model), count)
    if key not in cache:
        cache[key] = pca_2d(model.encode(data.x_test[:count]))
        while len(cache) > LATENT_CACHE:
            cache.pop(next(iter(cache)))
    return cache[key]


def code_scatter(coords: np.ndarray, labels: np.ndarray, height: int) -> None:
    """Codes projected to 2-D (:func:`latent_points`), one point per digit, coloured by its class."""
    import pandas as pd

    st.scatter_chart(pd.DataFrame({"PC 1": coords[:, 0], "PC 2": coords[:, 1], "digit": labels.astype(str)}),
                     x="PC 1", y="PC 2", color="digit", height=height)
