"""The latent space of bottleneck models: 2-D projections of codes and interpolation between digits."""

from __future__ import annotations

import numpy as np

from denoiser.models.runtime import Denoiser


def pca_2d(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project codes (N, D) onto their first two principal components.

    Returns
    -------
    coords : ndarray
        (N, 2) projected codes.
    explained : ndarray
        Fraction of the variance each of the two components explains.
    """
    codes = np.asarray(codes, np.float64)
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(f"need codes of shape (N >= 2, D), got {codes.shape}")
    centred = codes - codes.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    if vt.shape[0] < 2:  # a 1-D code: the second axis is zero
        vt = np.vstack([vt, np.zeros_like(vt)])
        s = np.append(s, 0.0)
    total = float((s**2).sum()) or 1.0
    return centred @ vt[:2].T, (s[:2] ** 2) / total


def interpolate(model: Denoiser, a: np.ndarray, b: np.ndarray, steps: int = 8) -> np.ndarray:
    """Decode ``steps`` codes on the straight line from digit ``a``'s code to digit ``b``'s.

    Returns
    -------
    ndarray
        float32 (steps, 28, 28) in [0, 1], from (the decoding of) ``a`` to ``b``.
    """
    if not 2 <= int(steps) <= 64:
        raise ValueError(f"steps must be in [2, 64], got {steps!r}")
    if not model.has_code:
        raise ValueError(f"model {model.name!r} has no bottleneck code to interpolate in")
    codes = model.encode(np.stack([a, b]).astype(np.float32))  # (2, D), in ONNX Runtime when exported
    t = np.linspace(0.0, 1.0, int(steps), dtype=np.float32)[:, None]
    path = (1 - t) * codes[0] + t * codes[1]
    return model.decode(path)
