"""Measuring denoisers (learned or classical) on noisy digits."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from denoiser.digits.noise import add_noise
from denoiser.results.metrics import psnr, ssim

NOISY_INPUT = "noisy input"
#: The seed of the noise every model is measured on — the shipped models' manifests, ``python -m
#: denoiser train`` and ``quantize``, a run trained in the app, the Train and Explore pages' tables —
#: so that two figures of one model on the same digits are the same figure.
EVAL_SEED = 1234
Denoise = Callable[[np.ndarray], np.ndarray]


def methods_to_compare(denoisers: dict[str, Denoise], filters: Sequence[str] = ()) -> dict[str, Denoise]:
    """The methods a comparison measures, by name: the noisy input itself (the baseline), each
    denoiser, and each classical filter (``"filter: median"``).

    Raises
    ------
    ValueError
        An unknown filter name.
    """
    from denoiser.results.classical import CLASSICAL, check_filters

    methods: dict[str, Denoise] = {NOISY_INPUT: lambda a: a}
    methods.update(denoisers)
    methods.update({f"filter: {name}": CLASSICAL[name] for name in check_filters(filters)})
    return methods


def evaluate_denoiser(
    denoise: Callable[[np.ndarray], np.ndarray],
    x_clean: np.ndarray,
    kind: str = "gaussian",
    amount: float = 0.5,
    seed: int = 0,
    with_ssim: bool = True,
) -> dict[str, float]:
    """Mean PSNR (dB) and SSIM of ``denoise`` on digits corrupted by one noise.

    Parameters
    ----------
    denoise : callable
        Maps noisy images (N, 28, 28) to denoised ones of the same shape.
    x_clean : ndarray
        Clean digits (N, 28, 28) in [0, 1].
    kind, amount : str, float
        The noise, as in :func:`denoiser.add_noise`.
    seed : int
        Seed of the noise draw.
    with_ssim : bool
        Also compute SSIM (slower than PSNR).

    Returns
    -------
    dict
        ``{"psnr": mean dB, "ssim": mean}`` (no ``ssim`` when ``with_ssim`` is False).
    """
    noisy = add_noise(x_clean, kind, amount, seed=seed)
    out = np.asarray(denoise(noisy), np.float32)
    scores = {"psnr": float(np.mean(psnr(x_clean, out)))}
    if with_ssim:
        scores["ssim"] = float(np.mean(ssim(x_clean, out)))
    return scores


def evaluate_table(
    methods: dict[str, Callable[[np.ndarray], np.ndarray]],
    x_clean: np.ndarray,
    kinds: list[str],
    amounts: list[float],
    seed: int = 0,
    with_ssim: bool = True,
) -> list[dict]:
    """Evaluate every method at every (kind, amount), all on the same noise draws.

    Returns
    -------
    list of dict
        One row per method and noise: ``{"method", "kind", "amount", "psnr", "ssim"}``.
    """
    rows = []
    for kind in kinds:
        for amount in amounts:
            for name, fn in methods.items():
                scores = evaluate_denoiser(fn, x_clean, kind, amount, seed=seed, with_ssim=with_ssim)
                rows.append({"method": name, "kind": kind, "amount": float(amount), **scores})
    return rows
