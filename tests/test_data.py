from pathlib import Path

import numpy as np
import pytest

from denoiser import load_mnist
from denoiser.digits import mnist as data_mod
from tests.conftest import SHARED_MNIST


def write_npz(path, n=20):
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
             y_train=np.arange(n) % 10, x_test=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
             y_test=np.arange(5))
    return path


def test_shipped_sample_is_small_balanced_real_digits(sample):
    assert data_mod.SAMPLE_PATH.stat().st_size <= 2_000_000
    assert sample.source == "sample"
    assert np.bincount(sample.y_train).tolist() == [400] * 10
    assert np.bincount(sample.y_test).tolist() == [100] * 10
    assert sample.x_train.dtype == np.float32 and sample.x_train.max() == 1.0
    # Real MNIST: mostly black background, mean ink ≈ 0.13.
    assert 0.10 < sample.x_test.mean() < 0.16


def test_explicit_path_comes_first_and_reports_itself(tmp_path, monkeypatch):
    monkeypatch.setattr(data_mod, "_load_keras", lambda: pytest.fail("must not download"))
    d = load_mnist(write_npz(tmp_path / "m.npz"))
    assert d.source == "file" and d.x_train.shape == (20, 28, 28) and d.x_test.shape == (5, 28, 28)
    assert "20 training and 5 test digits" in d.description
    assert d.x_train.dtype == np.float32 and d.x_train.min() >= 0 and d.x_train.max() <= 1


def test_environment_variable_names_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DENOISER_MNIST", str(write_npz(tmp_path / "env.npz", n=30)))
    assert len(load_mnist().x_train) == 30


def test_unreadable_path_is_an_error_not_a_silent_fallback(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"junk")
    with pytest.raises(ValueError, match="cannot read MNIST"):
        load_mnist(bad)
    np.savez(tmp_path / "wrong.npz", images=np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="layout"):
        load_mnist(tmp_path / "wrong.npz")


@pytest.fixture
def no_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(data_mod, "keras_cache_paths", lambda: [tmp_path / "none" / "mnist.npz"])


def test_keras_download_is_tried_before_the_sample(monkeypatch, no_keras_cache):
    monkeypatch.delenv("DENOISER_MNIST", raising=False)
    calls = []

    def fake_keras():
        calls.append(1)
        raise OSError("no network")

    monkeypatch.setattr(data_mod, "_load_keras", fake_keras)
    d = load_mnist(allow_download=True)
    assert calls == [1] and d.source == "sample"
    assert "offline sample" in d.description

    keras_digits = data_mod.load_sample()
    monkeypatch.setattr(data_mod, "_load_keras", lambda: keras_digits)
    assert load_mnist(allow_download=True) is keras_digits


def test_keras_cache_is_read_without_downloading_or_importing_keras(tmp_path, monkeypatch):
    monkeypatch.delenv("DENOISER_MNIST", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    (tmp_path / "datasets").mkdir()
    write_npz(tmp_path / "datasets" / "mnist.npz", n=40)
    monkeypatch.setattr(data_mod, "_load_keras", lambda: pytest.fail("must not download"))
    d = load_mnist(allow_download=False)
    assert d.source == "keras" and len(d.x_train) == 40
    assert "Keras' MNIST download" in d.description


def fill_cache_with_forty_digits() -> None:
    """Stands in for Keras' download in the fresh process (spawned: importable by name)."""
    import os

    path = data_mod.keras_cache_paths()[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_npz(path, n=40)
    (path.parent / "writer.pid").write_text(str(os.getpid()))


def hang() -> None:
    import time

    time.sleep(60)


@pytest.mark.slow
def test_the_download_runs_in_a_fresh_process_and_is_read_from_keras_cache(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # the child inherits it
    digits = data_mod._load_keras(fill=fill_cache_with_forty_digits, timeout=120)
    assert digits.source == "keras" and len(digits.x_train) == 40
    assert int((tmp_path / "datasets" / "writer.pid").read_text()) != os.getpid()  # written elsewhere


@pytest.mark.slow
def test_a_download_that_hangs_is_stopped_and_the_sample_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("DENOISER_MNIST", raising=False)
    monkeypatch.setattr(data_mod, "keras_cache_paths", lambda: [tmp_path / "none" / "mnist.npz"])
    with pytest.raises(OSError, match="TimeoutError"):
        data_mod._load_keras(fill=hang, timeout=3)


@pytest.mark.slow
def test_a_failed_download_never_imports_tensorflow_here(tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    code = ("import sys\n"
            "from denoiser import load_mnist\n"
            "d = load_mnist(allow_download=True)\n"  # offline here: the child's download fails
            "print(d.source, 'tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DENOISER_MNIST", "DENOISER_OFFLINE")}
    env.update(KERAS_HOME=str(tmp_path), HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                            text=True, timeout=400)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["sample", "False", "False"]


def test_offline_flag_skips_the_download(monkeypatch, no_keras_cache):
    monkeypatch.delenv("DENOISER_MNIST", raising=False)
    monkeypatch.setenv("DENOISER_OFFLINE", "1")
    monkeypatch.setattr(data_mod, "_load_keras", lambda: pytest.fail("must not download"))
    assert load_mnist().source == "sample"


@pytest.mark.skipif(not SHARED_MNIST.exists(), reason="full MNIST (../shared/data/mnist.npz) absent")
def test_full_mnist_loads_and_the_sample_is_drawn_from_its_test_split(sample):
    full = load_mnist(SHARED_MNIST)
    assert full.x_train.shape == (60000, 28, 28) and full.x_test.shape == (10000, 28, 28)
    with np.load(data_mod.SAMPLE_PATH) as raw:
        idx = raw["test_index_test"]
    np.testing.assert_array_equal(full.x_test[idx], sample.x_test)
    np.testing.assert_array_equal(full.y_test[idx], sample.y_test)


def test_sampling_by_class_is_reproducible_and_bounded(sample):
    images, labels = sample.sample(16, digit=3, seed=5)
    assert images.shape == (16, 28, 28) and set(labels.tolist()) == {3}
    again, _ = sample.sample(16, digit=3, seed=5)
    np.testing.assert_array_equal(images, again)  # a shared link shows the sender's digits
    other, _ = sample.sample(16, digit=3, seed=6)
    assert not np.array_equal(images, other)
    assert len(sample.sample(1000, digit=3)[1]) == int((sample.y_test == 3).sum())  # all of a class
    with pytest.raises(ValueError, match="digit must be 0-9"):
        sample.sample(3, digit=12)
