"""Run one function in a fresh Python process, so the caller never imports what it imports.

The app's server stays free of TensorFlow: once TensorFlow is imported in a Streamlit server,
Streamlit calls Keras' ``clear_session`` after every script run, and the garbage collection in
it walks TensorFlow's objects — 146–185 ms of server CPU per slider move instead of 23–26 ms,
for every user (``python -m benchmarks.bench_server_cpu``, AMD EPYC, AVX-512). Work that needs
TensorFlow (exporting an uploaded model, fetching MNIST with Keras, exporting a decoder) runs
here instead, in a spawned process that exits when it is done.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def call_in_fresh_process(fn: Callable[..., T], *args: object, timeout: float) -> T:
    """``fn(*args)`` in a newly spawned interpreter; its result (or exception) comes back pickled.

    ``fn`` must be importable by name (a module-level function). A call that takes longer than
    ``timeout`` seconds has its process killed and raises :class:`TimeoutError`.
    """
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, never a fork of this one
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future = pool.submit(fn, *args)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
            raise TimeoutError(f"{fn.__name__} took over {timeout:.0f} s") from None
