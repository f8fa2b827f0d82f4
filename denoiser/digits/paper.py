"""Ink from a photo of handwriting on paper: the sheet's uneven light removed, strokes at MNIST's width.

A phone photo of a digit is not a scan: the paper is grey rather than white and brighter on one
side, a hand or the phone casts a shadow, the sheet may be ruled, and the pen may be a fine liner
or a marker. Two steps turn it into strokes like MNIST's:

1. **The paper's level, estimated and divided out.** A grey closing (scipy's separable min/max
   filters, on a copy shrunk to :data:`_BACKGROUND_SIDE` pixels) wider than any stroke removes the
   ink and leaves the sheet with its shading; dividing by it leaves the ink's own darkness, the
   same under a shadow as in the light. Faint marks (ruled lines, paper grain, JPEG blocks) are
   then cut by a threshold relative to the darkest ink, specks far smaller than the digit's
   largest stroke and lines across the whole sheet are dropped.
2. **Strokes brought to MNIST's width.** The strokes are thinned to their centre lines
   (scikit-image's ``skeletonize``) and drawn again with a pen :data:`STROKE_SHARE` of the
   digit's longer side wide, so a hairline and a marker both frame like MNIST's pencil.

Used by :func:`denoiser.digits.preprocess.ink_map` for opaque images whose border is light.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

#: Pen width of the redrawn strokes, as a share of the digit's longer side (MNIST's strokes are
#: about this wide for their 20-pixel box: ink mass over centre-line length on its test digits).
STROKE_SHARE = 0.14

_BACKGROUND_SIDE = 256  # the paper's level is estimated on a copy this many pixels a side
_BACKGROUND_WINDOW = 1 / 8  # closing window, as a share of that copy's longer side
_BLANK = 0.45  # darkest mark (1 - its level over the paper's) below which the sheet is blank:
# paper grain, a ruled line, the knee of a soft shadow (where a closing overshoots) stay under it
_FAINT = 0.4  # ink darker than this share of the darkest stroke counts as pen
_SPECK = 0.05  # pieces with less than this share of the largest piece's ink are dropped
_ACROSS = 0.9  # a piece longer than this share of the sheet is a line on it, not a digit
_WORK_SIDE = 96  # strokes are redrawn on a box of this many pixels on the longer side


def paper_level(gray: np.ndarray) -> np.ndarray:
    """The sheet's brightness at every pixel of ``gray`` (dark ink on light paper), ink removed.

    Parameters
    ----------
    gray : ndarray
        (H, W) float array in [0, 1].

    Returns
    -------
    ndarray
        (H, W) float32, at least ``gray`` everywhere (ink is darker than its paper).
    """
    h, w = gray.shape
    scale = min(1.0, _BACKGROUND_SIDE / max(h, w))
    small_size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(gray.astype(np.float32), mode="F").resize(
        small_size, Image.Resampling.BOX), np.float32)
    window = max(3, round(max(small.shape) * _BACKGROUND_WINDOW)) | 1
    # Closing = the brightest nearby (strokes vanish), then the darkest of those (edges come back).
    closed = ndimage.grey_closing(small, size=(window, window), mode="nearest")
    smooth = ndimage.uniform_filter(closed, size=window, mode="nearest")
    level = np.asarray(Image.fromarray(smooth, mode="F").resize((w, h), Image.Resampling.BILINEAR),
                       np.float32)
    return np.maximum(level, gray)


def paper_ink(gray: np.ndarray) -> np.ndarray:
    """Ink (1 = full) from a photo of dark writing on light paper, at MNIST's stroke width.

    Parameters
    ----------
    gray : ndarray
        (H, W) float array in [0, 1], paper lighter than ink.

    Returns
    -------
    ndarray
        (H, W) float32 in [0, 1]: 0 where there is paper, ruled lines, grain or shadow; the
        strokes redrawn :data:`STROKE_SHARE` of the digit's longer side wide. All zeros when
        no stroke stands out.
    """
    gray = np.asarray(gray, np.float32)
    darkness = 1.0 - gray / np.maximum(paper_level(gray), 1e-3)
    # The darkest ink, read past single-pixel specks (sensor noise, JPEG ringing).
    darkest = float(ndimage.median_filter(darkness, size=3, mode="nearest").max())
    if darkest < _BLANK:  # nothing darker than paper grain or a ruled line
        return np.zeros_like(gray)
    pen = darkness > _FAINT * darkest
    pen = _without_specks(pen)
    if not pen.any():
        return np.zeros_like(gray)
    return _at_mnist_width(pen)


def _without_specks(mask: np.ndarray) -> np.ndarray:
    """``mask`` less specks and lines across the whole sheet (a ruled line, a margin, an edge)."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count == 0:
        return mask
    spans = ndimage.find_objects(labels)
    across = [i + 1 for i, (ys, xs) in enumerate(spans)
              if ys.stop - ys.start > _ACROSS * mask.shape[0] or xs.stop - xs.start > _ACROSS * mask.shape[1]]
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    sizes[0] = 0
    sizes[across] = 0
    keep = np.flatnonzero(sizes >= max(1, _SPECK * sizes.max()))
    return np.isin(labels, keep)


def _crop(mask: np.ndarray) -> tuple[np.ndarray, int, int]:
    """``mask`` cut to the box of its set pixels, and that box's top and left."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], int(rows[0]), int(cols[0])


def _at_mnist_width(pen: np.ndarray) -> np.ndarray:
    """The strokes of ``pen`` (a mask) thinned to centre lines and redrawn at MNIST's width."""
    strokes, top, left = _crop(pen)
    # The centre lines' own box (the same whatever the pen's width) sets the scale.
    box, dy, dx = _crop(skeletonize(strokes))
    top, left = top + dy, left + dx
    # Shrink the centre lines to the working box by keeping any line in each block (they stay
    # joined), then draw them with a round pen.
    block = max(1, int(np.ceil(max(box.shape) / _WORK_SIDE)))
    hb, wb = -(-box.shape[0] // block), -(-box.shape[1] // block)
    padded = np.zeros((hb * block, wb * block), bool)
    padded[:box.shape[0], :box.shape[1]] = box
    small = padded.reshape(hb, block, wb, block).any(axis=(1, 3))
    # The pen's width is STROKE_SHARE of the redrawn digit's side, which the pen itself widens.
    radius = max(0.5, STROKE_SHARE * max(hb, wb) / (2 * (1 - STROKE_SHARE)))
    distance = ndimage.distance_transform_edt(~np.pad(small, int(radius) + 2))
    # A soft edge, one working pixel wide, as MNIST's anti-aliased scans have.
    drawn = np.clip(radius + 0.5 - distance, 0.0, 1.0).astype(np.float32)
    r = int(radius) + 2
    out = np.zeros(pen.shape, np.float32)
    # Back to the photo's scale over the box, so the caller frames it like any other ink map.
    big = Image.fromarray(drawn, mode="F").resize(
        ((wb + 2 * r) * block, (hb + 2 * r) * block), Image.Resampling.BILINEAR)
    big = np.asarray(big, np.float32)
    y0, x0 = top - r * block, left - r * block
    ys = slice(max(0, y0), min(out.shape[0], y0 + big.shape[0]))
    xs = slice(max(0, x0), min(out.shape[1], x0 + big.shape[1]))
    out[ys, xs] = big[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
    return np.clip(out, 0.0, 1.0)
