"""Per-session state: the widgets' values kept across pages, the shareable link and an exercise's
locks, and the models this session may pick (shipped, trained here, uploaded, from the gallery)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from denoiser.models.files import ModelFileError
from denoiser.teaching.links import LinkState, link_params, read_link
from denoiser.training.runlist import RunList
from ui.common import MAX_RUNS
from ui.loaders import shipped_model, shipped_names

if TYPE_CHECKING:
    pass

#: Widget values that must survive while their widget is not on the page (another view).
PERSISTENT = ("noise_kind", "amount", "digit", "model_name", "more_models", "filters", "show_diff", "source",
              "count", "projector",
              # the Learn view's lessons: each keeps its settings while another is on screen
              "lesson", "l_bottleneck_amount", "l_codes_amount", "l_opt_amount", "l_unseen_kind",
              "l_unseen_amount", "l_context_amount", "l_metrics_strength", "l_pca_n",
              "l_shift_amount", "class_guided",
              # the Train page's settings, kept while the person looks at another page
              "t_start_from", "t_extra",
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
