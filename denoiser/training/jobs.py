"""Training in a separate, low-priority process, with progress a UI can poll (no UI code here).

Each run trains in its own child process (``multiprocessing`` "spawn"): TensorFlow never
loads in the server, a training gets a lower CPU priority than every page update, and
all its memory goes back to the system when it ends (Keras keeps a few MB per trained
model for the life of a process). The child reports progress, previews and, at the end,
the model as ``.keras`` bytes and its ONNX export, which the server runs in ONNX Runtime.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from denoiser.digits.noise import NoiseSpec
from denoiser.fresh import script_free_main
from denoiser.models.config import ModelConfig
from denoiser.models.files import load_model_bytes
from denoiser.models.onnx_session import OnnxModel
from denoiser.models.runtime import Denoiser
from denoiser.training.progress import Progress, TrainResult
from denoiser.training.spare import SparePool, spare_enabled, spare_pool

log = logging.getLogger(__name__)

#: What a user reads when training breaks (the details go to the server's log).
FAILED = "training stopped on an error; the details are in the server's log — try other settings"

#: Nice value of training processes: interactive work (other users' page updates) comes first.
BACKGROUND_NICE = 19
#: Environment variable: "normal" keeps training at the server's own priority (default: "low").
PRIORITY_VAR = "DENOISER_TRAINING_PRIORITY"

#: Training in the background allows at most this many epochs and digits.
MAX_EPOCHS = 200
MAX_DIGITS = 60_000


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
        self._thread = threading.Thread(target=self._run, name=f"train-{self.id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask training to end after the current batch (the weights are kept); a run that has not
        trained a batch yet (waiting in the queue, or starting up) is cancelled instead."""
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
        return (f"{self.config.describe(training=True)}, {self.noise.describe()} noise, "
                f"{len(self.x_train):,} digits")

    # -- the watching thread ---------------------------------------------------------------------
    def _on_progress(self, p: Progress) -> None:
        with self._lock:
            self.progress = p
            if p.epoch_end:
                self.history["loss"].append(p.loss if p.loss is not None else float("nan"))
                self.history["val_loss"].append(p.val_loss if p.val_loss is not None else float("nan"))

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
            self.metrics = payload.pop("metrics")
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
                "preview_noisy": self.preview_noisy, "x_eval": self.x_eval}

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
                spare.inbox.put(self.settings())
            else:
                ctx = multiprocessing.get_context("spawn")
                reports, stop = ctx.Queue(), ctx.Event()
                child = ctx.Process(target=_train_in_child, args=(self.settings(), reports, stop),
                                    name=f"denoiser-train-{self.id}", daemon=True)
                _start_in_background(child)
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


#: Peak memory of one training process (measured 0.8-0.9 GB for a dense and a width-16 U-Net run).
TRAINING_GB = 1.0
#: Environment variable setting how many trainings a server runs at once.
SLOTS_VAR = "DENOISER_TRAINING_SLOTS"
#: The most trainings a server runs at once, whatever the variable says.
MAX_SLOTS = 64


def default_slots() -> int:
    """Trainings to run at once: ``$DENOISER_TRAINING_SLOTS`` (a whole number from 1 to
    :data:`MAX_SLOTS`; anything else is logged and ignored), else one core left for the pages and
    one training process per gigabyte of available memory, at least one."""
    raw = os.environ.get(SLOTS_VAR, "").strip()
    if raw:
        if raw.isdigit() and 1 <= int(raw) <= MAX_SLOTS:
            return int(raw)
        log.warning("%s=%r is not a whole number from 1 to %d: ignored, the server picks the number "
                    "of trainings itself", SLOTS_VAR, raw[:20], MAX_SLOTS)
    cores = os.cpu_count() or 1
    try:
        free_gb = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (ValueError, OSError, AttributeError):
        free_gb = 2 * TRAINING_GB
    return max(1, min(cores - 1, int(free_gb // TRAINING_GB)))


class TrainingQueue:
    """At most ``slots`` trainings run at once; the others wait, first come first served.

    A job joins when started (:meth:`TrainingJob.start`) and leaves when its turn comes, or
    earlier when it is stopped or its page closes; :meth:`estimated_wait` guesses its start.
    """

    def __init__(self, slots: int, clock: Callable[[], float] = time.monotonic) -> None:
        if slots < 1:
            raise ValueError(f"a training queue needs at least one slot, got {slots!r}")
        self.slots, self.clock = slots, clock
        self._cond = threading.Condition()
        self._waiting: list[TrainingJob] = []
        self._running: dict[str, float] = {}  # job id -> when it started
        self._durations: list[float] = []

    def available(self) -> bool:
        """Always: this queue lives in the server itself (a Redis queue may be unreachable)."""
        return True

    def position_free(self) -> bool:
        """Whether no run waits for a slot."""
        with self._cond:
            return not self._waiting

    def enqueue(self, job: TrainingJob) -> None:
        with self._cond:
            self._waiting.append(job)
            self._cond.notify_all()

    def position(self, job: TrainingJob) -> int | None:
        with self._cond:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    @property
    def running(self) -> int:
        with self._cond:
            return len(self._running)

    def wait_turn(self, job: TrainingJob, wanted: Callable[[], bool], poll: float = 0.2) -> bool:
        """Block until ``job`` may train (True), or until ``wanted()`` turns False (False: it left)."""
        with self._cond:
            try:
                while wanted():
                    if self._waiting and self._waiting[0] is job and len(self._running) < self.slots:
                        self._waiting.pop(0)
                        self._running[job.id] = self.clock()
                        return True
                    self._cond.wait(poll)
                return False
            finally:
                if job in self._waiting:
                    self._waiting.remove(job)
                self._cond.notify_all()

    def done(self, job: TrainingJob) -> None:
        """``job`` has ended: its slot goes to the next in line."""
        with self._cond:
            started = self._running.pop(job.id, None)
            if started is not None:
                self._durations = [*self._durations[-9:], self.clock() - started]
            self._cond.notify_all()

    def estimated_wait(self, job: TrainingJob, typical: float = 60.0) -> float | None:
        """Seconds until ``job`` should start: the runs ahead of it, each taking as long as the
        median of the last ten (``typical`` before any has ended), less what the running ones
        have done. None once it is not waiting."""
        with self._cond:
            if job not in self._waiting:
                return None
            if self._durations:
                typical = sorted(self._durations)[len(self._durations) // 2]
            now = self.clock()
            slots = sorted(max(0.0, typical - (now - t)) for t in self._running.values())
            slots += [0.0] * (self.slots - len(slots))
            for _ in range(self._waiting.index(job)):  # each run ahead takes the slot free first
                slots[0] += typical
                slots.sort()
            return slots[0]


_queue: TrainingQueue | None = None
_queue_lock = threading.Lock()


def keep_a_spare(line: TrainingQueue) -> None:
    """Keep one training process ready (:mod:`denoiser.training.spare`) while ``line`` has a free slot
    and nobody waits; with every slot taken, end it (its memory is a slot's)."""
    if not spare_enabled():
        return
    if line.running < line.slots and line.position_free():
        spare_pool().refill()
    else:
        spare_pool().drop()


def server_queue() -> TrainingQueue:
    """The process's training queue (:func:`default_slots` slots), made on first use."""
    global _queue
    with _queue_lock:
        if _queue is None:
            _queue = TrainingQueue(default_slots())
        return _queue


def _lower_priority() -> None:
    """Give the calling thread (and the threads and processes it starts) the lowest CPU priority.

    Nice ``BACKGROUND_NICE``: against page updates at nice 0 a training gets ~1.5 % of a core,
    so the pages come first, yet it still makes progress on a server that stays busy (Linux's
    ``SCHED_IDLE``, used before, starved it completely: a saturated server never finished a run).
    On Linux the nice value applies to the calling thread, and new threads and forked processes
    inherit it. ``$DENOISER_TRAINING_PRIORITY=normal`` leaves the priority alone (the test suite
    sets it, so that its trainings finish while other work keeps both cores busy).
    """
    if os.environ.get(PRIORITY_VAR, "low") == "normal":
        return
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, 0, max(os.getpriority(os.PRIO_PROCESS, 0), BACKGROUND_NICE))


def _start_in_background(child: multiprocessing.process.BaseProcess) -> None:
    """Start ``child`` from a short-lived thread that has lowered its own priority first.

    The new process inherits that priority from its first instruction, so even its start-up
    (a fresh interpreter importing numpy and TensorFlow, seconds of CPU) never delays a page
    update (measured with benchmarks/load_test.py). The server's own threads keep theirs.
    Only on Linux, where priorities belong to threads: elsewhere lowering it would lower the
    whole server, so the child lowers its own once it runs (:func:`_train_in_child`).
    """
    if not sys.platform.startswith("linux"):
        with script_free_main():
            child.start()
        return
    failure: list[BaseException] = []

    def start() -> None:
        _lower_priority()
        try:
            with script_free_main():
                child.start()
        except BaseException as err:  # noqa: BLE001 - re-raised in the calling thread
            failure.append(err)

    starter = threading.Thread(target=start, name="denoiser-start-training", daemon=True)
    starter.start()
    starter.join()
    if failure:
        raise failure[0]


def _train_in_child(settings: dict, reports, stop) -> None:
    """The child process: train, report progress and previews, send the model back as bytes."""
    _lower_priority()  # on Linux it already has it from birth (_start_in_background); elsewhere now
    try:
        train_and_report(settings, reports.put, stop)
    finally:
        reports.close()
        reports.join_thread()  # flush before the process exits


def train_and_report(settings: dict, report: Callable[[tuple], None], stop) -> None:
    """Train as ``settings`` say (:meth:`TrainingJob.settings`), calling ``report`` with each
    ("progress", Progress), ("preview", digits), and finally ("done", results with the model's
    bytes) or ("error", traceback); ``stop.is_set()`` ends training after the current batch.
    Runs where TensorFlow may load: a training child process, or a worker
    (:mod:`denoiser.training.remote`)."""
    try:
        import keras

        from denoiser.models.files import ModelFileError, model_to_bytes
        from denoiser.models.onnx_export import onnx_bytes
        from denoiser.models.onnx_session import OnnxModel
        from denoiser.results.evaluation import evaluate_denoiser
        from denoiser.training.fit import train

        preview_noisy = settings["preview_noisy"]

        class Preview(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None) -> None:
                out = np.asarray(self.model.predict_on_batch(preview_noisy))
                report(("preview", np.clip(out.reshape(preview_noisy.shape), 0, 1)))

        x_train = settings["x_train"]
        result = train(settings["config"], x_train, epochs=settings["epochs"],
                       batch_size=settings["batch_size"], noise=settings["noise"],
                       validation_split=0.1 if len(x_train) >= 10 else 0.0, stop_event=stop,
                       on_progress=lambda p: report(("progress", p)), callbacks=[Preview()])
        metrics, data, exported = {}, None, None
        if result.usable:  # finished, stopped, or diverged after a good epoch (its weights kept)
            try:
                exported = onnx_bytes(result.model)
            except ModelFileError as err:  # the server will run it with Keras
                log.warning("run trained without an ONNX export: %s", err)
            denoiser = Denoiser(result.model, config=settings["config"],
                                onnx=OnnxModel(exported) if exported else None)  # as the page runs it
            x_eval = settings["x_eval"]
            if x_eval is not None and len(x_eval):
                metrics = evaluate_denoiser(denoiser.denoise, x_eval, "gaussian", 0.5, seed=0)
            data = model_to_bytes(result.model)
        report(("done", {"history": result.history, "epochs_run": result.epochs_run,
                              "stopped": result.stopped, "diverged": result.diverged,
                              "message": result.message, "seconds": result.seconds,
                              "good_epoch": result.good_epoch,
                              "metrics": metrics, "model": data, "onnx": exported}))
    except Exception:  # noqa: BLE001 - reported to the parent, which logs it and tells the user
        report(("error", traceback.format_exc()))

