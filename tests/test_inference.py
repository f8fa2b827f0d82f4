"""The numpy path (denoiser.inference) must give Keras' outputs and keep TensorFlow unimported."""

import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from denoiser import add_noise, list_pretrained
from denoiser.inference import UnsupportedModel, read_keras_file
from denoiser.modelfiles import ModelFileError, register, save_model
from denoiser.models import ModelConfig, build_model
from denoiser.pretrained import load_pretrained
from denoiser.runtime import Denoiser

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def noisy(sample):
    return add_noise(sample.x_test[:40], "gaussian", 0.5, seed=3)


@pytest.mark.parametrize("name", list_pretrained())
def test_numpy_equals_keras_on_every_shipped_model(name, noisy):
    keras_model = load_pretrained(name)
    fast = load_pretrained(name, lazy=True)
    assert fast.fast is not None  # every shipped model runs on the numpy path
    np.testing.assert_allclose(fast.denoise(noisy), keras_model.denoise(noisy), atol=1e-5)
    np.testing.assert_allclose(fast.denoise(noisy[0]), keras_model.denoise(noisy[0]), atol=1e-5)


@pytest.mark.parametrize(("count", "chunks"), [
    (1, [1]), (2, [2]), (3, [3]), (5, [3, 2]), (8, [2, 2, 2, 2]), (40, [10, 10, 10, 10]),
])
def test_a_batch_split_over_threads_keeps_every_digit_in_its_place(count, chunks, noisy, monkeypatch):
    from denoiser import inference

    model = read_keras_file(ROOT / "pretrained" / "blind.keras")
    split = []
    monkeypatch.setattr(inference, "WORKERS", 4)
    run = model._run
    monkeypatch.setattr(model, "_run", lambda x: split.append(len(x)) or run(x))
    together = model(noisy[:count])
    assert sorted(split, reverse=True) == chunks  # at least two digits a chunk, four threads at most
    one_by_one = np.concatenate([run(digit[None]) for digit in noisy[:count]])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


@pytest.mark.parametrize("config", [
    ModelConfig("dense", code_size=12, layers=3, nodes=64),
    ModelConfig("conv", filters=5),
    ModelConfig("unet", filters=3),
    ModelConfig("unet", filters=3, context=6),
    ModelConfig("unet", filters=3, context=6, blocks=2),
    ModelConfig("unet", filters=3, blocks=1, clip_flags=True),
], ids=["dense", "conv", "unet", "unet-context", "unet-residual", "unet-clip-flags"])
def test_numpy_equals_keras_on_fresh_random_models(config, tmp_path, noisy):
    keras.utils.set_random_seed(1)
    model = build_model(config)
    # random, non-trivial biases too, so every weight's place is checked
    model.set_weights([w + np.random.default_rng(i).normal(0, 0.05, w.shape).astype(np.float32)
                       for i, w in enumerate(model.get_weights())])
    save_model(model, tmp_path / "m.keras")
    fast = Denoiser(loader=lambda: pytest.fail("must not load Keras"),
                    fast=read_keras_file(tmp_path / "m.keras"))
    np.testing.assert_allclose(fast.denoise(noisy),
                               np.clip(model.predict_on_batch(noisy), 0, 1), atol=1e-5)


def test_unsupported_layers_fall_back_to_keras(tmp_path, noisy):
    inputs = keras.Input(shape=(28, 28), name="noisy")
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dense(784, activation="sigmoid")(x)
    model = keras.Model(inputs, keras.layers.Reshape((28, 28))(x))
    sha = save_model(model, tmp_path / "bn.keras")
    with pytest.raises(UnsupportedModel, match="BatchNormalization"):
        read_keras_file(tmp_path / "bn.keras")
    register("bn", {"file": "bn.keras", "config": ModelConfig().to_dict(), "sha256": sha}, tmp_path)
    loaded = load_pretrained("bn", tmp_path, lazy=True)
    assert loaded.fast is None
    np.testing.assert_allclose(loaded.denoise(noisy[:4]), model.predict_on_batch(noisy[:4]), atol=1e-5)


def test_lazy_loading_names_an_unreadable_file(tiny_model_dir, tmp_path):
    # (a tampered file: tests/test_pretrained.py::test_tampered_file_is_refused[lazy-numpy])
    work = tmp_path / "models"
    shutil.copytree(tiny_model_dir, work)
    (work / "tiny-conv.keras").write_bytes(b"not a zip")
    manifest = (work / "manifest.json").read_text()
    (work / "manifest.json").write_text(manifest.replace('"sha256"', '"sha256_unchecked"'))
    with pytest.raises(ModelFileError, match="cannot load model file tiny-conv.keras"):
        load_pretrained("tiny-conv", work, lazy=True)


def test_large_batches_and_codes_use_keras(tiny_model_dir, digits):
    lazy = load_pretrained("tiny-conv", tiny_model_dir, lazy=True)
    assert lazy.has_code and lazy._model is None  # answered from the file, no Keras load yet
    small = lazy.denoise(digits[:8])
    assert lazy._model is None
    big = lazy.denoise(digits[: lazy.fast_max + 1])
    assert lazy._model is not None
    np.testing.assert_allclose(big[:8], small, atol=1e-5)
    assert lazy.encode(digits[:3]).shape == (3, 7 * 7 * 8)


def test_keras_path_on_other_backends_uses_predict_on_batch_in_chunks(tiny_model_dir, digits,
                                                                      monkeypatch):
    reference = load_pretrained("tiny-conv", tiny_model_dir)
    other = load_pretrained("tiny-conv", tiny_model_dir)
    assert other.model is not reference.model
    n = other.fast_max + 1  # past the numpy path
    expected = reference.denoise(digits[:n])
    model, sizes = other.model, []

    def predict_on_batch(x):
        sizes.append(len(x))
        return keras.Model.predict_on_batch(model, x)

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    monkeypatch.setattr(model, "predict_on_batch", predict_on_batch)
    other.batch_size = 100
    np.testing.assert_allclose(other.denoise(digits[:n]), expected, atol=1e-5)
    assert sizes == [100, 100, n - 200]


def test_the_interactive_path_never_imports_tensorflow():
    code = ("import sys, numpy as np\n"
            "from denoiser.pretrained import load_pretrained\n"
            "from denoiser import load_mnist, add_noise\n"
            "from denoiser.grid import digit_grid\n"
            "d = load_mnist(allow_download=False)\n"
            "m = load_pretrained(lazy=True)\n"
            "out = m.denoise(add_noise(d.x_test[:8], seed=0))\n"
            "digit_grid([('x', out, [''] * 8)])\n"
            "assert out.shape == (8, 28, 28)\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_a_relu_with_a_threshold_is_not_taken_for_a_plain_one(tmp_path):
    inputs = keras.Input(shape=(28, 28), name="noisy")
    x = keras.layers.ReLU(threshold=0.5)(keras.layers.Dense(28)(inputs))
    save_model(keras.Model(inputs, x), tmp_path / "thresholded.keras")
    with pytest.raises(UnsupportedModel, match="ReLU"):
        read_keras_file(tmp_path / "thresholded.keras")


def test_numpy_caps_a_relu_and_rescales_like_keras(tmp_path):
    inputs = keras.Input(shape=(28, 28), name="noisy")
    x = keras.layers.Rescaling(3.0, -1.0)(inputs)
    model = keras.Model(inputs, keras.layers.ReLU(max_value=0.5)(x))
    save_model(model, tmp_path / "capped.keras")
    x = np.linspace(0, 1, 28 * 28 * 2, dtype=np.float32).reshape(2, 28, 28)
    out = read_keras_file(tmp_path / "capped.keras")(x)
    np.testing.assert_allclose(out, np.clip(3 * x - 1, 0, 0.5), atol=1e-6)
    np.testing.assert_allclose(out, model.predict_on_batch(x), atol=1e-6)


def test_a_forked_child_splits_batches_on_its_own_threads(noisy):
    import multiprocessing

    model = read_keras_file(ROOT / "pretrained" / "blind.keras")
    expected = model(noisy[:8])  # the parent's pool now exists
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    child = ctx.Process(target=lambda: results.put(model(noisy[:8])), daemon=True)
    child.start()  # without its own pool the child would wait forever on the parent's threads
    got = results.get(timeout=30)
    child.join(10)
    np.testing.assert_allclose(got, expected, atol=1e-6)


@pytest.mark.parametrize("layer", ["Dropout", "Activation"])
def test_layers_without_weights_run_on_numpy_like_keras(layer, tmp_path, noisy):
    from tests.conftest import odd_layer_model

    model = odd_layer_model(layer)
    save_model(model, tmp_path / "m.keras")
    fast = read_keras_file(tmp_path / "m.keras")
    np.testing.assert_allclose(fast(noisy), model.predict_on_batch(noisy), atol=1e-5)


def test_leaky_relu_is_unsupported_not_an_index_error(tmp_path):
    from tests.conftest import odd_layer_model

    save_model(odd_layer_model("LeakyReLU"), tmp_path / "m.keras")
    with pytest.raises(UnsupportedModel, match="LeakyReLU"):
        read_keras_file(tmp_path / "m.keras")
