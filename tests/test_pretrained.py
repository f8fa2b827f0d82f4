import json
import shutil

import keras
import numpy as np
import pytest

import denoiser
from denoiser.models.build import ModelConfig, build_model
from denoiser.models.files import (
    PRETRAINED_DIR,
    ModelFileError,
    load_model_bytes,
    load_model_file,
    model_to_bytes,
    read_manifest,
    register,
    save_model,
    sha256_of,
)
from denoiser.models.runtime import Denoiser
from denoiser.models.shipped import list_pretrained, load_pretrained


def test_manifest_lists_the_models_default_first(tiny_model_dir):
    names = list_pretrained(tiny_model_dir)
    assert set(names) == {"tiny-dense", "tiny-conv"}
    assert names[0] == read_manifest(tiny_model_dir)["default"]
    assert load_pretrained("tiny-conv", tiny_model_dir).config == ModelConfig("conv", filters=8)


@pytest.mark.slow
@pytest.mark.parametrize("lazy", [False, True], ids=["keras", "lazy-onnx"])
def test_a_saved_file_gives_the_in_memory_models_outputs(tmp_path, digits, lazy):
    from denoiser.models.onnx_export import save_onnx
    from denoiser.training.fit import train

    config = ModelConfig("conv", filters=4)
    model = train(config, digits[:128], epochs=1, batch_size=32, validation_split=0.0).model
    sha = save_model(model, tmp_path / "m.keras")
    register("m", {"file": "m.keras", "config": config.to_dict(), "sha256": sha,
                   **save_onnx(model, tmp_path / "m.keras")}, tmp_path)
    loaded = load_pretrained("m", tmp_path, lazy=lazy)
    expected = np.clip(model.predict_on_batch(digits[:16]), 0, 1)
    assert np.abs(expected - 0.5).max() > 0.1  # a trained output, not a constant
    np.testing.assert_allclose(loaded.denoise(digits[:16]), expected, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("name", list_pretrained())
def test_a_shipped_models_manifest_figures_match_a_fresh_evaluation(name, sample):
    """The manifest's PSNR/SSIM (10,000 test digits) against 500 real test digits of the shipped
    sample, same noise seed: a wrong file or a stale figure lands outside the tolerance (measured
    gaps on 300 digits: at most 0.2 dB and 0.03)."""
    from denoiser.results.evaluation import EVAL_SEED, evaluate_denoiser

    recorded = read_manifest()["models"][name]["metrics"]["gaussian@0.5"]
    fresh = evaluate_denoiser(load_pretrained(name, lazy=True).denoise, sample.x_test[:500],
                              "gaussian", 0.5, seed=EVAL_SEED)
    assert fresh["psnr"] == pytest.approx(recorded["psnr"], abs=0.4)
    assert fresh["ssim"] == pytest.approx(recorded["ssim"], abs=0.04)


@pytest.mark.parametrize("lazy", [False, True], ids=["keras", "lazy-onnx"])
def test_tampered_file_is_refused(tiny_model_dir, tmp_path, digits, lazy):
    work = tmp_path / "models"
    shutil.copytree(tiny_model_dir, work)
    with open(work / "tiny-dense.keras", "r+b") as fh:
        fh.seek(200)
        byte = fh.read(1)
        fh.seek(200)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelFileError, match="checksum"):
        load_pretrained("tiny-dense", work, lazy=lazy)
    assert load_pretrained("tiny-conv", work, lazy=lazy).denoise(digits[:1]).shape == (1, 28, 28)


def test_missing_and_unknown_models_are_named(tiny_model_dir, tmp_path):
    work = tmp_path / "models"
    shutil.copytree(tiny_model_dir, work)
    (work / "tiny-conv.keras").unlink()
    with pytest.raises(ModelFileError, match="tiny-conv.keras is missing"):
        load_pretrained("tiny-conv", work)
    with pytest.raises(ModelFileError, match="available: tiny-dense, tiny-conv"):
        load_pretrained("nope", work)


@pytest.mark.parametrize("entry, match", [
    ({"config": {"architecture": "conv", "filters": 8, "blocks": 2}},
     "has an invalid config: architecture 'conv' does not read blocks=2"),
    ({"config": {"architecture": "conv", "colour": "red"}},
     "has an invalid config: unknown config keys: colour"),
    ({"config": {"architecture": "conv", "filters": 1000}},
     r"has an invalid config: filters must be in \[1, 256\]"),
    ({"config": "conv"}, "needs a file name and a config"),
    ({"file": None}, "needs a file name and a config"),
])
def test_a_manifest_entry_that_is_not_valid_is_a_clear_error(models_copy, digits, entry, match):
    manifest = read_manifest(models_copy)
    manifest["models"]["tiny-conv"] |= entry
    (models_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match=f"the manifest.json entry of 'tiny-conv' {match}"):
        load_pretrained("tiny-conv", models_copy)
    assert load_pretrained("tiny-dense", models_copy).denoise(digits[:1]).shape == (1, 28, 28)


def test_truncated_file_without_checksum_is_a_clear_error(tiny_model_dir, tmp_path):
    data = (tiny_model_dir / "tiny-dense.keras").read_bytes()
    bad = tmp_path / "cut.keras"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="cannot load model file cut.keras"):
        load_model_file(bad)


def test_lambda_layers_are_refused_by_safe_mode(tmp_path):
    inputs = keras.Input(shape=(28, 28))
    outputs = keras.layers.Lambda(lambda t: t * 0 + 1)(inputs)
    path = tmp_path / "evil.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(ModelFileError, match="cannot load"):
        load_model_file(path)


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    model = build_model(ModelConfig("dense", code_size=4))
    sha = save_model(model, tmp_path / "m.keras")
    assert sha == sha256_of(tmp_path / "m.keras")
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]
    with pytest.raises(ValueError, match=".keras"):
        save_model(model, tmp_path / "m.h5")


def test_register_keeps_other_entries(tmp_path):
    register("a", {"file": "a.keras"}, tmp_path)
    register("b", {"file": "b.keras"}, tmp_path, default=True)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["default"] == "b" and set(manifest["models"]) == {"a", "b"}


def test_denoise_shapes_dtype_and_range(tiny_model_dir, digits):
    model = load_pretrained("tiny-dense", tiny_model_dir)
    single = model.denoise(digits[0])
    assert single.shape == (28, 28) and single.dtype == np.float32
    batch = model.denoise((digits[:3] * 255).astype(np.uint8) / 255.0)
    assert batch.shape == (3, 28, 28) and batch.min() >= 0 and batch.max() <= 1
    with pytest.raises(ValueError, match="shape"):
        model.denoise(np.zeros((32, 32)))
    with pytest.raises(ValueError, match="NaN"):
        model.denoise(np.full((28, 28), np.nan))
    assert model.encode(digits[:4]).shape == (4, 32)


def test_chunked_denoise_equals_one_call(digits):
    model = build_model(ModelConfig("dense", code_size=8), compile=False)
    whole = Denoiser(model, batch_size=10_000).denoise(digits[:50])
    chunked = Denoiser(model, batch_size=16).denoise(digits[:50])
    np.testing.assert_allclose(whole, chunked, atol=1e-6)


def test_unet_has_no_code_to_encode(digits):
    model = Denoiser(build_model(ModelConfig("unet", filters=4)), name="u",
                     config=ModelConfig("unet", filters=4))
    with pytest.raises(ValueError, match="no bottleneck"):
        model.encode(digits[:2])


shipped = pytest.mark.skipif(not (PRETRAINED_DIR / "manifest.json").exists(),
                             reason="no shipped models in pretrained/ yet")


@pytest.mark.slow
@shipped
def test_every_shipped_model_loads_verifies_and_denoises(sample):
    from denoiser.results.evaluation import evaluate_denoiser

    names = denoiser.list_pretrained()
    assert names[0] == read_manifest()["default"]
    x = sample.x_test[:200]
    noisy = evaluate_denoiser(lambda a: a, x, "gaussian", 0.5, seed=5, with_ssim=False)["psnr"]
    for name in names:
        model = denoiser.load_pretrained(name)
        entry = read_manifest()["models"][name]
        assert entry["sha256"] == sha256_of(PRETRAINED_DIR / entry["file"])
        assert entry["description"]
        got = evaluate_denoiser(model.denoise, x, "gaussian", 0.5, seed=5, with_ssim=False)["psnr"]
        assert got > noisy + 3, f"{name} barely denoises: {got:.2f} dB vs noisy {noisy:.2f} dB"


@pytest.mark.slow
@shipped
def test_default_model_is_the_blind_one_and_beats_the_median_filter(sample):
    from denoiser.results.classical import median
    from denoiser.results.evaluation import evaluate_denoiser

    model = denoiser.load_pretrained()
    assert model.name == "blind"
    x = sample.x_test[:300]
    for kind in denoiser.NOISE_KINDS:
        ours = evaluate_denoiser(model.denoise, x, kind, 0.5, seed=9, with_ssim=False)["psnr"]
        filt = evaluate_denoiser(median, x, kind, 0.5, seed=9, with_ssim=False)["psnr"]
        assert ours > filt, f"{kind}: blind {ours:.2f} dB vs median {filt:.2f} dB"


def test_a_model_travels_as_keras_file_bytes(tiny_model_dir, digits):
    model = load_model_file(tiny_model_dir / "tiny-conv.keras")
    data = model_to_bytes(model)
    assert data[:2] == b"PK"  # a .keras file is a zip archive
    again = load_model_bytes(data)
    np.testing.assert_allclose(again.predict_on_batch(digits[:4]), model.predict_on_batch(digits[:4]),
                               atol=1e-6)
    with pytest.raises(ModelFileError, match="cannot load"):
        load_model_bytes(data[: len(data) // 2])
