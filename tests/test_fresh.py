"""Spawned processes (training, upload checks) never re-run the page that started them."""

import multiprocessing
import os
import sys
import types

import pytest

from denoiser.fresh import call_in_fresh_process
from denoiser.training.child import start_in_background


@pytest.fixture
def page_as_main(tmp_path, monkeypatch):
    """``__main__`` as under ``streamlit run``: a page script (no module spec) that, when run,
    leaves a file behind: what a child re-running it would do."""
    marker = tmp_path / "page-ran"
    script = tmp_path / "page.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n")
    page = types.ModuleType("__main__")
    page.__file__ = str(script)
    page.__spec__ = None
    monkeypatch.setitem(sys.modules, "__main__", page)
    return marker


@pytest.mark.slow
def test_a_fresh_process_does_not_run_the_page(page_as_main):
    assert call_in_fresh_process(os.getpid, timeout=60) != os.getpid()
    assert not page_as_main.exists()
    assert sys.modules["__main__"].__file__.endswith("page.py")  # put back


def test_a_training_process_does_not_run_the_page(page_as_main):
    child = multiprocessing.get_context("spawn").Process(target=os.getpid)
    start_in_background(child)
    child.join(60)
    assert child.exitcode == 0
    assert not page_as_main.exists()
