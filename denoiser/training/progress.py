"""What training reports: progress snapshots and results (no TensorFlow needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from denoiser.digits.noise import NoiseSpec
from denoiser.models.config import ModelConfig

if TYPE_CHECKING:
    import keras

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
