"""A corpus of awkward uploads: real images in many formats, and broken files.

Shared by ``tests/test_uploads.py`` and ``benchmarks/upload_corpus.py``; each entry makes the
bytes of one file.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw


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


BAD = {
    "random bytes": (lambda: np.random.default_rng(0).bytes(5000), "not a readable image"),
    "zero bytes": (lambda: b"", "empty"),
    "truncated png": (lambda: encode(digit_one(), "PNG")[:300], "not a readable image"),
    "truncated jpeg": (lambda: encode(digit_one().convert("RGB"), "JPEG")[:400], "not a readable image"),
    "text named .png": (lambda: b"hello, this is not an image\n" * 20, "not a readable image"),
    "decompression bomb": (lambda: png_claiming(20000, 20000), "pixel limit"),
}
