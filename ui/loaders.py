"""What the pages load once per server process (``st.cache_resource``): the digits, the shipped
models and any model directory's, and the objects frozen out of the garbage collector at start."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import streamlit as st

from denoiser import load_mnist
from denoiser.digits.mnist import OFFLINE_VAR
from denoiser.models import quantize
from denoiser.models.files import ModelFileError, model_dir
from denoiser.models.shipped import list_pretrained, load_pretrained

if TYPE_CHECKING:
    pass

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
