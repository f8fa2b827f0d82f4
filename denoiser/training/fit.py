"""Training denoisers with ``model.fit``: fresh noise every epoch, progress, stop and NaN handling.

Longer than the package's other modules for a reason: everything here serves :func:`train` alone
(the noisy-digit sequence it feeds ``fit``, and the callbacks for progress, Stop, the time budget
and a diverging loss), and a reader follows one run through it top to bottom.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import keras
import numpy as np

from denoiser.digits.arrays import as_digits
from denoiser.digits.augment import check_strength, deform_digits
from denoiser.digits.noise import BLIND, NoiseSpec
from denoiser.models.build import ModelConfig, build_model, loss_function
from denoiser.training.progress import Progress, TrainResult

__all__ = ["BLIND", "DivergenceGuard", "NoiseSpec", "NoisyDigits", "Progress", "ProgressCallback",
           "StopRequest", "TimeBudget", "TrainResult", "train"]

class NoisyDigits(keras.utils.PyDataset):
    """Batches of (noisy, clean) digits with a fresh noise draw every epoch.

    With ``augment`` > 0, a random half of every batch is first bent by
    :func:`~denoiser.digits.augment.deform_digits` at that strength (fresh every epoch),
    so the model sees new handwriting as well as real digits.

    ``indices`` picks the training digits out of ``clean`` without copying them
    (Keras keeps a reference to a dataset after ``fit``; a copy would stay alive).
    """

    def __init__(self, clean: np.ndarray, noise: NoiseSpec, batch_size: int, seed: int = 0,
                 shuffle: bool = True, indices: np.ndarray | None = None,
                 augment: float = 0.0) -> None:
        super().__init__()
        self.clean = np.asarray(clean, np.float32)
        self.indices = np.arange(len(self.clean)) if indices is None else np.asarray(indices)
        self.noise = noise
        self.batch_size = int(batch_size)
        self.seed = seed
        self.shuffle = shuffle
        self.augment = augment
        self.epoch = 0
        self._order = np.arange(len(self.indices))
        self._reorder()

    def _reorder(self) -> None:
        if self.shuffle:
            self._order = np.random.default_rng((self.seed, self.epoch)).permutation(len(self.indices))

    def __len__(self) -> int:
        return math.ceil(len(self.indices) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        idx = self.indices[self._order[index * self.batch_size : (index + 1) * self.batch_size]]
        clean = self.clean[idx]
        if self.augment:
            rng = np.random.default_rng((self.seed, self.epoch, index, 1))
            bend = rng.random(len(clean)) < 0.5
            clean = clean.copy()
            clean[bend] = deform_digits(clean[bend], self.augment, seed=rng)
        return self.noise.apply(clean, seed=(self.seed, self.epoch, index)), clean

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._reorder()

    def release(self) -> None:
        """Drop the digits (call after training: Keras may hold on to the dataset)."""
        self.clean = self.clean[:0]
        self.indices = self.indices[:0]


class ProgressCallback(keras.callbacks.Callback):
    """Reports progress per batch and per epoch to a plain function."""

    def __init__(self, report: Callable[[Progress], None], epochs: int, batches: int,
                 every: int = 1) -> None:
        super().__init__()
        self.report, self.epochs, self.batches, self.every = report, epochs, batches, max(1, every)
        self._start = time.perf_counter()
        self._epoch = 1

    def on_train_begin(self, logs=None) -> None:
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None) -> None:
        if (batch + 1) % self.every == 0 or batch + 1 == self.batches:
            loss = (logs or {}).get("loss")
            self.report(Progress(self._epoch, self.epochs, batch + 1, self.batches,
                                 time.perf_counter() - self._start,
                                 None if loss is None else float(loss)))

    def on_epoch_end(self, epoch, logs=None) -> None:
        logs = logs or {}
        self.report(Progress(epoch + 1, self.epochs, self.batches, self.batches,
                             time.perf_counter() - self._start,
                             _as_float(logs.get("loss")), _as_float(logs.get("val_loss")),
                             epoch_end=True))


def _as_float(value) -> float | None:
    return None if value is None else float(value)


class StopRequest(keras.callbacks.Callback):
    """Ends training cleanly after the current batch once ``event`` is set; weights are kept.

    ``alive``, if given, is asked after every batch too: training stops once it
    returns False (e.g. the browser tab that started it was closed).
    """

    def __init__(self, event: threading.Event, alive: Callable[[], bool] | None = None) -> None:
        super().__init__()
        self.event = event
        self.alive = alive
        self.stopped = False

    def on_train_batch_end(self, batch, logs=None) -> None:
        if self.event.is_set() or (self.alive is not None and not self.alive()):
            self.stopped = True
            self.model.stop_training = True


class DivergenceGuard(keras.callbacks.Callback):
    """Stops when training diverges and restores the weights of the last good epoch.

    Divergence is a NaN or infinite loss, or a running loss that grows by more
    than ``factor - 1`` times the first batch's magnitude (1.5× a positive loss;
    for the negative ``psnr`` loss, a rise of half its first value) once
    ``min_batches`` batches of the run have passed — a too-high learning rate
    that saturates the output instead of producing NaN.

    After a run, ``good_epoch`` is the last epoch that ended before the divergence
    (0: none did, and the weights are the ones training started from).
    """

    def __init__(self, factor: float = 1.5, min_batches: int = 10) -> None:
        super().__init__()
        self.factor, self.min_batches = factor, min_batches
        self.diverged = False
        self.message = ""
        self.good_epoch = 0
        self._good: list[np.ndarray] | None = None
        self._first: float | None = None
        self._seen = 0
        self._epoch = 0

    def on_train_begin(self, logs=None) -> None:
        self._good = self.model.get_weights()
        self._first, self._seen, self.good_epoch = None, 0, 0

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or self.diverged:
            return
        self._seen += 1
        loss = float(loss)
        if self._first is None and math.isfinite(loss):
            self._first = loss
        if not math.isfinite(loss):
            reason = f"the loss became {loss}"
        elif (self._first and self._seen >= self.min_batches
              and loss > self._first + (self.factor - 1) * abs(self._first)):
            reason = f"the loss grew from {self._first:.4g} to {loss:.4g}"
        else:
            return
        self.diverged = True
        if self.good_epoch:
            kept = f"the weights of epoch {self.good_epoch}, the last good one, were kept"
        else:
            kept = "no epoch had finished, so there are no trained weights to keep"
        self.message = (f"training diverged in epoch {self._epoch} ({reason}); {kept} — "
                        "try a lower learning rate")
        if self._good is not None:
            self.model.set_weights(self._good)
        self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None) -> None:
        if not self.diverged:
            self._good = self.model.get_weights()
            self.good_epoch = epoch + 1


class TimeBudget(keras.callbacks.Callback):
    """Ends training at the epoch that would overrun ``seconds`` of wall time.

    The next epoch is expected to take as long as the last one did after its
    first batch, scaled to all its batches: the first batch of a run carries
    one-off costs (tracing, compiling) that later epochs do not repeat.

    With ``peak_lr``, the learning rate also follows a cosine from ``peak_lr`` to
    zero over that time (set at each epoch's start), so a run is annealed when
    its time is up however fast the machine is: on a fast one it simply runs
    more epochs. ``clock`` (seconds) is injectable, so tests need no real waiting.
    """

    def __init__(self, seconds: float, peak_lr: float | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__()
        if not seconds > 0:
            raise ValueError(f"time budget must be positive seconds, got {seconds!r}")
        self.seconds, self.peak_lr, self.clock = float(seconds), peak_lr, clock
        self._start = self._epoch_start = self._first_batch_end = 0.0
        self._batches = 0

    def learning_rate_at(self, elapsed: float) -> float:
        """The cosine-annealed learning rate after ``elapsed`` seconds."""
        done = min(max(elapsed / self.seconds, 0.0), 1.0)
        return 0.5 * self.peak_lr * (1.0 + math.cos(math.pi * done))

    def expected_epoch(self, now: float) -> float:
        """Seconds the next epoch should take, judged by the one ending at ``now``."""
        if self._batches < 2:
            return now - self._epoch_start
        return (now - self._first_batch_end) * self._batches / (self._batches - 1)

    def on_train_begin(self, logs=None) -> None:
        self._start = self.clock()

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._epoch_start = self.clock()
        self._batches = 0
        if self.peak_lr is not None:
            self.model.optimizer.learning_rate = self.learning_rate_at(self._epoch_start - self._start)

    def on_train_batch_end(self, batch, logs=None) -> None:
        self._batches = batch + 1
        if batch == 0:
            self._first_batch_end = self.clock()

    def on_epoch_end(self, epoch, logs=None) -> None:
        now = self.clock()
        if now - self._start + self.expected_epoch(now) > self.seconds:  # another would overrun
            self.model.stop_training = True


def train(
    config: ModelConfig,
    x_clean: np.ndarray,
    epochs: int = 10,
    batch_size: int = 128,
    noise: NoiseSpec | None = None,
    validation_split: float = 0.1,
    seed: int = 0,
    stop_event: threading.Event | None = None,
    alive: Callable[[], bool] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    callbacks: list[keras.callbacks.Callback] | None = None,
    model: keras.Model | None = None,
    cosine_decay: bool = False,
    augment: float = 0.0,
    time_budget: float | TimeBudget | None = None,
    verbose: int = 0,
) -> TrainResult:
    """Train a denoiser on clean digits with a fresh noise draw every epoch.

    Parameters
    ----------
    config : ModelConfig
        Architecture and optimiser.
    x_clean : ndarray
        Clean training digits, (N, 28, 28) in [0, 1].
    epochs, batch_size : int
        Passes over the data and digits per step.
    noise : NoiseSpec
        Training noise; Gaussian 0.5 (the tutorial's) by default.
    validation_split : float
        Fraction of digits held out; their noise is drawn once, so the
        validation loss is comparable across epochs.
    seed : int
        Seeds the split, shuffling, noise and weights.
    stop_event : threading.Event, optional
        Set it to end training after the current batch (weights kept).
    alive : callable, optional
        Asked after every batch; training stops once it returns False.
    on_progress : callable, optional
        Called with a :class:`Progress` after every batch and epoch.
    callbacks : list, optional
        Extra Keras callbacks.
    model : keras.Model, optional
        Continue training this model instead of building a new one.
    cosine_decay : bool
        Anneal the learning rate to zero over the run with a cosine schedule
        (over the epochs, or over ``time_budget`` when one is given).
    augment : float
        Strength in [0, 2] of the random deformations bending half of every
        training batch (:func:`~denoiser.digits.augment.deform_digits`); 0 = none.
    time_budget : float or TimeBudget, optional
        Train for about this many seconds of wall time (``epochs`` is then an
        upper bound): no epoch starts that would end past it. A
        :class:`TimeBudget` brings its own clock (its ``peak_lr`` is set here).

    Returns
    -------
    TrainResult
    """
    noise = noise or NoiseSpec()
    x = as_digits(x_clean, batch=True)
    if not 1 <= int(epochs) <= 10_000:
        raise ValueError(f"epochs must be in [1, 10000], got {epochs!r}")
    if not 1 <= int(batch_size) <= 65_536:
        raise ValueError(f"batch_size must be in [1, 65536], got {batch_size!r}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    augment = check_strength(augment, "augment")
    budget = time_budget if isinstance(time_budget, TimeBudget) or time_budget is None else \
        TimeBudget(time_budget)
    if budget is not None:
        budget.peak_lr = config.learning_rate if cosine_decay else None
    n_val = int(round(len(x) * validation_split))
    if len(x) - n_val < 1:
        raise ValueError(f"need at least one training digit, got {len(x)} digits")

    keras.utils.set_random_seed(seed)
    order = np.random.default_rng(seed).permutation(len(x))
    x_val = x[order[:n_val]]
    data = NoisyDigits(x, noise, batch_size, seed=seed, indices=order[n_val:],
                       augment=augment)
    validation = None
    if n_val:
        validation = (noise.apply(x_val, seed=(seed, 10_000_019)), x_val)

    if model is None:
        model = build_model(config)
    if cosine_decay:  # a fresh optimiser; under a time budget, TimeBudget sets its rate
        schedule = (config.learning_rate if budget else
                    keras.optimizers.schedules.CosineDecay(config.learning_rate, epochs * len(data)))
        opt_config = model.optimizer.get_config() | {"learning_rate": schedule}
        model.compile(optimizer=model.optimizer.__class__.from_config(opt_config),
                      loss=loss_function(config.loss))

    guard = DivergenceGuard()
    stopper = StopRequest(stop_event or threading.Event(), alive)
    cbs = [guard, *([budget] if budget else [])]
    if on_progress is not None:  # before the extra callbacks: an epoch's point waits for none of them
        cbs.append(ProgressCallback(on_progress, epochs, len(data)))
    cbs += [*(callbacks or []), stopper]  # last, so a stop requested while reporting a batch ends right there
    start = time.perf_counter()
    try:
        history = model.fit(data, epochs=int(epochs), validation_data=validation, callbacks=cbs,
                            verbose=verbose)
    finally:
        data.release()
    hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    message = guard.message or ("stopped on request; the weights so far were kept"
                                    if stopper.stopped else "")
    return TrainResult(model, config, noise, hist, len(hist.get("loss", [])),
                       stopped=stopper.stopped, diverged=guard.diverged, message=message,
                       seconds=time.perf_counter() - start,
                       good_epoch=guard.good_epoch)
