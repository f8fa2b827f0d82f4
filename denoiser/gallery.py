"""The class gallery: models a teacher publishes on this server, for every session to use.

A gallery is a model directory like ``pretrained/`` (``.keras`` + ``.onnx`` files and a
manifest), so its models load with :func:`denoiser.pretrained.load_pretrained` and are checked
the same way. Publishing needs the teacher code (the app reads it from its secrets); without a
code set, nobody can publish and every session sees only the shipped models and its own runs.
The name a teacher types is only a manifest key, checked; files are named by their checksum.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

from .modelfiles import ModelFileError, read_manifest, register, save_bytes, unregister

#: Environment variable naming the gallery's directory.
GALLERY_VAR = "DENOISER_GALLERY"
#: Models a gallery holds at most; publishing more asks the teacher to remove one first.
MAX_MODELS = 12
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}")


def gallery_dir(directory: str | Path | None = None) -> Path:
    """``directory``, else ``$DENOISER_GALLERY``, else ``~/.local/share/denoiser/gallery``."""
    if directory or os.environ.get(GALLERY_VAR):
        return Path(directory or os.environ[GALLERY_VAR])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "denoiser" / "gallery"


class GalleryError(ValueError):
    """Publishing was refused: wrong or missing teacher code, a bad name, or a full gallery."""


def check_code(given: str | None, expected: str | None) -> None:
    """Refuse unless a teacher code is set and ``given`` equals it (compared in constant time)."""
    if not expected:
        raise GalleryError("publishing is off on this server: set teacher_code in the app's secrets")
    if not given or not hmac.compare_digest(given.encode(), str(expected).encode()):
        raise GalleryError("that is not the teacher code")


def check_name(name: str, taken: list[str] | tuple[str, ...] = ()) -> str:
    """A gallery name, stripped; refused when empty, odd or already a shipped model's name."""
    name = (name or "").strip()
    if not NAME.fullmatch(name):
        raise GalleryError("a name is 1–32 letters, digits, spaces, dots, dashes or underscores, "
                           "starting with a letter or digit")
    if name in taken:
        raise GalleryError(f"{name!r} is already a model's name here: choose another")
    return name


def gallery_names(directory: str | Path | None = None) -> list[str]:
    """The published models' names, oldest first (empty when there is no gallery yet)."""
    try:
        return list(read_manifest(gallery_dir(directory))["models"])
    except ModelFileError:
        return []


def publish(name: str, keras_bytes: bytes, onnx_bytes: bytes, *, description: str, config: dict,
            code: str | None, expected_code: str | None, taken: tuple[str, ...] = (),
            directory: str | Path | None = None, max_models: int = MAX_MODELS) -> str:
    """Add a model to the gallery (files written atomically, then its manifest entry).

    Publishing again under a published name replaces that model. Returns the checked name.

    Raises
    ------
    GalleryError
        Wrong code, no code set, a bad or taken name, or a full gallery.
    """
    check_code(code, expected_code)
    name = check_name(name, taken)
    folder = gallery_dir(directory)
    published = gallery_names(folder)
    if name not in published and len(published) >= max_models:
        raise GalleryError(f"the gallery holds {max_models} models, its most: remove one first")
    digest = hashlib.sha256(keras_bytes).hexdigest()
    stem = f"m-{digest[:16]}"
    save_bytes(keras_bytes, folder / f"{stem}.keras")
    save_bytes(onnx_bytes, folder / f"{stem}.onnx")
    register(name, {"file": f"{stem}.keras", "sha256": digest, "onnx": f"{stem}.onnx",
                    "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
                    "description": f"class gallery: {description}"[:300], "config": config}, folder)
    return name


def unpublish(name: str, *, code: str | None, expected_code: str | None,
              directory: str | Path | None = None) -> None:
    """Remove a model from the gallery (its files stay only if another entry uses them)."""
    check_code(code, expected_code)
    folder = gallery_dir(directory)
    entry = unregister(name, folder)
    if entry is None:
        raise GalleryError(f"no model named {name[:40]!r} in the gallery")
    still = {e.get("file") for e in read_manifest(folder)["models"].values()}
    if entry.get("file") not in still:
        for file in (entry.get("file"), entry.get("onnx")):
            if isinstance(file, str) and Path(file).name == file:
                (folder / file).unlink(missing_ok=True)
