"""Random elastic deformations of clean digits: new handwriting from old, for training."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from denoiser.digits.arrays import as_digits


def check_strength(strength: float, name: str = "strength") -> float:
    """Return a deformation strength as a float; ValueError naming ``name`` unless in [0, 2]."""
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) \
            or not 0.0 <= strength <= 2.0:
        raise ValueError(f"{name} must be a number in [0, 2], got {strength!r}")
    return float(strength)


def deform_digits(images: np.ndarray, strength: float = 1.0,
                  seed: int | tuple | np.random.Generator | None = None) -> np.ndarray:
    """Bend each digit a little, as another writer might have drawn it.

    Each digit gets its own small rotation, shear and scaling about the image
    centre plus a smooth random displacement field (Simard et al., 2003, who
    used it to make MNIST classifiers generalise to new writers). MNIST's
    test digits come from writers the training digits do not; bending the
    training digits shows a model more handwriting than the 60,000 drawn
    ones, at the price of targets that are resampled (slightly smoothed).

    Parameters
    ----------
    images : ndarray
        Digits, (28, 28) or (N, 28, 28), values in [0, 1].
    strength : float
        In [0, 2]. 1 means rotations up to ±8°, shear and scaling up to ±8 % and
        a displacement field of 0.8 px RMS; 0 returns the digits unchanged.
    seed : int, tuple or Generator, optional
        Seeds the deformations.

    Returns
    -------
    ndarray
        float32 digits of the input's shape, in [0, 1].
    """
    strength = check_strength(strength)
    x = as_digits(images)
    single = x.ndim == 2
    batch = x[None] if single else x
    if strength == 0 or len(batch) == 0:
        return batch[0] if single else batch
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = len(batch)
    angle = np.deg2rad(8.0) * strength * rng.uniform(-1, 1, n)
    shear = 0.08 * strength * rng.uniform(-1, 1, n)
    scale = 1.0 + 0.08 * strength * rng.uniform(-1, 1, n)
    cos, sin = np.cos(angle), np.sin(angle)
    # Output pixel p samples the input at A·(p − c) + c + field(p).
    a = np.stack([np.stack([cos, -sin + shear], -1), np.stack([sin, cos], -1)], -2)
    a /= scale[:, None, None]
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float32) - 13.5
    grid = np.stack([rows, cols])  # (2, 28, 28)
    coords = np.einsum("nij,jhw->inhw", a, grid) + 13.5
    field = ndimage.gaussian_filter(rng.standard_normal((2, n, 28, 28)), sigma=(0, 0, 4, 4))
    rms = np.sqrt(np.mean(field**2, axis=(0, 2, 3), keepdims=True))
    coords += field / np.maximum(rms, 1e-8) * (0.8 * strength)
    index = np.broadcast_to(np.arange(n, dtype=np.float64)[:, None, None], (n, 28, 28))
    out = ndimage.map_coordinates(batch, [index, coords[0], coords[1]], order=1, mode="constant")
    out = np.clip(out, 0.0, 1.0).astype(np.float32)
    return out[0] if single else out
