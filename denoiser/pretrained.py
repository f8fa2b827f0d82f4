"""The shipped models (or another model directory's): list them, and load one as a :class:`Denoiser`.

Importing this module does not import TensorFlow: a model opened with
``load_pretrained(..., lazy=True)`` denoises small batches with numpy
(:mod:`denoiser.inference`) and loads its Keras model only when needed.
"""

from __future__ import annotations

from pathlib import Path

from .config import ModelConfig
from .inference import numpy_model_or_none
from .modelfiles import MANIFEST, ModelFileError, _check_file, load_model_file, log, model_dir, read_manifest
from .runtime import Denoiser

__all__ = ["Denoiser", "ModelFileError", "list_pretrained", "load_pretrained"]


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
