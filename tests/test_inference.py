"""The ONNX Runtime path (denoiser.models.onnx_session, denoiser.models.onnx_export) must give Keras'
outputs and keep TensorFlow out of the interactive path."""

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from denoiser import add_noise, list_pretrained
from denoiser.models.build import ModelConfig, build_model
from denoiser.models.files import ModelFileError, read_manifest, register, save_model, sha256_of
from denoiser.models.onnx_export import onnx_bytes, save_onnx
from denoiser.models.onnx_session import CHUNK, THREADS_VAR, OnnxModel, UnsupportedModel, default_threads
from denoiser.models.runtime import Denoiser
from denoiser.models.shipped import load_pretrained

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def noisy(sample):
    return add_noise(sample.x_test[:40], "gaussian", 0.5, seed=3)


@pytest.mark.slow
@pytest.mark.parametrize("name", list_pretrained())
def test_onnx_equals_keras_on_every_shipped_model(name, noisy):
    entry = read_manifest()["models"][name]
    assert sha256_of(ROOT / "pretrained" / entry["onnx"]) == entry["onnx_sha256"]
    lazy = load_pretrained(name, lazy=True)
    assert lazy.onnx is not None and lazy._model is None  # ONNX Runtime, no Keras load
    keras_model = load_pretrained(name).model
    expected = np.clip(np.asarray(keras_model(noisy, training=False)), 0, 1)
    np.testing.assert_allclose(lazy.denoise(noisy), expected, atol=1e-5)
    np.testing.assert_allclose(lazy.denoise(noisy[0]), expected[0], atol=1e-5)
    assert lazy._model is None


def _randomised(config: ModelConfig) -> keras.Model:
    keras.utils.set_random_seed(1)
    model = build_model(config)
    # random, non-trivial biases too, so every weight's place is checked
    model.set_weights([w + np.random.default_rng(i).normal(0, 0.05, w.shape).astype(np.float32)
                       for i, w in enumerate(model.get_weights())])
    return model


@pytest.mark.slow
@pytest.mark.parametrize("config", [
    ModelConfig("dense", code_size=12, layers=3, nodes=64),
    ModelConfig("dense", code_size=8, layers=1, nodes=32, loss="mse"),
    ModelConfig("conv", filters=5),
    ModelConfig("unet", filters=3),
    ModelConfig("unet", filters=3, context=6),
    ModelConfig("unet", filters=3, context=6, blocks=2),
    ModelConfig("unet", filters=3, blocks=1, clip_flags=True),
], ids=["dense", "dense-mse", "conv", "unet", "unet-context", "unet-residual", "unet-clip-flags"])
def test_onnx_equals_keras_on_fresh_random_models(config, tmp_path, noisy):
    model = _randomised(config)
    exported = save_onnx(model, tmp_path / "m.keras")
    assert exported["onnx"] == "m.onnx" and exported["onnx_sha256"] == sha256_of(tmp_path / "m.onnx")
    fast = Denoiser(loader=lambda: pytest.fail("must not load Keras"),
                    onnx=OnnxModel(tmp_path / "m.onnx"))
    np.testing.assert_allclose(fast.denoise(noisy),
                               np.clip(model.predict_on_batch(noisy), 0, 1), atol=1e-5)
    if config.architecture == "unet":
        assert not fast.has_code
    else:  # the bottleneck's codes come from the same graph
        codes = keras.Model(model.inputs, model.get_layer("code").output).predict_on_batch(noisy)
        np.testing.assert_allclose(fast.encode(noisy), codes.reshape(len(noisy), -1), atol=1e-5)


def test_large_batches_are_run_in_chunks_in_order(noisy, monkeypatch):
    from denoiser.models import onnx_session as inference
    model = load_pretrained("conv", lazy=True)
    expected = model.denoise(noisy[:13])
    monkeypatch.setattr(inference, "CHUNK", 4)
    sizes = []
    run = model.onnx.session.run
    monkeypatch.setattr(model.onnx, "session",
                        type("S", (), {"run": lambda _, names, feed: sizes.append(
                            len(next(iter(feed.values())))) or run(names, feed)})())
    np.testing.assert_allclose(model.denoise(noisy[:13]), expected, atol=1e-6)
    assert sizes == [4, 4, 4, 1]
    assert CHUNK >= 256  # the app's interactive batches take one call


@pytest.mark.parametrize("layer", ["Dropout", "Activation", "LeakyReLU"])
def test_layers_the_old_numpy_path_lacked_run_on_onnx_like_keras(layer, noisy):
    from tests.conftest import odd_layer_model

    model = odd_layer_model(layer)
    out = OnnxModel(onnx_bytes(model))(noisy)
    np.testing.assert_allclose(out, model.predict_on_batch(noisy), atol=1e-5)


def test_an_export_that_differs_from_keras_is_refused(monkeypatch):
    from denoiser.models import onnx_export as export
    model = _randomised(ModelConfig("dense", code_size=4, layers=1, nodes=16))
    monkeypatch.setattr(export, "TOLERANCE", -1.0)  # no export can be this close
    with pytest.raises(ModelFileError, match="differs from Keras"):
        onnx_bytes(model)


def test_other_keras_backends_export_nothing_and_say_so(monkeypatch):
    model = _randomised(ModelConfig("dense", code_size=4, layers=1, nodes=16))
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ModelFileError, match="needs Keras on TensorFlow"):
        onnx_bytes(model)


@pytest.mark.parametrize("data", [b"not onnx", b""], ids=["garbage", "empty"])
def test_a_damaged_onnx_file_is_named_not_a_crash(data, tmp_path):
    (tmp_path / "m.onnx").write_bytes(data)
    with pytest.raises(UnsupportedModel, match="m.onnx: not a readable ONNX model"):
        OnnxModel(tmp_path / "m.onnx")


def test_an_onnx_graph_that_is_not_a_digit_denoiser_is_refused():
    inputs = keras.Input(shape=(10,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, 10), tf.float32),)
    proto, _ = tf2onnx.convert.from_function(tf.function(lambda x: model(x)), input_signature=spec)
    with pytest.raises(UnsupportedModel, match="not a digit denoiser"):
        OnnxModel(proto.SerializeToString())


def test_a_tampered_onnx_file_is_refused_by_its_checksum(models_copy, digits):
    with open(models_copy / "tiny-conv.onnx", "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    for lazy in (True, False):
        with pytest.raises(ModelFileError, match="tiny-conv.onnx does not match its manifest checksum"):
            load_pretrained("tiny-conv", models_copy, lazy=lazy)
    assert load_pretrained("tiny-dense", models_copy, lazy=True).denoise(digits[:2]).shape == (2, 28, 28)


def test_a_manifest_naming_a_path_for_the_onnx_file_is_refused(models_copy):
    entry = read_manifest(models_copy)["models"]["tiny-conv"]
    register("tiny-conv", {**entry, "onnx": "../tiny-conv.onnx"}, models_copy)
    with pytest.raises(ModelFileError, match="invalid ONNX file"):
        load_pretrained("tiny-conv", models_copy, lazy=True)


def test_a_model_without_an_export_runs_on_keras(tmp_path, noisy):
    model = _randomised(ModelConfig("conv", filters=3))
    sha = save_model(model, tmp_path / "old.keras")
    register("old", {"file": "old.keras", "config": ModelConfig("conv", filters=3).to_dict(),
                     "sha256": sha}, tmp_path)
    loaded = load_pretrained("old", tmp_path, lazy=True)
    assert loaded.onnx is None
    np.testing.assert_allclose(loaded.denoise(noisy[:4]), np.clip(model.predict_on_batch(noisy[:4]), 0, 1),
                               atol=1e-5)


def test_codes_come_from_onnx_and_the_decoder_from_keras(tiny_model_dir, digits):
    lazy = load_pretrained("tiny-conv", tiny_model_dir, lazy=True)
    assert lazy.has_code and lazy._model is None  # answered by the export, no Keras load yet
    codes = lazy.encode(digits[:3])
    assert lazy._model is None and codes.shape == (3, 7 * 7 * 8)
    np.testing.assert_allclose(codes, lazy.encoder.predict_on_batch(digits[:3]).reshape(3, -1),
                               atol=1e-5)  # the Keras half, loaded now


@pytest.mark.slow
def test_the_decoder_runs_on_onnx_exported_in_a_fresh_process(tiny_model_dir, digits):
    lazy = load_pretrained("tiny-conv", tiny_model_dir, lazy=True)
    codes = lazy.encode(digits[:4])
    decoded = lazy.decode(codes)
    assert lazy._model is None and lazy._onnx_decoder is not None  # no Keras here
    expected = load_pretrained("tiny-conv", tiny_model_dir).decoder.predict_on_batch(
        codes.reshape(4, 7, 7, 8))
    np.testing.assert_allclose(decoded, np.clip(expected.reshape(4, 28, 28), 0, 1), atol=1e-5)
    exported = lazy._onnx_decoder
    lazy.decode(codes[:1])
    assert lazy._onnx_decoder is exported  # exported once per model


def test_a_model_loaded_whole_decodes_in_keras(tiny_model_dir, digits):
    whole = load_pretrained("tiny-conv", tiny_model_dir)
    codes = whole.encode(digits[:4])
    decoded = whole.decode(codes)
    assert whole._onnx_decoder is None  # Keras is here already: no export
    expected = whole.decoder.predict_on_batch(codes.reshape(4, 7, 7, 8))
    np.testing.assert_allclose(decoded, np.clip(expected.reshape(4, 28, 28), 0, 1), atol=1e-5)


@pytest.mark.slow
def test_a_decoder_that_cannot_be_prepared_is_a_clear_error(tiny_model_dir, digits):
    lazy = load_pretrained("tiny-conv", tiny_model_dir, lazy=True)
    lazy.keras_source = b"not a keras file"
    with pytest.raises(ValueError, match="decoder of 'tiny-conv' could not be prepared"):
        lazy.decode(lazy.encode(digits[:2]))
    with pytest.raises(ValueError, match="finite"):
        lazy.decode(np.full((1, 392), np.nan))


@pytest.mark.slow
def test_a_denoiser_and_a_decoder_file_are_not_taken_for_each_other(tiny_model_dir):
    from denoiser.models.onnx_export import decoder_onnx_bytes
    from denoiser.models.onnx_session import OnnxDecoder

    model = load_pretrained("tiny-conv", tiny_model_dir).model
    with pytest.raises(UnsupportedModel, match="not a digit denoiser"):
        OnnxModel(decoder_onnx_bytes(model))
    with pytest.raises(UnsupportedModel, match="not a decoder"):
        OnnxDecoder(onnx_bytes(model))


def test_a_model_without_a_code_has_nothing_to_decode(noisy):
    with pytest.raises(ValueError, match="no bottleneck"):
        load_pretrained("blind", lazy=True).decode(np.zeros((1, 32)))


def test_keras_path_on_other_backends_uses_predict_on_batch_in_chunks(tiny_model_dir, digits,
                                                                      monkeypatch):
    reference = load_pretrained("tiny-conv", tiny_model_dir)
    other = load_pretrained("tiny-conv", tiny_model_dir)
    other.onnx = None  # as a model without an export
    n = 250
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


@pytest.mark.parametrize(("value", "expected"), [("3", 3), ("", None), ("zero", None), ("0", None)])
def test_threads_come_from_the_setting_or_the_cores(value, expected, monkeypatch):
    import os

    monkeypatch.setenv(THREADS_VAR, value)
    assert default_threads() == (expected or max(1, min(4, os.cpu_count() or 1)))


@pytest.mark.slow
def test_the_interactive_path_never_imports_tensorflow():
    code = ("import sys, numpy as np\n"
            "from denoiser.models.shipped import load_pretrained\n"
            "from denoiser import load_mnist, add_noise\n"
            "from denoiser.results.grid import digit_grid\n"
            "d = load_mnist(allow_download=False)\n"
            "m = load_pretrained(lazy=True)\n"
            "out = m.denoise(add_noise(d.x_test[:8], seed=0))\n"
            "big = load_pretrained('conv', lazy=True).denoise(add_noise(d.x_test[:600], seed=0))\n"
            "codes = load_pretrained('seed-dense', lazy=True).encode(d.x_test[:5])\n"
            "from denoiser.results.latent import interpolate\n"
            "walk = interpolate(load_pretrained('seed-dense', lazy=True), d.x_test[0], d.x_test[1], 5)\n"
            "assert walk.shape == (5, 28, 28)\n"
            "digit_grid([('x', out, [''] * 8)])\n"
            "assert out.shape == (8, 28, 28) and big.shape == (600, 28, 28)\n"
            "assert codes.shape == (5, 32)\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_the_cli_export_writes_an_equal_file_and_names_it_in_the_manifest(tmp_path, noisy):
    from denoiser.cli import main

    model = _randomised(ModelConfig("dense", code_size=6, layers=1, nodes=16))
    sha = save_model(model, tmp_path / "m.keras")
    register("m", {"file": "m.keras", "config": ModelConfig("dense", code_size=6, layers=1,
                                                            nodes=16).to_dict(), "sha256": sha}, tmp_path)
    assert main(["export", "--dir", str(tmp_path)]) == 0
    entry = read_manifest(tmp_path)["models"]["m"]
    assert entry["onnx"] == "m.onnx" and entry["onnx_sha256"] == sha256_of(tmp_path / "m.onnx")
    loaded = load_pretrained("m", tmp_path, lazy=True)
    assert loaded.onnx is not None
    np.testing.assert_allclose(loaded.denoise(noisy), np.clip(model.predict_on_batch(noisy), 0, 1),
                               atol=1e-5)
    assert main(["export", "--dir", str(tmp_path), "--models", "nope"]) == 2


@pytest.mark.parametrize("faster", ["onnx", "keras"])
def test_large_batches_take_the_path_a_first_timing_found_faster(faster, tiny_model_dir, digits):
    model = load_pretrained("tiny-conv", tiny_model_dir)  # its Keras model is loaded, and its export
    expected = model.denoise(digits[:60])
    model.race_from, model.race_size = 50, 10
    ticks = iter([0, 1, 0, 5] if faster == "onnx" else [0, 5, 0, 1])  # (start, end) onnx, keras
    model.clock = lambda: next(ticks)
    used = []
    onnx, run = model.onnx, model._run

    class Spy:
        has_code = onnx.has_code

        def __call__(self, x):
            used.append(("onnx", len(x)))
            return onnx(x)

    model.onnx = Spy()
    model._run = lambda m, x: used.append(("keras", len(x))) or run(m, x)
    np.testing.assert_allclose(model.denoise(digits[:60]), expected, atol=1e-5)
    assert model.large_batch_path == faster
    assert used[-1] == (faster, 60)  # the batch itself, after the race on 10 digits each way
    assert {u for u in used[:-1]} == {("onnx", 10), ("keras", 10)}
    used.clear()
    model.denoise(digits[:60])
    model.denoise(digits[:49])
    assert used == [(faster, 60), ("onnx", 49)]  # raced once; small batches always on ONNX Runtime


def test_a_lazy_model_never_loads_keras_to_race(tiny_model_dir, digits):
    lazy = load_pretrained("tiny-conv", tiny_model_dir, lazy=True)
    lazy.race_from = 50
    assert lazy.denoise(digits[:60]).shape == (60, 28, 28)
    assert lazy._model is None and lazy.large_batch_path is None


@pytest.mark.slow
def test_a_models_threads_stop_working_when_its_call_ends():
    """Threads may spin within a call, never after it: the cores between calls are the other
    users'. Spinning on after a call burns tens of ms of CPU however busy the machine is (the
    spin is counted in iterations, not time); a stopped pool burns next to none."""
    import time

    model = OnnxModel(Path(__file__).resolve().parents[1] / "pretrained" / "blind.onnx", threads=2)
    x = add_noise(np.zeros((8, 28, 28), np.float32), "gaussian", 0.5, seed=0)
    model(x)  # warm-up
    after = []
    for _ in range(3):
        model(x)
        start = time.process_time()
        time.sleep(0.2)  # this thread sleeps: any CPU counted now is the pool's
        after.append(time.process_time() - start)
    assert min(after) < 0.005, f"the pool kept {min(after) * 1000:.0f} ms of CPU after a call"
