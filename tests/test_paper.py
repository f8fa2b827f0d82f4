"""Photos of handwriting: the paper's light removed, strokes at MNIST's width (denoiser.digits.paper)."""

import io

import numpy as np
import pytest
from PIL import Image

import denoiser
from denoiser.digits.mnist import load_sample
from denoiser.digits.paper import paper_ink, paper_level
from denoiser.digits.preprocess import BlankImageError, digit_from_bytes, to_mnist
from denoiser.results.metrics import psnr
from harness.handwriting import CONDITIONS, centre_lines, clean, overlap, photo

DIGITS = 8  # sample digits per condition
REPEATS = 8  # noise patterns per digit, the same for the photo and the clean render


@pytest.fixture(scope="module")
def handwriting():
    images, labels = load_sample().sample(DIGITS, None, seed=3)
    return [centre_lines(image) for image in images]


def denoised_psnr(model, digit: np.ndarray, reference: np.ndarray, seed: int) -> float:
    noisy = denoiser.add_noise(np.repeat(digit[None], REPEATS, 0), "gaussian", 0.5, seed=seed)
    return float(psnr(np.repeat(reference[None], REPEATS, 0), model.denoise(noisy)).mean())


@pytest.mark.slow
@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_a_photo_frames_like_the_clean_digit_and_denoises_as_well(handwriting, condition):
    """Thin pen, marker, ruled paper, a shadow, uneven light, JPEG: the framed photo overlaps the
    same strokes rendered cleanly by ≥ 0.8 (give or take
    the one-pixel step of centring), and the model cleans it within 2 dB of how it cleans the
    clean one (PSNR of each against itself, mean over the digits, the same noise on both)."""
    model = denoiser.load_pretrained("conv")
    gaps = []
    for i, lines in enumerate(handwriting):
        reference = to_mnist(clean(lines))
        framed = digit_from_bytes(photo(lines, condition, seed=i))
        assert overlap(framed, reference, shift=1) >= 0.8, (condition, i)
        gaps.append(denoised_psnr(model, reference, reference, i) - denoised_psnr(model, framed, framed, i))
    assert np.mean(gaps) <= 2.0, (condition, np.round(gaps, 2))


def test_a_shadow_and_ruled_lines_leave_no_ink(handwriting):
    """Only the strokes are ink: outside a pen's reach of the digit's lines, the map is empty, and
    the paper's own level follows the shadow instead of being read as ink."""
    lines = handwriting[0]
    gray = np.asarray(Image.open(io.BytesIO(photo(lines, "everything"))).convert("L"), np.float32) / 255
    ink = paper_ink(gray)
    from scipy import ndimage

    far = ndimage.distance_transform_edt(~lines) > 40
    assert ink[far].max() == 0.0
    assert ink[~far].max() == 1.0
    level = paper_level(gray)
    assert level[-20:, -20:].mean() < 0.75 * level[:20, :20].mean()  # the shadowed corner is darker paper


@pytest.mark.slow
def test_stroke_width_is_the_same_for_a_hairline_and_a_marker(handwriting):
    """A 4-pixel pen and a 60-pixel marker frame to the same ink mass, within a fifth."""
    lines = handwriting[1]
    thin = digit_from_bytes(photo(lines, "thin pen"))
    thick = digit_from_bytes(photo(lines, "marker"))
    assert abs(thin.sum() - thick.sum()) < 0.2 * thin.sum()


def test_blank_paper_with_a_shadow_is_blank_not_a_digit():
    """A photo of an empty ruled sheet under a shadow holds no digit: it says so."""
    blank = np.zeros((600, 600), bool)
    buf = io.BytesIO()
    Image.open(io.BytesIO(photo(blank, "everything"))).save(buf, format="PNG")
    with pytest.raises(BlankImageError):
        digit_from_bytes(buf.getvalue())
