"""A generated corpus of phone photos of handwriting, each with the same digit rendered cleanly.

Shared by ``tests/test_paper.py`` and ``benchmarks/photo_corpus.py``. A digit's centre lines come
from an MNIST sample digit (so the shapes are real handwriting); :func:`photo` draws them as a pen
on a sheet of paper under one of :data:`CONDITIONS`, and :func:`clean` draws the same lines black
on white, nothing else, as the reference the framed photo is compared with.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage
from skimage.morphology import skeletonize

SIDE = 600  # the photo's size in pixels (a crop around one digit)
SCALE = 16  # MNIST's 28 pixels drawn over 448 of the photo's


def centre_lines(digit: np.ndarray) -> np.ndarray:
    """The (SIDE, SIDE) centre lines of a 28×28 MNIST digit, enlarged onto the photo."""
    big = np.asarray(Image.fromarray((digit * 255).astype(np.uint8)).resize(
        (28 * SCALE, 28 * SCALE), Image.Resampling.BICUBIC), np.float32) / 255
    lines = np.zeros((SIDE, SIDE), bool)
    pad = (SIDE - 28 * SCALE) // 2
    lines[pad:pad + 28 * SCALE, pad:pad + 28 * SCALE] = skeletonize(big > 0.5)
    return lines


def pen(lines: np.ndarray, width: float) -> np.ndarray:
    """Ink coverage (0..1) of a round pen ``width`` pixels wide drawn along ``lines``."""
    if not lines.any():  # a blank sheet (the transform has no line to measure from)
        return np.zeros(lines.shape)
    distance = ndimage.distance_transform_edt(~lines)
    return np.clip(width / 2 + 0.5 - distance, 0.0, 1.0)


def clean(lines: np.ndarray) -> np.ndarray:
    """The digit as a clean render: a black felt pen on white, an RGB uint8 array."""
    gray = 1.0 - pen(lines, 24)
    return (np.repeat(gray[..., None], 3, axis=2) * 255).round().astype(np.uint8)


def _ruled(h: int, w: int) -> np.ndarray:
    """Blue lines every 64 pixels and a red margin: colour multipliers on the sheet."""
    sheet = np.ones((h, w, 3), np.float32)
    for y in range(40, h, 64):
        sheet[y:y + 3] = (0.62, 0.76, 0.95)
    sheet[:, 70:73] = (0.95, 0.55, 0.55)
    return sheet


def _light(h: int, w: int, kind: str) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    if kind == "uneven":  # a window on one side: bright left, dim right, a falloff to one corner
        return (1.0 - 0.45 * xx - 0.15 * yy)[..., None]
    if kind == "shadow":  # a phone's or a hand's soft shadow over a third of the sheet
        edge = ndimage.gaussian_filter((xx + 0.6 * yy > 0.95).astype(np.float32), 18)
        return (1.0 - 0.5 * edge)[..., None]
    return np.ones((h, w, 1), np.float32)


#: Name → (pen width in pixels, ink colour, paper colour, ruled, light, JPEG quality or None).
CONDITIONS: dict[str, tuple[float, tuple, tuple, bool, str, int | None]] = {
    "thin pen": (4, (0.08, 0.10, 0.30), (0.93, 0.92, 0.88), False, "even", None),
    "marker": (60, (0.05, 0.05, 0.05), (0.95, 0.95, 0.93), False, "even", None),
    "lined paper": (10, (0.10, 0.12, 0.45), (0.96, 0.96, 0.94), True, "even", None),
    "shadow": (12, (0.10, 0.10, 0.12), (0.90, 0.89, 0.85), False, "shadow", None),
    "uneven light": (12, (0.12, 0.12, 0.15), (0.92, 0.90, 0.86), False, "uneven", None),
    "jpeg": (10, (0.10, 0.10, 0.20), (0.92, 0.91, 0.87), False, "even", 35),
    "everything": (8, (0.10, 0.12, 0.40), (0.90, 0.89, 0.85), True, "shadow", 50),
}


def photo(lines: np.ndarray, condition: str, seed: int = 0) -> bytes:
    """A photo (PNG or JPEG bytes) of ``lines`` written under ``condition``."""
    width, ink, paper, ruled, light, quality = CONDITIONS[condition]
    rng = np.random.default_rng(seed)
    h, w = lines.shape
    sheet = np.broadcast_to(np.array(paper, np.float32), (h, w, 3)).copy()
    if ruled:
        sheet *= _ruled(h, w)
    sheet *= 1.0 + 0.03 * ndimage.gaussian_filter(rng.standard_normal((h, w)), 2)[..., None]  # grain
    cover = pen(lines, width)[..., None]
    image = sheet * (1 - cover) + np.array(ink, np.float32) * cover
    image = image * _light(h, w, light) + rng.normal(0, 0.015, image.shape)  # sensor noise
    img = Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8))
    img = img.filter(ImageFilter.GaussianBlur(0.8))  # a phone camera's softness
    buf = io.BytesIO()
    img.save(buf, format="JPEG" if quality else "PNG", **({"quality": quality} if quality else {}))
    return buf.getvalue()


def overlap(a: np.ndarray, b: np.ndarray, shift: int = 0) -> float:
    """Ink overlap of two framed digits: 2·Σmin(a, b) / (Σa + Σb), 1 when identical (Dice).

    With ``shift``, the best over moving ``b`` by up to that many pixels each way: MNIST centres
    a digit by whole pixels, so two framings of one digit may land a pixel apart.
    """
    best = 0.0
    for dy in range(-shift, shift + 1):
        for dx in range(-shift, shift + 1):
            moved = np.roll(b, (dy, dx), axis=(0, 1))
            best = max(best, float(2 * np.minimum(a, moved).sum() / (a.sum() + b.sum())))
    return best
