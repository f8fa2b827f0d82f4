"""Image quality: PSNR and SSIM per image and as means, as ``skimage.metrics`` defines them.

Both are computed for a whole batch at once (a slider move scores dozens of digits, and calling
skimage once per digit costs a call's overhead each); tests hold them equal to skimage's functions.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter
from skimage.metrics import structural_similarity

#: PSNR reported for a perfect reconstruction (skimage gives +inf).
MAX_PSNR = 100.0
#: SSIM's window side, skimage's default.
SSIM_WINDOW = 7


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
    with np.errstate(divide="ignore"):
        values = 10 * np.log10(1.0 / mse)  # skimage's formula, data range 1
    return np.minimum(values, MAX_PSNR)


def ssim(reference: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Structural similarity of each image (data range 1, 7×7 window).

    Returns
    -------
    ndarray
        float64 array of shape (N,).
    """
    ref, out = _pair(reference, test)
    if min(ref.shape[1:]) < SSIM_WINDOW or len(ref) == 0:  # skimage explains what is wrong
        return np.array([structural_similarity(r, o, data_range=1.0) for r, o in zip(ref, out)])
    # skimage's defaults: a uniform 7×7 window, sample covariance, K1 0.01, K2 0.03, 'reflect'
    n, pad = len(ref), (SSIM_WINDOW - 1) // 2
    means = uniform_filter(np.concatenate([ref, out, ref * ref, out * out, ref * out]),
                           size=(1, SSIM_WINDOW, SSIM_WINDOW))
    ux, uy, uxx, uyy, uxy = (means[k * n : (k + 1) * n] for k in range(5))
    cov_norm = SSIM_WINDOW**2 / (SSIM_WINDOW**2 - 1)
    vx, vy, vxy = cov_norm * (uxx - ux * ux), cov_norm * (uyy - uy * uy), cov_norm * (uxy - ux * uy)
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return s[:, pad:-pad, pad:-pad].mean(axis=(1, 2), dtype=np.float64)


def summary(reference: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """Mean PSNR and SSIM over the images: ``{"psnr": dB, "ssim": value}``."""
    return {"psnr": float(np.mean(psnr(reference, test))),
            "ssim": float(np.mean(ssim(reference, test)))}
