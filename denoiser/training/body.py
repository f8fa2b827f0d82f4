"""One training body: train, export to ONNX, measure as the app runs it.

Every way to train a model goes through :func:`train_export_measure`: a run started on the
Train page (its child process, the spare process or a Redis worker, through
:func:`denoiser.training.child.train_and_report`) and ``python -m denoiser train``. So a model
is trained, exported and scored the same way wherever it was made, at one evaluation seed
(:data:`denoiser.results.evaluation.EVAL_SEED`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import keras
import numpy as np

from denoiser.models.build import ModelConfig, with_precision
from denoiser.models.files import ModelFileError
from denoiser.models.onnx_export import onnx_bytes
from denoiser.models.onnx_session import OnnxModel
from denoiser.models.runtime import Denoiser
from denoiser.models.surgery import rebuild
from denoiser.results.evaluation import EVAL_SEED, evaluate_denoiser
from denoiser.training.fit import train
from denoiser.training.primed import take as take_primed
from denoiser.training.progress import TrainResult

log = logging.getLogger(__name__)

__all__ = ["Trained", "train_export_measure"]


@dataclass
class Trained:
    """What :func:`train_export_measure` made.

    Attributes
    ----------
    result : TrainResult
        The run as :func:`~denoiser.training.fit.train` reports it (history, epochs, stop).
    model : keras.Model or None
        The float32 model with the weights kept; None when no epoch ended well.
    onnx : bytes or None
        Its ONNX export, or None when the export was refused (the model then runs with Keras).
    metrics : dict
        ``"kind@amount"`` → mean scores on ``x_eval`` at :data:`EVAL_SEED`.
    export_error : str or None
        Why there is no export, in words.
    held : dict
        On ``x_held`` at Gaussian 0.5: ``"before"`` (the starting model's scores; None for a fresh
        model) and ``"after"`` — empty without ``x_held``.
    """

    result: TrainResult
    model: keras.Model | None = None
    onnx: bytes | None = None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    export_error: str | None = None
    held: dict[str, dict[str, float] | None] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """True when a model came out (finished, stopped, or diverged after a good epoch)."""
        return self.model is not None


def train_export_measure(
    config: ModelConfig,
    x_train: np.ndarray,
    *,
    x_eval: np.ndarray | None = None,
    measure_at: Iterable[tuple[str, float]] = (("gaussian", 0.5),),
    x_held: np.ndarray | None = None,
    start: Callable[[], keras.Model | None] | None = None,
    mixed_precision: bool = False,
    **fit_options,
) -> Trained:
    """Train a model, export it and score it on held-out digits.

    Parameters
    ----------
    config : ModelConfig
        Architecture and optimiser.
    x_train : ndarray
        Clean training digits, (N, 28, 28) in [0, 1].
    x_eval : ndarray, optional
        Clean digits to score the model on (none: no metrics).
    measure_at : iterable of (kind, amount)
        Noises to score at; ``"blind"`` kinds are skipped (they have no one amount).
    x_held : ndarray, optional
        Other clean digits held out of training (a class's own): scored at Gaussian 0.5 before
        training (the starting model) and after, to show what a fine-tune changed.
    start : callable, optional
        Returns the model to start from (fine-tuning) or None; called under the run's precision.
    mixed_precision : bool
        Compute in bfloat16 with float32 weights; the model returned is float32 either way.
    **fit_options
        Passed to :func:`denoiser.training.fit.train` (epochs, batch_size, noise, seed, ...).

    Returns
    -------
    Trained
    """
    with with_precision("mixed_bfloat16" if mixed_precision else "float32"):
        model = start() if start else None
        before = (_scores(Denoiser(model, config=config), x_held, "gaussian", 0.5)
                  if model is not None and _some(x_held) else None)
        if model is None:  # a new model: the one the spare process primed, if it did
            model = take_primed(config, fit_options.get("seed", 0))
        result = train(config, x_train, model=model, **fit_options)
    trained = Trained(result)
    if not result.usable:
        return trained
    trained.model = rebuild(result.model, config, compile=False) if mixed_precision else result.model
    try:
        trained.onnx = onnx_bytes(trained.model)
    except ModelFileError as err:
        trained.export_error = str(err)
        log.warning("trained without an ONNX export: %s", err)
    denoiser = Denoiser(trained.model, config=config,
                        onnx=OnnxModel(trained.onnx) if trained.onnx else None)  # as the app runs it
    if _some(x_eval):
        for kind, amount in dict.fromkeys(measure_at):
            if kind != "blind":
                trained.metrics[f"{kind}@{amount:g}"] = _scores(denoiser, x_eval, kind, amount)
    if _some(x_held):
        trained.held = {"before": before, "after": _scores(denoiser, x_held, "gaussian", 0.5)}
    return trained


def _some(x: np.ndarray | None) -> bool:
    return x is not None and len(x) > 0


def _scores(denoiser: Denoiser, x: np.ndarray, kind: str, amount: float) -> dict[str, float]:
    return evaluate_denoiser(denoiser.denoise, x, kind, amount, seed=EVAL_SEED)
