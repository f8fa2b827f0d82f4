import os
import shutil
import time

os.environ.setdefault("DENOISER_OFFLINE", "1")  # never wait on a download in tests
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Trainings at the server's own priority: at idle priority they would never run while other work
# keeps both cores busy (scripts/ci_busy.sh). tests/test_jobs.py checks the low priority itself.
os.environ.setdefault("DENOISER_TRAINING_PRIORITY", "normal")
# The models as shipped (float32, equal to Keras), whatever the shell running the tests sets;
# tests/test_quantize.py sets the 8-bit setting where it tests it.
os.environ.pop("DENOISER_PRECISION", None)
# No training process started ahead of need (each would import TensorFlow, seconds of CPU, beside
# the test that opened the Train page); tests/test_jobs.py turns it on where it tests it.
os.environ.setdefault("DENOISER_SPARE_TRAINER", "0")

import numpy as np
import pytest

from harness import SHARED_MNIST  # noqa: E402, F401 - the one path to the workplace's full MNIST

#: Modules whose every test drives Chromium, or real redis-server, workers and HAProxy, or a
#: served app: marked ``browser`` or ``cluster``, and ``slow`` (the quick loop leaves them out).
BROWSER_MODULES = {"test_browser.py"}
CLUSTER_MODULES = {"test_cluster.py", "test_remote.py", "test_class_load.py"}
#: Modules whose every test runs the whole app in-process (Streamlit's AppTest) or trains a
#: model: marked ``slow`` (seconds each; the quick loop leaves them out).
SLOW_MODULES = {"test_app.py", "test_class_digits.py", "test_faults.py", "test_body.py", "test_training.py",
                "test_primed.py"}


def pytest_collection_modifyitems(items):
    for item in items:
        module = item.path.name
        if module in BROWSER_MODULES or "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
        if module in CLUSTER_MODULES:
            item.add_marker(pytest.mark.cluster)
            item.add_marker(pytest.mark.slow)
        if module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def main_module_kept():
    """Streamlit's AppTest runs a page as ``__main__`` and leaves it there: a process spawned later
    in the run (a test's process pool) would run the whole app again, with no session, before its
    own work (``denoiser.fresh.script_free_main`` keeps the app's own processes from it). It
    once left a publishing test's pool broken in CI. Each test ends with the real one back."""
    import sys

    main = sys.modules.get("__main__")
    yield
    if main is not None:
        sys.modules["__main__"] = main


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, one per test module (marks its tests ``browser``)."""
    from playwright.sync_api import sync_playwright

    from harness.server import CHROME_ARGS, CHROMIUM

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def sample():
    from denoiser.digits.mnist import load_sample

    return load_sample()


@pytest.fixture(scope="session")
def digits(sample):
    """400 real test digits from the shipped sample."""
    return sample.x_train[:400]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, digits):
    """A model directory holding two small trained models (dense and conv), each with its ONNX export."""
    from denoiser.models.build import ModelConfig
    from denoiser.models.files import register, save_model
    from denoiser.models.onnx_export import save_onnx
    from denoiser.training.fit import train

    directory = tmp_path_factory.mktemp("models")
    for name, cfg in {"tiny-dense": ModelConfig("dense", code_size=32),
                      "tiny-conv": ModelConfig("conv", filters=8)}.items():
        result = train(cfg, digits, epochs=2, batch_size=64, validation_split=0.1)
        sha = save_model(result.model, directory / f"{name}.keras")
        register(name, {"file": f"{name}.keras", "description": f"test {name}",
                        "config": cfg.to_dict(), "sha256": sha,
                        **save_onnx(result.model, directory / f"{name}.keras")}, directory)
    return directory


def blank(shape=(28, 28)):
    return np.zeros(shape, np.float32)


def means(at) -> dict[str, list]:
    """The app's table of mean PSNR/SSIM (a Markdown table) as columns: {"row": [...], ...}."""
    for element in at.markdown:
        lines = element.value.splitlines()
        if lines and lines[0].startswith("| row |"):
            header = [c.strip() for c in lines[0].strip("|").split("|")]
            rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
            return {name: [r[i] if i == 0 else float(r[i]) for r in rows]
                    for i, name in enumerate(header)}
    raise AssertionError("no table of means on the page")


@pytest.fixture
def models_copy(tiny_model_dir, tmp_path):
    """A copy of the tiny models' directory, free to damage."""
    work = tmp_path / "models"
    shutil.copytree(tiny_model_dir, work)
    return work


def odd_layer_model(layer: str):
    """A small dense denoiser with one layer the numpy path does not evaluate as a kernel."""
    import keras

    extra = {"Dropout": lambda: keras.layers.Dropout(0.2),
             "Activation": lambda: keras.layers.Activation("relu"),
             "LeakyReLU": lambda: keras.layers.LeakyReLU(0.1),
             "Lambda": lambda: keras.layers.Lambda(lambda t: t * 1.0)}[layer]
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(28, 28), name="noisy")
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(32)(x)
    x = extra()(x)
    x = keras.layers.Dense(784, activation="sigmoid")(x)
    return keras.Model(inputs, keras.layers.Reshape((28, 28))(x))


def sabotage(epoch: int, batch: int = 1):
    """A Keras callback that ruins the weights (NaN) after ``batch`` of ``epoch`` (1-based):
    the next batch's loss is NaN, as a diverging run's would be."""
    import keras

    class Sabotage(keras.callbacks.Callback):
        def on_epoch_begin(self, e, logs=None):
            self.epoch = e + 1

        def on_train_batch_end(self, b, logs=None):
            if self.epoch == epoch and b + 1 == batch:
                self.model.set_weights([w * np.nan for w in self.model.get_weights()])

    return Sabotage()


def weight_recorder():
    """A Keras callback that keeps a copy of the weights at the end of every epoch (``.weights[k]``:
    after epoch k; ``.weights[0]``: at the start)."""
    import keras

    class Recorder(keras.callbacks.Callback):
        weights: dict[int, list] = {}

        def on_train_begin(self, logs=None):
            self.weights[0] = [w.copy() for w in self.model.get_weights()]

        def on_epoch_end(self, e, logs=None):
            self.weights[e + 1] = [w.copy() for w in self.model.get_weights()]

    recorder = Recorder()
    recorder.weights = {}
    return recorder


def training_begun(j, timeout: float = 180):
    """Wait until ``j`` has trained its first batch (it reports progress)."""
    deadline = time.time() + timeout
    while j.progress is None and j.running and time.time() < deadline:
        time.sleep(0.05)
    assert j.progress is not None, j.status
    return j


class Touches:
    """Unpickling this creates a file: proof that a pickle ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))
