"""Run a denoiser's ONNX export with ONNX Runtime — no TensorFlow import.

Every ``.keras`` model has an ``.onnx`` beside it (:mod:`denoiser.models.onnx_export` writes it). The app
denoises with ONNX Runtime: its first page appears without waiting seconds for TensorFlow to
import, a slider move costs a few milliseconds, and a large batch runs faster than Keras' own
call. Outputs equal Keras' to float32 rounding (tests/test_inference.py checks every shipped
model and random models of every architecture).

ONNX Runtime was chosen over the hand-written numpy interpreter it replaces: its kernels are
vectorised for the CPU at hand (AVX2, AVX-512), it runs any graph tf2onnx can write (so a model
with a layer numpy lacked needs no Keras fallback), and an ONNX file holds no code.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

#: Environment variable: threads per model run (default: the CPU's cores, at most 4).
THREADS_VAR = "DENOISER_INFERENCE_THREADS"
#: Digits per ONNX Runtime call on large batches (bounds the memory a call takes).
CHUNK = 256


class UnsupportedModel(ValueError):
    """The file is not an ONNX denoiser this app can run (wrong inputs or outputs, or damaged)."""


def default_threads() -> int:
    """Threads for one model run: ``$DENOISER_INFERENCE_THREADS``, else the cores (1–4)."""
    value = os.environ.get(THREADS_VAR, "")
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    return max(1, min(4, os.cpu_count() or 1))


def cpu_flags() -> set[str]:
    """The CPU's feature flags as Linux names them (``/proc/cpuinfo``); empty where unreadable."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def exact_int8_needed(flags: set[str] | None = None) -> bool:
    """Whether ONNX Runtime must be told to multiply 8-bit values exactly on this CPU.

    An 8-bit copy (:mod:`denoiser.models.quantize`) multiplies uint8 by int8. On x86 CPUs without VNNI
    (most AVX2 laptops) ONNX Runtime's fast kernel for that sums pairs of products in 16 bits,
    which can saturate and spoil the picture; ``session.x64quantprecision`` makes it use an exact
    uint8 x uint8 kernel instead. It is not asked for where VNNI is there (measured on an AVX-512
    VNNI EPYC: blind's 8-bit copy took 2.3x as long with it, for the same output), nor off x86.
    Where the flags cannot be read, exactness wins.
    """
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686"):
        return False
    flags = cpu_flags() if flags is None else flags
    return not flags or not ({"avx512_vnni", "avx_vnni"} & flags)


def _label(source: str | Path | bytes) -> str:
    """How a model file is named in an error message."""
    return "model bytes" if isinstance(source, bytes) else Path(source).name


def session_options(threads: int | None = None, *, spinning: bool = False):
    """The app's ONNX Runtime session options: ``threads`` per call (default
    :func:`default_threads`), threads that sleep between calls, exact int8 where needed.

    ``spinning=True`` lets the threads spin a while before they sleep, as ONNX Runtime does by
    default; the app never asks for it (``benchmarks.research.bench_spin`` measures why).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    # Threads sleep between calls instead of spinning: on a shared server the cores belong to
    # the other users' moves and to training, not to an idle pool.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if exact_int8_needed():
        options.add_session_config_entry("session.x64quantprecision", "1")
    options.log_severity_level = 3
    return options


def _session(source: str | Path | bytes, threads: int | None):
    """An ONNX Runtime session on the CPU; UnsupportedModel when the file cannot be read."""
    import onnxruntime as ort

    options = session_options(threads)
    try:
        return ort.InferenceSession(source if isinstance(source, bytes) else str(source), options,
                                    providers=["CPUExecutionProvider"])
    except Exception as err:  # noqa: BLE001 - ONNX Runtime raises its own types for a bad file
        raise UnsupportedModel(f"{_label(source)}: not a readable ONNX model "
                               f"({type(err).__name__})") from None


class OnnxModel:
    """A denoiser in ONNX Runtime: ``model(x)`` maps (N, 28, 28) float32 → (N, 28, 28).

    Parameters
    ----------
    source : path or bytes
        An ``.onnx`` file written by :func:`denoiser.models.onnx_export.onnx_bytes`, or its bytes.
    threads : int, optional
        Threads per call (default :func:`default_threads`).

    Raises
    ------
    UnsupportedModel
        The file is not readable ONNX, or not a graph from digits to digits.
    """

    def __init__(self, source: str | Path | bytes, threads: int | None = None) -> None:
        self.session = _session(source, threads)
        name = _label(source)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or list(inputs[0].shape[1:]) != [28, 28] or len(outputs) not in (1, 2):
            raise UnsupportedModel(f"{name}: not a digit denoiser (inputs "
                                   f"{[i.shape for i in inputs]}, {len(outputs)} outputs)")
        self.input_name = inputs[0].name
        self.output_names = [o.name for o in outputs]

    @property
    def has_code(self) -> bool:
        """Whether the graph also returns the bottleneck codes."""
        return len(self.output_names) == 2

    def _call(self, x: np.ndarray, output: int) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float32)
        name = [self.output_names[output]]
        parts = [self.session.run(name, {self.input_name: x[i : i + CHUNK]})[0]
                 for i in range(0, max(len(x), 1), CHUNK)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Denoised digits (N, 28, 28) for noisy ones (N, 28, 28)."""
        return self._call(x, 0).reshape(len(x), 28, 28)

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Bottleneck codes (N, D); ValueError for a model without one."""
        if not self.has_code:
            raise ValueError("this model has no bottleneck code")
        return self._call(x, 1).reshape(len(x), -1)


class OnnxDecoder:
    """The decoder half of a bottleneck model in ONNX Runtime: ``decoder(codes)`` maps (N, D)
    codes to (N, 28, 28) digits (written by :func:`denoiser.models.onnx_export.decoder_onnx_bytes`).

    Raises
    ------
    UnsupportedModel
        The file is not readable ONNX, or not a graph from codes to digits.
    """

    def __init__(self, source: str | Path | bytes, threads: int | None = None) -> None:
        self.session = _session(source, threads)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1 or inputs[0].name != "code":
            raise UnsupportedModel(f"not a decoder: inputs {[i.name for i in inputs]}, "
                                   f"{len(outputs)} outputs")
        self.input_name = inputs[0].name
        self.code_shape = tuple(inputs[0].shape[1:])

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        """Digits (N, 28, 28) decoded from codes (N, D)."""
        codes = np.ascontiguousarray(codes, np.float32).reshape((len(codes), *self.code_shape))
        return self.session.run(None, {self.input_name: codes})[0].reshape(len(codes), 28, 28)
