"""What training takes and reports: noise spec, progress snapshots, results (no TensorFlow needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .config import ModelConfig
from .noise import NOISE_KINDS, add_noise, add_random_noise

if TYPE_CHECKING:
    import keras

BLIND = "blind"


@dataclass(frozen=True)
class NoiseSpec:
    """Training noise: one kind at one amount, or ``kind="blind"`` (random kind and amount per image)."""

    kind: str = "gaussian"
    amount: float = 0.5

    def __post_init__(self) -> None:
        if self.kind != BLIND and self.kind not in NOISE_KINDS:
            raise ValueError(
                f"unknown training noise {self.kind!r}; valid: {', '.join(NOISE_KINDS)}, {BLIND}"
            )
        if not (isinstance(self.amount, (int, float)) and 0.0 <= self.amount <= 1.0):
            raise ValueError(f"noise amount must be in [0, 1], got {self.amount!r}")

    def apply(self, images: np.ndarray, seed: int | np.random.Generator | None) -> np.ndarray:
        """Draw this noise on a batch of images."""
        if self.kind == BLIND:
            return add_random_noise(images, seed=seed)
        return add_noise(images, self.kind, self.amount, seed=seed)

    def describe(self) -> str:
        if self.kind == BLIND:
            return "blind (random kind and amount 0–1 per image)"
        return f"{self.kind} {self.amount:g}"


@dataclass
class Progress:
    """A snapshot of training progress, passed to the ``on_progress`` callback."""

    epoch: int  # 1-based, current epoch
    epochs: int
    batch: int  # batches done in this epoch
    batches: int
    elapsed_s: float
    loss: float | None = None
    val_loss: float | None = None
    epoch_end: bool = False

    @property
    def fraction(self) -> float:
        return ((self.epoch - 1) * self.batches + self.batch) / max(1, self.epochs * self.batches)

    @property
    def eta_s(self) -> float | None:
        done = self.fraction
        return None if done <= 0 else self.elapsed_s * (1 - done) / done


@dataclass
class TrainResult:
    """What :func:`train` returns: the model and its history, and how the run ended."""

    model: keras.Model | None  # None once freed, or when trained in another process
    config: ModelConfig
    noise: NoiseSpec
    history: dict[str, list[float]]
    epochs_run: int
    stopped: bool = False
    diverged: bool = False
    message: str = ""
    seconds: float = 0.0
    good_epoch: int = 0  # the epoch whose weights the model holds (before a divergence, the last good one)

    @property
    def usable(self) -> bool:
        """Whether the model holds trained weights: it did not diverge, or did after a good epoch."""
        return not self.diverged or self.good_epoch > 0
