"""One picture for a grid of labelled digit rows (noisy / denoised / clean …).

The app shows its results as a single image rather than dozens of small ones:
the browser fetches and lays out one file per update, which keeps a slider
move fast even with many rows and digits.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .arrays import as_images

BACKGROUND = 255  # white page
INK = 40  # dark grey text
GAP = 8  # pixels between digits
BAND_GAP = 14  # extra space between bands of columns
#: This many digits or fewer are drawn as columns (``digit_grid(columns=True)``) by the app and CLI.
COLUMNS_UP_TO = 3


def _font_path() -> str | None:
    """DejaVu Sans, shipped with matplotlib (found without importing it): it has the glyphs the
    labels use (−, ·, …), which Pillow's built-in font lacks."""
    spec = importlib.util.find_spec("matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return str(path)
    return None


#: The font file the grid draws with (None: Pillow's built-in font).
FONT_PATH = _font_path()


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    if FONT_PATH is not None:
        with contextlib.suppress(OSError):
            return ImageFont.truetype(FONT_PATH, size)
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType: fixed bitmap font
        return ImageFont.load_default()


def enlarge(image: np.ndarray, scale: int = 4) -> np.ndarray:
    """A (H, W) image in [0, 1] as uint8, each pixel repeated ``scale``×``scale`` (crisp pixels)."""
    pixels = np.round(np.clip(np.asarray(image, np.float32), 0, 1) * 255).astype(np.uint8)
    return np.kron(pixels, np.ones((scale, scale), np.uint8)) if scale > 1 else pixels


Row = tuple[str, np.ndarray, Sequence[str]]


def digit_grid(rows: Sequence[Row], scale: int = 4, per_line: int = 8,
               font_size: int = 13, columns: bool = False) -> np.ndarray:
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
    columns : bool
        Turn the grid: each row becomes a column under its label, each digit a
        line (for one to a few digits: the picture stays wide and short).

    Returns
    -------
    ndarray
        uint8 grayscale picture (H, W).
    """
    if not rows:
        raise ValueError("digit_grid needs at least one row")
    if not 1 <= int(scale) <= 16 or not 1 <= int(per_line) <= 64 or not 6 <= int(font_size) <= 96:
        raise ValueError(f"scale must be in [1, 16], per_line in [1, 64] and font_size in [6, 96], "
                         f"got {scale}, {per_line}, {font_size}")
    stacks = [as_images(images).reshape(-1, 28, 28) for _, images, _ in rows]
    n = len(stacks[0])
    for (label, _, captions), stack in zip(rows, stacks):
        if len(stack) != n or len(captions) != n:
            raise ValueError(f"row {label!r}: expected {n} images and captions, "
                             f"got {len(stack)} and {len(captions)}")
    font = _font(font_size)
    line = int(font_size * 1.35)  # a text line's height
    side = 28 * scale
    label_h, caption_h = line + 10, (line + 4 if any(any(c) for _, _, c in rows) else 2)
    # a cell is as wide as its digit or its widest caption, so large text never overlaps a neighbour
    caption_w = max((int(np.ceil(font.getlength(c))) + 4 for _, _, cs in rows for c in cs if c), default=0)
    pitch = max(side, caption_w)
    # cells: (left, top, image, caption); labels: (x, y, text, anchor)
    cells: list[tuple[int, int, np.ndarray, str]] = []
    labels: list[tuple[float, int, str, str]] = []
    if columns:
        widths = [max(pitch, int(np.ceil(font.getlength(label))) + GAP) for label, _, _ in rows]
        lefts = np.concatenate([[0], np.cumsum([w + GAP for w in widths])])
        for r, ((label, _, captions), stack) in enumerate(zip(rows, stacks)):
            labels.append((int(lefts[r]) + widths[r] / 2, 4, label, "ma"))
            for k in range(n):
                cells.append((int(lefts[r]) + (widths[r] - side) // 2, label_h + k * (side + caption_h),
                              stack[k], captions[k]))
        width, height = int(lefts[-1] - GAP), label_h + n * (side + caption_h)
    else:
        cols, bands = min(n, per_line), -(-n // per_line)
        row_h = label_h + side + caption_h
        label_w = max(int(np.ceil(font.getlength(label))) for label, _, _ in rows)
        width = max(cols * pitch + (cols - 1) * GAP, label_w + 4)
        height = bands * len(rows) * row_h + (bands - 1) * BAND_GAP
        for band in range(bands):
            top0 = band * (len(rows) * row_h + BAND_GAP)
            for r, ((label, _, captions), stack) in enumerate(zip(rows, stacks)):
                labels.append((0, top0 + r * row_h + 4, label, "la"))
                for c, k in enumerate(range(band * per_line, min(n, (band + 1) * per_line))):
                    cells.append((c * (pitch + GAP) + (pitch - side) // 2, top0 + r * row_h + label_h,
                                  stack[k], captions[k]))
    canvas = np.full((height, width), BACKGROUND, np.uint8)
    for left, top, image, _ in cells:
        canvas[top : top + side, left : left + side] = enlarge(image, scale)
    picture = Image.fromarray(canvas, "L")
    draw = ImageDraw.Draw(picture)
    for x, y, text, anchor in labels:
        draw.text((x, y), text, fill=0, font=font, anchor=anchor)
    for left, top, _, caption in cells:
        if caption:
            draw.text((left + side / 2, top + side + 2), caption, fill=INK, font=font, anchor="ma")
    return np.asarray(picture)


def png_bytes(picture: np.ndarray) -> bytes:
    """A grayscale picture as PNG bytes, with fast compression (it runs on every slider move)."""
    buf = io.BytesIO()
    Image.fromarray(picture, "L").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def digit_grid_png(rows: Sequence[Row], **kwargs) -> bytes:
    """:func:`digit_grid` encoded as PNG bytes."""
    return png_bytes(digit_grid(rows, **kwargs))


def digit_png(image: np.ndarray, scale: int = 1) -> bytes:
    """Encode a (H, W) image in [0, 1] as an 8-bit grayscale PNG, enlarged ``scale`` times."""
    if not 1 <= int(scale) <= 32:
        raise ValueError(f"scale must be in [1, 32], got {scale!r}")
    return png_bytes(enlarge(image, int(scale)))
