"""The one timing loop the benchmarks share."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(fn: Callable[[], object], repeats: int, warmups: int = 1) -> float:
    """Median wall time of ``fn()`` in ms over ``repeats`` calls, after ``warmups`` untimed ones
    (a traced function, sized buffers and warm caches are not what a benchmark asks about)."""
    for _ in range(warmups):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
