"""Run one function in a fresh Python process, so the caller never imports what it imports.

The app's server stays free of TensorFlow: once TensorFlow is imported in a Streamlit server,
Streamlit calls Keras' ``clear_session`` after every script run, and the garbage collection in
it walks TensorFlow's objects, several times the server's CPU per slider move for every user
(``python -m benchmarks.bench_server_cpu`` measures it). Work that needs
TensorFlow (exporting an uploaded model, fetching MNIST with Keras, exporting a decoder) runs
here instead, in a spawned process that exits when it is done.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import sys
import threading
import types
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


_MAIN_SWAP = threading.Lock()


@contextlib.contextmanager
def script_free_main() -> Iterator[None]:
    """Around starting a spawned process: the child is not told to re-run this one's script.

    A spawned child first runs its parent's ``__main__`` again (as ``__mp_main__``) when that is a
    script. Under ``streamlit run``, ``__main__`` is the page being run, so each training or
    checking process would run a whole page, with no session (every Streamlit call logging
    "missing ScriptRunContext"), before its own work. Here, for the moment a process starts,
    ``__main__`` is an empty module; a main run by module name (``python -m``) is left alone.
    """
    with _MAIN_SWAP:
        main = sys.modules.get("__main__")
        swap = main is not None and getattr(main.__spec__, "name", None) is None
        if swap:
            sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if swap:
                sys.modules["__main__"] = main


def _limit_memory(limit: int | None) -> None:
    """In the new process: cap its address space at ``limit`` bytes (beyond it, MemoryError)."""
    if limit is None:
        return
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def call_in_fresh_process(fn: Callable[..., T], *args: object, timeout: float,
                          memory_bytes: int | None = None) -> T:
    """``fn(*args)`` in a newly spawned interpreter; its result (or exception) comes back pickled.

    ``fn`` must be importable by name (a module-level function). A call that takes longer than
    ``timeout`` seconds has its process killed and raises :class:`TimeoutError`. With
    ``memory_bytes``, the process's address space is capped there (on Linux and macOS), so an
    allocation beyond it raises :class:`MemoryError` in the process instead of taking the
    machine's memory. The result comes from a process this app started on its own code, never
    from a network or a shared store.
    """
    context = multiprocessing.get_context("spawn")  # a fresh interpreter, never a fork of this one
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context,
                                                initializer=_limit_memory,
                                                initargs=(memory_bytes,)) as pool:
        with script_free_main():  # the pool starts its process here
            future = pool.submit(fn, *args)
        try:
            return future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
            raise TimeoutError(f"{fn.__name__} took over {timeout:.0f} s") from None
