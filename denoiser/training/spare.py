"""A training process started ahead of need: TensorFlow imported, waiting for the next run.

A training child spends its first seconds importing TensorFlow and Keras, so a short run's
wait after *Start training* was mostly that start-up. The server keeps one such process
ready (started when the Train page opens and after each run, always at the training's low
priority), and a run takes it instead of starting its own; the next spare starts behind it. A
spare is only kept while the training queue has a free slot, so it stays within the queue's
memory bound (``denoiser.training.slots.TRAINING_GB`` per slot). ``$DENOISER_SPARE_TRAINER=0`` turns it off.
While it waits, the Train page tells it what its form shows (:meth:`SparePool.expect`) and it
primes that model (:mod:`denoiser.training.primed`): built and traced, so a run with those settings
skips Keras' tracing too. ``python -m benchmarks.bench_first_point`` measures Start → first curve
point without a spare, with one, and with one primed.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from denoiser.models.config import ModelConfig

log = logging.getLogger(__name__)

#: Environment variable: ``0`` keeps no spare (every run starts its own process).
SPARE_VAR = "DENOISER_SPARE_TRAINER"


@dataclass
class Spare:
    """A waiting training process and its three channels: messages in (``("expect", config)``,
    then ``("train", settings)``), reports out, stop."""

    process: multiprocessing.process.BaseProcess
    inbox: Any
    reports: Any
    stop: Any
    expected: Any = None  # the configuration it was last told to expect


def spare_enabled() -> bool:
    return os.environ.get(SPARE_VAR, "1") != "0"


def _warm_up() -> None:
    """What every run's first seconds went to, done before there is a run: importing Keras and
    the ONNX exporter, and one tiny training (Keras builds its training step, the CPU kernels
    load), whose model is then dropped."""
    import numpy as np

    from denoiser.models import onnx_export  # noqa: F401 - tf2onnx, for the run's end
    from denoiser.models.config import ModelConfig
    from denoiser.training.fit import train

    digits = np.random.default_rng(0).random((32, 28, 28), dtype=np.float32)
    train(ModelConfig("dense", code_size=8), digits, epochs=1, batch_size=16, validation_split=0.0)
    import keras

    keras.backend.clear_session()  # the warm-up's model and names go; the loaded kernels stay


def _wait_then_train(inbox, reports, stop) -> None:
    """The spare process: import what training needs; prime each configuration it is told to
    expect, the latest first; train the run it is then given as a run's own process does
    (:func:`denoiser.training.child.train_in_child`)."""
    from denoiser.training.child import lower_priority, train_in_child

    lower_priority()
    _warm_up()
    train_in_child(_next_run(inbox), reports, stop)


def _next_run(inbox) -> dict:
    """Prime what ``inbox`` says to expect until it brings a run's settings; return those."""
    from denoiser.training.primed import prime

    while True:
        messages = [inbox.get()]
        with contextlib.suppress(queue.Empty):
            while True:  # what else came meanwhile: a run goes first, then only the latest wish
                messages.append(inbox.get_nowait())
        for kind, payload in messages:
            if kind == "train":
                return payload
        try:
            prime(messages[-1][1])
        except Exception:  # noqa: BLE001 - a run with these settings is then built as usual
            log.warning("could not prime %s", messages[-1][1], exc_info=True)


class SparePool:
    """At most one spare training process, taken by the next run (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spare: Spare | None = None

    def take(self) -> Spare | None:
        """The waiting process, now this caller's (None when there is none alive)."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and not spare.process.is_alive():
            return None
        return spare

    def expect(self, config: ModelConfig) -> None:
        """Tell the spare (if any) that the next run will likely train ``config``: it primes it."""
        with self._lock:
            spare = self._spare
            if spare is None or spare.expected == config:
                return
            spare.expected = config
        spare.inbox.put(("expect", config))

    def ready(self) -> bool:
        with self._lock:
            return self._spare is not None and self._spare.process.is_alive()

    def refill(self) -> None:
        """Start a spare if there is none (in the background, at the training's low priority)."""

        with self._lock:
            if self._spare is not None and self._spare.process.is_alive():
                return
            from denoiser.training.child import start_in_background

            ctx = multiprocessing.get_context("spawn")
            inbox, reports, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
            process = ctx.Process(target=_wait_then_train, args=(inbox, reports, stop),
                                  name="denoiser-train-spare", daemon=True)
            try:
                start_in_background(process)
            except OSError as err:  # no room for another process now: runs start their own
                log.warning("no spare training process: %s", err)
                return
            self._spare = Spare(process, inbox, reports, stop)

    def drop(self) -> None:
        """End the spare, if any (the queue is full, or the server is going)."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.process.is_alive():
            # Killed, not asked: it holds no run, and asking would wait for its warm-up to end
            # (seconds at its low priority) in the page's thread that called this.
            spare.process.kill()
            spare.process.join(5)


_pool = SparePool()


def spare_pool() -> SparePool:
    """The server's one pool."""
    return _pool
