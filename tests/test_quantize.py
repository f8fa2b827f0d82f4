"""8-bit copies of the ONNX models (denoiser.models.quantize): a server setting, never the default."""

from pathlib import Path

import numpy as np
import pytest

from denoiser import add_noise
from denoiser.cli import main
from denoiser.digits.noise import NoiseSpec
from denoiser.models.files import read_manifest, sha256_of
from denoiser.models.quantize import PRECISION_VAR, int8_onnx, precision
from denoiser.models.shipped import INT8_NOTE, load_pretrained
from denoiser.results.evaluation import evaluate_denoiser

ROOT = Path(__file__).resolve().parents[1]


def psnr_of(model, sample) -> float:
    return evaluate_denoiser(model.denoise, sample.x_test[:300], "gaussian", 0.5, seed=1234,
                             with_ssim=False)["psnr"]


@pytest.mark.slow
def test_the_shipped_int8_copy_is_checked_and_close_to_the_float_model(sample):
    entry = read_manifest()["models"]["blind"]
    assert sha256_of(ROOT / "pretrained" / entry["int8"]) == entry["int8_sha256"]
    measured = entry["int8_eval"]
    assert measured["digits"] == 10_000 and measured["int8"]["psnr"] < measured["float32"]["psnr"]
    exact = load_pretrained("blind", lazy=True, precision="float32")
    small = load_pretrained("blind", lazy=True, precision="int8")
    assert small._model is None and INT8_NOTE in small.description and INT8_NOTE not in exact.description
    noisy = add_noise(sample.x_test[:64], "gaussian", 0.5, seed=3)
    gap = np.abs(small.denoise(noisy) - exact.denoise(noisy))
    assert 0 < gap.mean() < 0.01  # another computation, close to the same pictures
    assert abs(psnr_of(small, sample) - psnr_of(exact, sample)) < 0.15


def test_a_model_without_an_int8_copy_runs_as_exported_under_the_int8_setting(sample):
    assert "int8" not in read_manifest()["models"]["conv"]
    noisy = add_noise(sample.x_test[:8], "gaussian", 0.5, seed=3)
    np.testing.assert_array_equal(load_pretrained("conv", lazy=True, precision="int8").denoise(noisy),
                                  load_pretrained("conv", lazy=True, precision="float32").denoise(noisy))


@pytest.mark.slow
def test_a_damaged_int8_copy_leaves_the_model_running_as_exported(models_copy, sample, caplog):
    assert main(["quantize", "tiny-conv", "--dir", str(models_copy), "--sample", "--calibration", "32",
                 "--limit", "10"]) == 0
    (models_copy / "tiny-conv.int8.onnx").write_bytes(b"not a model")
    model = load_pretrained("tiny-conv", models_copy, lazy=True, precision="int8")
    exact = load_pretrained("tiny-conv", models_copy, lazy=True, precision="float32")
    assert INT8_NOTE not in model.description
    noisy = add_noise(sample.x_test[:4], "gaussian", 0.5, seed=3)
    np.testing.assert_array_equal(model.denoise(noisy), exact.denoise(noisy))
    assert "runs as exported, not in 8 bits" in caplog.text and "checksum" in caplog.text


@pytest.mark.parametrize(("value", "expected"), [("", "float32"), ("int8", "int8"), (" INT8 ", "int8"),
                                                 ("float32", "float32")])
def test_the_precision_setting_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(PRECISION_VAR, value)
    assert precision() == expected


def test_an_unknown_precision_is_named(monkeypatch):
    monkeypatch.setenv(PRECISION_VAR, "fp16")
    with pytest.raises(ValueError, match="DENOISER_PRECISION must be one of float32, int8, got 'fp16'"):
        precision()
    with pytest.raises(ValueError, match="precision must be one of"):
        load_pretrained("conv", lazy=True, precision="half")


def test_load_pretrained_follows_the_server_setting(monkeypatch):
    monkeypatch.setenv(PRECISION_VAR, "int8")
    assert INT8_NOTE in load_pretrained("blind", lazy=True).description


def test_int8_onnx_writes_a_close_copy_of_a_small_model(tiny_model_dir, sample, tmp_path):
    source = tiny_model_dir / read_manifest(tiny_model_dir)["models"]["tiny-conv"]["onnx"]
    calibration = NoiseSpec("blind", 1.0).apply(sample.x_train[:64], seed=5)
    fields = int8_onnx(source, calibration, tmp_path / "tiny.int8.onnx")
    assert fields == {"int8": "tiny.int8.onnx", "int8_sha256": sha256_of(tmp_path / "tiny.int8.onnx")}
    from denoiser.models.onnx_session import OnnxModel

    noisy = add_noise(sample.x_test[:16], "gaussian", 0.5, seed=3)
    gap = np.abs(OnnxModel(tmp_path / "tiny.int8.onnx")(noisy) - OnnxModel(source)(noisy))
    assert 0 < gap.mean() < 0.02


@pytest.mark.parametrize(("calibration", "percentile", "message"), [
    (np.zeros((4, 28, 27)), 99.99, "calibration must be noisy digits"),
    (np.full((4, 28, 28), 2.0), 99.99, "calibration must be noisy digits"),
    (np.zeros((0, 28, 28)), 99.99, "calibration must be noisy digits"),
    (np.zeros((4, 28, 28)), 30, "percentile must be in"),
])
def test_int8_onnx_refuses_bad_input_and_writes_nothing(tiny_model_dir, tmp_path, calibration, percentile,
                                                        message):
    source = tiny_model_dir / read_manifest(tiny_model_dir)["models"]["tiny-conv"]["onnx"]
    with pytest.raises(ValueError, match=message):
        int8_onnx(source, calibration, tmp_path / "out.int8.onnx", percentile=percentile)
    assert list(tmp_path.iterdir()) == []


def test_the_cli_writes_measures_and_names_the_int8_copy(models_copy, capsys):
    assert main(["quantize", "tiny-conv", "--dir", str(models_copy), "--sample", "--calibration", "64",
                 "--limit", "50"]) == 0
    entry = read_manifest(models_copy)["models"]["tiny-conv"]
    assert entry["int8"] == "tiny-conv.int8.onnx"
    assert sha256_of(models_copy / entry["int8"]) == entry["int8_sha256"]
    measured = entry["int8_eval"]
    assert measured["digits"] == 50 and measured["calibration"].startswith("64 training digits")
    assert abs(measured["int8"]["psnr"] - measured["float32"]["psnr"]) < 0.5
    assert INT8_NOTE in load_pretrained("tiny-conv", models_copy, lazy=True, precision="int8").description
    assert "tiny-conv.int8.onnx" in capsys.readouterr().err


def test_the_cli_names_a_model_it_cannot_quantize(models_copy, capsys):
    assert main(["quantize", "nope", "--dir", str(models_copy), "--sample"]) != 0
    assert "no model named 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(("flags", "exact"), [
    ({"avx2", "fma"}, True),                      # an AVX2 laptop: the fast kernel can saturate
    ({"avx2", "avx512f", "avx512bw"}, True),      # AVX-512 without VNNI: the same
    ({"avx2", "avx512f", "avx512_vnni"}, False),  # VNNI: exact and fast already
    ({"avx2", "avx_vnni"}, False),
    (set(), True),                                # flags unreadable: exactness wins
])
def test_sessions_ask_for_exact_8_bit_products_only_on_cpus_without_vnni(monkeypatch, flags, exact):
    """Without VNNI, ONNX Runtime's fast uint8 x int8 kernel can saturate (a wrong picture, not a
    slightly worse one); the exact kernel is an option of the session, slow where VNNI makes it
    needless. A test cannot choose its CPU, so the flags are given and the option is checked."""
    import platform

    from denoiser.models import onnx_session as inference
    monkeypatch.setattr(inference, "cpu_flags", lambda: flags)
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    model = inference.OnnxModel(ROOT / "pretrained" / read_manifest()["models"]["blind"]["int8"])
    try:
        option = model.session.get_session_options().get_session_config_entry("session.x64quantprecision")
    except RuntimeError:  # never set
        option = None
    assert (option == "1") == exact
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    assert not inference.exact_int8_needed(set())


def test_the_cpu_flags_are_read_where_linux_lists_them():
    from denoiser.models.onnx_session import cpu_flags

    flags = cpu_flags()
    if not Path("/proc/cpuinfo").exists():
        assert flags == set()
    else:
        assert flags and all(flag == flag.strip() and flag for flag in flags)
