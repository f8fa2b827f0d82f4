"""The input checks for image arrays, shared by noise, filters, models and augmentation."""

from __future__ import annotations

import numpy as np


def as_images(images: np.ndarray) -> np.ndarray:
    """Return ``images`` as a new float32 array clipped to [0, 1].

    Raises
    ------
    ValueError
        If the array is not numeric (or boolean) or holds NaN or infinite values.
    """
    x = np.asarray(images)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"images must be a numeric array, got dtype {x.dtype}")
    x = x.astype(np.float32, copy=False)
    if x.size and not np.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values")
    return np.clip(x, 0.0, 1.0)


def as_digits(images: np.ndarray) -> np.ndarray:
    """:func:`as_images`, and the shape of one digit (28, 28) or a batch (N, 28, 28)."""
    x = as_images(images)
    if x.shape[-2:] != (28, 28) or x.ndim not in (2, 3):
        raise ValueError(f"images must have shape (28, 28) or (N, 28, 28), got {x.shape}")
    return x
