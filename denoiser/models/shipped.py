"""The shipped models (or another model directory's): list them, and load one as a :class:`Denoiser`.

Importing this module does not import TensorFlow: a model opened with
``load_pretrained(..., lazy=True)`` denoises and encodes on ONNX Runtime
(:mod:`denoiser.models.onnx_session`, from the ``.onnx`` file the manifest names beside the ``.keras``)
and loads its Keras model only when needed.
"""

from __future__ import annotations

from pathlib import Path

from denoiser.models import quantize
from denoiser.models.config import ModelConfig
from denoiser.models.files import (
    MANIFEST,
    ModelFileError,
    _check_file,
    load_model_file,
    log,
    model_dir,
    read_manifest,
)
from denoiser.models.onnx_session import OnnxModel, UnsupportedModel
from denoiser.models.runtime import Denoiser

__all__ = ["Denoiser", "ModelFileError", "list_pretrained", "load_pretrained"]

#: Said after a model's description when it runs its 8-bit copy.
INT8_NOTE = "(Running in 8-bit integers on this server: faster, and a few hundredths of a dB below.)"


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
                    lazy: bool = False, precision: str | None = None) -> Denoiser:
    """Load a shipped model by name (None = the default), verifying its checksum.

    When the manifest names an ONNX export (``"onnx"`` and ``"onnx_sha256"``), denoising and
    encoding run on ONNX Runtime. With ``lazy=True`` the Keras model (and TensorFlow) is loaded
    only when first needed (the latent decoder, or a model without an export). With
    ``precision="int8"`` (default: ``$DENOISER_PRECISION``, else float32) a model whose manifest
    names an 8-bit copy (``"int8"``, :mod:`denoiser.models.quantize`) runs that copy instead; the others
    run as exported.

    Raises
    ------
    ModelFileError
        If the name is unknown or the file is missing, changed or unsafe.
    ValueError
        An unknown precision.
    """
    precision = quantize.checked_precision(precision) if precision else quantize.precision()
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
    onnx = _int8_copy(directory, name, entry) if precision == "int8" else None
    if onnx is not None:
        meta["description"] = (meta["description"] + " " if meta["description"] else "") + INT8_NOTE
    else:
        onnx = _onnx_of(directory, name, entry)
    if lazy and onnx is not None:
        _check_file(path, sha)
        return Denoiser(loader=lambda: load_model_file(path, sha), onnx=onnx, keras_source=str(path), **meta)
    return Denoiser(load_model_file(path, sha), onnx=onnx, **meta)


def _int8_copy(directory: Path, name: str, entry: dict) -> OnnxModel | None:
    """The model's 8-bit copy, if its manifest entry names one beside its export and it is sound;
    else None (logged when named but unusable: the model then runs as exported)."""
    if "int8" not in entry or "onnx" not in entry:
        return None
    try:
        return _onnx_of(directory, name, entry, "int8")
    except ModelFileError as err:
        log.warning("%s runs as exported, not in 8 bits: %s", name, err)
        return None


def _onnx_of(directory: Path, name: str, entry: dict, field: str = "onnx") -> OnnxModel | None:
    """The model's ONNX file named in its manifest entry's ``field`` (``onnx``, or ``int8`` for
    its 8-bit copy), checked; None if it names none."""
    file = entry.get(field)
    if file is None:
        return None
    if not isinstance(file, str) or not file.endswith(".onnx") or Path(file).name != file:
        raise ModelFileError(f"the {MANIFEST} entry of {name!r} names an invalid ONNX file")
    path = directory / file
    _check_file(path, entry.get(f"{field}_sha256"))
    try:
        return OnnxModel(path)
    except UnsupportedModel as err:
        log.warning("cannot run %s: %s", path, err)
        raise ModelFileError(f"cannot load model file {path.name}: it is not an ONNX denoiser "
                             "this app can run") from None
