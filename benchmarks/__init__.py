"""Benchmarks: each module is a command (``python -m benchmarks NAME``, or ``python -m
benchmarks.NAME``) that prints its figures; ``python -m benchmarks`` lists them.

The latest result of each benchmark on each kind of CPU is kept in ``benchmarks/results/`` as
``NAME-KIND.json`` (KIND: ``avx512`` or ``avx2``; git keeps the earlier ones), and
``docs/performance.md`` is generated from those files by ``python -m benchmarks.report``.
"""

from pathlib import Path

from harness.machine import cpu_kind

RESULTS = Path(__file__).resolve().parent / "results"


def result_path(name: str) -> Path:
    """Where benchmark ``name``'s result on this kind of CPU is kept."""
    return RESULTS / f"{name}-{cpu_kind()}.json"
