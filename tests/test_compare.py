"""The comparison at one noise amount and at every amount of the slider."""

import numpy as np
import pytest

from denoiser import add_noise
from denoiser.results.compare import (
    EVERY_AMOUNT_PAIRS,
    MODEL_CHUNK,
    compare,
    compare_amounts,
    every_amount_affordable,
)
from denoiser.teaching.links import AMOUNT_STEP, SLIDER_AMOUNTS


def blur(images: np.ndarray) -> np.ndarray:
    """A stand-in model: each digit averaged with a shifted copy of itself."""
    return (images + np.roll(images, 1, axis=-1)) / 2


def test_the_slider_amounts_run_from_0_to_1_in_steps_of_5_hundredths():
    assert SLIDER_AMOUNTS[0] == 0 and SLIDER_AMOUNTS[-1] == 1 and len(SLIDER_AMOUNTS) == 21
    assert np.allclose(np.diff(SLIDER_AMOUNTS), AMOUNT_STEP)


def test_every_amount_equals_the_comparison_at_that_amount(digits):
    clean, captions = digits[:3], ["a", "b", "c"]
    amounts = (0.0, 0.35, 1.0)
    many = compare_amounts(clean, captions, "salt_pepper", amounts, seed=4, denoisers={"m": blur},
                           filters=["median"], show_diff=True)
    assert len(many) == len(amounts)
    for amount, result in zip(amounts, many):
        one = compare(clean, captions, add_noise(clean, "salt_pepper", amount, seed=4), {"m": blur},
                      ["median"], show_diff=True)
        assert result.labels == one.labels
        for (_, images, texts), (_, expected, expected_texts) in zip(result.rows, one.rows):
            np.testing.assert_allclose(images, expected, atol=1e-6)
            assert texts == expected_texts
        assert result.means == pytest.approx(one.means)
    assert many[0].means[0]["psnr"] > many[-1].means[0]["psnr"]  # more noise, a worse noisy row


def test_each_model_sees_every_amount_in_calls_of_a_bounded_size(digits):
    calls = []

    def model(images):
        calls.append(images.copy())
        return blur(images)

    clean = digits[:4]
    many = compare_amounts(clean, list("abcd"), "gaussian", SLIDER_AMOUNTS, seed=0, denoisers={"m": model})
    assert max(len(c) for c in calls) == MODEL_CHUNK and sum(len(c) for c in calls) == 21 * 4
    seen = np.concatenate(calls).reshape(21, 4, 28, 28)  # amount by amount, in order
    for amount, noisy, result in zip(SLIDER_AMOUNTS, seen, many):
        np.testing.assert_array_equal(noisy, add_noise(clean, "gaussian", amount, seed=0))
        np.testing.assert_allclose(result.rows[1][1], blur(noisy), atol=1e-6)


@pytest.mark.parametrize("kind, amounts, match", [("hail", (0.5,), "hail"), ("gaussian", (0.5, 1.5), "1.5"),
                                                  ("gaussian", (), "no amounts")])
def test_a_bad_kind_or_amount_is_refused_clearly(digits, kind, amounts, match):
    with pytest.raises(ValueError, match=match):
        compare_amounts(digits[:2], ["a", "b"], kind, amounts)


def test_every_amount_is_drawn_only_when_it_costs_little():
    assert every_amount_affordable(8, 1, [])  # the default page
    assert every_amount_affordable(1, 3, ["median", "gaussian_blur"])  # a drawn digit, fast filters
    assert every_amount_affordable(EVERY_AMOUNT_PAIRS, 1, [])
    assert not every_amount_affordable(EVERY_AMOUNT_PAIRS, 2, [])
    assert not every_amount_affordable(1, 1, ["nl_means"])  # tens of ms a digit, 21 times over
