"""A ``.keras`` file a person uploads: checked like a shipped model, run like one, TensorFlow-free.

:func:`check_keras_bytes` reads the file's layer list without running anything (a ``.keras``
file is a zip holding ``config.json``) and refuses, in plain words, a file that is too large,
not a Keras model, or holds a ``Lambda`` (Python code) or a layer this app does not know.
:func:`open_upload` then loads it with Keras' safe mode and exports it to ONNX in a child
process (the export checks the ONNX outputs against Keras, as for a shipped model), so the
server itself never imports TensorFlow; the result is a :class:`~denoiser.runtime.Denoiser`.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

from .config import ModelConfig
from .fresh import call_in_fresh_process
from .inference import OnnxModel, UnsupportedModel
from .modelfiles import ModelFileError, load_model_bytes
from .runtime import Denoiser

#: The largest model file accepted (the shipped ones are at most ~16 MB).
MAX_MODEL_BYTES = 64 * 2**20
#: Seconds the checking process may take (a fresh interpreter importing TensorFlow, load, export).
CHECK_SECONDS = 180
#: Layer modules a model may use: Keras' own (``keras.layers``, ``keras.src…``) and this package's.
KNOWN_MODULES = ("keras",)
KNOWN_REGISTERED = ("denoiser>",)


@dataclass(frozen=True)
class UploadedModel:
    """What the checking process found: the file's ONNX export and what it is."""

    sha256: str
    onnx: bytes
    architecture: str
    parameters: int
    has_code: bool


def _classes(node, found: list[tuple[str, str, str]]) -> None:
    """Every (module, class name, registered name) in a Keras config, depth first."""
    if isinstance(node, dict):
        name = node.get("class_name")
        if isinstance(name, str) and not (name.startswith("__") and name.endswith("__")):  # not a marker
            found.append((str(node.get("module") or ""), node["class_name"],
                          str(node.get("registered_name") or "")))
        for value in node.values():
            _classes(value, found)
    elif isinstance(node, list):
        for value in node:
            _classes(value, found)


def check_keras_bytes(data: bytes) -> list[str]:
    """Check an uploaded ``.keras`` file without running any of it; return its layer class names.

    Raises
    ------
    ModelFileError
        The file is empty or too large, not a ``.keras`` file, or holds a ``Lambda`` layer or
        a class from outside Keras and this package (what safe loading could not run anyway).
    """
    if not data:
        raise ModelFileError("the file is empty")
    if len(data) > MAX_MODEL_BYTES:
        raise ModelFileError(f"the file is {len(data) / 2**20:.0f} MB; models up to "
                             f"{MAX_MODEL_BYTES // 2**20} MB are accepted")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            config = json.loads(archive.read("config.json"))
            archive.getinfo("model.weights.h5")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ModelFileError("this is not a .keras model file (Keras 3 saves one with model.save)") from None
    found: list[tuple[str, str, str]] = []
    _classes(config, found)
    if any(name == "Lambda" for _, name, _ in found):
        raise ModelFileError("the model has a Lambda layer, which is Python code: this app never runs "
                             "code from a file. Rebuild it with Keras' own layers")
    unknown = sorted({name for module, name, registered in found
                      if not module.startswith(KNOWN_MODULES)
                      and not registered.startswith(KNOWN_REGISTERED)})
    if unknown:
        raise ModelFileError(f"the model uses a layer this app does not know "
                             f"({', '.join(unknown[:3])[:80]}); only Keras' own layers can be loaded")
    return [name for _, name, _ in found]


def _architecture(classes: list[str]) -> str:
    if "Conv2D" in classes and "Concatenate" in classes:
        return "unet"
    return "conv" if "Conv2D" in classes else "dense"


def _export(data: bytes) -> tuple[bytes, int]:
    """In the checking process: load with safe mode, export to ONNX (checked against Keras)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from .export import onnx_bytes

    model = load_model_bytes(data)
    shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    if shape != (28, 28):
        raise ModelFileError(f"the model takes inputs of shape {shape}, not one 28×28 digit")
    return onnx_bytes(model), int(model.count_params())


def prepare_upload(data: bytes, timeout: float = CHECK_SECONDS) -> UploadedModel:
    """Check ``data`` (a ``.keras`` file) and export it to ONNX in a fresh process.

    Raises
    ------
    ModelFileError
        With a message to show the person who uploaded it.
    """
    classes = check_keras_bytes(data)
    try:  # in a fresh interpreter: the server stays TensorFlow-free
        onnx, parameters = call_in_fresh_process(_export, data, timeout=timeout)
    except ModelFileError:
        raise
    except TimeoutError:
        raise ModelFileError(f"checking the model took over {timeout:.0f} s") from None
    except Exception as err:  # noqa: BLE001 - a crash in the checking process: the file is unusable
        raise ModelFileError(f"the model could not be checked ({type(err).__name__})") from None
    try:
        runnable = OnnxModel(onnx)
    except UnsupportedModel:
        raise ModelFileError("the model does not map 28×28 digits to 28×28 digits") from None
    return UploadedModel(hashlib.sha256(data).hexdigest(), onnx, _architecture(classes), parameters,
                         runnable.has_code)


def open_upload(data: bytes, name: str, checked: UploadedModel | None = None) -> Denoiser:
    """The uploaded model as a :class:`Denoiser` that runs on ONNX Runtime.

    ``checked`` is :func:`prepare_upload`'s result for these bytes (computed here if None).
    """
    checked = checked or prepare_upload(data)
    config = ModelConfig(checked.architecture)
    return Denoiser(loader=lambda: load_model_bytes(data), onnx=OnnxModel(checked.onnx), name=name,
                    keras_source=data,
                    config=config, info={"sha256": checked.sha256},
                    description=f"uploaded here: a {checked.architecture} model with "
                                f"{checked.parameters:,} parameters")
