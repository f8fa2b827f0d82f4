"""Model files: atomic saving, a checksummed manifest, and safe loading into :class:`Denoiser`.

Importing this module does not import TensorFlow: a model opened with
``load_pretrained(..., lazy=True)`` denoises small batches with numpy
(:mod:`denoiser.inference`) and loads its Keras model only when needed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .arrays import as_digits
from .config import ModelConfig
from .inference import NumpyModel, numpy_model_or_none

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

#: Where the shipped models and their manifest live.
PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"
MANIFEST = "manifest.json"
#: Environment variable naming another model directory (read at each call).
MODELS_VAR = "DENOISER_MODELS"


def model_dir(directory: str | Path | None = None) -> Path:
    """The model directory: ``directory``, else ``$DENOISER_MODELS``, else the shipped ``pretrained/``."""
    return Path(directory or os.environ.get(MODELS_VAR) or PRETRAINED_DIR)


class ModelFileError(ValueError):
    """A model file is missing, damaged, tampered with, or unsafe to load."""


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_write(path: Path, write) -> None:
    """Write via ``write(tmp_path)`` to a temporary file beside ``path``, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def save_model(model: keras.Model, path: str | Path) -> str:
    """Save a model as ``.keras`` atomically; return the file's SHA-256.

    A process killed mid-save leaves at most a hidden temporary file, never a
    half-written model under ``path``.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model files end in .keras, got {path.name!r}")
    _atomic_write(path, lambda tmp: model.save(tmp))
    return sha256_of(path)


def model_to_bytes(model: keras.Model) -> bytes:
    """A model as the bytes of its ``.keras`` file (e.g. to send it between processes)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        save_model(model, path)
        return path.read_bytes()


def load_model_bytes(data: bytes) -> keras.Model:
    """A model from the bytes of a ``.keras`` file, loaded like :func:`load_model_file`."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(data)
        return load_model_file(path)


def save_bytes(data: bytes, path: str | Path) -> None:
    """Write bytes to ``path`` atomically."""
    _atomic_write(Path(path), lambda tmp: tmp.write_bytes(data))


def read_manifest(directory: str | Path | None = None) -> dict:
    """The manifest of a model directory: ``{"default": name, "models": {name: entry}}``."""
    path = model_dir(directory) / MANIFEST
    if not path.exists():
        return {"default": None, "models": {}}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        log.warning("cannot read %s: %s", path, err)
        raise ModelFileError(f"cannot read the model list {path.name}: it is damaged or not JSON") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), dict):
        raise ModelFileError(f"{path} is not a denoiser manifest")
    return manifest


_manifest_lock = threading.Lock()


def register(name: str, entry: dict, directory: str | Path | None = None,
             default: bool = False) -> None:
    """Add or replace one model's manifest entry (written atomically)."""
    with _manifest_lock:
        manifest = read_manifest(directory)
        manifest["models"][name] = entry
        if default or not manifest.get("default"):
            manifest["default"] = name
        text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
        save_bytes(text.encode(), model_dir(directory) / MANIFEST)


class Denoiser:
    """A trained denoiser: ``denoise(images)`` maps noisy digits in [0, 1] to clean ones.

    Parameters
    ----------
    model : keras.Model, optional
        The Keras model; or give ``loader`` to load it on first use.
    name, description : str
    config : ModelConfig
    info : dict
        The model's manifest entry.
    batch_size : int
        Digits per Keras call on large batches.
    loader : callable, optional
        Returns the Keras model; called once, when first needed.
    fast : NumpyModel, optional
        The same model evaluated with numpy; used for batches up to
        ``fast_max`` digits (the app's interactive path), so those need no TensorFlow.
    """

    fast_max = 256

    def __init__(self, model: keras.Model | None = None, name: str = "model",
                 config: ModelConfig | None = None, description: str = "", info: dict | None = None,
                 batch_size: int = 2048, *, loader: Callable[[], keras.Model] | None = None,
                 fast: NumpyModel | None = None) -> None:
        if model is None and loader is None:
            raise ValueError("Denoiser needs a model or a loader")
        self._model, self._loader, self.fast = model, loader, fast
        self.name, self.description = name, description
        self.config = config or ModelConfig()
        self.info = info or {}
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._compiled: dict[int, object] = {}

    @property
    def model(self) -> keras.Model:
        """The Keras model (loaded on first use when opened lazily)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._loader()
        return self._model

    @functools.cached_property
    def encoder(self) -> keras.Model | None:
        """Image → code half of a bottleneck model (None for models without a code)."""
        from .models import encoder_of

        return encoder_of(self.model)

    @functools.cached_property
    def decoder(self) -> keras.Model | None:
        """Code → image half of a bottleneck model (None for models without a code)."""
        from .models import decoder_of

        return decoder_of(self.model)

    @property
    def has_code(self) -> bool:
        if self._model is None and self.fast is not None:
            return "code" in self.fast.layer_names
        return self.encoder is not None

    def denoise(self, images: np.ndarray) -> np.ndarray:
        """Denoise one digit (28, 28) or a batch (N, 28, 28); returns float32 of the same shape in [0, 1]."""
        x = as_digits(images)
        single = x.ndim == 2
        batch = x[None] if single else x
        if self.fast is not None and len(batch) <= self.fast_max:
            out = self.fast(batch)
        else:
            out = self._run(self.model, batch)
        out = np.clip(out.reshape(batch.shape), 0.0, 1.0)
        return out[0] if single else out

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Codes of digits (N, 28, 28) as (N, D); ValueError for models without a bottleneck."""
        if not self.has_code or self.encoder is None:
            raise ValueError(f"model {self.name!r} ({self.config.architecture}) has no bottleneck code")
        x = as_digits(images)
        batch = x[None] if x.ndim == 2 else x
        return self._run(self.encoder, batch).reshape(len(batch), -1)

    def _run(self, model: keras.Model, batch: np.ndarray) -> np.ndarray:
        call = self._compiled.get(id(model))
        if call is None:
            call = _compiled_call(model)
            self._compiled[id(model)] = call
        if len(batch) <= self.batch_size:
            return call(batch)
        return np.concatenate([call(batch[i : i + self.batch_size])
                               for i in range(0, len(batch), self.batch_size)])


def _compiled_call(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """``model``'s forward pass as a numpy function.

    On TensorFlow, one ``tf.function`` with an open batch dimension, traced once for every
    batch size; on Keras's other backends (JAX, PyTorch), ``predict_on_batch``.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return model.predict_on_batch
    import tensorflow as tf

    spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
    graph = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    return lambda x: graph(x).numpy()


def _check_file(path: Path, expected_sha256: str | None) -> None:
    if not path.is_file():
        raise ModelFileError(f"model file {path.name} is missing")
    if expected_sha256 is not None:
        actual = sha256_of(path)
        if actual != expected_sha256:
            raise ModelFileError(
                f"model file {path.name} does not match its manifest checksum "
                f"(expected {expected_sha256[:12]}…, got {actual[:12]}…): it was changed or damaged"
            )


def load_model_file(path: str | Path, expected_sha256: str | None = None) -> keras.Model:
    """Load a ``.keras`` file with ``safe_mode=True``, checking its SHA-256 if given."""
    import keras

    path = Path(path)
    _check_file(path, expected_sha256)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # noqa: BLE001 - any failure here means the file is unusable
        log.warning("cannot load model file %s: %s: %s", path, type(err).__name__, err)
        raise ModelFileError(f"cannot load model file {path.name}: it is not a Keras model this app can "
                             "read, or it holds code, which safe loading refuses") from None


def list_pretrained(directory: str | Path | None = None) -> list[str]:
    """Names of the models in the manifest, the default first."""
    manifest = read_manifest(directory)
    names = list(manifest["models"])
    default = manifest.get("default")
    if default in names:
        names.remove(default)
        names.insert(0, default)
    return names


def load_pretrained(name: str | None = None, directory: str | Path | None = None,
                    lazy: bool = False) -> Denoiser:
    """Load a shipped model by name (None = the default), verifying its checksum.

    With ``lazy=True`` the file is checked and read with numpy only; the Keras
    model (and TensorFlow) is loaded when first needed — large batches, codes.

    Raises
    ------
    ModelFileError
        If the name is unknown or the file is missing, changed or unsafe.
    """
    directory = model_dir(directory)
    manifest = read_manifest(directory)
    name = name or manifest.get("default")
    models = manifest["models"]
    if not models:
        raise ModelFileError(f"no models in {directory} (its {MANIFEST} is missing or empty)")
    if name not in models:
        known = ", ".join(models) or "none"
        raise ModelFileError(f"no model named {name!r}; available: {known}")
    entry = models[name]
    if not (isinstance(entry, dict) and isinstance(entry.get("file"), str)
            and isinstance(entry.get("config"), dict)):
        raise ModelFileError(f"the {MANIFEST} entry of {name!r} needs a file name and a config")
    try:
        config = ModelConfig.from_dict(entry["config"])
    except (TypeError, ValueError) as err:
        raise ModelFileError(f"the {MANIFEST} entry of {name!r} has an invalid config: {err}") from None
    path, sha = directory / entry["file"], entry.get("sha256")
    meta = {"name": name, "config": config, "description": entry.get("description", ""), "info": entry}
    if lazy:
        _check_file(path, sha)
        try:
            fast = numpy_model_or_none(path)  # None: a layer numpy cannot run, Keras does it all
        except ValueError as err:
            log.warning("cannot read model file %s: %s", path, err)
            raise ModelFileError(f"cannot load model file {path.name}: it is not a readable .keras "
                                 "file") from None
        if fast is not None:
            return Denoiser(loader=lambda: load_model_file(path, sha), fast=fast, **meta)
    return Denoiser(load_model_file(path, sha), **meta)
