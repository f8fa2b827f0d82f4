"""The input checks for image arrays: every module that takes images validates them here."""

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


def as_digits(images: np.ndarray, batch: bool = False) -> np.ndarray:
    """:func:`as_images`, and the shape of one digit (28, 28) or a batch (N, 28, 28)
    (only a batch when ``batch``)."""
    x = as_images(images)
    shapes = "(N, 28, 28)" if batch else "(28, 28) or (N, 28, 28)"
    if x.shape[-2:] != (28, 28) or x.ndim not in ((3,) if batch else (2, 3)):
        raise ValueError(f"images must have shape {shapes}, got {x.shape}")
    return x


def from_levels(image: np.ndarray) -> np.ndarray:
    """An image of any numeric type as float32 in [0, 1]: integers as 8-bit levels (0..255), or
    16-bit ones (0..65535) when a value needs them; bool as 0/1; floats clipped to [0, 1].

    Raises
    ------
    ValueError
        A non-numeric array, an integer outside 0..65535 (no image level: refused, never
        wrapped round by a cast), or NaN or infinite values.

    Examples
    --------
    >>> from_levels(np.array([[0, 51, 255]])).tolist()
    [[0.0, 0.20000000298023224, 1.0]]
    """
    arr = np.asarray(image)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"image must be a numeric array, got dtype {arr.dtype}")
    if arr.dtype == bool:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size == 0:
            return arr.astype(np.float32)
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high > 65535:
            raise ValueError(f"integer image values must lie in 0..255 (8-bit) or 0..65535 (16-bit), "
                             f"got {low}..{high}")
        return arr.astype(np.float32) / (65535.0 if high > 255 else 255.0)
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError("image contains NaN or infinite values")
    return np.clip(arr, 0.0, 1.0)
