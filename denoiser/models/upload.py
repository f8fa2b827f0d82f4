"""A ``.keras`` file a person uploads: checked like a shipped model, run like one, TensorFlow-free.

:func:`~denoiser.models.keras_check.check_keras_bytes` first reads the file's layer list without
running anything and refuses, in plain words, what this app will not load, before a process
starts.

:func:`prepare_upload` then waits its turn (:data:`check_line`: a few checks at once, a short
line behind them, the rest told to try again), and in a child process with a memory limit loads
the file with Keras' safe mode, refuses a model whose compute or activations per digit exceed
this app's bounds, and exports it to ONNX (the export checks ONNX against Keras, as for a shipped
model). The server itself never imports TensorFlow; the result is a
:class:`~denoiser.models.runtime.Denoiser`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from denoiser.fresh import call_in_fresh_process
from denoiser.models.config import ModelConfig
from denoiser.models.files import ModelFileError, load_model_bytes
from denoiser.models.keras_check import check_keras_bytes
from denoiser.models.onnx_session import OnnxModel, UnsupportedModel
from denoiser.models.runtime import Denoiser

#: Multiply-adds per digit a model may cost, and values its largest layer output may hold per
#: digit (the largest shipped model, unet-gaussian, needs about half of each: see
#: ``tests/test_model_sharing.py``).
MAX_MACS_PER_DIGIT = 1_000_000_000
MAX_ACTIVATIONS_PER_DIGIT = 160_000
#: Seconds the checking process may take (a fresh interpreter importing TensorFlow, load, export).
CHECK_SECONDS = 180
#: Address space the checking process may use (TensorFlow alone reserves about 1.8 GB).
CHECK_MEMORY_BYTES = 6 * 2**30

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
