import io

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from denoiser import to_mnist
from denoiser.digits.preprocess import BlankImageError, read_image


def canvas_stroke(size=280, offset=(0, 0), color=(255, 255, 255)):
    """An RGBA canvas like streamlit-drawable-canvas returns: transparent, one thick stroke."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    dx, dy = offset
    draw.line([(140 + dx, 40 + dy), (140 + dx, 240 + dy)], fill=(*color, 255), width=18)
    return np.asarray(img)


def centre_of_mass(img):
    yy, xx = np.indices(img.shape)
    return (img * yy).sum() / img.sum(), (img * xx).sum() / img.sum()


def test_canvas_rgba_alpha_counts_as_ink_and_is_mnist_shaped():
    out = to_mnist(canvas_stroke())
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1 and out.max() > 0.9
    rows = np.flatnonzero(out.max(axis=1) > 0.1)
    assert 18 <= rows[-1] - rows[0] + 1 <= 21  # the longer side is scaled to 20 px
    cy, cx = centre_of_mass(out)
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1


def test_black_ink_on_transparent_canvas_also_counts():
    out = to_mnist(canvas_stroke(color=(0, 0, 0)))
    assert out.max() > 0.9


def test_dark_ink_on_light_paper_is_inverted():
    scan = np.full((200, 150), 235, np.uint8)  # off-white paper
    scan[40:160, 60:80] = 20  # a dark vertical bar
    out = to_mnist(scan)
    assert out[0, 0] == 0 and out.max() > 0.9  # background black, ink white
    cy, cx = centre_of_mass(out)
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1


def test_off_centre_digit_is_centred_by_mass(digits):
    shifted = np.zeros((100, 100), np.float32)
    shifted[:28, 70:98] = digits[0]
    out = to_mnist(shifted)
    cy, cx = centre_of_mass(out)
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1


def test_aspect_ratio_is_kept():
    wide = np.zeros((100, 300), np.uint8)
    wide[40:60, 20:280] = 255  # a 20×260 bar
    out = to_mnist(wide)
    cols = np.flatnonzero(out.max(axis=0) > 0.1)
    rows = np.flatnonzero(out.max(axis=1) > 0.1)
    assert 19 <= len(cols) <= 21
    assert len(rows) <= 3


def test_real_mnist_digits_survive_the_round_trip(digits):
    # MNIST digits are already in MNIST form, so preprocessing them again gives back
    # the same digit up to resampling: high correlation once sub-pixel shifts are blurred away.
    def blur(a):
        return ndimage.gaussian_filter(a, 1.0)

    corr = [np.corrcoef(blur(to_mnist((x * 255).astype(np.uint8))).ravel(), blur(x).ravel())[0, 1]
            for x in digits[:100]]
    assert np.mean(corr) > 0.88
    assert np.min(corr) > 0.6


@pytest.mark.parametrize("image", [
    np.zeros((280, 280, 4), np.uint8),  # empty canvas
    np.full((100, 100), 255, np.uint8),  # white page
    np.zeros((50, 50), np.float32),  # black
])
def test_blank_input_raises_a_clear_error(image):
    with pytest.raises(BlankImageError, match="blank"):
        to_mnist(image)


def test_near_blank_speck_is_blank():
    img = np.zeros((280, 280, 4), np.uint8)
    img[100, 100] = (255, 255, 255, 255)
    with pytest.raises(BlankImageError):
        to_mnist(img)


@pytest.mark.parametrize("bad", [np.zeros((5,)), np.zeros((10, 10, 7)), np.array([["a"]])])
def test_unusable_arrays_raise_value_error(bad):
    with pytest.raises(ValueError):
        to_mnist(bad)


def test_read_image_decodes_png_bytes_and_refuses_garbage():
    buf = io.BytesIO()
    Image.fromarray(canvas_stroke()).save(buf, format="PNG")
    rgba = read_image(buf.getvalue())
    assert rgba.shape == (280, 280, 4)
    assert to_mnist(rgba).max() > 0.9
    with pytest.raises(ValueError, match="not a readable image"):
        read_image(b"definitely not a png")
    with pytest.raises(ValueError, match="empty"):
        read_image(b"")


def dark_digit_on_white(size=60) -> np.ndarray:
    """A black '7'-like stroke on white paper, RGBA uint8, fully opaque."""
    image = np.full((size, size, 4), 255, np.uint8)
    image[12:18, 12:48, :3] = 0  # the bar
    image[18:50, 38:44, :3] = 0  # the stem
    return image


def test_dark_ink_on_white_with_a_transparent_border_is_read_like_the_opaque_page():
    opaque = dark_digit_on_white()
    bordered = opaque.copy()
    for edge in (np.s_[:3], np.s_[-3:]):
        bordered[edge, :] = 0  # transparent black, as screenshots and phone exports store it
        bordered[:, edge] = 0
    expected = to_mnist(opaque)
    assert 0.05 < expected.mean() < 0.4  # a digit, not a filled block
    np.testing.assert_allclose(to_mnist(bordered), expected, atol=1e-6)


def test_strokes_on_a_transparent_sheet_still_take_alpha_as_ink():
    canvas = np.zeros((60, 60, 4), np.uint8)  # what the drawing canvas returns: white strokes
    canvas[10:50, 27:33] = 255
    digit = to_mnist(canvas)
    assert digit.max() == pytest.approx(1.0, abs=0.01) and digit.mean() < 0.3
    dark = canvas.copy()
    dark[..., :3] = 0  # black strokes on a transparent sheet: the same digit
    np.testing.assert_allclose(to_mnist(dark), digit, atol=1e-6)


def test_a_wide_integer_array_is_not_wrapped_through_a_cast():
    alpha = np.zeros((40, 40, 4), np.int32)
    alpha[10:30, 18:22, 3] = 70000  # no 8- or 16-bit level: refused, not read as "no ink"
    with pytest.raises(ValueError, match="0..65535"):
        to_mnist(alpha)


def _seven_on_paper(size: int, width: int, margin: int, ink: int = 20, paper: int = 245) -> np.ndarray:
    """A '7' drawn with a pen ``width`` px wide on an opaque sheet, inside ``margin`` px of
    transparent black (a photo's export with a transparent frame), RGBA uint8."""
    sheet = Image.new("RGBA", (size, size), (paper, paper, paper, 255))
    draw = ImageDraw.Draw(sheet)
    draw.line([(size * 0.3, size * 0.25), (size * 0.7, size * 0.25), (size * 0.45, size * 0.8)],
              fill=(ink, ink, ink, 255), width=width)
    image = np.asarray(sheet).copy()
    if margin:
        for edge in (np.s_[:margin], np.s_[-margin:]):
            image[edge, :] = 0
            image[:, edge] = 0
    return image


@pytest.mark.parametrize("width", [2, 4, 16], ids=["thin pen", "pen", "thick marker"])
def test_a_pen_on_paper_with_a_transparent_margin_reads_as_strokes_not_a_block(width):
    size = 240
    opaque = _seven_on_paper(size, width, margin=0)
    ink_share = (opaque[..., 0] < 128).mean()
    assert ink_share < 0.1  # a few percent of the sheet is ink: percentiles of it are all paper
    expected = to_mnist(opaque)
    assert 0.005 < expected.mean() < 0.4  # a digit, not a filled block
    for margin in (4, 20):
        np.testing.assert_allclose(to_mnist(_seven_on_paper(size, width, margin)), expected, atol=1e-6)


@pytest.mark.parametrize("width", [2, 16], ids=["thin", "thick"])
@pytest.mark.parametrize("colour", [0, 255], ids=["black", "white"])
def test_strokes_of_one_colour_on_a_transparent_sheet_take_alpha_at_any_width(width, colour):
    sheet = Image.new("RGBA", (240, 240), (0, 0, 0, 0))
    ImageDraw.Draw(sheet).line([(70, 60), (170, 60), (110, 190)], fill=(colour,) * 3 + (255,), width=width)
    canvas = np.asarray(sheet)
    digit = to_mnist(canvas)
    np.testing.assert_allclose(digit, to_mnist(canvas[..., 3]), atol=1e-6)  # alpha is the ink
    assert 0.005 < digit.mean() < 0.4
