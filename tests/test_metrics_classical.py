import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from denoiser import add_noise
from denoiser.results.classical import CLASSICAL, apply_filter
from denoiser.results.metrics import MAX_PSNR, psnr, ssim, summary


def test_psnr_matches_skimage_per_image_and_caps_identical_images(digits):
    noisy = add_noise(digits[:5], "gaussian", 0.3, seed=0)
    values = psnr(digits[:5], noisy)
    expected = [peak_signal_noise_ratio(a.astype(float), b.astype(float), data_range=1)
                for a, b in zip(digits[:5], noisy)]
    np.testing.assert_allclose(values, expected)
    assert psnr(digits[0], digits[0])[0] == MAX_PSNR


def test_ssim_is_one_for_identical_and_lower_for_noisy(digits):
    assert ssim(digits[:3], digits[:3]) == pytest.approx([1, 1, 1])
    noisy = add_noise(digits[:3], "gaussian", 0.5, seed=0)
    assert np.all(ssim(digits[:3], noisy) < 0.6)
    s = summary(digits[:3], noisy)
    assert set(s) == {"psnr", "ssim"} and s["psnr"] < 15


@pytest.mark.parametrize("shape", [(16, 28, 28), (3, 40, 33), (2, 7, 7)])
def test_batched_ssim_equals_skimage_image_by_image(shape):
    rng = np.random.default_rng(3)
    clean = rng.random(shape)
    for other in (np.clip(clean + 0.3 * rng.standard_normal(shape), 0, 1), 0.8 * clean, clean[:, ::-1]):
        expected = [structural_similarity(a, b, data_range=1.0) for a, b in zip(clean, other)]
        np.testing.assert_allclose(ssim(clean, other), expected, rtol=0, atol=1e-12)


def test_ssim_on_images_smaller_than_its_window_says_why():
    with pytest.raises(ValueError, match="win_size"):
        ssim(np.zeros((1, 5, 5)), np.zeros((1, 5, 5)))


def test_metrics_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(np.zeros((2, 28, 28)), np.zeros((3, 28, 28)))


@pytest.mark.parametrize("name", list(CLASSICAL))
def test_every_filter_improves_gaussian_noise_and_keeps_shape(name, digits):
    x = digits[:30]
    noisy = add_noise(x, "gaussian", 0.5, seed=0)
    out = apply_filter(name, noisy)
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert psnr(x, out).mean() > psnr(x, noisy).mean() + 1
    assert apply_filter(name, noisy[0]).shape == (28, 28)


def test_median_filter_removes_salt_and_pepper_best(digits):
    x = digits[:30]
    noisy = add_noise(x, "salt_pepper", 0.1, seed=0)
    scores = {n: psnr(x, apply_filter(n, noisy)).mean() for n in ("median", "gaussian_blur")}
    assert scores["median"] > scores["gaussian_blur"]


def test_unknown_filter_lists_the_valid_ones():
    with pytest.raises(ValueError, match="median"):
        apply_filter("magic", np.zeros((28, 28)))
