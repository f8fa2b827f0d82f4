"""What the benchmarks share: one timing loop, latencies' spread, how a result is printed and
saved, and how a page tells that its images changed."""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path


def publish(report: dict, save: str | None) -> None:
    """Print ``report`` as JSON and, with ``save``, write it there too (a results file)."""
    text = json.dumps(report, indent=2)
    print(text)
    if save:
        Path(save).write_text(text + "\n")


def spread(samples: list[float]) -> dict:
    """Count, p50 and p95 (nearest rank) of some latencies in ms."""
    if not samples:
        return {"n": 0, "p50_ms": None, "p95_ms": None}
    ordered = sorted(samples)
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1], 1)}  # nearest rank


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


def median_ms_after_rest(fn: Callable[[], object], repeats: int, rest_s: float) -> float:
    """Median wall time of ``fn()`` in ms, each call after ``rest_s`` seconds of sleep: as a slider
    move comes after a person has looked at the last picture, when the machine has been idle (on
    some machines a second core then gives little for a while:
    benchmarks/research/bench_cores_after_rest.py)."""
    times = []
    for _ in range(repeats):
        time.sleep(rest_s)
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


#: The images a page update replaces (Streamlit's ``st.image`` elements).
IMAGES = '[data-testid="stImage"] img'
#: Resolves (with the page's ``performance.now()``) once the images have been replaced and the
#: new ones have loaded. Event-driven (a MutationObserver and the images' load events), not
#: polled: the time is exact rather than rounded up to a polling interval or an animation frame,
#: and pages spend no CPU watching (polling on every animation frame starved the server).
CHANGED = """([sel, before]) => new Promise(resolve => {
  const done = () => {
    const els = Array.from(document.querySelectorAll(sel));
    const now = els.map(e => e.src);
    return now.length === before.length && now.some((s, k) => s !== before[k])
           && els.every(e => e.complete && e.naturalWidth > 0);
  };
  const finish = () => {
    if (!done()) return;
    observer.disconnect();
    document.removeEventListener("load", finish, true);
    resolve(performance.now());
  };
  const observer = new MutationObserver(finish);
  observer.observe(document.body, {subtree: true, childList: true, attributes: true,
                                   attributeFilter: ["src"]});
  document.addEventListener("load", finish, true);  // an <img> finished loading (capture phase)
  finish();
})"""


def cpu_seconds(match: bytes) -> float:
    """User + system CPU seconds of every process whose command line contains ``match``."""
    total = 0
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and match in (proc / "cmdline").read_bytes():
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
        except OSError:  # the process ended meanwhile
            continue
    return total / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(port: int) -> float:
    """CPU seconds of the Streamlit server on ``port``."""
    return cpu_seconds(f"--server.port\x00{port}".encode())


def proc_status(pid: int) -> dict[str, float]:
    """Process ``pid``'s resident memory (MB) and thread count, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {"rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
            "threads": int(fields["Threads"])}
