"""Classical (non-learned) denoisers to compare the autoencoders against.

Each filter takes images (28, 28) or (N, 28, 28) in [0, 1] and returns float32
of the same shape in [0, 1]. BM3D joins the list only when the optional
``bm3d`` package is installed (its licence is non-commercial).
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import ndimage

from denoiser.digits.arrays import as_images


def _batch(images: np.ndarray) -> tuple[np.ndarray, bool]:
    x = as_images(images)
    if x.ndim not in (2, 3):
        raise ValueError(f"images must have shape (H, W) or (N, H, W), got {x.shape}")
    return (x[None], True) if x.ndim == 2 else (x, False)


def _per_image(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    def apply(images: np.ndarray) -> np.ndarray:
        x, single = _batch(images)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = np.stack([fn(img.astype(np.float64)) for img in x]) if len(x) else x
        out = np.clip(out, 0.0, 1.0).astype(np.float32)
        return out[0] if single else out

    apply.__doc__ = fn.__doc__
    return apply


def median(images: np.ndarray) -> np.ndarray:
    """3×3 median filter (good against salt-and-pepper)."""
    x, single = _batch(images)
    out = ndimage.median_filter(x, size=(1, 3, 3), mode="nearest")
    return out[0] if single else out


def gaussian_blur(images: np.ndarray) -> np.ndarray:
    """Gaussian blur with σ = 1 pixel."""
    x, single = _batch(images)
    out = ndimage.gaussian_filter(x, sigma=(0, 1, 1), mode="nearest")
    return out[0] if single else out


@_per_image
def nl_means(img: np.ndarray) -> np.ndarray:
    """Non-local means, its strength set from the estimated noise level."""
    from skimage.restoration import denoise_nl_means, estimate_sigma  # imported when first used

    sigma = float(estimate_sigma(img))
    return denoise_nl_means(img, h=0.8 * sigma, sigma=sigma, patch_size=3, patch_distance=5,
                            fast_mode=True)


@_per_image
def total_variation(img: np.ndarray) -> np.ndarray:
    """Total-variation denoising (Chambolle), weight 0.15."""
    from skimage.restoration import denoise_tv_chambolle

    return denoise_tv_chambolle(img, weight=0.15)


@_per_image
def wavelet(img: np.ndarray) -> np.ndarray:
    """Wavelet shrinkage (BayesShrink, soft thresholds, db1)."""
    from skimage.restoration import denoise_wavelet

    return denoise_wavelet(img, method="BayesShrink", mode="soft", wavelet="db1", rescale_sigma=True)


#: Classical filters by name, each ``f(images) -> images``.
CLASSICAL: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "median": median,
    "gaussian_blur": gaussian_blur,
    "nl_means": nl_means,
    "total_variation": total_variation,
    "wavelet": wavelet,
}
#: The filters that work on a whole batch at once, a fraction of a millisecond a digit (the others run
#: per digit, up to tens of milliseconds each).
FAST_FILTERS = frozenset({"median", "gaussian_blur"})

if importlib.util.find_spec("bm3d") is not None:  # pragma: no cover - depends on the environment
    # optional: BM3D is free for non-commercial use only, so it is never required

    @_per_image
    def bm3d(img: np.ndarray) -> np.ndarray:
        """BM3D (optional extra), σ estimated from the image."""
        import bm3d as _bm3d
        from skimage.restoration import estimate_sigma

        return _bm3d.bm3d(img, sigma_psd=max(float(estimate_sigma(img)), 1e-3))

    CLASSICAL["bm3d"] = bm3d


def check_filters(names: Sequence[str]) -> list[str]:
    """``names`` as a list, once each is known to be a filter of ``CLASSICAL``.

    Raises
    ------
    ValueError
        Naming every unknown filter and the valid ones.
    """
    unknown = [name for name in names if name not in CLASSICAL]
    if unknown:
        raise ValueError(f"unknown filter(s) {', '.join(unknown)}; valid: {', '.join(CLASSICAL)}")
    return list(names)


def apply_filter(name: str, images: np.ndarray) -> np.ndarray:
    """Apply the classical filter called ``name`` (see ``CLASSICAL``)."""
    return CLASSICAL[check_filters([name])[0]](images)
