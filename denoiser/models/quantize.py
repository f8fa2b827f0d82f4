"""8-bit integer copies of ONNX denoisers: a server setting that trades a little quality for speed.

A model's ``.int8.onnx`` file is its ``.onnx`` export quantised by ONNX Runtime's static
quantisation: int8 weights per output channel, uint8 activations with ranges calibrated on noisy
training digits. It does not equal its Keras model (the float ``.onnx`` does); the manifest
records what it measured instead. A server uses these copies only when told to, with
``$DENOISER_PRECISION=int8`` (``python -m benchmarks.bench_frontier --int8`` for what that buys).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from denoiser.models.files import save_bytes, sha256_of

PRECISION_VAR = "DENOISER_PRECISION"
PRECISIONS = ("float32", "int8")
#: Activation ranges: this percentile of the calibration values, not their extremes (best of
#: MinMax, moving-average MinMax, Entropy and percentiles 99.9–99.999 on the blind model).
PERCENTILE = 99.99
#: Training digits whose activations set the ranges.
CALIBRATION_DIGITS = 256


def checked_precision(value: str, what: str = "precision") -> str:
    """``value`` if it is one of :data:`PRECISIONS`; else ValueError naming ``what`` and the choices."""
    if value not in PRECISIONS:
        raise ValueError(f"{what} must be one of {', '.join(PRECISIONS)}, got {value!r}")
    return value


def precision() -> str:
    """The server's model precision: ``$DENOISER_PRECISION`` (float32, the default, or int8).

    Raises
    ------
    ValueError
        The variable holds anything else.
    """
    return checked_precision(os.environ.get(PRECISION_VAR, "").strip().lower() or "float32",
                             f"${PRECISION_VAR}")


def calibration_digits(x_train: np.ndarray, count: int = CALIBRATION_DIGITS) -> np.ndarray:
    """The first ``count`` training digits under blind noise (a random kind and amount each, fixed
    seed): what the shipped copies were calibrated on, so a copy made again is the same file."""
    from denoiser.digits.noise import NoiseSpec

    return NoiseSpec("blind", 1.0).apply(x_train[:count], seed=5)


def int8_onnx(source: str | Path, calibration: np.ndarray, target: str | Path,
              percentile: float = PERCENTILE, reduce_range: bool = False) -> dict:
    """Write ``source`` (an ONNX denoiser) quantised to 8-bit integers to ``target``, atomically.

    Parameters
    ----------
    source, target : path
        The float ONNX file, and where its int8 copy goes.
    calibration : ndarray
        (N, 28, 28) noisy digits in [0, 1] whose activations set the quantisation ranges.
    percentile : float
        Each activation's range ends at this percentile of its calibration values.
    reduce_range : bool
        Weights in 7 bits, as ONNX Runtime advises for CPUs without VNNI (whose 8-bit products
        can saturate); costs some quality on every CPU.

    Returns
    -------
    dict
        The manifest fields that name it: ``{"int8": file name, "int8_sha256": hex}``.

    Raises
    ------
    ValueError
        ``calibration`` is not a non-empty (N, 28, 28) array in [0, 1], or ``percentile`` is not
        in (50, 100].
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from denoiser.models.onnx_session import OnnxModel

    x = np.asarray(calibration, np.float32)
    if x.ndim != 3 or x.shape[1:] != (28, 28) or not len(x) or not (np.isfinite(x).all()
                                                                     and x.min() >= 0 and x.max() <= 1):
        raise ValueError(f"calibration must be noisy digits (N, 28, 28) in [0, 1], got {x.shape}")
    if not 50 < percentile <= 100:
        raise ValueError(f"percentile must be in (50, 100], got {percentile}")
    source, target = Path(source), Path(target)
    name = OnnxModel(source, threads=1).input_name
    batches = iter([{name: x[i : i + 32]} for i in range(0, len(x), 32)])

    class Reader(CalibrationDataReader):
        def get_next(self):
            return next(batches, None)

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):  # its chatter
        prepared, out = Path(tmp) / "prepared.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(str(source), str(prepared))
        quantize_static(str(prepared), str(out), Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, reduce_range=reduce_range, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Percentile,
                        extra_options={"CalibPercentile": percentile})
        OnnxModel(out, threads=1)  # refuse to write a file the app could not run
        save_bytes(out.read_bytes(), target)
    return {"int8": target.name, "int8_sha256": sha256_of(target)}
