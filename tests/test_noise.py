import numpy as np
import pytest

from denoiser import NOISE_KINDS, add_noise
from denoiser.digits.noise import add_random_noise


@pytest.mark.parametrize("kind", list(NOISE_KINDS))
def test_every_kind_stays_in_range_and_keeps_shape(kind, digits):
    noisy = add_noise(digits[:50], kind, 0.7, seed=1)
    assert noisy.shape == (50, 28, 28)
    assert noisy.dtype == np.float32
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0
    assert not np.allclose(noisy, digits[:50])


@pytest.mark.parametrize("kind", list(NOISE_KINDS))
def test_amount_zero_is_identity_and_more_amount_means_more_error(kind, digits):
    x = digits[:100]
    assert np.array_equal(add_noise(x, kind, 0.0, seed=0), x)
    errors = [np.mean((add_noise(x, kind, a, seed=0) - x) ** 2) for a in (0.1, 0.4, 0.8)]
    assert errors[0] < errors[1] < errors[2]


@pytest.mark.parametrize("kind", list(NOISE_KINDS))
def test_seeded_draws_repeat_and_differ_between_seeds(kind, digits):
    x = digits[:20]
    assert np.array_equal(add_noise(x, kind, 0.5, seed=3), add_noise(x, kind, 0.5, seed=3))
    assert not np.array_equal(add_noise(x, kind, 0.5, seed=3), add_noise(x, kind, 0.5, seed=4))


def test_gaussian_is_exactly_the_tutorials_formula():
    x = np.full((200, 28, 28), 0.5, np.float32)
    rng = np.random.default_rng(7)
    expected = np.clip(x + 0.3 * rng.standard_normal(x.shape, dtype=np.float32), 0, 1)
    np.testing.assert_allclose(add_noise(x, "gaussian", 0.3, seed=7), expected, atol=1e-6)
    # Unclipped statistics at mid-grey: mean 0.5 and std ≈ amount (clipping is rare at 0.1).
    noisy = add_noise(x, "gaussian", 0.1, seed=0)
    assert abs(noisy.mean() - 0.5) < 0.002
    assert abs(noisy.std() - 0.1) < 0.003


def test_salt_pepper_and_masking_hit_the_requested_fraction():
    x = np.full((100, 28, 28), 0.5, np.float32)
    sp = add_noise(x, "salt_pepper", 0.3, seed=0)
    hit = sp != 0.5
    assert abs(hit.mean() - 0.3) < 0.01
    assert set(np.unique(sp[hit])) == {0.0, 1.0}
    assert abs((sp[hit] == 1.0).mean() - 0.5) < 0.02
    masked = add_noise(x, "masking", 0.25, seed=0)
    assert abs((masked == 0).mean() - 0.25) < 0.01
    assert set(np.unique(masked)) == {0.0, 0.5}


def test_poisson_and_speckle_leave_black_background_black():
    x = np.zeros((10, 28, 28), np.float32)
    x[:, 10:18, 10:18] = 1.0
    for kind in ("poisson", "speckle"):
        noisy = add_noise(x, kind, 0.5, seed=0)
        assert np.all(noisy[x == 0] == 0)
        assert noisy[x == 1].std() > 0.2


def test_poisson_std_at_full_ink_is_the_amount():
    x = np.full((50, 28, 28), 0.5, np.float32)  # mid-grey avoids clipping at 1
    noisy = add_noise(x, "poisson", 0.2, seed=0)
    # std at intensity 0.5 is sqrt(0.5)·amount
    assert abs(noisy.std() - np.sqrt(0.5) * 0.2) < 0.005


@pytest.mark.parametrize("amount", [-0.1, 1.5, float("nan"), "lots", None])
def test_bad_amount_names_the_valid_range(amount):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        add_noise(np.zeros((28, 28)), "gaussian", amount)


def test_bad_kind_names_the_valid_kinds():
    with pytest.raises(ValueError, match="gaussian, salt_pepper, speckle, poisson, masking"):
        add_noise(np.zeros((28, 28)), "pink", 0.5)


def test_non_finite_images_are_refused():
    x = np.zeros((28, 28))
    x[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        add_noise(x, "gaussian", 0.5)


def test_random_noise_draws_a_kind_and_amount_per_image(digits):
    x = digits[:200]
    noisy = add_random_noise(x, seed=0)
    assert noisy.shape == x.shape and noisy.min() >= 0 and noisy.max() <= 1
    errors = np.mean((noisy - x) ** 2, axis=(1, 2))
    assert errors.std() > 0.01  # images got very different amounts
    assert np.array_equal(noisy, add_random_noise(x, seed=0))
    with pytest.raises(ValueError, match="valid kinds"):
        add_random_noise(x, kinds=["nope"])
