"""An uploaded ``.keras`` file read without running any of it: bounded, then matched against an
exact allow-list.

:func:`check_keras_bytes` bounds every dimension before anything is parsed — the file's size, the
zip's members and their unpacked sizes (from its directory; the read of ``config.json`` itself
stops at its cap, whatever the directory says), the config's nesting depth — then matches every
Keras object in the config against (module, class) pairs: Keras' own layers, initialisers,
optimisers and schedules, and this package's one registered loss. A ``Lambda``, a ``TFSMLayer``,
a module that only starts with ``keras`` or a ``registered_name`` that claims this package are
refused in plain words. Loading and running the file is :mod:`denoiser.models.upload`'s.
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np

from denoiser.models.files import ModelFileError

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
