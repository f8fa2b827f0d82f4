"""The machine a figure was measured on: CPU model, cores, and its vector extensions.

The same model runs up to ~5x slower per digit on a CPU with only AVX2 than on one with
AVX-512, so every benchmark names which it ran on.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def _cpuinfo() -> str:
    return Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""


def _flags(info: str) -> set[str]:
    return set(next((line.split(":", 1)[1].split() for line in info.splitlines()
                     if line.startswith("flags")), []))


def cpu_kind() -> str:
    """``"avx512"``, ``"avx2"`` or ``"other"``: the kind of CPU a result file is kept for."""
    flags = _flags(_cpuinfo())
    return "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags else "other"


def describe_machine() -> str:
    """E.g. ``"AMD EPYC, 2 CPUs, AVX-512 (with BF16)"`` or ``"Intel Xeon, 2 CPUs, AVX2 only"``."""
    info = _cpuinfo()
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    flags = _flags(info)
    if "avx512f" in flags:
        vector = "AVX-512" + (" (with BF16)" if "avx512_bf16" in flags else "")
    elif "avx2" in flags:
        vector = "AVX2 only"
    else:
        vector = "no AVX2"
    return f"{model}, {os.cpu_count()} CPUs, {vector}"


def held_to_isa(isa: str | None) -> tuple[str, dict[str, str]]:
    """The machine's description and the environment that holds oneDNN (TensorFlow's matrix
    products and convolutions) to instruction set ``isa``, e.g. ``"AVX2"``, in every process that
    inherits it: a stand-in for a CPU with only those kernels. ``None``: as the machine is."""
    if not isa:
        return describe_machine(), {}
    return f"{describe_machine()}; oneDNN held to {isa} (ONEDNN_MAX_CPU_ISA)", {"ONEDNN_MAX_CPU_ISA": isa}
