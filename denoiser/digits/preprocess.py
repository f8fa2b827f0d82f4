"""Turn any drawn, scanned or uploaded image into the 28×28 digit an MNIST model expects.

MNIST digits were made by scaling each digit's bounding box to fit 20×20 pixels
(keeping the aspect ratio) and centring its centre of mass in a 28×28 field,
white ink on black. :func:`to_mnist` repeats those steps.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from denoiser.digits.arrays import from_levels
from denoiser.digits.paper import paper_ink

log = logging.getLogger(__name__)

#: Largest image (in pixels) that :func:`read_image` will decode.
MAX_PIXELS = 25_000_000
#: Decoded images are shrunk to fit this many pixels a side.
MAX_SIDE = 1024

_INK_THRESHOLD = 0.1  # ink level (0..1) below which a pixel counts as background
_MIN_INK_PIXELS = 4  # fewer inked pixels than this means "blank"
_DARK, _LIGHT = 0.35, 0.65  # gray levels of clearly dark and clearly light opaque pixels
_MINORITY = 0.002  # share of the opaque pixels the rarer of the two must reach to count


class BlankImageError(ValueError):
    """Raised when an image holds no ink to make a digit from."""


def read_image(source: str | Path | bytes) -> np.ndarray:
    """Decode a PNG/JPEG (or other Pillow format) into an RGBA float array.

    Parameters
    ----------
    source : str, Path or bytes
        A file path or the file's bytes.

    Returns
    -------
    ndarray
        float32 array of shape (H, W, 4) in [0, 1], at most ``MAX_SIDE`` pixels
        a side; EXIF rotation applied, first frame only for animations.

    Raises
    ------
    ValueError
        If the data is not a readable image or is larger than ``MAX_PIXELS``.
    """
    data = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    if not data:
        raise ValueError("the file is empty, not an image")
    too_large = f"image is larger than the {MAX_PIXELS:,}-pixel limit"
    try:
        img = Image.open(io.BytesIO(data))  # reads the header only
    except Image.DecompressionBombError:
        raise ValueError(too_large) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as err:
        raise _unreadable(err) from None
    with img:
        if img.width * img.height > MAX_PIXELS:  # refused before decoding a single pixel
            raise ValueError(f"{too_large} ({img.width}×{img.height})")
        try:
            img.seek(0)  # first frame of an animation
            img.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at reduced size
            img = ImageOps.exif_transpose(img)
            if img.mode.startswith("I"):  # 16/32-bit grayscale: 8- or 16-bit levels, as arrays are
                img = Image.fromarray(np.round(from_levels(np.asarray(img)) * 255).astype(np.uint8), mode="L")
            img = img.convert("RGBA")
            img.thumbnail((MAX_SIDE, MAX_SIDE))  # a digit needs no more detail than this
            return np.asarray(img, dtype=np.float32) / 255.0
        except (OSError, SyntaxError, ValueError, EOFError) as err:
            raise _unreadable(err) from None


def _unreadable(err: BaseException) -> ValueError:
    """A message for a person (no Python names); the decoder's own words go to the server log."""
    log.info("unreadable image: %s: %s", type(err).__name__, err)
    return ValueError("not a readable image: save it as a PNG or JPEG picture and try again")


def digit_from_bytes(data: bytes) -> np.ndarray:
    """Decode an uploaded image file and preprocess it into a 28×28 MNIST digit.

    Raises
    ------
    ValueError
        (or its subclass :class:`BlankImageError`) with a message fit to show a user.
    """
    return to_mnist(read_image(data))


def _to_float(image: np.ndarray | Image.Image) -> np.ndarray:
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGBA"))
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 2, 3, 4)):
        raise ValueError(
            f"image must have shape (H, W), (H, W, 3) or (H, W, 4), got {arr.shape}"
        )
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"image is empty: shape {arr.shape}")
    return from_levels(arr)


def _gray(arr: np.ndarray) -> np.ndarray:
    """Luma of an (H, W), (H, W, 1) or (H, W, 3) array."""
    if arr.ndim == 3 and arr.shape[2] == 3:
        return arr @ np.array([0.299, 0.587, 0.114], np.float32)
    return arr if arr.ndim == 2 else arr[..., 0]


def _paper_under_transparency(gray: np.ndarray, alpha: np.ndarray) -> float | None:
    """The sheet's gray level when the opaque pixels hold both ink and paper, else None.

    Decided from counts, not percentiles: where the opaque pixels hold clearly dark and clearly
    light ones, each in more than a sliver (:data:`_MINORITY` of them, and at least a few
    pixels), the colour carries the ink on a sheet, and the sheet is the median of the larger of
    the two groups (a thin pen's ink may be a few percent of a page). Where they are all of one
    colour, the picture is strokes on a transparent sheet (a drawing canvas): None.
    """
    opaque = gray[alpha > 0.5]
    dark, light = opaque[opaque < _DARK], opaque[opaque > _LIGHT]
    rarer = min(dark.size, light.size)
    if rarer < max(_MIN_INK_PIXELS, _MINORITY * opaque.size):
        return None
    return float(np.median(light if light.size >= dark.size else dark))


def ink_map(image: np.ndarray | Image.Image) -> np.ndarray:
    """Return the image's ink as a float (H, W) map: 1 = full ink, 0 = background.

    On an image with transparency whose opaque pixels are all one colour (a
    canvas's strokes), alpha is the ink; where they span dark and light (a page
    with a transparent border), transparent pixels take the page's colour.
    Otherwise the gray level is used: where the border is light (dark ink on paper: a photo or
    scan) through :func:`denoiser.digits.paper.paper_ink`, which divides out the paper's uneven light
    and shadows, drops ruled lines and specks, and redraws the strokes at MNIST's width; where it
    is dark, stretched so the background is 0.
    """
    arr = _to_float(image)
    if arr.ndim == 3 and arr.shape[2] in (2, 4):
        alpha, arr = arr[..., -1], arr[..., :-1]
        if alpha.min() < 0.99:
            paper = _paper_under_transparency(_gray(arr), alpha)
            if paper is None:  # strokes of one colour on a transparent sheet: alpha is the ink
                return alpha
            # ink drawn in colour on an opaque sheet with transparent parts (a border, a
            # screenshot's corners): those parts take the sheet's colour
            arr = arr * alpha[..., None] + paper * (1.0 - alpha[..., None])
    gray = _gray(arr)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    if background > 0.5:  # dark writing on a light sheet: a photo or scan of paper
        return paper_ink(gray)
    peak = float(gray.max())  # light writing on a dark sheet: the gray level is the ink
    if peak - background < 1e-6:
        return np.zeros_like(gray)
    return np.clip((gray - background) / (peak - background), 0.0, 1.0)


def to_mnist(image: np.ndarray | Image.Image) -> np.ndarray:
    """Preprocess an image into a centred 28×28 digit, the way MNIST was made.

    Parameters
    ----------
    image : ndarray or PIL.Image
        Grayscale (H, W), RGB (H, W, 3) or RGBA (H, W, 4); integers in
        0..255 or 0..65535 (any integer type), bool, or float in [0, 1]. On RGBA
        strokes of one colour (e.g. a drawing canvas) alpha counts as ink; dark
        ink on light paper is inverted.

    Returns
    -------
    ndarray
        float32 (28, 28) in [0, 1], white digit on black, its bounding box
        scaled to 20 px on the longer side and its centre of mass centred.

    Raises
    ------
    BlankImageError
        If the image holds no ink (blank or near-blank).
    ValueError
        If the array has an unusable shape, dtype or values.
    """
    ink = ink_map(image)
    mask = ink > _INK_THRESHOLD
    if int(mask.sum()) < _MIN_INK_PIXELS:
        raise BlankImageError("the image is blank: draw or upload a digit first")
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    resized = Image.fromarray((crop * 255).astype(np.uint8)).resize(
        (new_w, new_h), Image.Resampling.LANCZOS
    )
    digit = np.asarray(resized, dtype=np.float32) / 255.0
    field = np.zeros((28, 28), np.float32)
    top, left = (28 - new_h) // 2, (28 - new_w) // 2
    field[top : top + new_h, left : left + new_w] = digit
    return _centre_mass(field)


def _centre_mass(field: np.ndarray) -> np.ndarray:
    total = field.sum()
    if total <= 0:
        return field
    yy, xx = np.indices(field.shape)
    cy, cx = (field * yy).sum() / total, (field * xx).sum() / total
    rows = np.flatnonzero(field.any(axis=1))
    cols = np.flatnonzero(field.any(axis=0))
    # Shift towards the centre, but never push ink off the field.
    dy = int(np.clip(round(13.5 - cy), -rows[0], 27 - rows[-1]))
    dx = int(np.clip(round(13.5 - cx), -cols[0], 27 - cols[-1]))
    out = np.zeros_like(field)
    src = field[max(0, -dy) : 28 - max(0, dy), max(0, -dx) : 28 - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out
