"""A browser session's training runs: named in order, capped, the oldest dropped first."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from denoiser.training.jobs import TrainingJob


class RunList(MutableMapping):
    """One browser session's training runs by name, oldest first, at most ``cap`` of them.

    Each run added is named ``run N`` in the order of adding (:meth:`next_name`); adding one
    past the cap drops the oldest. ``dropped`` counts the runs dropped so far.
    """

    def __init__(self, cap: int = 5) -> None:
        if cap < 1:
            raise ValueError(f"a session keeps at least one run, got cap={cap!r}")
        self.cap = cap
        self.added = 0
        self._jobs: dict[str, TrainingJob] = {}

    def next_name(self) -> str:
        return f"run {self.added + 1}"

    def add(self, job: TrainingJob) -> list[str]:
        """Keep ``job`` under its name; returns the names of the runs dropped to make room."""
        dropped = []
        while len(self._jobs) >= self.cap and job.name not in self._jobs:
            oldest = next(iter(self._jobs))
            del self._jobs[oldest]
            dropped.append(oldest)
        self[job.name] = job
        return dropped

    @property
    def dropped(self) -> int:
        return self.added - len(self._jobs)

    def finished(self) -> list[str]:
        """Names of the runs whose model can be used (finished, stopped, or kept after diverging)."""
        return [name for name, job in self._jobs.items() if job.denoiser() is not None]

    def validation_curves(self) -> dict[str, list[float]]:
        """Each run's validation loss per epoch, for one shared chart: a diverged run's curve ends
        at the epoch it kept, so its blow-up does not flatten every other curve."""
        curves = {}
        for name, job in self._jobs.items():
            values = job.history["val_loss"]
            if job.status == "diverged" and job.result is not None:
                values = values[: job.result.good_epoch]
            if values:
                curves[name] = list(values)
        return curves

    def curves_csv(self) -> str:
        """Every run's loss and validation loss per epoch as CSV (one line per run and epoch,
        with the run's settings), for a spreadsheet; empty cells where a value is missing."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["run", "settings", "status", "epoch", "loss", "val_loss"])
        for name, job in self._jobs.items():
            losses, checks = job.history["loss"], job.history["val_loss"]
            for epoch in range(max(len(losses), len(checks))):
                cells = [f"{v[epoch]:.6g}" if epoch < len(v) and v[epoch] == v[epoch] else ""
                         for v in (losses, checks)]  # NaN (no check that epoch): empty
                writer.writerow([name, job.summary(), job.status, epoch + 1, *cells])
        return out.getvalue()

    def __getitem__(self, name: str) -> TrainingJob:
        return self._jobs[name]

    def __setitem__(self, name: str, job: TrainingJob) -> None:
        if name not in self._jobs:
            self.added += 1
        self._jobs[name] = job

    def __delitem__(self, name: str) -> None:
        del self._jobs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._jobs)

    def __len__(self) -> int:
        return len(self._jobs)
