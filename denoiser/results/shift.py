"""Distribution shift: the same denoisers on two sets of digits at the same noise — a class's own
handwriting against MNIST's test digits — with the spread of each score and the worst digits.

Examples
--------
>>> import numpy as np
>>> ours = np.zeros((4, 28, 28), np.float32); ours[:, 10:18, 12:16] = 1
>>> mnist = np.zeros((4, 28, 28), np.float32); mnist[:, 8:20, 13:15] = 1
>>> rows = measure_shift({"as it is": lambda x: x}, {"ours": ours, "MNIST": mnist}, "gaussian", 0.3)
>>> [(r["method"], r["digits"], r["digits_of"]) for r in rows]
[('as it is', 4, 'ours'), ('as it is', 4, 'MNIST')]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from denoiser.digits.arrays import as_digits
from denoiser.digits.noise import add_noise
from denoiser.results.evaluation import EVAL_SEED
from denoiser.results.metrics import psnr, ssim

#: How many of a set's worst-cleaned digits a row names.
WORST = 3


def measure_shift(methods: dict[str, Callable[[np.ndarray], np.ndarray]], sets: dict[str, np.ndarray],
                  kind: str = "gaussian", amount: float = 0.5, seed: int = EVAL_SEED) -> list[dict]:
    """Each method on each set of clean digits, all at one noise.

    Parameters
    ----------
    methods : dict
        Name → a function from noisy digits (N, 28, 28) to denoised ones.
    sets : dict
        Name → clean digits (N, 28, 28) in [0, 1] (e.g. ``{"class 7B": …, "MNIST test": …}``).
    kind, amount, seed : str, float, int
        The noise, as in :func:`denoiser.add_noise`; every method sees the same noisy digits.

    Returns
    -------
    list of dict
        One row per method and set: ``method``, ``digits_of``, ``digits``, ``psnr`` and
        ``psnr_sd`` (dB), ``ssim`` and ``ssim_sd``, and ``worst`` — the indices of the
        :data:`WORST` digits it cleaned worst (lowest PSNR), worst first.
    """
    sets = {name: as_digits(x, batch=True) for name, x in sets.items()}
    noisy = {name: add_noise(x, kind, amount, seed=seed) for name, x in sets.items()}
    rows = []
    for method, denoise in methods.items():
        for name, clean in sets.items():
            out = np.clip(np.asarray(denoise(noisy[name]), np.float32), 0, 1)
            db, similarity = psnr(clean, out), ssim(clean, out)
            rows.append({"method": method, "digits_of": name, "digits": len(clean),
                         "psnr": round(float(db.mean()), 2), "psnr_sd": round(float(db.std()), 2),
                         "ssim": round(float(similarity.mean()), 3),
                         "ssim_sd": round(float(similarity.std()), 3),
                         "worst": [int(i) for i in np.argsort(db, kind="stable")[:WORST]]})
    return rows


def shift_markdown(rows: list[dict]) -> str:
    """The rows of :func:`measure_shift` as a Markdown table (mean ± spread)."""
    lines = ["| method | digits of | digits | PSNR (dB) | SSIM | worst digits |",
             "|---|---|---:|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['digits_of']} | {r['digits']:,} "
                     f"| {r['psnr']:.2f} ± {r['psnr_sd']:.2f} | {r['ssim']:.3f} ± {r['ssim_sd']:.3f} "
                     f"| {', '.join(map(str, r['worst']))} |")
    return "\n".join(lines)
