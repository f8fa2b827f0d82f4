"""One picture for a grid of labelled digit rows (noisy / denoised / clean …).

The app shows its results as a single image rather than dozens of small ones:
the browser fetches and lays out one file per update, which keeps a slider
move fast even with many rows and digits.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .arrays import as_images
from .imageio import enlarge

BACKGROUND = 255  # white page
INK = 40  # dark grey text
GAP = 8  # pixels between digits
LABEL_H = 24  # height of a row's label line (with space above it)
CAPTION_H = 18  # height of a digit's caption line
BAND_GAP = 14  # extra space between bands of columns


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: fixed bitmap font
        return ImageFont.load_default()


Row = tuple[str, np.ndarray, Sequence[str]]


def digit_grid(rows: Sequence[Row], scale: int = 4, per_line: int = 8,
               font_size: int = 13) -> np.ndarray:
    """Draw rows of digits, each with a label above it and a caption under every digit.

    Parameters
    ----------
    rows : sequence of (label, images, captions)
        ``images`` is (N, 28, 28) in [0, 1] (every row the same N); ``captions``
        holds N strings (when all are empty, no caption lines are drawn).
    scale : int
        Screen pixels per digit pixel (pixels stay crisp).
    per_line : int
        Digits per line; more digits wrap into further bands, each repeating
        all rows so a digit's noisy, denoised and clean versions stay in one column.
    font_size : int
        Text height in pixels.

    Returns
    -------
    ndarray
        uint8 grayscale picture (H, W).
    """
    if not rows:
        raise ValueError("digit_grid needs at least one row")
    if not 1 <= int(scale) <= 16 or not 1 <= int(per_line) <= 64:
        raise ValueError(f"scale must be in [1, 16] and per_line in [1, 64], got {scale}, {per_line}")
    stacks = [as_images(images).reshape(-1, 28, 28) for _, images, _ in rows]
    n = len(stacks[0])
    for (label, _, captions), stack in zip(rows, stacks):
        if len(stack) != n or len(captions) != n:
            raise ValueError(f"row {label!r}: expected {n} images and captions, "
                             f"got {len(stack)} and {len(captions)}")
    side = 28 * scale
    cols = min(n, per_line)
    bands = -(-n // per_line)
    caption_h = CAPTION_H if any(any(c) for _, _, c in rows) else 2
    row_h = LABEL_H + side + caption_h
    font = _font(font_size)
    label_w = max(int(np.ceil(font.getlength(label))) for label, _, _ in rows)
    width = max(cols * side + (cols - 1) * GAP, label_w + 4)
    height = bands * len(rows) * row_h + (bands - 1) * BAND_GAP
    canvas = np.full((height, width), BACKGROUND, np.uint8)
    for band in range(bands):
        top0 = band * (len(rows) * row_h + BAND_GAP)
        for r, stack in enumerate(stacks):
            top = top0 + r * row_h + LABEL_H
            for c, k in enumerate(range(band * per_line, min(n, (band + 1) * per_line))):
                left = c * (side + GAP)
                canvas[top : top + side, left : left + side] = enlarge(stack[k], scale)
    picture = Image.fromarray(canvas, "L")
    draw = ImageDraw.Draw(picture)
    for band in range(bands):
        top0 = band * (len(rows) * row_h + BAND_GAP)
        for r, (label, _, captions) in enumerate(rows):
            top = top0 + r * row_h
            draw.text((0, top + 6), label, fill=0, font=font)
            for c, k in enumerate(range(band * per_line, min(n, (band + 1) * per_line))):
                center = c * (side + GAP) + side / 2
                draw.text((center, top + LABEL_H + side + 2), captions[k], fill=INK, font=font,
                          anchor="ma")
    return np.asarray(picture)


def digit_grid_png(rows: Sequence[Row], **kwargs) -> bytes:
    """:func:`digit_grid` encoded as PNG bytes, with fast compression (it runs on every slider move)."""
    buf = io.BytesIO()
    Image.fromarray(digit_grid(rows, **kwargs), "L").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
