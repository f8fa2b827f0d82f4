"""Training in a background thread, with progress a UI can poll (no UI code here)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np

from .evaluation import evaluate_denoiser
from .models import ModelConfig
from .pretrained import Denoiser
from .training import NoiseSpec, Progress, TrainResult, train

#: Nice value of training threads: interactive work (other users' slider moves) comes first.
BACKGROUND_NICE = 10

#: Training in the background allows at most this many epochs and digits.
MAX_EPOCHS = 200
MAX_DIGITS = 60_000


@dataclass
class TrainingJob:
    """One training run: its settings, live progress, and (when done) its model.

    Start it with :meth:`start`; read ``progress``, ``history`` and
    ``previews`` from any thread; :meth:`stop` ends it after the current batch.
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
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    progress: Progress | None = None
    history: dict[str, list[float]] = field(default_factory=lambda: {"loss": [], "val_loss": []})
    previews: list[np.ndarray] = field(default_factory=list)
    result: TrainResult | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str = ""
    started: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.epochs <= MAX_EPOCHS:
            raise ValueError(f"epochs must be in [1, {MAX_EPOCHS}], got {self.epochs}")
        if not 1 <= len(self.x_train) <= MAX_DIGITS:
            raise ValueError(f"training set must hold 1 to {MAX_DIGITS:,} digits, got {len(self.x_train)}")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._denoiser: Denoiser | None = None
        shown = self.noise if self.noise.kind != "blind" else NoiseSpec("gaussian", 0.5)
        self.preview_noisy = shown.apply(self.preview_clean, seed=7)
        self.name = self.name or f"run-{self.id}"

    # -- control -------------------------------------------------------------------------------
    def start(self) -> TrainingJob:
        """Start training in a daemon thread; returns self."""
        if self._thread is not None:
            raise RuntimeError("this job was already started")
        self.started = time.time()
        self._thread = threading.Thread(target=self._run, name=f"train-{self.id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask training to end after the current batch (the weights are kept)."""
        self._stop.set()

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
        if self.running:
            return "stopping" if self._stop.is_set() else "training"
        if self.result is None:
            return "waiting" if self._thread is None else "failed"
        if self.result.diverged:
            return "diverged"
        return "stopped" if self.result.stopped else "finished"

    def denoiser(self) -> Denoiser | None:
        """The trained model as a :class:`Denoiser` (None until training ends, or once freed)."""
        if self.result is None or self.result.model is None:
            return None
        if self._denoiser is None:
            self._denoiser = Denoiser(self.result.model, name=self.name, config=self.config,
                                      description=f"trained in this session: {self.summary()}")
        return self._denoiser

    def summary(self) -> str:
        c = self.config
        arch = (f"dense code {c.code_size}, {c.layers} layer(s), {c.nodes} nodes"
                if c.architecture == "dense" else f"{c.architecture} width {c.filters}")
        return (f"{arch}, {c.loss}, {c.optimizer} lr {c.learning_rate:g}, "
                f"{self.noise.describe()} noise, {len(self.x_train):,} digits")

    # -- the thread ------------------------------------------------------------------------------
    def _on_progress(self, p: Progress) -> None:
        with self._lock:
            self.progress = p
            if p.epoch_end:
                self.history["loss"].append(p.loss if p.loss is not None else float("nan"))
                self.history["val_loss"].append(p.val_loss if p.val_loss is not None else float("nan"))

    def _run(self) -> None:
        _lower_priority()
        preview = PreviewCallback(self)
        try:
            result = train(self.config, self.x_train, epochs=self.epochs, batch_size=self.batch_size,
                           noise=self.noise, validation_split=0.1 if len(self.x_train) >= 10 else 0.0,
                           stop_event=self._stop, alive=self.alive, on_progress=self._on_progress,
                           callbacks=[preview])
            if self.alive is not None and not self.alive():
                result.model = None  # its page is gone: nobody can use the model, free it now
            elif not result.diverged:
                # One Denoiser (one traced graph) serves the evaluation and, later, the app.
                self._denoiser = Denoiser(result.model, name=self.name, config=self.config,
                                          description=f"trained in this session: {self.summary()}")
                if self.x_eval is not None and len(self.x_eval):
                    self.metrics = evaluate_denoiser(self._denoiser.denoise, self.x_eval, "gaussian",
                                                     0.5, seed=0)
            self.result = result
        except Exception as err:  # noqa: BLE001 - reported to the user, never raised in a thread
            self.error = f"{type(err).__name__}: {err}"
        finally:
            del preview
            _release_memory()


def _lower_priority() -> None:
    """Give this (training) thread a lower CPU priority; threads it starts inherit it.

    On Linux the nice value is per thread, so the server's other threads (other
    users' page updates) keep theirs and win the CPU when both want it. TensorFlow's
    worker threads inherit the value when this thread is the first to start them.
    """
    with contextlib.suppress(AttributeError, OSError):
        current = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), max(current, BACKGROUND_NICE))


def _release_memory() -> None:
    """Collect garbage and hand freed heap memory back to the OS.

    glibc keeps memory freed by a finished thread in that thread's arena; without
    ``malloc_trim`` the server's RSS only ever grows as trainings come and go.
    """
    gc.collect()
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class PreviewCallback(keras.callbacks.Callback):
    """Stores the model's output on the job's preview digits after every epoch."""

    def __init__(self, job: TrainingJob) -> None:
        super().__init__()
        self.job = job

    def on_epoch_end(self, epoch, logs=None) -> None:
        out = np.asarray(self.model.predict_on_batch(self.job.preview_noisy))
        with self.job._lock:
            self.job.previews.append(np.clip(out.reshape(self.job.preview_noisy.shape), 0, 1))
