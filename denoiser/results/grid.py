"""One picture for a grid of labelled digit rows (noisy / denoised / clean …).

The app shows its results as a single image rather than dozens of small ones:
the browser fetches and lays out one file per update, which keeps a slider
move fast even with many rows and digits.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import struct
import zlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from denoiser.digits.arrays import as_images

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
    """(..., H, W) images in [0, 1] as uint8, each pixel repeated ``scale``×``scale`` (crisp pixels)."""
    pixels = np.round(np.clip(np.asarray(image, np.float32), 0, 1) * 255).astype(np.uint8)
    if scale == 1:
        return pixels
    return np.repeat(np.repeat(pixels, scale, axis=-2), scale, axis=-1)  # 3x a broadcast's reshape


@lru_cache(maxsize=512)
def _glyph(char: str, size: int) -> tuple[np.ndarray, int, float]:
    """One character's ink (uint8, 255 = full; its rows start at the text line's top), the
    column its ink starts at relative to the pen, and the pen's advance in pixels."""
    font = _font(size)
    left, _, right, bottom = font.getbbox(char, anchor="la")
    left, right, bottom = min(int(left), 0), max(int(np.ceil(right)), 1), max(int(np.ceil(bottom)), 1)
    ink = Image.new("L", (right - left, bottom), 0)
    ImageDraw.Draw(ink).text((-left, 0), char, fill=255, font=font, anchor="la")
    return np.asarray(ink), left, float(font.getlength(char))


Piece = tuple[np.ndarray, int, float]  # ink, its first column relative to the pen, the advance


def _set(pieces: Sequence[Piece]) -> Piece:
    """Set pieces of text (glyphs or words) one after another on a line, as one piece."""
    placed, pen, left_edge, right_edge, height = [], 0.0, 0, 1, 1
    for ink, left, advance in pieces:
        x = int(round(pen)) + left
        placed.append((x, ink))
        left_edge, right_edge = min(left_edge, x), max(right_edge, x + ink.shape[1])
        height = max(height, ink.shape[0])
        pen += advance
    line = np.zeros((height, right_edge - left_edge), np.uint8)
    for x, ink in placed:
        part = line[: ink.shape[0], x - left_edge : x - left_edge + ink.shape[1]]
        np.maximum(part, ink, out=part)
    line.setflags(write=False)  # cached and shared: nobody may draw into it
    return line, left_edge, pen


@lru_cache(maxsize=4096)
def _piece(text: str, size: int) -> Piece:
    """A line of text set from cached glyphs, a line with spaces from its cached words.

    Drawing each caption with Pillow is slow next to a lookup, and a slider move draws dozens of captions
    that differ only in their numbers ("21.3 dB · 0.87"); each number recurs across moves and
    users, so a caption is a few cached words, and a word a few cached glyphs.
    """
    if len(text) == 1:
        return _glyph(text, size)
    if " " in text:
        return _set([_piece(token, size) for token in re.findall(r" |[^ ]+", text)])
    return _set([_glyph(char, size) for char in text])


def _text_ink(text: str, size: int) -> np.ndarray:
    """A line of text as ink (uint8, 255 = full; read-only), starting at its pen position."""
    ink, left, _ = _piece(text, size)
    return ink[:, -left:] if left < 0 else ink


def _text_width(text: str, size: int) -> float:
    """How far a line of text advances the pen, in pixels (as :func:`_text_ink` sets it)."""
    return _piece(text, size)[2]


def _draw_text(canvas: np.ndarray, x: float, y: int, text: str, size: int, fill: int,
               centred: bool) -> None:
    """Blend ``text`` into ``canvas`` in place: (x, y) is its top left, or its top middle."""
    ink = _text_ink(text, size)
    left = int(round(x - ink.shape[1] / 2)) if centred else int(round(x))
    top, left = int(y), max(left, 0)
    region = canvas[top : top + ink.shape[0], left : left + ink.shape[1]]
    alpha = ink[: region.shape[0], : region.shape[1]].astype(np.uint16)
    region[...] = (region * (255 - alpha) + fill * alpha + 127) // 255


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
    stacks = [enlarge(stack, scale) for stack in stacks]
    line = int(font_size * 1.35)  # a text line's height
    side = 28 * scale
    label_h, caption_h = line + 10, (line + 4 if any(any(c) for _, _, c in rows) else 2)
    # a cell is as wide as its digit or its widest caption, so large text never overlaps a neighbour
    caption_w = max((int(np.ceil(_text_width(c, font_size))) + 4 for _, _, cs in rows for c in cs if c),
                    default=0)
    pitch = max(side, caption_w)
    # cells: (left, top, image, caption); labels: (x, y, text, anchor)
    cells: list[tuple[int, int, np.ndarray, str]] = []
    labels: list[tuple[float, int, str, str]] = []
    if columns:
        widths = [max(pitch, int(np.ceil(_text_width(label, font_size))) + GAP) for label, _, _ in rows]
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
        label_w = max(int(np.ceil(_text_width(label, font_size))) for label, _, _ in rows)
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
        canvas[top : top + side, left : left + side] = image
    for x, y, text, anchor in labels:
        _draw_text(canvas, x, y, text, font_size, 0, centred=anchor == "ma")
    for left, top, _, caption in cells:
        if caption:
            _draw_text(canvas, left + side / 2, top + side + 2, caption, font_size, INK, centred=True)
    return canvas


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_bytes(picture: np.ndarray) -> bytes:
    """A (H, W) uint8 grayscale picture as PNG bytes, made for speed (it runs on every slider move).

    Pillow tries every PNG row filter on every row, which takes most of its time for a move's
    picture; these pictures are mostly flat white, and unfiltered rows with zlib's fastest level
    come out as small in less time (``python -m benchmarks.bench_move`` measures both).
    """
    picture = np.asarray(picture)
    if picture.ndim != 2 or picture.dtype != np.uint8 or 0 in picture.shape:
        raise ValueError(f"png_bytes needs a non-empty (H, W) uint8 picture, got {picture.dtype} "
                         f"{picture.shape}")
    height, width = picture.shape
    rows = np.zeros((height, width + 1), np.uint8)  # each row starts with its filter: 0, none
    rows[:, 1:] = picture
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + _png_chunk(b"IEND", b""))


def digit_grid_png(rows: Sequence[Row], **kwargs) -> bytes:
    """:func:`digit_grid` encoded as PNG bytes."""
    return png_bytes(digit_grid(rows, **kwargs))


def digit_png(image: np.ndarray, scale: int = 1) -> bytes:
    """Encode a (H, W) image in [0, 1] as an 8-bit grayscale PNG, enlarged ``scale`` times."""
    if not 1 <= int(scale) <= 32:
        raise ValueError(f"scale must be in [1, 32], got {scale!r}")
    return png_bytes(enlarge(image, int(scale)))
