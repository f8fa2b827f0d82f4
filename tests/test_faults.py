"""Faults: damaged model files, and saves killed half-way."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from denoiser.cli import main
from denoiser.models.files import ModelFileError, load_model_file, sha256_of
from tests.conftest import means, odd_layer_model

ROOT = Path(__file__).resolve().parents[1]


def tamper(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture
def damaged_dir(models_copy):
    tamper(models_copy / "tiny-conv.keras")
    return models_copy


def break_config(directory: Path) -> None:
    """Give tiny-conv's manifest entry a setting its architecture cannot take."""
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["models"]["tiny-conv"]["config"]["blocks"] = 2
    (directory / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("damage, reason", [(lambda d: tamper(d / "tiny-conv.keras"), "checksum"),
                                            (break_config, "invalid config")],
                         ids=["tampered-file", "invalid-config"])
def test_app_names_a_damaged_model_and_keeps_working(models_copy, monkeypatch, damage, reason):
    damage(models_copy)
    monkeypatch.setenv("DENOISER_MODELS", str(models_copy))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert means(at)["row"][1] == "Denoised by tiny-dense"
    at.sidebar.selectbox(key="model_name").set_value("tiny-conv").run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "tiny-conv" in errors and reason in errors
    assert list(means(at)["row"]) == ["Noisy"]  # the page still shows the digits
    at.sidebar.selectbox(key="model_name").set_value("tiny-dense").run()
    assert not at.exception and means(at)["row"][1] == "Denoised by tiny-dense"


def test_app_without_any_model_still_shows_digits(tmp_path, monkeypatch):
    monkeypatch.setenv("DENOISER_MODELS", str(tmp_path))  # no manifest at all
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert any("No model available" in w.value for w in at.sidebar.warning)
    assert list(means(at)["row"]) == ["Noisy"]


def test_cli_exits_nonzero_with_the_reason(damaged_dir, capsys):
    code = main(["evaluate", "--dir", str(damaged_dir), "--models", "tiny-conv", "--sample",
                 "--limit", "5", "--filters"])
    assert code == 2
    err = capsys.readouterr().err
    assert "tiny-conv.keras" in err and "checksum" in err
    (damaged_dir / "tiny-dense.keras").unlink()
    assert main(["denoise", str(ROOT / "README.md"), "--out", str(damaged_dir / "o"),
                 "--dir", str(damaged_dir), "--model", "tiny-dense"]) == 2
    assert "is missing" in capsys.readouterr().err


SAVER = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    from denoiser.models.build import ModelConfig, build_model
    from denoiser.models.files import save_model
    model = build_model(ModelConfig("dense", code_size=256, layers=3, nodes=2048), compile=False)
    print("ready", flush=True)
    while True:
        save_model(model, sys.argv[1])
        print("saved", flush=True)
""")


@pytest.mark.slow
def test_killing_a_save_never_leaves_a_half_written_model(tmp_path):
    target = tmp_path / "big.keras"
    complete_hashes = set()
    for attempt in range(4):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(target)], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        if attempt == 0:  # let one save finish, so later kills hit an overwrite of a good file
            assert proc.stdout.readline().strip() == "saved"
            complete_hashes.add(sha256_of(target))
        time.sleep(0.05 + 0.15 * attempt)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        if target.exists():
            try:
                load_model_file(target)
            except ModelFileError as err:
                pytest.fail(f"a killed save left a broken model under the real name: {err}")
        visible = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
        assert visible in ([], ["big.keras"])  # only hidden temporary files, never a partial model
    assert complete_hashes


@pytest.mark.parametrize(("layer", "export"), [
    ("Dropout", True), ("Activation", True), ("LeakyReLU", True), ("LeakyReLU", False), ("Lambda", False),
], ids=["Dropout", "Activation", "LeakyReLU", "LeakyReLU-keras-only", "Lambda"])
def test_app_runs_or_names_a_model_with_an_unusual_layer(models_copy, monkeypatch, layer, export):
    from denoiser.models.config import ModelConfig
    from denoiser.models.files import register, save_model
    from denoiser.models.onnx_export import save_onnx

    model = odd_layer_model(layer)
    sha = save_model(model, models_copy / "odd.keras")
    exported = save_onnx(model, models_copy / "odd.keras") if export else {}
    register("odd", {"file": "odd.keras", "config": ModelConfig("dense").to_dict(), "sha256": sha,
                     **exported}, models_copy)
    monkeypatch.setenv("DENOISER_MODELS", str(models_copy))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.sidebar.selectbox(key="model_name").set_value("odd").run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    if layer == "Lambda":  # safe mode refuses code in a file: named, and the page goes on
        assert "odd" in errors and "cannot" in errors and "list index" not in errors
        assert list(means(at)["row"]) == ["Noisy"]
    else:  # ONNX Runtime runs it, or Keras does (a model without an export)
        assert not errors, errors
        assert means(at)["row"][1] == "Denoised by odd"
