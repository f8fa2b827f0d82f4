"""The comparison the app and the CLI show: noisy, denoised, filtered and clean rows with metrics.

No UI code: :func:`compare` returns the rows of a :func:`denoiser.results.grid.digit_grid` and a
table of mean PSNR and SSIM per row; :func:`compare_amounts` does the same at many noise amounts
at once (each model run on all of them together), so a page can move its noise slider without
asking the server again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from denoiser.digits.noise import add_noise
from denoiser.results.classical import CLASSICAL, FAST_FILTERS, check_filters
from denoiser.results.grid import Row
from denoiser.results.metrics import psnr, ssim

NOISY, CLEAN = "Noisy", "Clean"
#: The difference row's label (a true minus sign: the grid's font has the glyph).
DIFF_LABEL = "|denoised − clean|"
#: :func:`compare_amounts` is worth its cost (21 amounts for every change of digits, models or
#: noise) up to this many digit × model pairs, with fast filters only.
EVERY_AMOUNT_PAIRS = 16
#: Digits per model call in :func:`compare_amounts`: as fast per digit as larger calls (measured
#: with ``python -m benchmarks.bench_move``; see docs/history.md) at a fraction of the memory each
#: concurrent call holds (ONNX Runtime keeps every layer's activations for the call's digits).
MODEL_CHUNK = 32


def denoised_label(model_name: str) -> str:
    return f"Denoised by {model_name}"


def filter_label(filter_name: str) -> str:
    return f"Filter: {filter_name}"


def metric_caption(psnr_db: float, ssim_value: float) -> str:
    """The caption under a digit: PSNR in dB · SSIM."""
    return f"{psnr_db:.1f} dB · {ssim_value:.2f}"


@dataclass
class Comparison:
    """Grid rows (label, images, captions) and one line of means per row that has metrics."""

    rows: list[Row]
    means: list[dict]
    scores: list[dict] = field(default_factory=list)  # one per row and digit

    @property
    def labels(self) -> list[str]:
        return [row[0] for row in self.rows]


def describe(result: Comparison, noise: str = "", amount: float | None = None) -> str:
    """``result`` in words, as a text alternative for its picture: the digits, the noise (where
    given), and each row with its mean scores.

    Examples
    --------
    >>> import numpy as np
    >>> clean = np.zeros((1, 28, 28), np.float32); clean[:, 10:18, 12:16] = 1
    >>> describe(compare(clean, ["digit 1"], clean * 0.5), "gaussian", 0.5)
    'Comparison of 1 digit (1) with gaussian noise at 0.50. Rows: Noisy, mean 19.9 dB, SSIM 0.90; Clean.'
    """
    captions = result.rows[-1][2] if result.rows else []
    digits = ", ".join(c.removeprefix("digit ") for c in captions)
    means = {m["row"]: m for m in result.means}
    rows = [f"{label}, mean {means[label]['psnr']:.1f} dB, SSIM {means[label]['ssim']:.2f}"
            if label in means else label for label in dict.fromkeys(result.labels)]
    count = len(captions)
    noisy = f" with {noise} noise" + (f" at {amount:.2f}" if amount is not None else "") if noise else ""
    plural = "s" if count != 1 else ""
    return f"Comparison of {count} digit{plural} ({digits}){noisy}. Rows: {'; '.join(rows)}."


def scores_csv(result: Comparison, noise: str, amount: float) -> str:
    """Every row's PSNR and SSIM for every digit of ``result`` as CSV, one line each, with the
    noise they were measured at (what a student pastes into a spreadsheet).

    Examples
    --------
    >>> import numpy as np
    >>> clean = np.zeros((1, 28, 28), np.float32); clean[:, 10:18, 12:16] = 1
    >>> print(scores_csv(compare(clean, ["a"], clean * 0.5), "gaussian", 0.5).splitlines()[:2])
    ['row,digit,caption,noise,amount,psnr_db,ssim', 'Noisy,1,a,gaussian,0.5,19.91,0.8967']
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["row", "digit", "caption", "noise", "amount", "psnr_db", "ssim"])
    for score in result.scores:
        writer.writerow([score["row"], score["digit"], score["caption"], noise, f"{amount:g}",
                         f"{score['psnr']:.2f}", f"{score['ssim']:.4f}"])
    return out.getvalue()


def compare(clean: np.ndarray, captions: Sequence[str], noisy: np.ndarray,
            denoisers: dict[str, Callable[[np.ndarray], np.ndarray]] | None = None,
            filters: Sequence[str] = (), show_diff: bool = False) -> Comparison:
    """Denoise ``noisy`` with each model and filter and measure every row against ``clean``.

    Parameters
    ----------
    clean, noisy : ndarray
        (N, 28, 28) in [0, 1], the same digits without and with noise.
    captions : sequence of str
        N captions for the clean row (e.g. "digit 7").
    denoisers : dict, optional
        Model name -> function mapping noisy digits to denoised ones.
    filters : sequence of str
        Names of :data:`denoiser.results.classical.CLASSICAL` filters to add as rows.
    show_diff : bool
        Add a ``|denoised − clean|`` row under each model's row.

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        An unknown filter name.

    Examples
    --------
    >>> import numpy as np
    >>> clean = np.zeros((2, 28, 28), np.float32); clean[:, 10:18, 12:16] = 1
    >>> result = compare(clean, ["a", "b"], clean * 0.8, filters=["median"])
    >>> result.labels
    ['Noisy', 'Filter: median', 'Clean']
    """
    denoised = {name: fn(noisy) for name, fn in (denoisers or {}).items()}
    return _comparison(clean, captions, noisy, denoised, check_filters(filters), show_diff)


def _comparison(clean: np.ndarray, captions: Sequence[str], noisy: np.ndarray,
                denoised: dict[str, np.ndarray], filters: Sequence[str], show_diff: bool) -> Comparison:
    outputs = [(NOISY, noisy, False)]
    outputs += [(denoised_label(name), images, True) for name, images in denoised.items()]
    outputs += [(filter_label(name), CLASSICAL[name](noisy), False) for name in filters]
    rows: list[Row] = []
    means: list[dict] = []
    scores: list[dict] = []
    for label, images, is_model in outputs:
        p, s = psnr(clean, images), ssim(clean, images)
        rows.append((label, images, [metric_caption(a, b) for a, b in zip(p, s)]))
        means.append({"row": label, "psnr": float(p.mean()), "ssim": float(s.mean())})
        scores += [{"row": label, "digit": i + 1, "caption": caption, "psnr": float(a), "ssim": float(b)}
                   for i, (caption, a, b) in enumerate(zip(captions, p, s))]
        if show_diff and is_model:
            diff = np.abs(images - clean)
            rows.append((DIFF_LABEL, diff, [f"max {d.max():.2f}" for d in diff]))
    rows.append((CLEAN, clean, list(captions)))
    return Comparison(rows, means, scores)


def compare_amounts(clean: np.ndarray, captions: Sequence[str], kind: str, amounts: Sequence[float],
                    seed: int | None = None,
                    denoisers: dict[str, Callable[[np.ndarray], np.ndarray]] | None = None,
                    filters: Sequence[str] = (), show_diff: bool = False) -> list[Comparison]:
    """:func:`compare` at each of ``amounts`` of one noise, each model called on all of them at
    once (in calls of :data:`MODEL_CHUNK` digits).

    The noisy digits at each amount are exactly those of ``add_noise(clean, kind, amount,
    seed=seed)``, so each comparison equals :func:`compare` on them.

    Parameters
    ----------
    clean : ndarray
        (N, 28, 28) in [0, 1].
    captions : sequence of str
        N captions for the clean row.
    kind : str
        A kind of :data:`denoiser.NOISE_KINDS`.
    amounts : sequence of float
        Noise amounts in [0, 1].
    seed : int, optional
        The noise's seed, the same pattern at every amount.
    denoisers, filters, show_diff
        As for :func:`compare`.

    Returns
    -------
    list of Comparison
        One per amount, in order.

    Raises
    ------
    ValueError
        An unknown filter or noise kind, no amounts, or an amount outside [0, 1].
    """
    filters = check_filters(filters)
    if len(amounts) == 0:
        raise ValueError("no amounts to compare at")
    noisy = np.stack([add_noise(clean, kind, amount, seed=seed) for amount in amounts])
    flat = noisy.reshape(-1, *clean.shape[1:])
    starts = range(0, len(flat), MODEL_CHUNK)
    denoised = {name: np.concatenate([fn(flat[i : i + MODEL_CHUNK]) for i in starts]).reshape(noisy.shape)
                for name, fn in (denoisers or {}).items()}
    return [_comparison(clean, captions, noisy[i], {name: out[i] for name, out in denoised.items()},
                        filters, show_diff) for i in range(len(amounts))]


def every_amount_affordable(digits: int, models: int, filters: Sequence[str]) -> bool:
    """Whether :func:`compare_amounts` over :data:`denoiser.teaching.links.SLIDER_AMOUNTS` costs little
    enough to run on each change of digits, models or noise: at most :data:`EVERY_AMOUNT_PAIRS`
    digit × model pairs, and only filters of :data:`denoiser.results.classical.FAST_FILTERS`."""
    return digits * max(models, 1) <= EVERY_AMOUNT_PAIRS and set(filters) <= FAST_FILTERS


def means_markdown(means: Sequence[dict]) -> str:
    """The rows' mean PSNR and SSIM as a Markdown table."""
    lines = ["| row | mean PSNR (dB) | mean SSIM |", "|---|---:|---:|"]
    lines += [f"| {m['row']} | {m['psnr']:.2f} | {m['ssim']:.3f} |" for m in means]
    return "\n".join(lines)
