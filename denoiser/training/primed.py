"""Models built and traced ahead of their run, so a run's first batch does not wait for Keras.

In a run's first second Keras traces the model's training step, and at its first validation the
evaluation step, into TensorFlow graphs: most of a short run's start once TensorFlow is imported.
The spare training process (:mod:`denoiser.training.spare`) is told what the Train form shows and
calls :func:`prime`: it builds that model exactly as :func:`~denoiser.training.fit.train` would
(same seed, same precision), traces both steps and its prediction on a few random digits in
batches of two sizes (so the graphs take any batch size), then puts back the model's first weights
and its optimiser's first state. A run with the same settings then takes that model (:func:`take`,
called by :func:`~denoiser.training.body.train_export_measure`): it starts from the same weights
as a freshly built one, its graphs already made. ``python -m benchmarks.bench_first_point``
measures what this saves."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import keras
import numpy as np

from denoiser.digits.noise import NoiseSpec
from denoiser.models.build import ModelConfig, build_model
from denoiser.training.fit import NoisyDigits

__all__ = ["KEEP", "prime", "primed_configs", "take"]

#: Primed models kept at once (the least recently primed go first): a class's forms differ.
KEEP = 3


@dataclass
class _Primed:
    model: keras.Model
    start: list[np.ndarray]  # the model's variables as built
    optimizer_start: list[np.ndarray]  # its optimiser's variables before any step


_kept: OrderedDict[tuple, _Primed] = OrderedDict()


def _key(config: ModelConfig, seed: int) -> tuple:
    return config, int(seed), keras.config.dtype_policy().name


def prime(config: ModelConfig, seed: int = 0) -> None:
    """Build ``config``'s model as :func:`~denoiser.training.fit.train` does with ``seed``, trace
    its training, evaluation and prediction steps, and keep it for :func:`take` (at most :data:`KEEP`)."""
    key = _key(config, seed)
    if key in _kept:
        _kept.move_to_end(key)
        return
    keras.utils.set_random_seed(seed)
    model = build_model(config)
    model.optimizer.build(model.trainable_variables)
    primed = _Primed(model, [v.numpy() for v in model.variables],
                     [v.numpy() for v in model.optimizer.variables])
    digits = np.random.default_rng(seed).random((24, 28, 28), dtype=np.float32)
    # 16 then 8 digits per step, and 5 then 3 to validate: the second size makes Keras trace
    # graphs for any batch size, as a run's last, shorter batch would.
    model.fit(NoisyDigits(digits, NoiseSpec(), 16, seed=seed), epochs=1, verbose=0,
              validation_data=(digits[:8], digits[:8]), validation_batch_size=5)
    for size in (5, 3):  # and the previews a run draws after each epoch
        model.predict_on_batch(digits[:size])
    _reset(primed)
    _kept[key] = primed
    while len(_kept) > KEEP:
        _kept.popitem(last=False)


def take(config: ModelConfig, seed: int = 0) -> keras.Model | None:
    """The primed model for ``config`` (its weights as built with ``seed``, its optimiser as new),
    now the caller's; None when there is none (or it is under another precision)."""
    primed = _kept.pop(_key(config, seed), None)
    return None if primed is None else primed.model


def primed_configs() -> list[ModelConfig]:
    """The configurations primed now, oldest first."""
    return [config for config, _, _ in _kept]


def _reset(primed: _Primed) -> None:
    for variable, value in zip(primed.model.variables, primed.start, strict=True):
        variable.assign(value)
    for variable, value in zip(primed.model.optimizer.variables, primed.optimizer_start, strict=True):
        variable.assign(value)
