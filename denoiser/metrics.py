"""Image quality: PSNR and SSIM per image and as means, from ``skimage.metrics``."""

from __future__ import annotations

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

#: PSNR reported for a perfect reconstruction (skimage gives +inf).
MAX_PSNR = 100.0


def _pair(reference: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, np.float64)
    out = np.asarray(test, np.float64)
    if ref.shape != out.shape:
        raise ValueError(f"shapes differ: reference {ref.shape} vs test {out.shape}")
    if ref.ndim == 2:
        ref, out = ref[None], out[None]
    if ref.ndim != 3:
        raise ValueError(f"images must be (H, W) or (N, H, W), got {ref.shape}")
    return ref, out


def psnr(reference: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Peak signal-to-noise ratio in dB of each image (data range 1).

    Parameters
    ----------
    reference, test : ndarray
        Images of shape (H, W) or (N, H, W) in [0, 1].

    Returns
    -------
    ndarray
        float64 array of shape (N,) (a 1-element array for one image);
        identical images score ``MAX_PSNR``.
    """
    ref, out = _pair(reference, test)
    mse = np.mean((ref - out) ** 2, axis=(1, 2))
    values = np.full(len(ref), MAX_PSNR)
    nz = mse > 0
    values[nz] = [peak_signal_noise_ratio(r, o, data_range=1.0) for r, o in zip(ref[nz], out[nz])]
    return np.minimum(values, MAX_PSNR)


def ssim(reference: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Structural similarity of each image (data range 1, 7×7 window).

    Returns
    -------
    ndarray
        float64 array of shape (N,).
    """
    ref, out = _pair(reference, test)
    return np.array([structural_similarity(r, o, data_range=1.0) for r, o in zip(ref, out)])


def summary(reference: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """Mean PSNR and SSIM over the images: ``{"psnr": dB, "ssim": value}``."""
    return {"psnr": float(np.mean(psnr(reference, test))),
            "ssim": float(np.mean(ssim(reference, test)))}
