"""Training in a separate, low-priority process, with progress a UI can poll (no UI code here).

Each run trains in its own child process (``multiprocessing`` "spawn"): TensorFlow never
loads in the server, a training gets a lower CPU priority than every page update, and
all its memory goes back to the system when it ends (Keras keeps a few MB per trained
model for the life of a process). The child reports progress, previews and, at the end,
the model as ``.keras`` bytes and its ONNX export, which the server runs in ONNX Runtime.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from denoiser.digits.noise import NoiseSpec
from denoiser.models.config import ModelConfig
from denoiser.models.files import load_model_bytes
from denoiser.models.onnx_session import OnnxModel
from denoiser.models.runtime import Denoiser
from denoiser.training.child import start_in_background, train_in_child
from denoiser.training.progress import Progress, TrainResult
from denoiser.training.slots import TrainingQueue, keep_a_spare
from denoiser.training.spare import SparePool, spare_enabled, spare_pool

log = logging.getLogger(__name__)

#: What a user reads when training breaks (the details go to the server's log).
FAILED = "training stopped on an error; the details are in the server's log — try other settings"

#: Training in the background allows at most this many epochs and digits.
MAX_EPOCHS = 200
MAX_DIGITS = 62_000  # all of MNIST's training digits and a class's collection


@dataclass(eq=False)  # a job is itself: compared by identity, not by its arrays
class TrainingJob:
    """One training run: its settings, live progress, and (when done) its model.

    Start it with :meth:`start`; read ``progress``, ``history`` and ``previews``
    from any thread; :meth:`stop` ends it after the current batch. The training
    itself runs in a child process; a thread here relays its reports.
    """

    config: ModelConfig
    noise: NoiseSpec
    epochs: int
    batch_size: int
    x_train: np.ndarray
    preview_clean: np.ndarray  # fixed validation digits denoised after every epoch
    x_eval: np.ndarray | None = None
    name: str = ""
    alive: Callable[[], bool] | None = None  # training stops once this returns False
    queue: TrainingQueue | None = None  # waits for a free slot here before it trains
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    progress: Progress | None = None
    history: dict[str, list[float]] = field(default_factory=lambda: {"loss": [], "val_loss": []})
    previews: list[np.ndarray] = field(default_factory=list)
    result: TrainResult | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    started: float = 0.0
    hints: list[str] = field(default_factory=list)  # settings known to end in a blob (training.hints)
    start_model: bytes | None = None  # a fine-tune: the .keras file it starts from (same config)
    start_name: str = ""  # that model's name, for the run's summary
    x_held: np.ndarray | None = None  # other digits held out of training: scored before and after
    held_name: str = ""  # what they are, for the run's summary
    held: dict = field(default_factory=dict)  # {"before": scores or None, "after": scores}
    model_bytes: bytes | None = None  # the trained model as a .keras file
    onnx_bytes: bytes | None = None  # its ONNX export, which denoises in this (TensorFlow-free) server

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise ValueError(f"epochs must be in [1, {MAX_EPOCHS}], got {self.epochs}")
        if not 1 <= len(self.x_train) <= MAX_DIGITS:
            raise ValueError(f"training set must hold 1 to {MAX_DIGITS:,} digits, got {len(self.x_train)}")
        self._stop = threading.Event()
        self._admitted = threading.Event()  # its turn came: it trains (at once without a queue)
        self.cancelled = False  # stopped, or its page closed, before it trained a batch
        self._lock = threading.Lock()
        self._news = threading.Condition(self._lock)  # a new point on the curve, or the run's end
        self._ended = False
        self._thread: threading.Thread | None = None
        self._denoiser: Denoiser | None = None
        shown = self.noise if self.noise.kind != "blind" else NoiseSpec("gaussian", 0.5)
        self.preview_noisy = shown.apply(self.preview_clean, seed=7)
        self.name = self.name or f"run-{self.id}"

    # -- control -------------------------------------------------------------------------------
    def start(self) -> TrainingJob:
        """Start training (a child process, watched by a daemon thread); returns self."""
        if self._thread is not None:
            raise RuntimeError("this job was already started")
        self.started = time.time()
        if self.queue is not None:
            self.queue.enqueue(self)  # its place is kept from now, first come first served
        else:
            self._admitted.set()
        self._thread = threading.Thread(target=self._watch, name=f"train-{self.id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask training to end after the current batch (the weights are kept); a run that has not
        trained a batch yet (waiting in the queue, or starting up) is cancelled instead."""
        self._stop.set()

    def wait_for_point(self, n: int, timeout: float) -> bool:
        """Wait until the loss curve holds ``n`` points or the run has ended (True), or at most
        ``timeout`` seconds (False): a page that shows the point the moment it exists, not at
        its next look."""
        with self._news:
            return self._news.wait_for(lambda: len(self.history["loss"]) >= n or self._ended, timeout)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def status(self) -> str:
        if self.error:
            return "failed"
        if self.cancelled:
            return "cancelled"
        if self.running:
            if not self._admitted.is_set():
                return "queued"
            return "stopping" if self._stop.is_set() else "training"
        if self.result is None:
            return "waiting" if self._thread is None else "failed"
        if self.result.diverged:
            return "diverged"
        return "stopped" if self.result.stopped else "finished"

    def denoiser(self) -> Denoiser | None:
        """The trained model as a :class:`Denoiser` (None until training ends, or once freed)."""
        if self.result is None or not self.result.usable or self.model_bytes is None:
            return None
        if self._denoiser is None:
            data = self.model_bytes
            self._denoiser = Denoiser(loader=lambda: load_model_bytes(data), keras_source=data,
                                      onnx=OnnxModel(self.onnx_bytes) if self.onnx_bytes else None,
                                      name=self.name,
                                      config=self.config,
                                      description=f"trained in this session: {self.summary()}")
        return self._denoiser

    def summary(self) -> str:
        """The run's settings in one line: model, training, noise and data."""
        return ((f"fine-tuned from {self.start_name}: " if self.start_model else "")
                + f"{self.config.describe(training=True)}, {self.noise.describe()} noise, "
                f"{len(self.x_train):,} digits"
                + (f" (with {self.held_name}; {len(self.x_held):,} held out)" if self.held_name else ""))

    # -- the watching thread ---------------------------------------------------------------------
    def _on_progress(self, p: Progress) -> None:
        with self._lock:
            self.progress = p
            if p.epoch_end:
                self.history["loss"].append(p.loss if p.loss is not None else float("nan"))
                self.history["val_loss"].append(p.val_loss if p.val_loss is not None else float("nan"))
                self._news.notify_all()

    def _wanted(self) -> bool:
        return not self._stop.is_set() and (self.alive is None or self.alive())

    def queue_position(self) -> int | None:
        """1 for the next run to start, 2 for the one after…; None once it trains (or without a queue)."""
        return None if self.queue is None else self.queue.position(self)

    def _report(self, kind: str, payload) -> bool:
        """Take one report of the training process ("progress", "preview", "error" or "done");
        True when it was the last."""
        if kind == "progress":
            self._on_progress(payload)
        elif kind == "preview":
            with self._lock:
                self.previews.append(payload)
        elif kind == "error":
            log.warning("training run %s failed:\n%s", self.id, payload)
            self.error = FAILED
            return True
        elif kind == "done":
            self.metrics, self.held = payload.pop("metrics"), payload.pop("held", {})
            data, exported = payload.pop("model"), payload.pop("onnx")
            if self.alive is None or self.alive():  # else its page is gone: nobody can use it
                self.model_bytes, self.onnx_bytes = data, exported
            self.result = TrainResult(model=None, config=self.config, noise=self.noise, **payload)
            return True
        return False

    def settings(self) -> dict:
        """What the training process needs (sent to a child process, or through Redis to a worker)."""
        return {"config": self.config, "noise": self.noise, "epochs": self.epochs,
                "batch_size": self.batch_size, "x_train": self.x_train,
                "preview_noisy": self.preview_noisy, "x_eval": self.x_eval, "x_held": self.x_held,
                "start_model": self.start_model}

    def _watch(self) -> None:
        try:
            self._run()
        finally:
            with self._news:
                self._ended = True
                self._news.notify_all()

    def _run(self) -> None:
        if self.queue is not None:
            if not self.queue.wait_turn(self, self._wanted):
                self.cancelled = True  # it leaves the queue without ever training
                return
            self._admitted.set()
            try:
                self._train(spare_pool() if spare_enabled() else None)
            finally:
                self.queue.done(self)
                keep_a_spare(self.queue)
        else:
            self._train()

    def _train(self, spares: SparePool | None = None) -> None:
        spare = spares.take() if spares is not None else None
        try:
            if spare is not None:  # TensorFlow already imported there: the run starts at once
                child, reports, stop = spare.process, spare.reports, spare.stop
                spare.inbox.put(("train", self.settings()))
            else:
                ctx = multiprocessing.get_context("spawn")
                reports, stop = ctx.Queue(), ctx.Event()
                child = ctx.Process(target=train_in_child, args=(self.settings(), reports, stop),
                                    name=f"denoiser-train-{self.id}", daemon=True)
                start_in_background(child)
        except Exception:  # noqa: BLE001 - reported to the user, never raised in a thread
            log.exception("training run %s could not start", self.id)
            self.error = FAILED
            return
        if spares is not None and self.queue is not None:
            keep_a_spare(self.queue)  # the next run's, while a slot is free
        try:
            while True:
                if not self._wanted():
                    stop.set()
                    if self.progress is None:  # still starting up: nothing trained, nothing to keep
                        self.cancelled = True
                        return
                try:
                    kind, payload = reports.get(timeout=0.2)
                except queue.Empty:
                    if child.is_alive():
                        continue
                    try:  # it may have reported just before exiting
                        kind, payload = reports.get(timeout=1.0)
                    except queue.Empty:
                        self.error = f"the training process ended unexpectedly (exit code {child.exitcode})"
                        return
                if self._report(kind, payload):
                    return
        except Exception:  # noqa: BLE001 - reported to the user, never raised in a thread
            log.exception("training run %s failed", self.id)
            self.error = FAILED
        finally:
            stop.set()
            if self.cancelled:
                child.kill()  # it was only starting (importing TensorFlow): end it now
            child.join(30)
            if child.is_alive():
                child.kill()
                child.join(5)
            reports.close()
