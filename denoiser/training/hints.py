"""Training settings known to end in a blob, said in one line each before a run starts.

A learner who trains 3 epochs, or squeezes a digit into a code of 2 numbers, or steps at a
learning rate of 0.1 gets the same grey smudge for every digit and no idea why. These hints name
the setting and what to try instead; the run still starts (a teacher may want the blob).
"""

from __future__ import annotations

import math

from denoiser.models.config import ARCHITECTURES, ModelConfig

#: Fewer weight updates than this and a fresh model still draws nearly the same average digit for
#: every input. Measured for the Train page's default dense model (``python -m
#: scripts.research.blob_updates``; its last result is docs/blob-updates.json in git's history): how
#: much its outputs differ from digit to digit, against the clean digits, after a number of updates.
MIN_UPDATES = 600
#: A code this small cannot hold a digit's shape: every digit decodes to a few blurry prototypes.
MAX_BLOB_CODE = 2
#: Learning rates from which an optimiser's steps overshoot (Adadelta scales its own steps).
MAX_RATE = {"adam": 0.1, "sgd": 1.0}


def updates_per_run(epochs: int, digits: int, batch_size: int, validation_split: float = 0.1) -> int:
    """Weight updates a run makes: epochs × batches of the digits left after validation."""
    return int(epochs) * math.ceil(max(1, round(digits * (1 - validation_split))) / int(batch_size))


def training_hints(config: ModelConfig, epochs: int, digits: int, batch_size: int,
                   validation_split: float = 0.1) -> list[str]:
    """One sentence per setting of this run that is known to end in a blob (none: an empty list).

    Examples
    --------
    >>> training_hints(ModelConfig("dense", code_size=32), 10, 4000, 32)
    []
    >>> len(training_hints(ModelConfig("dense", code_size=2, learning_rate=0.1), 1, 4000, 32))
    3
    """
    hints = []
    updates = updates_per_run(epochs, digits, batch_size, validation_split)
    if updates < MIN_UPDATES:
        hints.append(f"{epochs} epoch(s) of {digits:,} digits in batches of {batch_size} make only "
                     f"{updates:,} weight updates: a fresh model usually still draws the same grey "
                     f"blob for every digit. Aim for {MIN_UPDATES:,} or more: more epochs, more "
                     "digits, or a smaller batch.")
    if "code_size" in ARCHITECTURES[config.architecture].settings and config.code_size <= MAX_BLOB_CODE:
        hints.append(f"A code of {config.code_size} number(s) cannot hold a digit's shape: expect "
                     "a few blurry prototype digits whatever goes in. Try 16 or 32.")
    ceiling = MAX_RATE.get(config.optimizer)
    if ceiling is not None and config.learning_rate >= ceiling:
        hints.append(f"{config.optimizer} at learning rate {config.learning_rate:g} overshoots: the "
                     "loss jumps about or the output collapses to one grey blob. Try 0.001.")
    return hints
