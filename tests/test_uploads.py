"""A corpus of awkward uploads, through the same function the app uses (digit_from_bytes)."""

import io
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from denoiser.preprocess import BlankImageError, digit_from_bytes


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def digit_one(size=(200, 260), mode="L", ink=0, paper=255) -> Image.Image:
    img = Image.new(mode, size, paper)
    ImageDraw.Draw(img).line([(size[0] // 2, 30), (size[0] // 2, size[1] - 30)], fill=ink, width=24)
    return img


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (a decompression bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1))) + chunk(b"IEND", b""))


def exif_rotated() -> bytes:
    """A JPEG stored sideways (a horizontal bar) whose EXIF says: rotate 90° clockwise to display."""
    stored = digit_one().transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(stored.convert("RGB"), "JPEG", exif=exif.tobytes())


def is_digit(out: np.ndarray) -> bool:
    return out.shape == (28, 28) and out.dtype == np.float32 and out.max() > 0.5 and out[0, 0] == 0


GOOD = {
    "png gray": lambda: encode(digit_one(), "PNG"),
    "jpeg": lambda: encode(digit_one(mode="RGB", ink=(0, 0, 0), paper=(250, 250, 250)), "JPEG"),
    "16-bit grayscale": lambda: encode(Image.fromarray(
        (np.asarray(digit_one(), np.uint16) * 257).astype(np.uint16)), "PNG"),
    "cmyk jpeg": lambda: encode(digit_one(mode="RGB", ink=(0, 0, 0), paper=(255, 255, 255))
                                .convert("CMYK"), "JPEG"),
    "palette with transparency": lambda: encode(
        digit_one(mode="P", ink=1, paper=0), "PNG", transparency=0),
    "animated gif": lambda: encode(digit_one().convert("P"), "GIF", save_all=True,
                                   append_images=[Image.new("L", (200, 260), 255).convert("P")],
                                   duration=100),
    "exif-rotated photo": exif_rotated,
    "rgba canvas": lambda: encode(digit_one(mode="RGBA", ink=(255, 255, 255, 255),
                                            paper=(0, 0, 0, 0)), "PNG"),
}


@pytest.mark.parametrize("name", list(GOOD))
def test_real_images_in_many_formats_become_digits(name):
    out = digit_from_bytes(GOOD[name]())
    assert is_digit(out), name
    rows = np.flatnonzero(out.max(axis=1) > 0.2)
    assert rows[-1] - rows[0] >= 15  # a tall vertical stroke, as drawn


def test_exif_rotation_is_applied():
    out = digit_from_bytes(exif_rotated())
    rows = np.flatnonzero(out.max(axis=1) > 0.2)
    cols = np.flatnonzero(out.max(axis=0) > 0.2)
    assert len(rows) > 2 * len(cols)  # upright after EXIF: the bar is vertical again


BAD = {
    "random bytes": (lambda: np.random.default_rng(0).bytes(5000), "not a readable image"),
    "zero bytes": (lambda: b"", "empty"),
    "truncated png": (lambda: encode(digit_one(), "PNG")[:300], "not a readable image"),
    "truncated jpeg": (lambda: encode(digit_one().convert("RGB"), "JPEG")[:400], "not a readable image"),
    "text named .png": (lambda: b"hello, this is not an image\n" * 20, "not a readable image"),
    "decompression bomb": (lambda: png_claiming(20000, 20000), "pixel limit"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_broken_files_raise_a_clear_value_error(name):
    make, message = BAD[name]
    with pytest.raises(ValueError, match=message) as caught:
        digit_from_bytes(make())
    # plain words for a student: no Python exception names, no file paths
    assert not re.search(r"[A-Z][a-z]+(Error|Exception)|Traceback|/", str(caught.value)), caught.value


@pytest.mark.parametrize("image", [Image.new("L", (1, 1), 0), Image.new("L", (1, 1), 255),
                                   Image.new("RGB", (300, 300), (255, 255, 255))])
def test_tiny_and_empty_images_are_blank(image):
    with pytest.raises(BlankImageError, match="blank"):
        digit_from_bytes(encode(image, "PNG"))


def test_bomb_is_refused_before_decoding(monkeypatch):
    # If the pixels were decoded, convert() would run: make it fail loudly.
    monkeypatch.setattr(Image.Image, "convert", lambda *a, **k: pytest.fail("decoded a bomb"))
    with pytest.raises(ValueError, match="pixel limit"):
        digit_from_bytes(png_claiming(20000, 20000))
