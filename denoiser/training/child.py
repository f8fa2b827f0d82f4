"""The body of a training process: lowest CPU priority, train, report, send the model back.

A run's own child process (:class:`denoiser.training.jobs.TrainingJob`), the spare process
(:mod:`denoiser.training.spare`) and a Redis worker (:mod:`denoiser.training.worker`) all train
through :func:`train_and_report`, which reports around the one training body
(:func:`denoiser.training.body.train_export_measure`, shared with ``python -m denoiser train``),
so a run is trained, evaluated and exported the same way wherever it runs.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import sys
import threading
import traceback
from collections.abc import Callable

import numpy as np

from denoiser.fresh import script_free_main

log = logging.getLogger(__name__)

#: Nice value of training processes: interactive work (other users' page updates) comes first.
BACKGROUND_NICE = 19
#: Environment variable: "normal" keeps training at the server's own priority (default: "low").
PRIORITY_VAR = "DENOISER_TRAINING_PRIORITY"


def lower_priority() -> None:
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


def start_in_background(child: multiprocessing.process.BaseProcess) -> None:
    """Start ``child`` from a short-lived thread that has lowered its own priority first.

    The new process inherits that priority from its first instruction, so even its start-up
    (a fresh interpreter importing numpy and TensorFlow, seconds of CPU) never delays a page
    update (measured with benchmarks/load_test.py). The server's own threads keep theirs.
    Only on Linux, where priorities belong to threads: elsewhere lowering it would lower the
    whole server, so the child lowers its own once it runs (:func:`train_in_child`).
    """
    if not sys.platform.startswith("linux"):
        with script_free_main():
            child.start()
        return
    failure: list[BaseException] = []

    def start() -> None:
        lower_priority()
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


def train_in_child(settings: dict, reports, stop) -> None:
    """The child process: train, report progress and previews, send the model back as bytes."""
    lower_priority()  # on Linux it already has it from birth (start_in_background); elsewhere now
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
    (:mod:`denoiser.training.worker`)."""
    try:
        import keras

        from denoiser.models.files import load_model_bytes, model_to_bytes
        from denoiser.models.surgery import rebuild
        from denoiser.training.body import train_export_measure

        preview_noisy = settings["preview_noisy"]

        class Preview(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None) -> None:
                out = np.asarray(self.model.predict_on_batch(preview_noisy))
                report(("preview", np.clip(out.reshape(preview_noisy.shape), 0, 1)))

        x_train, config, start_model = settings["x_train"], settings["config"], settings["start_model"]

        def start():  # a fine-tune: the given model's weights, with this run's optimiser
            return rebuild(load_model_bytes(start_model), config) if start_model else None

        trained = train_export_measure(
            config, x_train, x_eval=settings["x_eval"], x_held=settings["x_held"], start=start,
            epochs=settings["epochs"],
            batch_size=settings["batch_size"], noise=settings["noise"],
            validation_split=0.1 if len(x_train) >= 10 else 0.0, stop_event=stop,
            on_progress=lambda p: report(("progress", p)), callbacks=[Preview()])
        result = trained.result
        report(("done", {"history": result.history, "epochs_run": result.epochs_run,
                         "stopped": result.stopped, "diverged": result.diverged,
                         "message": result.message, "seconds": result.seconds,
                         "good_epoch": result.good_epoch,
                         "metrics": trained.metrics.get("gaussian@0.5", {}),
                         "model": model_to_bytes(trained.model) if trained.usable else None,
                         "onnx": trained.onnx, "held": trained.held}))
    except Exception:  # noqa: BLE001 - reported to the parent, which logs it and tells the user
        report(("error", traceback.format_exc()))

