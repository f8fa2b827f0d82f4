"""A ``.keras`` file a person uploads: checked like a shipped model, run like one, TensorFlow-free.

:func:`check_keras_bytes` reads the file's layer list without running anything and refuses, in
plain words, what this app will not load. Every dimension is bounded before anything is parsed:
the file's size, the zip's members and their unpacked sizes (from its directory, and the read of
``config.json`` itself stops at its cap, whatever the directory says), the config's nesting
depth; then every Keras object in the config is matched against an exact allow-list of
(module, class) pairs — Keras' own layers, initialisers, optimisers and schedules, and this
package's one registered loss — so a ``Lambda``, a ``TFSMLayer``, a module that only starts
with ``keras`` or a ``registered_name`` that claims this package are refused here, before a
process starts.

:func:`prepare_upload` then waits its turn (:data:`check_line`: a few checks at once, a short
line behind them, the rest told to try again), and in a child process with a memory limit loads
the file with Keras' safe mode, refuses a model whose compute or activations per digit exceed
this app's bounds, and exports it to ONNX (the export checks ONNX against Keras, as for a shipped
model). The server itself never imports TensorFlow; the result is a
:class:`~denoiser.models.runtime.Denoiser`.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from denoiser.fresh import call_in_fresh_process
from denoiser.models.config import ModelConfig
from denoiser.models.files import ModelFileError, load_model_bytes
from denoiser.models.onnx_session import OnnxModel, UnsupportedModel
from denoiser.models.runtime import Denoiser

#: The largest model file accepted (the shipped ones are at most ~34 MB).
MAX_MODEL_BYTES = 64 * 2**20
#: Unpacked sizes a ``.keras`` file's members may declare: its config, its metadata, its
#: weights, and all members together; and how many members it may hold.
MAX_CONFIG_BYTES = 2**20
MAX_METADATA_BYTES = 64 * 2**10
MAX_WEIGHTS_BYTES = 256 * 2**20
MAX_UNPACKED_BYTES = MAX_WEIGHTS_BYTES + MAX_CONFIG_BYTES + MAX_METADATA_BYTES
MAX_MEMBERS = 16
#: How deeply the config's lists and objects may nest (Keras' own configs nest about 11 deep).
MAX_DEPTH = 64
#: Multiply-adds per digit a model may cost, and values its largest layer output may hold per
#: digit (the largest shipped model, unet-gaussian, needs about half of each: see
#: ``tests/test_model_sharing.py``).
MAX_MACS_PER_DIGIT = 1_000_000_000
MAX_ACTIVATIONS_PER_DIGIT = 160_000
#: Seconds the checking process may take (a fresh interpreter importing TensorFlow, load, export).
CHECK_SECONDS = 180
#: Address space the checking process may use (TensorFlow alone reserves about 1.8 GB).
CHECK_MEMORY_BYTES = 6 * 2**30

#: The Keras objects an uploaded config may name: module -> class names, matched exactly.
ALLOWED: dict[str, frozenset[str]] = {
    "keras.layers": frozenset({
        "InputLayer", "Dense", "Flatten", "Reshape", "Permute", "Identity",
        "Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D",
        "MaxPooling2D", "AveragePooling2D", "UpSampling2D", "ZeroPadding2D", "Cropping2D",
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
        "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax", "Rescaling",
        "BatchNormalization", "LayerNormalization", "GroupNormalization",
        "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout"}),
    "keras.src.models.functional": frozenset({"Functional"}),
    "keras.src.models.sequential": frozenset({"Sequential"}),
    "keras": frozenset({"Functional", "Sequential", "DTypePolicy", "FloatDTypePolicy"}),
    "keras.initializers": frozenset({
        "Constant", "Zeros", "Ones", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
        "LecunUniform", "LecunNormal", "RandomNormal", "RandomUniform", "TruncatedNormal",
        "VarianceScaling", "Orthogonal", "Identity", "IdentityInitializer"}),
    "keras.regularizers": frozenset({"L1", "L2", "L1L2"}),
    "keras.constraints": frozenset({"MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm"}),
    "keras.optimizers": frozenset({"Adam", "AdamW", "Adadelta", "Adagrad", "Adamax", "Nadam",
                                   "RMSprop", "SGD", "Lion"}),
    "keras.optimizers.schedules": frozenset({
        "CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay",
        "PiecewiseConstantDecay", "PolynomialDecay"}),
    "keras.losses": frozenset({"MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy", "Huber"}),
    "keras.metrics": frozenset({"MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy"}),
}
#: Functions a config may name (a compiled model's loss): this package's registered loss and
#: Keras' own by their plain names.
ALLOWED_FUNCTIONS = frozenset({"denoiser>psnr_loss", "mse", "mae", "binary_crossentropy",
                               "mean_squared_error", "mean_absolute_error", "huber"})
#: Markers Keras writes in place of a class (anything else, ``__lambda__`` above all, is refused).
ALLOWED_MARKERS = frozenset({"__keras_tensor__", "__tuple__"})


@dataclass(frozen=True)
class UploadedModel:
    """What the checking process found: the file's ONNX export and what it is."""

    sha256: str
    onnx: bytes
    architecture: str
    parameters: int
    has_code: bool


class CheckLine:
    """At most ``slots`` uploads are checked at once (each check is a TensorFlow process of
    about a gigabyte); up to ``waiting`` more wait for ``patience`` seconds; the rest are told
    to try again. Every check of the server goes through :data:`check_line`."""

    def __init__(self, slots: int = 1, waiting: int = 4, patience: float = 120.0) -> None:
        self.slots, self.waiting, self.patience = slots, waiting, patience
        self._cond = threading.Condition()
        self._running = self._queued = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold one of the slots for the ``with`` block, waiting in line for it."""
        busy = ModelFileError("the server is checking other people's models right now: "
                              "try again in a minute")
        with self._cond:
            if self._running >= self.slots and self._queued >= self.waiting:
                raise busy
            self._queued += 1
            try:
                if not self._cond.wait_for(lambda: self._running < self.slots, timeout=self.patience):
                    raise busy
            finally:
                self._queued -= 1
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify()


check_line = CheckLine()

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _depth(text: bytes) -> int:
    """How deeply a JSON text's lists and objects nest, counted without parsing it."""
    brackets = np.frombuffer(_STRING.sub(b'""', text), np.uint8)
    steps = (np.isin(brackets, (ord("["), ord("{"))).astype(np.int64)
             - np.isin(brackets, (ord("]"), ord("}"))))
    return int(np.cumsum(steps).max(initial=0))


def _read_config(data: bytes) -> dict:
    """``config.json`` of a ``.keras`` file, every size bounded before it is read."""
    not_keras = ModelFileError("this is not a .keras model file (Keras 3 saves one with model.save)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            if len(members) > MAX_MEMBERS:
                raise ModelFileError(f"the file holds {len(members)} parts; a .keras model has a few")
            if "config.json" not in names or "model.weights.h5" not in names:
                raise not_keras
            caps = {"config.json": MAX_CONFIG_BYTES, "metadata.json": MAX_METADATA_BYTES,
                    "model.weights.h5": MAX_WEIGHTS_BYTES}
            for member in members:
                if member.file_size > caps.get(member.filename, MAX_METADATA_BYTES):
                    raise ModelFileError(f"a part of the file ({member.filename[:40]}) unpacks to "
                                         f"{member.file_size / 2**20:.0f} MB, more than a model of "
                                         "this app can hold")
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise ModelFileError("the file unpacks to more than a model of this app can hold")
            with archive.open("config.json") as fh:  # stops at the cap whatever the directory says
                text = fh.read(MAX_CONFIG_BYTES + 1)
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, OSError,
            EOFError, RuntimeError):
        raise not_keras from None
    if len(text) > MAX_CONFIG_BYTES:
        raise ModelFileError("the model's description (config.json) is larger than any model of this "
                             "app needs")
    if _depth(text) > MAX_DEPTH:
        raise ModelFileError(f"the model's description nests more than {MAX_DEPTH} levels deep, "
                             "which no Keras model of this app does")
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        raise not_keras from None
    if not isinstance(config, dict):
        raise not_keras
    return config


def _objects(node, found: list[dict]) -> None:
    """Every dict in a Keras config that names a class (``class_name``), depth first."""
    if isinstance(node, dict):
        if "class_name" in node:
            found.append(node)
        for value in node.values():
            _objects(value, found)
    elif isinstance(node, list):
        for value in node:
            _objects(value, found)


def _refusal(node: dict) -> str | None:
    """Why one Keras object of a config may not be loaded here (None: it may)."""
    name, module = node.get("class_name"), node.get("module")
    registered = node.get("registered_name")
    if not isinstance(name, str):
        return "the model's description is damaged (a class without a name)"
    if name in ("Lambda", "__lambda__"):
        return ("the model has a Lambda layer, which is Python code: this app never runs code from a "
                "file. Rebuild it with Keras' own layers")
    if name.startswith("__") and name.endswith("__"):
        if name in ALLOWED_MARKERS:
            return None
        return f"the model holds an object this app does not load ({name[:30]})"
    if module == "builtins" and name == "function":
        function = node.get("config")
        if registered == "function" and isinstance(function, str) and function in ALLOWED_FUNCTIONS:
            return None
        return f"the model names a function this app does not know ({str(function)[:40]})"
    if not isinstance(module, str) or name not in ALLOWED.get(module, ()):
        return (f"the model uses a layer this app does not know ({name[:40]}); only Keras' own "
                "layers can be loaded")
    if registered not in (None, "", name):
        return (f"the model's {name[:40]} claims to be another class ({str(registered)[:40]}); "
                "only Keras' own layers can be loaded")
    return None


def check_keras_bytes(data: bytes) -> list[str]:
    """Check an uploaded ``.keras`` file without running any of it; return its class names.

    Raises
    ------
    ModelFileError
        The file is empty or too large, unpacks to too much or nests too deeply, is not a
        ``.keras`` file, or names an object outside :data:`ALLOWED` (a ``Lambda`` among them).
    """
    if not data:
        raise ModelFileError("the file is empty")
    if len(data) > MAX_MODEL_BYTES:
        raise ModelFileError(f"the file is {len(data) / 2**20:.0f} MB; models up to "
                             f"{MAX_MODEL_BYTES // 2**20} MB are accepted")
    found: list[dict] = []
    _objects(_read_config(data), found)
    for node in found:
        refusal = _refusal(node)
        if refusal:
            raise ModelFileError(refusal)
    return [node["class_name"] for node in found]


def model_cost(model) -> tuple[int, int]:
    """(multiply-adds, values of the largest layer output) per digit of a built Keras model.

    Dense and convolution layers count their multiply-adds; every other layer one per value it
    outputs. Nested models are counted layer by layer.
    """
    macs = peak = 0
    for layer in model.layers:
        if hasattr(layer, "layers"):  # a model inside the model
            inner, inner_peak = model_cost(layer)
            macs, peak = macs + inner, max(peak, inner_peak)
            continue
        outputs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
        size = sum(int(np.prod([d or 1 for d in out.shape[1:]])) for out in outputs)
        peak = max(peak, size)
        kind = type(layer).__name__
        sources = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        if not sources:  # the input layer: no work
            continue
        source = sources[0]
        inputs = int(source.shape[-1] or 1)
        if kind == "Dense":
            macs += size * inputs
        elif kind in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D"):
            window = int(np.prod(layer.kernel_size))
            macs += size * window * (inputs // getattr(layer, "groups", 1) if kind == "Conv2D" else 1)
            if kind == "SeparableConv2D":
                macs += size * inputs * getattr(layer, "depth_multiplier", 1)
        elif kind == "Conv2DTranspose":
            macs += int(np.prod([d or 1 for d in source.shape[1:]])) * int(np.prod(layer.kernel_size)) \
                * layer.filters
        else:
            macs += size
    return macs, peak


def _architecture(classes: list[str]) -> str:
    if "Conv2D" in classes and "Concatenate" in classes:
        return "unet"
    return "conv" if "Conv2D" in classes else "dense"


def _export(data: bytes) -> tuple[bytes, int]:
    """In the checking process: load with safe mode, export to ONNX (checked against Keras)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from denoiser.models.onnx_export import onnx_bytes

    model = load_model_bytes(data)
    shape = tuple(model.input_shape[1:]) if not isinstance(model.input_shape, list) else None
    if shape != (28, 28):
        raise ModelFileError(f"the model takes inputs of shape {shape}, not one 28×28 digit")
    macs, peak = model_cost(model)
    if macs > MAX_MACS_PER_DIGIT or peak > MAX_ACTIVATIONS_PER_DIGIT:
        raise ModelFileError(f"the model needs {macs / 1e6:,.0f} million multiply-adds and a layer of "
                             f"{peak:,} values for each digit; this app runs models up to "
                             f"{MAX_MACS_PER_DIGIT / 1e6:,.0f} million and {MAX_ACTIVATIONS_PER_DIGIT:,}, "
                             "so that every student's page stays quick")
    return onnx_bytes(model), int(model.count_params())


def prepare_upload(data: bytes, timeout: float = CHECK_SECONDS) -> UploadedModel:
    """Check ``data`` (a ``.keras`` file) and export it to ONNX in a fresh process.

    Raises
    ------
    ModelFileError
        With a message to show the person who uploaded it.
    """
    classes = check_keras_bytes(data)
    try:  # in a fresh interpreter, with a memory limit: the server stays TensorFlow-free
        with check_line.turn():
            onnx, parameters = call_in_fresh_process(_export, data, timeout=timeout,
                                                     memory_bytes=CHECK_MEMORY_BYTES)
    except ModelFileError:
        raise
    except TimeoutError:
        raise ModelFileError(f"checking the model took over {timeout:.0f} s") from None
    except MemoryError:
        raise ModelFileError("checking the model needed more memory than this server gives a check") from None
    except Exception:  # noqa: BLE001 - a crash in the checking process: the file is unusable
        raise ModelFileError("the model could not be loaded: Keras' safe loading refused it or it is "
                             "damaged") from None
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
