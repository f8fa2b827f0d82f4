"""The two recipes of docs/architecture.md, each proved with a toy defined only here.

A new architecture: an entry in the config's registry and one builder; the app's controls, the
CLI, descriptions and inference follow. A new noise kind: one function and one entry in
``denoiser.digits.noise.NOISES``; the app, links, the CLI and training follow."""

from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers
from streamlit.testing.v1 import AppTest

from denoiser.cli import main
from denoiser.models.build import BUILDERS, build_model, register_architecture
from denoiser.models.config import ARCHITECTURES, Architecture, ModelConfig
from denoiser.models.shipped import load_pretrained

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def build_toy(config: ModelConfig) -> keras.Model:
    """A toy denoiser defined only in this test: two convolutions."""
    inputs = keras.Input(shape=(28, 28), name="noisy")
    x = layers.Reshape((28, 28, 1))(inputs)
    x = layers.Conv2D(config.filters, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(1, 3, padding="same", activation="sigmoid")(x)
    return keras.Model(inputs, layers.Reshape((28, 28), name="clean")(x), name="toy")


@pytest.fixture
def toy():
    register_architecture("toy", Architecture("two convolutions (a test's toy)", ("filters",)), build_toy)
    yield "toy"
    ARCHITECTURES.pop("toy")
    BUILDERS.pop("toy")


def test_the_config_describes_and_checks_a_new_architecture(toy):
    described = ModelConfig(toy, filters=4).describe(training=True)
    assert described == "toy (width 4), binary_crossentropy, adam lr 0.001"
    with pytest.raises(ValueError, match="architecture 'toy' does not read code_size=8"):
        ModelConfig(toy, code_size=8)
    assert build_model(ModelConfig(toy, filters=4)).count_params() == 1 * 9 * 4 + 4 + 4 * 9 + 1


@pytest.mark.slow
def test_the_cli_trains_saves_and_onnx_runs_a_new_architecture(toy, tmp_path, digits):
    assert main(["train", "--name", "t", "--arch", toy, "--filters", "4", "--epochs", "1",
                 "--max-digits", "200", "--out", str(tmp_path)]) == 0
    lazy, full = load_pretrained("t", tmp_path, lazy=True), load_pretrained("t", tmp_path)
    assert lazy.onnx is not None and lazy.config == ModelConfig(toy, filters=4)
    assert not lazy.has_code  # no layer named "code": no latent-space view offered
    np.testing.assert_allclose(lazy.denoise(digits[:6]), full.denoise(digits[:6]), atol=1e-5)


@pytest.mark.slow
def test_the_app_offers_a_new_architecture_with_its_own_controls(toy):
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("ui/train.py").run()
    assert f"{toy} — two convolutions (a test's toy)" in at.selectbox(key="t_arch").options
    at.selectbox(key="t_arch").set_value(toy).run()
    assert not at.exception
    keys = {w.key for w in [*at.slider, *at.select_slider, *at.checkbox]}
    assert "t_filters" in keys and not keys & {"t_code", "t_layers", "t_nodes", "t_context"}


def test_an_architecture_reading_an_unknown_setting_is_refused_clearly():
    with pytest.raises(ValueError, match="unknown settings dropout_rate.*ModelConfig field first"):
        register_architecture("odd", Architecture("reads a setting no config has", ("dropout_rate",)),
                              build_toy)
    assert "odd" not in ARCHITECTURES


def invert(x, amount, rng):
    """A toy noise: blend each pixel towards its inverse by ``amount``."""
    return x + amount * (1.0 - 2.0 * x)


@pytest.fixture
def inverted():
    from denoiser.digits.noise import NOISES

    NOISES["invert"] = ("blends every pixel towards its inverse by `amount` (a test's toy)", invert)
    yield "invert"
    NOISES.pop("invert")


@pytest.mark.slow
def test_a_new_noise_kind_needs_only_its_function_and_entry(inverted, digits, capsys):
    from denoiser.digits.noise import NOISE_KINDS, NoiseSpec, add_noise, add_random_noise
    from denoiser.teaching.links import read_link

    assert inverted in NOISE_KINDS
    np.testing.assert_allclose(add_noise(digits[:2], inverted, 1.0), 1.0 - digits[:2], atol=1e-6)
    assert NoiseSpec(inverted, 0.3).describe() == "invert 0.3"
    assert read_link({"noise": inverted})[0].noise == inverted  # a link may name it
    drawn = add_random_noise(digits[:64], kinds=[inverted], amount_range=(1.0, 1.0), seed=0)
    np.testing.assert_allclose(drawn, 1.0 - digits[:64], atol=1e-6)  # blind noise can draw it
    assert main(["evaluate", "--sample", "--limit", "10", "--models", "--kinds", inverted,
                 "--amounts", "0.5", "--filters", "median"]) == 0
    assert "| method | invert 0.5 |" in capsys.readouterr().out
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert inverted in at.selectbox(key="noise_kind").options
    at.selectbox(key="noise_kind").set_value(inverted).run()
    assert not at.exception and at.query_params["noise"] == inverted
