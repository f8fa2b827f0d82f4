"""The one input check for image arrays, shared by noise, filters and models."""

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
