import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from denoiser import add_noise
from denoiser.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


CLI = [sys.executable, "-m", "denoiser"]
CLI_ENV = {**os.environ, "DENOISER_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}


def run_cli(*args):
    """Run ``python -m denoiser`` in a real subprocess, as a user would."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, env=CLI_ENV,
                          timeout=300)


@pytest.mark.slow
def test_evaluate_json_lists_every_method_and_noise(tiny_model_dir, capsys, tmp_path):
    code = main(["evaluate", "--dir", str(tiny_model_dir), "--sample", "--limit", "40",
                 "--filters", "median", "--kinds", "gaussian", "salt_pepper",
                 "--amounts", "0.3", "0.6", "--json", "--save", str(tmp_path / "r.json")])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert json.loads((tmp_path / "r.json").read_text()) == report
    assert report["digits"] == 40 and "offline sample" in report["data"]
    rows = report["results"]
    methods = {r["method"] for r in rows}
    assert methods == {"noisy input", "tiny-dense", "tiny-conv", "filter: median"}
    assert len(rows) == 4 * 2 * 2
    by = {(r["method"], r["kind"], r["amount"]): r for r in rows}
    # More noise means a worse noisy input, and every row carries both metrics.
    assert by[("noisy input", "gaussian", 0.6)]["psnr"] < by[("noisy input", "gaussian", 0.3)]["psnr"]
    assert all(0 < r["psnr"] < 100 and -1 <= r["ssim"] <= 1 for r in rows)


@pytest.mark.slow
def test_evaluate_table_is_markdown(tiny_model_dir, capsys):
    assert main(["evaluate", "--dir", str(tiny_model_dir), "--sample", "--limit", "20",
                 "--models", "tiny-dense", "--filters", "median", "--amounts", "0.5",
                 "--no-ssim"]) == 0
    out = capsys.readouterr().out
    assert "| method | gaussian 0.5 |" in out and "| tiny-dense |" in out


@pytest.mark.slow
def test_train_writes_model_and_manifest_entry(tmp_path, capsys):
    assert main(["train", "--name", "mini", "--arch", "dense", "--code-size", "16",
                 "--epochs", "1", "--max-digits", "300", "--augment", "0.5",
                 "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    entry = manifest["models"]["mini"]
    assert "strength 0.5" in entry["training"]["augment"]
    assert (tmp_path / "mini.keras").exists()
    assert entry["config"]["code_size"] == 16 and entry["training"]["epochs"] == 1
    history = entry["training"]["history"]  # every epoch's losses, for the Learn view's curves
    assert len(history["loss"]) == 1
    assert history["loss"][0] == pytest.approx(entry["training"]["final_loss"], abs=1e-6)
    assert entry["metrics"]["gaussian@0.5"]["psnr"] > 5
    # measured as a run trained in the app is, with the same noise seed
    from denoiser import load_mnist, load_pretrained
    from denoiser.results.evaluation import EVAL_SEED, evaluate_denoiser

    again = evaluate_denoiser(load_pretrained("mini", tmp_path).denoise, load_mnist().x_test, "gaussian", 0.5,
                              seed=EVAL_SEED)
    assert entry["metrics"]["gaussian@0.5"]["psnr"] == pytest.approx(again["psnr"], abs=6e-5)  # 4 decimals
    assert len(entry["sha256"]) == 64
    assert "epoch 1/1" in capsys.readouterr().err


@pytest.mark.slow
def test_train_for_minutes_records_the_budget_and_prints_time_left(tmp_path, capsys):
    assert main(["train", "--name", "timed", "--arch", "dense", "--code-size", "16",
                 "--minutes", "0.05", "--cosine", "--max-digits", "300",
                 "--out", str(tmp_path)]) == 0
    training = json.loads((tmp_path / "manifest.json").read_text())["models"]["timed"]["training"]
    assert training["minutes"] == 0.05 and 1 <= training["epochs"] < 10_000  # timing: test_training
    err = capsys.readouterr().err
    assert "epoch 1  loss" in err and "s left" in err and "/10000" not in err


@pytest.mark.slow
def test_ctrl_c_ends_training_after_the_batch_and_still_writes_the_model(tmp_path):
    proc = subprocess.Popen([*CLI, "train", "--name", "cut", "--arch", "dense", "--epochs", "10000",
                             "--max-digits", "300", "--out", str(tmp_path)],
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=CLI_ENV)
    try:
        for line in proc.stderr:
            if line.startswith("epoch 1/10000"):  # training is under way
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.stderr.read()
        assert proc.wait(timeout=120) == 0, rest
    finally:
        proc.kill()
    assert "stopping after this batch" in rest and "stopped on request" in rest
    entry = json.loads((tmp_path / "manifest.json").read_text())["models"]["cut"]
    assert (tmp_path / "cut.keras").exists() and 1 <= entry["training"]["epochs"] < 10000
    assert entry["training"]["stopped"].startswith("on request, in epoch ")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax"])  # in requirements-dev.txt: CI runs it, never skips it
def test_train_on_another_keras_backend_writes_a_file_tensorflow_loads(backend, tmp_path, digits):
    # epochs, not minutes: what it learns must not depend on the machine's speed
    proc = subprocess.run([*CLI, "train", "--name", "other", "--arch", "dense", "--epochs", "12",
                           "--max-digits", "3000",
                           "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                          env={**CLI_ENV, "KERAS_BACKEND": backend}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    entry = json.loads((tmp_path / "manifest.json").read_text())["models"]["other"]
    assert entry["training"]["keras_backend"] == backend
    from denoiser.models.shipped import load_pretrained
    from denoiser.results.metrics import psnr

    assert "onnx" not in entry  # tf2onnx converts TensorFlow graphs only: this one runs on Keras
    model = load_pretrained("other", tmp_path)  # here, on TensorFlow
    noisy = add_noise(digits[:300], seed=0)
    out = model.denoise(noisy)
    assert psnr(digits[:300], out).mean() > psnr(digits[:300], noisy).mean() + 3


@pytest.mark.slow
def test_train_can_grow_a_unet_with_whole_digit_context_and_more_filters(tmp_path, capsys):
    def train(name: str, init: str | None, filters: int, context: int, blocks: int = 0,
              flags: bool = False) -> int:
        return main(["train", "--name", name, *(["--init", init] if init else []), "--arch", "unet",
                     "--filters", str(filters), "--context", str(context), "--blocks", str(blocks),
                     *(["--clip-flags"] if flags else []),
                     "--epochs", "1", "--max-digits", "200", "--out", str(tmp_path)])

    def entry(name: str) -> dict:
        return json.loads((tmp_path / "manifest.json").read_text())["models"].get(name)

    assert train("base", None, 4, 0) == 0
    assert train("grown", "base", 4, 8) == 0
    assert entry("grown")["config"]["context"] == 8 and entry("grown")["training"]["init"] == "base"
    assert train("wide", "grown", 6, 8) == 0
    assert entry("wide")["config"]["filters"] == 6 and entry("wide")["training"]["init"] == "grown"
    assert train("deep", "wide", 6, 8, blocks=1) == 0
    assert entry("deep")["config"]["blocks"] == 1 and entry("deep")["training"]["init"] == "wide"
    assert train("flagged", "deep", 6, 8, blocks=1, flags=True) == 0
    assert entry("flagged")["config"]["clip_flags"] is True
    capsys.readouterr()
    assert train("bad", "flagged", 6, 8, blocks=1) != 0
    assert "has --clip-flags" in capsys.readouterr().err
    assert train("bad", "deep", 6, 8) != 0
    assert "has --blocks 1" in capsys.readouterr().err
    assert train("bad", "grown", 4, 4) != 0  # a model can grow, not shrink
    assert "has --context 8" in capsys.readouterr().err
    assert train("bad", "wide", 4, 8) != 0
    assert "has --filters 6" in capsys.readouterr().err
    assert main(["train", "--name", "bad", "--init", "base", "--arch", "conv", "--filters", "4",
                 "--out", str(tmp_path)]) != 0  # only a U-Net grows into another U-Net
    assert "is a unet model" in capsys.readouterr().err
    assert entry("bad") is None


@pytest.mark.slow
def test_mixed_precision_training_starts_from_init_and_saves_float32(tmp_path):
    import keras

    from denoiser.models.shipped import load_pretrained

    small = ["--arch", "unet", "--filters", "4", "--context", "8", "--epochs", "1",
             "--max-digits", "200", "--out", str(tmp_path)]
    assert main(["train", "--name", "base", *small]) == 0
    # A learning rate this small leaves the weights where --init put them.
    assert main(["train", "--name", "mixed", "--init", "base", "--mixed-precision",
                 "--lr", "1e-6", *small]) == 0
    assert keras.mixed_precision.dtype_policy().name == "float32"  # restored for the caller
    base, mixed = load_pretrained("base", tmp_path), load_pretrained("mixed", tmp_path)
    assert {layer.dtype_policy.name for layer in mixed.model.layers} == {"float32"}
    for before, after in zip(base.model.get_weights(), mixed.model.get_weights(), strict=True):
        assert after.dtype == np.float32
        np.testing.assert_allclose(after, before, atol=1e-4)
    # The app's numpy engine reads the saved graph as Keras does.
    noisy = np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)
    lazy = load_pretrained("mixed", tmp_path, lazy=True)
    np.testing.assert_allclose(lazy.denoise(noisy), mixed.model.predict_on_batch(noisy), atol=1e-4)
    entry = json.loads((tmp_path / "manifest.json").read_text())["models"]["mixed"]
    assert entry["training"]["mixed_precision"].startswith("bfloat16")
    assert "mixed_precision" not in entry["training"]["continued_from"]


def test_denoise_writes_pngs_for_png_and_npy_inputs(tiny_model_dir, tmp_path, digits):
    noisy = add_noise(digits[:3], "gaussian", 0.5, seed=0)
    np.save(tmp_path / "batch.npy", noisy)
    Image.fromarray((noisy[0] * 255).astype(np.uint8)).save(tmp_path / "one.png")
    big = Image.new("L", (200, 200), 255)  # a dark stroke on white paper
    big.paste(0, (90, 30, 110, 170))
    big.save(tmp_path / "scan.jpg")
    out = tmp_path / "out"
    code = main(["denoise", str(tmp_path / "batch.npy"), str(tmp_path / "one.png"),
                 str(tmp_path / "scan.jpg"), "--out", str(out), "--dir", str(tiny_model_dir),
                 "--model", "tiny-conv", "--scale", "2"])
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["batch-0-denoised.png", "batch-1-denoised.png", "batch-2-denoised.png",
                     "one-denoised.png", "scan-denoised.png"]
    assert Image.open(out / "one-denoised.png").size == (56, 56)


@pytest.mark.parametrize("args, message", [
    (["train", "--name", "x", "--code-size", "0"], "code_size must be in [1, 784]"),
    (["train", "--name", "../evil", "--epochs", "1"], "--name may hold only"),
    (["train", "--name", "x", "--augment", "5"], "--augment must be a number in [0, 2], got 5.0"),
    (["train", "--name", "x", "--minutes", "0"], "--minutes must be in (0, 10080], got 0"),
    (["train", "--name", "x", "--minutes", "-2"], "--minutes must be in (0, 10080], got -2"),
    (["evaluate", "--filters", "magic"], "unknown filter(s) magic"),
    (["denoise", "nowhere.png", "--out", "x"], "nowhere.png: no such file"),
])
def test_bad_input_is_one_line_and_nonzero(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


@pytest.mark.slow
def test_module_entry_point_reports_errors_and_usage():
    bad = run_cli("denoise", "missing.npy", "--out", "o")
    assert bad.returncode == 2 and "missing.npy: no such file" in bad.stderr
    usage = run_cli("train", "--arch", "transformer")
    assert usage.returncode == 2 and "invalid choice" in usage.stderr


@pytest.mark.slow
@pytest.mark.parametrize("diverge_in, written", [(2, True), (1, False)])
def test_a_diverged_run_writes_its_last_good_epoch_or_nothing(tmp_path, capsys, monkeypatch,
                                                              diverge_in, written):
    import denoiser.training.body
    from tests.conftest import sabotage

    real = denoiser.training.body.train  # the one training body's call of fit.train
    monkeypatch.setattr(denoiser.training.body, "train",
                        lambda *a, **k: real(*a, **{**k, "callbacks": [sabotage(epoch=diverge_in)]}))
    code = main(["train", "--name", "wild", "--arch", "dense", "--epochs", "4", "--max-digits", "300",
                 "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert f"diverged in epoch {diverge_in}" in err
    if written:
        assert code == 0 and (tmp_path / "wild.keras").exists()
        training = json.loads((tmp_path / "manifest.json").read_text())["models"]["wild"]["training"]
        assert training["diverged"] == "in epoch 2; the weights of epoch 1 were kept"
        assert training["epochs"] == 2 and np.isfinite(training["final_loss"])
    else:
        assert code == 2 and "no model was written" in err
        assert not (tmp_path / "wild.keras").exists()


@pytest.mark.slow
def test_show_draws_the_apps_comparison_for_the_same_settings(tmp_path, capsys, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from denoiser.digits.mnist import SAMPLE_PATH
    from tests.conftest import means

    monkeypatch.setenv("DENOISER_MNIST", str(SAMPLE_PATH))  # the app and the CLI read the same digits
    out = tmp_path / "grid.png"
    assert main(["show", "--out", str(out), "--model", "blind", "--kind", "speckle", "--amount", "0.4",
                 "--count", "3", "--digit", "7", "--filters", "median", "--diff", "--seed", "2",
                 "--sample-seed", "5", "--data", str(SAMPLE_PATH)]) == 0
    printed = capsys.readouterr().out
    picture = Image.open(out)
    assert picture.width > picture.height  # three digits: the rows drawn side by side
    at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=120)
    for key, value in {"model": "blind", "noise": "speckle", "amount": "0.4", "count": "3", "digit": "7",
                       "filters": "median", "diff": "1", "seed": "2", "sample": "5"}.items():
        at.query_params[key] = value
    at.run()
    app_means = means(at)
    assert app_means["row"] == ["Noisy", "Denoised by blind", "Filter: median"]
    for row, psnr_db in zip(app_means["row"], app_means["mean PSNR (dB)"]):
        assert f"| {row} | {psnr_db:.2f} |" in printed  # the same digits, noise and rows


@pytest.mark.slow
def test_help_imports_neither_keras_nor_tensorflow():
    code = ("import sys\nfrom denoiser.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert "usage: python -m denoiser" in out.stdout and out.stdout.strip().endswith("[]"), out.stdout[-300:]
