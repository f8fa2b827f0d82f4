"""A corpus of awkward uploads, through the same function the app uses (digit_from_bytes)."""

import re

import numpy as np
import pytest
from PIL import Image

from denoiser.digits.preprocess import BlankImageError, digit_from_bytes
from harness.uploads import BAD, GOOD, encode, exif_rotated, png_claiming


def is_digit(out: np.ndarray) -> bool:
    return out.shape == (28, 28) and out.dtype == np.float32 and out.max() > 0.5 and out[0, 0] == 0


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
