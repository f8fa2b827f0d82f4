"""Handwriting that is not MNIST's, as the pages offer it: each class collection that holds digits
and the shipped UCI digits by name, and the split of such a set into digits to fine-tune on and
digits held out to measure on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from denoiser.digits.mnist import Digits
from denoiser.teaching.collection import Collection, list_collections

__all__ = ["collections_with_digits", "other_handwriting", "split_held_out"]


def other_handwriting(directory: str | Path | None = None) -> dict[str, Callable[[], Digits]]:
    """Digit sets that are not MNIST's, by the name the pages show: each collection that holds
    digits (``"class: NAME"``), then the UCI optical digits shipped with the app; each loads when
    called."""
    from denoiser.digits.uci import load_uci_digits

    sets: dict[str, Callable[[], Digits]] = {
        f"class: {c.name}": c.as_digits for c in collections_with_digits(directory)}
    return {**sets, "UCI optical digits": load_uci_digits}


def collections_with_digits(directory: str | Path | None = None) -> list[Collection]:
    """The class collections that hold at least one digit (an empty one is nothing to show)."""
    return [c for c in list_collections(directory) if len(c.digits()[1])]


def split_held_out(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``n`` digits to train on (two thirds) and to hold out (a third, at least one
    when there are two or more), in order; the same ``seed`` gives the same split.

    >>> train, held = split_held_out(10)
    >>> len(train), len(held), sorted([*train, *held]) == list(range(10))
    (7, 3, True)
    """
    order = np.random.default_rng(seed).permutation(n)
    cut = max(n // 3, 1 if n >= 2 else 0)
    return np.sort(order[cut:]), np.sort(order[:cut])
