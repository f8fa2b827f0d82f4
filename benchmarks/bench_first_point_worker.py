"""Start training → the first point of its curve on a Redis worker: a model the worker did not
expect against one it primed while it waited.

Usage: python -m benchmarks.bench_first_point_worker [--runs 3] [--think 15] [--save FILE]

Starts its own redis-server (Debian's package) and one ``python -m denoiser worker``, which has
TensorFlow imported; one unmeasured run first (a worker's first run in its life). Then the same
run as ``benchmarks.bench_first_point`` (dense, 2 epochs, 2,000 digits), timed from
``RemoteTrainingJob.start()`` as there, alternating two cases after ``--think`` seconds of a
student reading the form. Primed: the page said what its form shows (``RedisQueue.expect``), so
the idle worker built and traced that model (``denoiser.training.worker.Primer``). Unexpected:
the same model but for its learning rate (the same work per step), which no page announced, so
the run builds and traces its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from benchmarks.bench_first_point import CONFIG, first_point_ms
from denoiser.digits.mnist import load_sample
from harness.machine import describe_machine
from harness.server import kill_group, start_worker, throwaway_redis
from harness.timing import publish, spread

#: The case no page announced: the learning rate alone differs.
UNEXPECTED = dataclasses.replace(CONFIG, learning_rate=3e-4)


def main() -> None:
    from denoiser.training.remote import EXPECTED, RedisQueue, RemoteTrainingJob

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--think", type=float, default=15.0)
    parser.add_argument("--save")
    args = parser.parse_args()
    x = load_sample().x_train
    times = {"unexpected": ([], [], []), "primed": ([], [], [])}
    with throwaway_redis() as url:
        worker = start_worker(url)
        try:
            queue = RedisQueue(url)
            first_point_ms(queue, x, RemoteTrainingJob, dataclasses.replace(CONFIG, learning_rate=1e-4))
            for _ in range(args.runs):
                for mode, config in (("unexpected", UNEXPECTED), ("primed", CONFIG)):
                    queue.redis.delete(EXPECTED)  # no page has said anything
                    if mode == "primed":  # a page opens on the form, and says what it shows
                        RedisQueue(url).expect(config)
                    time.sleep(args.think)
                    for kept, value in zip(times[mode], first_point_ms(queue, x, RemoteTrainingJob, config)):
                        kept.append(value)
        finally:
            kill_group(worker)
    report = {"machine": describe_machine(), "runs": args.runs, "think_s": args.think,
              "run": "dense, 2 epochs, 2,000 digits, batch 32, on one RQ worker",
              **{mode: {"first_report": spread(f), "first_curve_point": spread(p), "whole_run": spread(t)}
                 for mode, (f, p, t) in times.items()}}
    publish(report, args.save)


if __name__ == "__main__":
    main()
