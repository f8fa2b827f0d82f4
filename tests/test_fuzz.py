"""Property-based fuzzing: odd shapes, dtypes and values give a result or a ValueError, nothing else."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from denoiser import NOISE_KINDS, add_noise, to_mnist
from denoiser.models.build import ModelConfig, build_model
from denoiser.models.runtime import Denoiser

INTEGERS = [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64, np.int64]
DTYPES = st.sampled_from([*INTEGERS, np.float16, np.float32, np.float64, np.bool_])


def floats_for(dtype):
    """Any float the dtype can hold (NaN and infinities too); None: hypothesis's default elements."""
    if not np.issubdtype(dtype, np.floating):
        return None
    return st.floats(allow_nan=True, allow_infinity=True, width=min(32, np.dtype(dtype).itemsize * 8))


def any_array(max_side=40, max_dims=4):
    return DTYPES.flatmap(lambda dt: arrays(
        dt, array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=max_side),
        elements=floats_for(dt)))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=any_array())
def test_to_mnist_returns_a_digit_or_raises_value_error(image):
    try:
        out = to_mnist(image)
    except ValueError:
        return
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@settings(max_examples=100, deadline=None)
@given(dtype=st.sampled_from(INTEGERS), data=st.data())
def test_integer_images_are_scaled_by_their_range_or_refused(dtype, data):
    """Every integer type: 8-bit or 16-bit levels give the same digit as their float image, and
    values no image level can take are refused (never wrapped round through a cast)."""
    info = np.iinfo(dtype)
    levels = data.draw(st.sampled_from([255, 65535]).filter(lambda top: top <= info.max))
    image = np.zeros((30, 30), dtype)
    image[8:22, 12:17] = levels  # a bar of full ink
    expected = to_mnist(image.astype(np.float64) / levels)
    np.testing.assert_allclose(to_mnist(image), expected, atol=1e-6)
    odd = data.draw(st.integers(int(info.min), int(info.max)).filter(lambda v: v < 0 or v > 65535)
                    if info.min < 0 or info.max > 65535 else st.nothing())
    image[3, 3] = odd
    with pytest.raises(ValueError, match="0..65535"):
        to_mnist(image)


@settings(max_examples=150, deadline=None)
@given(images=any_array(max_side=12), kind=st.sampled_from([*NOISE_KINDS, "bogus"]),
       amount=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3)),
       seed=st.integers(0, 2**32 - 1))
def test_add_noise_keeps_shape_and_range_or_raises_value_error(images, kind, amount, seed):
    try:
        out = add_noise(images, kind, amount, seed=seed)
    except ValueError:
        assert kind == "bogus" or not 0 <= amount <= 1 or not np.isfinite(np.asarray(images, float)).all()
        return
    assert out.shape == np.shape(images) and out.dtype == np.float32
    assert out.size == 0 or (out.min() >= 0 and out.max() <= 1)


@pytest.fixture(scope="module")
def small_model():
    return Denoiser(build_model(ModelConfig("dense", code_size=8), compile=False), name="fuzz")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(images=st.one_of(any_array(max_side=30, max_dims=3),
                        DTYPES.flatmap(lambda dt: arrays(dt, st.tuples(st.integers(0, 5), st.just(28),
                                                                       st.just(28)),
                                                         elements=floats_for(dt)))))
def test_denoise_returns_digits_or_raises_value_error(small_model, images):
    try:
        out = small_model.denoise(images)
    except ValueError:
        return
    assert out.shape == np.shape(images) and out.dtype == np.float32
    assert np.isfinite(out).all() and (out.size == 0 or (out.min() >= 0 and out.max() <= 1))
