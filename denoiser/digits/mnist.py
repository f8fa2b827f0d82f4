"""Loading MNIST digits: a local file, Keras' download, or the offline sample shipped here."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from denoiser.digits.arrays import from_levels
from denoiser.fresh import call_in_fresh_process

#: Real MNIST test digits shipped with the package, balanced over the ten classes.
SAMPLE_PATH = Path(__file__).parents[1] / "assets" / "mnist_sample.npz"
#: Environment variable naming a Keras-layout ``mnist.npz`` to load.
ENV_VAR = "DENOISER_MNIST"
#: Set this environment variable to skip Keras' download attempt (offline machines).
OFFLINE_VAR = "DENOISER_OFFLINE"
#: Seconds the download may take (a fresh interpreter importing TensorFlow, then 11 MB).
DOWNLOAD_SECONDS = 300.0

MNIST_CREDIT = (
    "MNIST by Yann LeCun and Corinna Cortes, licensed CC BY-SA 3.0 "
    "(http://yann.lecun.com/exdb/mnist/)"
)


@dataclass(frozen=True)
class Digits:
    """MNIST digits as float32 in [0, 1], shape (N, 28, 28), with integer labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # "file", "keras", "sample", or "other" (digits that are not MNIST's)
    location: str  # a path or URL; for "other", what the digits are, in words

    @property
    def description(self) -> str:
        if self.source == "other":
            n = len(self.x_test)
            return f"{self.location}: {n:,} digit" + ("" if n == 1 else "s")
        where = {"file": f"the file {self.location}",
                 "keras": "Keras' MNIST download",
                 "sample": "the offline sample shipped with denoiser"}[self.source]
        return (f"MNIST from {where}: {len(self.x_train):,} training and "
                f"{len(self.x_test):,} test digits")

    def sample(self, count: int, digit: int | None = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``count`` different test digits (fewer if there are fewer), of one class or any.

        The same ``seed`` gives the same digits: a shared link shows what its sender saw.

        Returns
        -------
        (images (n, 28, 28), labels (n,))

        Examples
        --------
        >>> images, labels = load_sample().sample(3, digit=7, seed=1)
        >>> images.shape, set(labels.tolist())
        ((3, 28, 28), {7})
        """
        if int(count) < 0:
            raise ValueError(f"count must be 0 or more, got {count!r}")
        if digit is not None and digit not in range(10):
            raise ValueError(f"digit must be 0-9 or None (any), got {digit!r}")
        pool = np.arange(len(self.y_test)) if digit is None else np.flatnonzero(self.y_test == digit)
        idx = np.random.default_rng(seed).choice(pool, size=min(int(count), len(pool)), replace=False)
        return self.x_test[idx], self.y_test[idx]


def _to_float(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"MNIST images must have shape (N, 28, 28), got {images.shape}")
    return from_levels(images)


def _from_arrays(arrays, source: str, location: str) -> Digits:
    try:
        parts = [arrays[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    except KeyError as err:
        raise ValueError(f"{location} is not in the Keras mnist.npz layout: missing {err}") from None
    x_train, y_train, x_test, y_test = parts
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(f"{location}: images and labels differ in number")
    return Digits(_to_float(x_train), np.asarray(y_train, np.int64), _to_float(x_test),
                  np.asarray(y_test, np.int64), source, location)


def other_digits(x: np.ndarray, y: np.ndarray, what: str) -> Digits:
    """Digits that are not MNIST's — (N, 28, 28) pixels and their labels — as test digits in
    [0, 1] to sample, denoise and measure like MNIST's; ``what`` says what they are (no
    training split)."""
    return Digits(np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64), _to_float(x),
                  np.asarray(y, np.int64), "other", what)


def load_npz(path: str | Path, source: str = "file") -> Digits:
    """Load digits from a ``.npz`` in Keras' ``mnist.npz`` layout."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return _from_arrays(arrays, source, str(path))
    except (OSError, ValueError, EOFError) as err:
        if isinstance(err, ValueError) and str(path) in str(err):
            raise
        raise ValueError(f"cannot read MNIST from {path}: {err}") from None


def load_sample() -> Digits:
    """The offline sample: real MNIST test digits shipped in the package."""
    return load_npz(SAMPLE_PATH, source="sample")


def keras_cache_paths() -> list[Path]:
    """Where ``keras.datasets.mnist.load_data()`` keeps its download (``$KERAS_HOME`` or ``~/.keras``)."""
    homes = [Path(os.environ["KERAS_HOME"])] if os.environ.get("KERAS_HOME") else [Path.home() / ".keras"]
    homes.append(Path("/tmp/.keras"))  # Keras' fall-back when the home directory is read-only
    return [home / "datasets" / "mnist.npz" for home in homes]


def _load_keras_cache() -> Digits | None:
    """Keras' earlier MNIST download, read directly (no TensorFlow import); None if absent or unreadable."""
    for path in keras_cache_paths():
        if path.is_file():
            try:
                digits = load_npz(path, source="keras")
            except ValueError:
                continue
            return Digits(digits.x_train, digits.y_train, digits.x_test, digits.y_test, "keras",
                          "keras.datasets.mnist")
    return None


def fill_keras_cache() -> None:
    """``keras.datasets.mnist.load_data()``: downloads MNIST into Keras' cache when online."""
    import socket

    from keras.datasets import mnist

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)  # offline machines should fail fast, not hang
    try:
        mnist.load_data()
    finally:
        socket.setdefaulttimeout(old)


def _load_keras(fill: Callable[[], None] = fill_keras_cache, timeout: float = DOWNLOAD_SECONDS) -> Digits:
    """Keras' MNIST, fetched by ``fill`` in a fresh process and read here from Keras' cache.

    The caller never imports TensorFlow (a Streamlit server that has it pays on every update:
    :mod:`denoiser.fresh`). Raises OSError when the download leaves no readable cache.
    """
    try:
        call_in_fresh_process(fill, timeout=timeout)
    except Exception as err:  # noqa: BLE001 - offline, a timeout, a broken Keras: no download
        raise OSError(f"the MNIST download failed ({type(err).__name__}: {err})") from None
    digits = _load_keras_cache()
    if digits is None:
        raise OSError("the MNIST download left no readable file in Keras' cache")
    return digits


def load_mnist(path: str | Path | None = None, allow_download: bool | None = None) -> Digits:
    """Load MNIST from the first source that works.

    Sources, in order: ``path`` (or the ``DENOISER_MNIST`` environment
    variable), a Keras-layout ``mnist.npz``; Keras' cached MNIST download, if
    an earlier ``load_data()`` left one; ``keras.datasets.mnist.load_data()``,
    which downloads and caches MNIST when online; the offline sample shipped
    with the package.

    Parameters
    ----------
    path : str or Path, optional
        A Keras-layout ``mnist.npz``. A path that cannot be read is an error,
        not a silent fall-back.
    allow_download : bool, optional
        Try Keras' download; by default yes unless ``DENOISER_OFFLINE`` is set.
        ``False`` also keeps TensorFlow from being imported (fast start-up).

    Returns
    -------
    Digits
        Images, labels, and which source was used (``.source``, ``.description``).
    """
    path = path or os.environ.get(ENV_VAR) or None
    if path:
        return load_npz(path)
    cached = _load_keras_cache()
    if cached is not None:
        return cached
    if allow_download is None:
        allow_download = not os.environ.get(OFFLINE_VAR)
    if allow_download:
        try:
            return _load_keras()
        except Exception:  # no network, a broken cache, …: fall through to the sample
            pass
    return load_sample()
