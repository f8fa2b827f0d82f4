"""Model files and their manifest: atomic saving, checksums, and safe loading of ``.keras`` files.

Importing this module does not import TensorFlow; Keras loads only inside the functions that
read or write a Keras model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

#: Where the shipped models and their manifest live.
PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "pretrained"
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


_manifest_lock = threading.RLock()
_held = threading.local()  # the directories whose lock this thread holds (so it nests)


@contextlib.contextmanager
def manifest_lock(directory: str | Path | None = None):
    """Hold a model directory's lock: one writer at a time, across threads, processes and (on a
    shared folder whose file system supports ``flock``, e.g. NFSv4) replicas on other machines.

    Nested use in the same thread is fine. Where ``fcntl`` does not exist (Windows), only the
    threads of this process are kept apart.
    """
    folder = model_dir(directory)
    folder.mkdir(parents=True, exist_ok=True)
    key = str(folder.resolve())
    held = _held.__dict__.setdefault("dirs", set())
    if key in held:
        yield
        return
    with _manifest_lock, open(folder / ".manifest.lock", "a+b") as fh:
        try:
            import fcntl
        except ImportError:  # Windows: this process's threads only
            fcntl = None
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # released when the file closes
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)


def _write_manifest(manifest: dict, directory: str | Path | None) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=False) + "\n"
    save_bytes(text.encode(), model_dir(directory) / MANIFEST)


def register(name: str, entry: dict, directory: str | Path | None = None,
             default: bool = False) -> None:
    """Add or replace one model's manifest entry (written atomically, under :func:`manifest_lock`)."""
    with manifest_lock(directory):
        manifest = read_manifest(directory)
        manifest["models"][name] = entry
        if default or not manifest.get("default"):
            manifest["default"] = name
        _write_manifest(manifest, directory)


def unregister(name: str, directory: str | Path | None = None) -> dict | None:
    """Remove one model's manifest entry (written atomically, under :func:`manifest_lock`); return it,
    or None if absent."""
    with manifest_lock(directory):
        manifest = read_manifest(directory)
        entry = manifest["models"].pop(name, None)
        if entry is not None:
            if manifest.get("default") == name:
                manifest["default"] = next(iter(manifest["models"]), None)
            _write_manifest(manifest, directory)
        return entry


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
