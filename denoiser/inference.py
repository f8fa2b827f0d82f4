"""Run a saved Keras denoiser with numpy alone — no TensorFlow import.

A ``.keras`` file is a zip of ``config.json`` (the layer graph) and
``model.weights.h5`` (the weights). For the layer types our models use, this
module reads both and evaluates the graph with numpy matrix products. The app
uses it for its interactive view, so that the first page appears without
waiting seconds for TensorFlow to import, and a slider move costs a few
milliseconds. A batch is split over the CPU's cores, a chunk per thread. Nothing
in the file is executed: only its JSON and arrays are read.

The outputs equal Keras' to float32 rounding (tests/test_inference.py checks
every shipped model); anything this module cannot evaluate raises
:class:`UnsupportedModel`, and callers fall back to Keras.
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from scipy.special import expit

ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0, out=x),
    "sigmoid": expit,
}


# A batch is split over up to WORKERS threads (numpy's products release the interpreter lock, and
# the app keeps one BLAS thread per product); a chunk holds at least MIN_CHUNK digits.
WORKERS = max(1, min(4, os.cpu_count() or 1))
MIN_CHUNK = 2
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="numpy-model")
        return _pool


def _forget_pool() -> None:
    """A forked child has none of its parent's threads: it starts its own pool when needed."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


class UnsupportedModel(ValueError):
    """The file holds a layer or setting this module cannot evaluate."""


def _snake(name: str) -> str:
    """Keras' name for a layer class in the weights file (``Conv2DTranspose`` → ``conv2d_transpose``)."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _same_pad(size_in: int, size_out: int, kernel: int, stride: int) -> tuple[int, int]:
    total = max((size_out - 1) * stride + kernel - size_in, 0)
    return total // 2, total - total // 2


def _conv2d(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, padding: str) -> np.ndarray:
    """Stride-1 2-D convolution (cross-correlation, as Keras computes it) by im2col."""
    kh, kw, c_in, c_out = kernel.shape
    n, h, w, _ = x.shape
    if padding == "same":
        (t, b), (left, r) = _same_pad(h, h, kh, 1), _same_pad(w, w, kw, 1)
        x = np.pad(x, ((0, 0), (t, b), (left, r), (0, 0)))
    oh, ow = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    if kh == kw == 1:
        cols = x.reshape(-1, c_in)
    else:
        windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
        cols = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * c_in)
    out = cols @ kernel.reshape(kh * kw * c_in, c_out)
    if bias is not None:
        out += bias
    return out.reshape(n, oh, ow, c_out)


def _conv2d_transpose(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None, stride: int,
                      padding: str) -> np.ndarray:
    """Transposed convolution: each input pixel adds ``kernel``-weighted copies to the output."""
    kh, kw, c_out, _ = kernel.shape
    n, h, w, _ = x.shape
    full = np.zeros((n, (h - 1) * stride + kh, (w - 1) * stride + kw, c_out), np.float32)
    for i in range(kh):
        for j in range(kw):
            full[:, i : i + stride * h : stride, j : j + stride * w : stride] += x @ kernel[i, j].T
    if padding == "same":
        oh, ow = h * stride, w * stride
        top, left = _same_pad(oh, h, kh, stride)[0], _same_pad(ow, w, kw, stride)[0]
    else:
        (top, left), (oh, ow) = (0, 0), full.shape[1:3]
    out = full[:, top : top + oh, left : left + ow]
    return out + bias if bias is not None else out


def _max_pool(x: np.ndarray, size: int, stride: int, padding: str) -> np.ndarray:
    n, h, w, c = x.shape
    if padding == "same":
        oh, ow = -(-h // stride), -(-w // stride)
        (t, b), (left, r) = _same_pad(h, oh, size, stride), _same_pad(w, ow, size, stride)
        x = np.pad(x, ((0, 0), (t, b), (left, r), (0, 0)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(1, 2))
    return windows[:, ::stride, ::stride].max(axis=(-2, -1))


def _square(value, what: str) -> int:
    values = value if isinstance(value, (list, tuple)) else [value, value]
    if len(set(values)) != 1:
        raise UnsupportedModel(f"non-square {what} {values}")
    return int(values[0])


#: The layers with a kernel (and bias) that this module evaluates.
WEIGHTED = ("Dense", "Conv2D", "Conv2DTranspose")


def _layer_function(kind: str, cfg: dict, weights: list[np.ndarray]) -> Callable:
    """A numpy function for one layer, or UnsupportedModel."""
    if kind in ("InputLayer", "Dropout"):  # Dropout passes its input through at inference
        return lambda x: x
    if kind == "Activation":
        if cfg.get("activation") not in ACTIVATIONS:
            raise UnsupportedModel(f"activation {cfg.get('activation')!r}")
        act = ACTIVATIONS[cfg["activation"]]
        return lambda x: act(x.copy())  # its input may feed other layers too: never in place
    if kind == "Reshape":
        shape = tuple(cfg["target_shape"])
        return lambda x: x.reshape((len(x), *shape))
    if kind == "Flatten":
        return lambda x: x.reshape(len(x), -1)
    if kind == "Concatenate":
        axis = cfg.get("axis", -1)
        return lambda xs: np.concatenate(xs, axis=axis)
    if kind == "Add":  # a residual block's shortcut
        return lambda xs: sum(xs[1:], xs[0])  # no stacked copy of the inputs
    if kind == "ReLU":
        if cfg.get("negative_slope", 0.0) or cfg.get("threshold", 0.0):
            raise UnsupportedModel("ReLU with a slope or threshold")
        ceiling = cfg.get("max_value")
        if ceiling is not None:
            return lambda x: np.clip(x, 0, np.float32(ceiling))
        return lambda x: np.maximum(x, 0)
    if kind == "Rescaling":
        scale, offset = cfg["scale"], cfg["offset"]
        if not all(isinstance(v, (int, float)) for v in (scale, offset)):
            raise UnsupportedModel("Rescaling by a scale or offset per channel")
        return lambda x: x * np.float32(scale) + np.float32(offset)
    if kind == "MaxPooling2D":
        size, stride = _square(cfg["pool_size"], "pool size"), _square(cfg["strides"], "strides")
        return lambda x: _max_pool(x, size, stride, cfg["padding"])
    if kind not in WEIGHTED:
        raise UnsupportedModel(f"layer type {kind}")
    activation = cfg.get("activation", "linear")
    if activation not in ACTIVATIONS:
        raise UnsupportedModel(f"activation {activation!r}")
    act = ACTIVATIONS[activation]
    if len(weights) < (2 if cfg.get("use_bias", True) else 1):
        raise UnsupportedModel(f"{kind} {cfg.get('name', '')!r} without its weights in the file")
    kernel = weights[0]
    bias = weights[1] if cfg.get("use_bias", True) else None
    if kind == "Dense":
        return lambda x: act(x @ kernel + bias if bias is not None else x @ kernel)
    if cfg.get("data_format", "channels_last") != "channels_last" or cfg.get("groups", 1) != 1:
        raise UnsupportedModel(f"{kind} with data_format/groups other than the defaults")
    if _square(cfg.get("dilation_rate", 1), "dilation") != 1:
        raise UnsupportedModel(f"dilated {kind}")
    if kind == "Conv2D":
        if _square(cfg["strides"], "strides") != 1:
            raise UnsupportedModel("strided Conv2D")
        return lambda x: act(_conv2d(x, kernel, bias, cfg["padding"]))
    if kind == "Conv2DTranspose":
        if cfg.get("output_padding") is not None:
            raise UnsupportedModel("Conv2DTranspose with output_padding")
        stride = _square(cfg["strides"], "strides")
        return lambda x: act(_conv2d_transpose(x, kernel, bias, stride, cfg["padding"]))
    raise UnsupportedModel(f"layer type {kind}")


class NumpyModel:
    """A saved functional Keras model evaluated with numpy: ``model(x)`` maps (N, 28, 28) → (N, 28, 28)."""

    def __init__(self, config: dict, weights: dict[str, list[np.ndarray]]) -> None:
        graph = config.get("config", {})
        if config.get("class_name") != "Functional" or not graph.get("layers"):
            raise UnsupportedModel(f"model class {config.get('class_name')!r}")
        self.steps: list[tuple[str, Callable, list[str] | str]] = []
        counts: dict[str, int] = {}
        for layer in graph["layers"]:
            kind, cfg = layer["class_name"], layer["config"]
            snake = _snake(kind)
            key = snake if snake not in counts else f"{snake}_{counts[snake]}"
            counts[snake] = counts.get(snake, 0) + 1
            fn = _layer_function(kind, cfg, weights.get(key, []))
            nodes = layer.get("inbound_nodes", [])
            if kind == "InputLayer":
                continue
            kwargs = (nodes[0].get("kwargs") or {}) if nodes else {}
            options = {k for k, v in kwargs.items() if v is not None}
            if len(nodes) != 1 or options - {"training"}:  # Dropout's training flag: inference
                raise UnsupportedModel(f"layer {cfg['name']} is called more than once or with options")
            args = nodes[0]["args"]
            source = args[0]
            if isinstance(source, list):  # a list of tensors (Concatenate, Add)
                self.steps.append((cfg["name"], fn, [t["config"]["keras_history"][0] for t in source]))
            else:
                self.steps.append((cfg["name"], fn, source["config"]["keras_history"][0]))
        inputs, outputs = graph["input_layers"], graph["output_layers"]
        if not (len(inputs) == 3 and isinstance(inputs[0], str)):
            inputs = inputs[0]
        if not (len(outputs) == 3 and isinstance(outputs[0], str)):
            outputs = outputs[0]
        self.input_name, self.output_name = inputs[0], outputs[0]
        self.layer_names = [name for name, _, _ in self.steps]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The model's output for a batch, split into chunks run side by side on the CPU's cores."""
        x = np.asarray(x, np.float32)
        chunks = min(WORKERS, len(x) // MIN_CHUNK)
        if chunks < 2:
            return self._run(x)
        return np.concatenate(list(_workers().map(self._run, np.array_split(x, chunks))))

    def _run(self, x: np.ndarray) -> np.ndarray:
        values = {self.input_name: x}
        for name, fn, source in self.steps:
            values[name] = fn([values[s] for s in source] if isinstance(source, list) else values[source])
        return values[self.output_name]


def read_keras_file(path: str | Path | bytes) -> NumpyModel:
    """Read a ``.keras`` file (a path, or the file's bytes) into a :class:`NumpyModel`.

    Raises
    ------
    UnsupportedModel
        A layer or setting numpy cannot evaluate here (use Keras instead).
    ValueError
        The file is not a readable ``.keras`` archive.
    """
    import h5py

    name = "model bytes" if isinstance(path, bytes) else Path(path).name
    try:
        with zipfile.ZipFile(io.BytesIO(path) if isinstance(path, bytes) else path) as archive:
            config = json.loads(archive.read("config.json"))
            blob = archive.read("model.weights.h5")
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise ValueError(f"{name}: not a readable .keras file ({err})") from None
    weights: dict[str, list[np.ndarray]] = {}
    try:
        with h5py.File(io.BytesIO(blob), "r") as store:
            for key, group in store.get("layers", {}).items():
                variables = group.get("vars", {})
                weights[key] = [np.asarray(variables[str(i)], np.float32) for i in range(len(variables))]
    except (OSError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{name}: not a readable .keras file (its weights: {err})") from None
    try:
        return NumpyModel(config, weights)
    except (KeyError, IndexError, TypeError, AttributeError) as err:  # a graph of another shape
        raise UnsupportedModel(f"a model graph this module cannot read ({type(err).__name__}: {err})") \
            from None


def numpy_model_or_none(path: str | Path | bytes) -> NumpyModel | None:
    """:func:`read_keras_file`, or None when the model has a layer only Keras can run.

    Raises
    ------
    ValueError
        The file is not a readable ``.keras`` archive.
    """
    try:
        return read_keras_file(path)
    except UnsupportedModel:
        return None
