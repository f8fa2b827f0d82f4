import numpy as np
import pytest
from scipy import ndimage

from denoiser.digits.augment import deform_digits


def test_strength_zero_returns_the_digits_unchanged(digits):
    out = deform_digits(digits[:8], 0.0, seed=1)
    assert out.dtype == np.float32 and np.array_equal(out, digits[:8])


def test_deformed_digits_keep_shape_range_ink_and_centre(digits):
    x = digits[:64]
    out = deform_digits(x, 1.0, seed=2)
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert not np.allclose(out, x, atol=0.05)
    ink = out.sum(axis=(1, 2)) / x.sum(axis=(1, 2))
    assert 0.9 < ink.mean() < 1.1 and ink.min() > 0.6 and ink.max() < 1.6  # about as much ink
    for before, after in zip(x, out):
        shift = np.subtract(ndimage.center_of_mass(after), ndimage.center_of_mass(before))
        assert np.hypot(*shift) < 2.0  # still centred the MNIST way
    def shapes(a):  # compare shapes, not exact pixels: a stroke moved by a pixel is the same stroke
        return ndimage.gaussian_filter(a, (0, 1.5, 1.5)).reshape(len(a), -1)

    corr = np.corrcoef(shapes(out), shapes(x))[:64, 64:]
    assert np.diag(corr).min() > 0.6
    assert (corr.argmax(axis=1) == np.arange(64)).mean() > 0.75  # most still look most like themselves


def test_one_digit_in_one_digit_out_and_seeds_repeat(digits):
    one = deform_digits(digits[0], 1.0, seed=3)
    assert one.shape == (28, 28)
    assert np.array_equal(one, deform_digits(digits[0], 1.0, seed=3))
    assert not np.array_equal(one, deform_digits(digits[0], 1.0, seed=4))


def test_stronger_bends_move_further(digits):
    x = digits[:64]
    gentle = np.abs(deform_digits(x, 0.3, seed=5) - x).mean()
    strong = np.abs(deform_digits(x, 2.0, seed=5) - x).mean()
    assert strong > 2 * gentle > 0


@pytest.mark.parametrize("strength", [-0.1, 2.5, float("nan"), "1", True])
def test_bad_strength_is_refused(digits, strength):
    with pytest.raises(ValueError, match="strength must be a number in \\[0, 2\\]"):
        deform_digits(digits[:2], strength)


def test_bad_shape_is_refused():
    with pytest.raises(ValueError, match="shape"):
        deform_digits(np.zeros((4, 32, 32)), 1.0)
