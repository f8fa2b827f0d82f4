"""Does this machine's second core help right after a rest? Two threads of work, back to back and
after a rest, against one.

Usage: python -m benchmarks.research.bench_cores_after_rest [--rest-ms 500] [--repeats 15]

A slider move comes after a person has looked at the last picture, and a model call in it runs
on two threads. On a laptop both cores start at once; on some virtual machines the second core
comes back only some milliseconds after the machine was idle, and two threads run one after the
other meanwhile. This times one job (60 products of 180×180 float32 matrices, about as long as
the default model's call for 8 digits) on one thread, and two such jobs on two threads, each
measurement after ``--rest-ms`` of sleep or back to back. Parallel efficiency is 2 × one ÷ two:
2 when both cores work, 1 when the two jobs run in turn. Prints a JSON report naming the CPU.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # each job on its own thread, one core each

import statistics  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import numpy as np  # noqa: E402

from harness.machine import describe_machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rest-ms", type=float, default=500)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    a = np.random.default_rng(0).random((180, 180), dtype=np.float32)

    def job() -> None:
        for _ in range(60):
            a @ a

    with ThreadPoolExecutor(1) as other:
        def two_jobs() -> None:
            second = other.submit(job)
            job()
            second.result()

        for _ in range(3):  # warm-up
            job()
            two_jobs()
        report = {"machine": describe_machine(), "rest_ms": args.rest_ms, "repeats": args.repeats}
        for label, rest_s in (("back_to_back", 0.0), ("after_rest", args.rest_ms / 1000)):
            times: dict[str, list[float]] = {"one_job_ms": [], "two_jobs_two_threads_ms": []}
            for _ in range(args.repeats):
                for key, fn in (("one_job_ms", job), ("two_jobs_two_threads_ms", two_jobs)):
                    time.sleep(rest_s)
                    start = time.perf_counter()
                    fn()
                    times[key].append((time.perf_counter() - start) * 1000)
            medians = {key: round(statistics.median(v), 2) for key, v in times.items()}
            one, two = medians["one_job_ms"], medians["two_jobs_two_threads_ms"]
            medians["parallel_efficiency"] = round(2 * one / two, 2)
            report[label] = medians
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
