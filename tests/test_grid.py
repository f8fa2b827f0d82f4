import io

import numpy as np
import pytest
from PIL import Image

from denoiser.results.grid import BACKGROUND, digit_grid, digit_grid_png


def rows(n: int, captions: bool = True):
    rng = np.random.default_rng(0)
    clean = rng.random((n, 28, 28)).astype(np.float32)
    cap = [f"{i} dB" for i in range(n)] if captions else [""] * n
    return [("Noisy", 1 - clean, cap), ("Clean", clean, cap)]


def test_one_picture_holds_every_digit_pixel_for_pixel():
    picture = digit_grid(rows(3), scale=2)
    assert picture.dtype == np.uint8 and picture.ndim == 2
    clean = rows(3)[1][1]
    expected = np.round(clean[2] * 255).astype(np.uint8)
    # the third clean digit, enlarged 2×, appears somewhere in the picture
    block = np.kron(expected, np.ones((2, 2), np.uint8))
    hits = [(y, x) for y in range(picture.shape[0] - 55) for x in range(picture.shape[1] - 55)
            if picture[y, x] == block[0, 0] and np.array_equal(picture[y:y + 56, x:x + 56], block)]
    assert len(hits) == 1


def test_many_digits_wrap_into_bands_and_labels_are_drawn():
    one_band = digit_grid(rows(8), per_line=8)
    two_bands = digit_grid(rows(16), per_line=8)
    assert two_bands.shape[1] == one_band.shape[1]
    assert two_bands.shape[0] > 2 * one_band.shape[0]
    # text is drawn: the label strip above the first row is not blank
    assert (one_band[:20, :60] < BACKGROUND).any()


def test_blank_captions_take_no_caption_lines():
    assert digit_grid(rows(4, captions=False)).shape[0] < digit_grid(rows(4)).shape[0]


def test_a_long_label_widens_a_narrow_grid():
    label = "Denoised by a model with a very long name"
    picture = digit_grid([(label, np.zeros((1, 28, 28)), [""])], scale=1)
    assert picture.shape[1] > 28


@pytest.mark.parametrize("bad, match", [
    ([], "at least one row"),
    ([("a", np.zeros((2, 28, 28)), ["x"])], "expected 2 images and captions"),
    ([("a", np.zeros((2, 28, 28)), ["x", "y"]), ("b", np.zeros((3, 28, 28)), ["", "", ""])],
     "row 'b'"),
    ([("a", np.full((1, 28, 28), np.nan), [""])], "NaN"),
])
def test_bad_rows_are_refused_clearly(bad, match):
    with pytest.raises(ValueError, match=match):
        digit_grid(bad)


def test_png_bytes_decode_to_the_same_picture():
    picture = digit_grid(rows(5), scale=3)
    decoded = np.asarray(Image.open(io.BytesIO(digit_grid_png(rows(5), scale=3))))
    assert np.array_equal(decoded, picture)


def test_columns_turn_the_grid_wide_and_short_for_one_digit():
    three = [("Noisy", np.zeros((1, 28, 28)), ["9.4 dB · 0.20"]),
             ("Denoised by blind", np.ones((1, 28, 28)), ["21.6 dB · 0.90"]),
             ("Clean", np.ones((1, 28, 28)), ["your digit"])]
    tall, wide = digit_grid(three, scale=4), digit_grid(three, scale=4, columns=True)
    assert tall.shape[0] > tall.shape[1]
    assert wide.shape[1] > 3 * 112 and wide.shape[0] < 112 + 60  # one line of three digits
    # the two white digits sit side by side in their own columns, full size
    white = np.argwhere(wide == 255)
    assert white[:, 1].max() - white[:, 1].min() + 1 >= 2 * 112


def every_label_the_grid_draws() -> list[str]:
    """Each label and caption the app and CLI can hand the grid, from the code that makes them."""
    from denoiser.models.shipped import list_pretrained
    from denoiser.results.classical import CLASSICAL
    from denoiser.results.compare import (
        CLEAN,
        DIFF_LABEL,
        NOISY,
        denoised_label,
        filter_label,
        metric_caption,
    )

    texts = [NOISY, CLEAN, DIFF_LABEL, "max 0.52", "your digit", "After epoch 12",
             "digit 0123456789", metric_caption(-12.345, 0.987), metric_caption(48.1, -0.01)]
    texts += [denoised_label(name) for name in [*list_pretrained(), "run 5"]]
    texts += [filter_label(name) for name in CLASSICAL]
    return texts


def test_the_grid_font_has_a_glyph_for_every_character_it_draws():
    from fontTools.ttLib import TTFont

    from denoiser.results.grid import FONT_PATH

    assert FONT_PATH is not None, "no font file: the built-in font lacks '−' and '·'"
    cmap = TTFont(FONT_PATH).getBestCmap()
    missing = {ch for text in every_label_the_grid_draws() for ch in text if ord(ch) not in cmap}
    assert not missing, f"no glyph for {sorted(missing)}"


def test_large_captions_widen_their_cells_instead_of_overlapping():
    from denoiser.results.grid import _font

    images = np.zeros((3, 28, 28), np.float32)
    caption = "17.4 dB · 0.85"
    rows = [("Noisy", images, [caption] * 3)]
    small = digit_grid(rows, scale=5, font_size=13)
    large = digit_grid(rows, scale=5, font_size=28)
    assert small.shape[1] == 3 * 140 + 2 * 8  # at the app's size the digits set the width
    text = _font(28).getlength(caption)
    assert large.shape[1] >= 3 * text  # each cell as wide as its caption: no caption runs into the next


@pytest.mark.parametrize("size", [13, 28])
def test_text_set_from_cached_glyphs_looks_like_pillows_own(size):
    from PIL import ImageDraw

    from denoiser.results.grid import _font, _text_ink

    caption = "21.6 dB · 0.90"
    ink = _text_ink(caption, size).astype(float)
    page = Image.new("L", (ink.shape[1] + 20, ink.shape[0] + 10), 0)
    ImageDraw.Draw(page).text((10, 0), caption, fill=255, font=_font(size), anchor="la")
    pillow = np.asarray(page, float)
    # the same ink in the same place, give or take a pixel of rounding per glyph
    best = min(np.abs(pillow[: ink.shape[0], 10 + dx : 10 + dx + ink.shape[1]] - ink).mean()
               for dx in (-1, 0, 1))
    assert abs(ink.sum() - pillow.sum()) < 0.05 * pillow.sum()
    assert best < 0.15 * ink.mean()


def test_the_grid_draws_its_text_without_a_font_file(monkeypatch):
    import denoiser.results.grid as grid

    monkeypatch.setattr(grid, "FONT_PATH", None)
    grid._font.cache_clear()
    grid._glyph.cache_clear()
    grid._piece.cache_clear()
    try:
        picture = digit_grid(rows(2))
        assert (picture[:12, :40] < BACKGROUND).any()  # the label is drawn in Pillow's own font
    finally:
        grid._font.cache_clear()
        grid._glyph.cache_clear()
        grid._piece.cache_clear()


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.float32), np.zeros((2, 4, 4), np.uint8),
                                 np.zeros((0, 4), np.uint8)])
def test_png_bytes_refuses_what_is_not_a_grayscale_picture(bad):
    from denoiser.results.grid import png_bytes

    with pytest.raises(ValueError, match="uint8 picture"):
        png_bytes(bad)


def test_text_shared_between_grids_through_the_cache_stays_as_set():
    from denoiser.results.grid import _text_ink

    caption = "19.2 dB · 0.81"
    first = _text_ink(caption, 13).copy()
    with pytest.raises(ValueError):  # cached ink is shared by every grid: read-only
        _text_ink(caption, 13)[0, 0] = 1
    images = np.full((2, 28, 28), 0.5, np.float32)
    once = digit_grid([("Noisy", images, [caption, "19.2 dB"])])
    digit_grid([("Denoised", images, ["19.2 dB · 0.81", caption])], font_size=13)
    assert (digit_grid([("Noisy", images, [caption, "19.2 dB"])]) == once).all()
    assert (_text_ink(caption, 13) == first).all()
    # a caption is set from its words: the words' ink appears in it, pixel for pixel
    word = _text_ink("19.2", 13)
    assert (first[: word.shape[0], : word.shape[1]] == word).all()
