"""The server settings in .streamlit/config.toml are the ones Streamlit actually reads."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def options(monkeypatch):
    from streamlit import config

    monkeypatch.chdir(ROOT)  # Streamlit reads ./.streamlit/config.toml from where it starts
    monkeypatch.setenv("HOME", str(ROOT / "build" / "no-home"))  # no user-wide config
    config.get_config_options(force_reparse=True)
    yield config.get_option
    monkeypatch.undo()
    config.get_config_options(force_reparse=True)


def test_uploads_are_capped_and_xsrf_protection_is_on(options):
    from denoiser.models.keras_check import MAX_MODEL_BYTES

    assert options("server.maxUploadSize") == MAX_MODEL_BYTES // 2**20  # a model file at most
    assert options("global.disableWidgetStateDuplicationWarning") is True  # Learn sets Train's controls
    assert options("server.enableXsrfProtection") is True


def test_no_per_run_garbage_collection_or_file_watching(options):
    # A full collection after every script run holds the GIL and makes every user wait for
    # every other user's (benchmarks/load_test.py); file watching polls every source file.
    assert options("runner.postScriptGC") is False
    assert options("server.fileWatcherType") == "none"


def test_uncaught_errors_show_visitors_no_details(options):
    # Tracebacks carry the server's file paths: they go to the server's console only
    # (the app's own error boundary, tests/test_app.py, catches what it can first).
    assert options("client.showErrorDetails") == "none"


def test_the_heap_is_frozen_again_once_after_keras_enters_the_server(monkeypatch):
    import gc
    import sys
    import threading

    import ui.loaders as loaders

    frozen: list[int] = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(1))
    monkeypatch.setattr(gc, "collect", lambda *a: 0)
    monkeypatch.setattr(loaders, "_FROZEN_WITH_KERAS", threading.Event())
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    assert not loaders.freeze_again_if_keras_loaded() and frozen == []  # no Keras: nothing to do
    monkeypatch.setitem(sys.modules, "keras", object())
    assert loaders.freeze_again_if_keras_loaded() and frozen == [1]
    assert not loaders.freeze_again_if_keras_loaded() and frozen == [1]  # once per process
