"""Export a Keras denoiser to ONNX, the format the app runs it in (:mod:`denoiser.models.onnx_session`).

Keras stays the training and archival format; every ``.keras`` file gets an ``.onnx`` beside it.
The export needs TensorFlow (tf2onnx converts a traced ``tf.function``), so it runs where the
model was trained: the CLI, or the training process of a run started in the app.

The ONNX graph takes ``noisy`` (N, 28, 28) float32 and returns the denoised digits first and,
for a model with a bottleneck (a layer named ``code``), the codes second.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from denoiser.models.files import ModelFileError, save_bytes, sha256_of

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

#: The ONNX operator set of the exports (ONNX Runtime 1.17+ runs it).
OPSET = 17
#: An export must give Keras' outputs to this (float32 rounding across different kernels).
TOLERANCE = 1e-4


def onnx_bytes(model: keras.Model) -> bytes:
    """``model`` (digits in, digits out) as the bytes of an ONNX file.

    Raises
    ------
    ModelFileError
        When the model cannot be exported (Keras on a backend other than TensorFlow, or an
        operation ONNX lacks); the app then runs it with Keras.
    """
    import keras

    from denoiser.models.surgery import encoder_of

    encoder = encoder_of(model)  # None without a bottleneck: one output
    outputs = [model.outputs[0], *([encoder.outputs[0]] if encoder is not None else [])]
    data = _convert(keras.Model(model.inputs, outputs), "noisy")
    _check_equal(model, data)
    return data


def _convert(model: keras.Model, input_name: str) -> bytes:
    """``model``'s inference graph, input named ``input_name`` with an open batch size, as ONNX."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ModelFileError(f"ONNX export needs Keras on TensorFlow, not {keras.backend.backend()}")
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name=input_name),)

    @tf.function(input_signature=spec)
    def forward(x):
        return model(x, training=False)

    try:
        proto, _ = tf2onnx.convert.from_function(forward, input_signature=spec, opset=OPSET)
    except Exception as err:  # noqa: BLE001 - any converter failure means "no ONNX for this one"
        log.warning("cannot export %s to ONNX: %s: %s", model.name, type(err).__name__, err)
        raise ModelFileError(f"cannot export model {model.name!r} to ONNX") from None
    return proto.SerializeToString()


def decoder_onnx_bytes(model: keras.Model) -> bytes:
    """The decoder (code → digit) of a bottleneck model as the bytes of an ONNX file, checked
    against Keras' decoder on the codes of a few digits.

    Raises
    ------
    ModelFileError
        The model has no bottleneck, or its decoder cannot be exported or differs from Keras.
    """
    from denoiser.models.onnx_session import OnnxDecoder
    from denoiser.models.surgery import decoder_of, encoder_of

    decoder, encoder = decoder_of(model), encoder_of(model)
    if decoder is None or encoder is None:
        raise ModelFileError(f"model {model.name!r} has no bottleneck code to decode")
    data = _convert(decoder, "code")
    x = _probe_digits()
    codes = np.asarray(encoder([x], training=False), np.float32)  # its inputs: a list of one
    expected = np.asarray(decoder(codes, training=False), np.float32).reshape(x.shape)
    _refuse_if_different(f"{model.name!r}'s decoder", OnnxDecoder(data, threads=1)(codes), expected)
    return data


def decoder_onnx_from_file(source: bytes | str) -> bytes:
    """:func:`decoder_onnx_bytes` for a ``.keras`` file's bytes or path. It runs in a fresh
    process, for :meth:`denoiser.models.runtime.Denoiser.decode`: the app never imports TensorFlow."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from denoiser.models.files import load_model_bytes

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return decoder_onnx_bytes(load_model_bytes(data))


def _probe_digits() -> np.ndarray:
    """A few digits of every brightness, to hold an export against Keras."""
    x = np.random.default_rng(0).random((6, 28, 28), dtype=np.float32)
    x[:2] = np.round(x[:2])  # black and white pixels, like clean digits
    x[2] = 0.0
    return x


def _refuse_if_different(what: str, exported: np.ndarray, expected: np.ndarray) -> None:
    gap = float(np.abs(exported - expected).max())
    if not gap <= TOLERANCE:
        raise ModelFileError(f"the ONNX export of {what} differs from Keras by {gap:.2g}")


def _check_equal(model: keras.Model, data: bytes) -> None:
    """Refuse an export whose outputs differ from Keras' on a few digits of every brightness."""
    from denoiser.models.onnx_session import OnnxModel

    x = _probe_digits()
    expected = np.asarray(model(x, training=False), np.float32).reshape(x.shape)
    _refuse_if_different(repr(model.name), OnnxModel(data, threads=1)(x), expected)


def save_onnx(model: keras.Model, keras_path: str | Path) -> dict:
    """Export ``model`` beside its ``.keras`` file (same name, ``.onnx``; written atomically).

    Returns the manifest fields that name it: ``{"onnx": file name, "onnx_sha256": hex}``.
    """
    return write_onnx(onnx_bytes(model), keras_path)


def write_onnx(data: bytes, keras_path: str | Path) -> dict:
    """Write an ONNX export made already (:func:`onnx_bytes`) beside its ``.keras`` file
    (atomically); returns the manifest fields that name it, as :func:`save_onnx` does."""
    path = Path(keras_path).with_suffix(".onnx")
    save_bytes(data, path)
    return {"onnx": path.name, "onnx_sha256": sha256_of(path)}
