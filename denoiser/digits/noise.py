"""Noise models for digit images in [0, 1].

Every kind reads one ``amount`` in [0, 1], so a single slider drives all of
them; ``amount=0`` leaves the image untouched and larger values corrupt more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from denoiser.digits.arrays import as_images

Apply = Callable[[np.ndarray, "np.ndarray | np.float32", np.random.Generator], np.ndarray]


def _gaussian(x: np.ndarray, amount, rng: np.random.Generator) -> np.ndarray:
    return x + amount * rng.standard_normal(x.shape, dtype=np.float32)


def _salt_pepper(x: np.ndarray, amount, rng: np.random.Generator) -> np.ndarray:
    hit = rng.random(x.shape, dtype=np.float32) < amount
    salt = rng.random(x.shape, dtype=np.float32) < 0.5
    return np.where(hit, salt.astype(np.float32), x)


def _speckle(x: np.ndarray, amount, rng: np.random.Generator) -> np.ndarray:
    return x * (1.0 + amount * rng.standard_normal(x.shape, dtype=np.float32))


def _poisson(x: np.ndarray, amount, rng: np.random.Generator) -> np.ndarray:
    # A pixel of intensity x holds x·peak photons; std at x = 1 is 1/sqrt(peak) = amount.
    amount = np.asarray(amount, dtype=np.float64)
    peak = 1.0 / np.maximum(amount, 1e-6) ** 2
    out = rng.poisson(x * peak) / peak
    return np.where(amount > 0, out, x).astype(np.float32)


def _masking(x: np.ndarray, amount, rng: np.random.Generator) -> np.ndarray:
    return np.where(rng.random(x.shape, dtype=np.float32) < amount, np.float32(0.0), x)


#: Each noise kind: what ``amount`` means for it, and the function that applies it (to float32
#: images in [0, 1], ``amount`` a scalar or an array broadcasting against them; the result is
#: clipped afterwards). A new kind is one function and one entry here: the app, the CLI, links,
#: training and blind noise all read this table (docs/architecture.md).
NOISES: dict[str, tuple[str, Apply]] = {
    "gaussian": ("adds amount·N(0,1) to every pixel (the tutorial's noise)", _gaussian),
    "salt_pepper": ("sets a fraction `amount` of pixels to black or white", _salt_pepper),
    "speckle": ("multiplies every pixel by 1 + amount·N(0,1)", _speckle),
    "poisson": ("photon (shot) noise; the standard deviation at full ink is `amount`", _poisson),
    "masking": ("drops a fraction `amount` of pixels to black", _masking),
}


class _Kinds(Mapping):
    """The noise kinds and what ``amount`` means for each: a live view of :data:`NOISES`."""

    def __getitem__(self, kind: str) -> str:
        return NOISES[kind][0]

    def __iter__(self) -> Iterator[str]:
        return iter(NOISES)

    def __len__(self) -> int:
        return len(NOISES)

    def __repr__(self) -> str:
        return repr(dict(self))


#: The noise kinds and what ``amount`` means for each.
NOISE_KINDS: Mapping[str, str] = _Kinds()
#: Training noise of a random kind and amount for every image (:func:`add_random_noise`).
BLIND = "blind"


def _check_amount(amount: float) -> float:
    try:
        value = float(amount)
    except (TypeError, ValueError):
        raise ValueError(f"amount must be a number in [0, 1], got {amount!r}") from None
    if not np.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"amount must be a number in [0, 1], got {amount!r}")
    return value


def _check_kind(kind: str) -> str:
    if kind not in NOISE_KINDS:
        valid = ", ".join(NOISE_KINDS)
        raise ValueError(f"unknown noise kind {kind!r}; valid kinds: {valid}")
    return kind


def _apply(x: np.ndarray, kind: str, amount: np.ndarray | float, rng: np.random.Generator) -> np.ndarray:
    """Apply one kind of noise; ``amount`` is a scalar or broadcasts against ``x``."""
    return NOISES[kind][1](x, amount, rng)


def add_noise(
    images: np.ndarray,
    kind: str = "gaussian",
    amount: float = 0.5,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Corrupt images with one kind of noise.

    Parameters
    ----------
    images : ndarray
        Clean images with values in [0, 1], any shape (e.g. (28, 28) or (N, 28, 28)).
    kind : str
        One of ``NOISE_KINDS``: gaussian, salt_pepper, speckle, poisson, masking.
    amount : float
        Strength in [0, 1]; 0 returns the images unchanged.
    seed : int, Generator or None
        Seed for a reproducible draw.

    Returns
    -------
    ndarray
        float32 array of the same shape, clipped to [0, 1].

    Raises
    ------
    ValueError
        For an unknown kind, an amount outside [0, 1], or non-finite images.
    """
    _check_kind(kind)
    amount = _check_amount(amount)
    x = as_images(images)
    if amount == 0.0 or x.size == 0:
        return x
    rng = np.random.default_rng(seed)
    return np.clip(_apply(x, kind, np.float32(amount), rng), 0.0, 1.0).astype(np.float32)


def add_random_noise(
    images: np.ndarray,
    kinds: Sequence[str] | None = None,
    amount_range: tuple[float, float] = (0.0, 1.0),
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Corrupt each image with its own randomly drawn kind and amount ("blind" noise).

    Parameters
    ----------
    images : ndarray
        Clean images of shape (N, H, W) with values in [0, 1].
    kinds : sequence of str, optional
        Kinds to draw from, uniformly; all of ``NOISE_KINDS`` by default.
    amount_range : (float, float)
        Amounts are drawn uniformly from this interval inside [0, 1].
    seed : int, Generator or None
        Seed for a reproducible draw.

    Returns
    -------
    ndarray
        float32 array of the same shape, clipped to [0, 1].
    """
    kinds = list(kinds or NOISE_KINDS)
    for kind in kinds:
        _check_kind(kind)
    low, high = (_check_amount(a) for a in amount_range)
    if low > high:
        raise ValueError(f"amount_range must be (low, high) with low <= high, got {amount_range!r}")
    x = as_images(images)
    if x.ndim < 2:
        raise ValueError(f"images must have shape (N, H, W), got {x.shape}")
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    which = rng.integers(len(kinds), size=n)
    amounts = rng.uniform(low, high, size=n).astype(np.float32)
    out = x.copy()
    for k, kind in enumerate(kinds):
        idx = np.flatnonzero(which == k)
        if idx.size:
            a = amounts[idx].reshape((-1,) + (1,) * (x.ndim - 1))
            out[idx] = _apply(x[idx], kind, a, rng)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class NoiseSpec:
    """Training noise: one kind at one amount, or ``kind="blind"`` (random kind and amount per image)."""

    kind: str = "gaussian"
    amount: float = 0.5

    def __post_init__(self) -> None:
        if self.kind != BLIND and self.kind not in NOISE_KINDS:
            raise ValueError(
                f"unknown training noise {self.kind!r}; valid: {', '.join(NOISE_KINDS)}, {BLIND}"
            )
        if not (isinstance(self.amount, (int, float)) and 0.0 <= self.amount <= 1.0):
            raise ValueError(f"noise amount must be in [0, 1], got {self.amount!r}")

    def apply(self, images: np.ndarray, seed: int | np.random.Generator | None) -> np.ndarray:
        """Draw this noise on a batch of images."""
        if self.kind == BLIND:
            return add_random_noise(images, seed=seed)
        return add_noise(images, self.kind, self.amount, seed=seed)

    def describe(self) -> str:
        if self.kind == BLIND:
            return "blind (random kind and amount 0–1 per image)"
        return f"{self.kind} {self.amount:g}"
