"""Start training → the first point of its curve, with a spare training process and without.

Usage: python -m benchmarks.bench_first_point [--runs 3] [--think 15] [--save FILE]

A run on the server's training queue (one slot), 2 epochs of 2,000 digits, dense; the time from
``TrainingJob.start()`` to its first progress report (the progress bar's first move), to the end
of its first epoch (the loss curve's first point) and to its end (the page itself polls once a
second). Cold: every run starts its own process (importing
TensorFlow). Spare: the Train page has been open ``--think`` seconds (a student reading the form),
so the spare process (``denoiser.training.spare``) has imported TensorFlow. Alternated, ``--runs`` each.
"""

from __future__ import annotations

import argparse
import os
import time

from denoiser.digits.mnist import load_sample
from denoiser.digits.noise import NoiseSpec
from denoiser.models.config import ModelConfig
from denoiser.training.jobs import TrainingJob
from denoiser.training.slots import TrainingQueue, keep_a_spare
from denoiser.training.spare import spare_pool
from harness.machine import describe_machine
from harness.timing import publish, spread


def first_point_ms(line: TrainingQueue, x) -> tuple[float, float, float]:
    """ms to the first progress report (the progress bar moves), to the first epoch's point on
    the loss curve, and to the run's end."""
    job = TrainingJob(ModelConfig("dense", code_size=32), NoiseSpec("gaussian", 0.5), 2, 32, x[:2000],
                      preview_clean=x[:6], x_eval=x[:100], queue=line)
    start = time.perf_counter()
    job.start()
    while job.progress is None and job.running:
        time.sleep(0.005)
    first = (time.perf_counter() - start) * 1000
    while not job.history["loss"] and job.running:
        time.sleep(0.005)
    point = (time.perf_counter() - start) * 1000
    job.join(300)
    if job.status != "finished":
        raise RuntimeError(f"the run ended {job.status}: {job.error}")
    return first, point, (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--think", type=float, default=15.0)
    parser.add_argument("--save")
    args = parser.parse_args()
    x = load_sample().x_train
    line = TrainingQueue(1)
    times = {"cold": ([], [], []), "spare": ([], [], [])}
    for _ in range(args.runs):
        for mode in ("cold", "spare"):
            os.environ["DENOISER_SPARE_TRAINER"] = "1" if mode == "spare" else "0"
            spare_pool().drop()
            if mode == "spare":
                keep_a_spare(line)  # the page opens
            time.sleep(args.think)
            for kept, value in zip(times[mode], first_point_ms(line, x)):
                kept.append(value)
    spare_pool().drop()
    report = {"machine": describe_machine(), "runs": args.runs, "think_s": args.think,
              "run": "dense, 2 epochs, 2,000 digits, batch 32",
              **{mode: {"first_report": spread(f), "first_curve_point": spread(p), "whole_run": spread(t)}
                 for mode, (f, p, t) in times.items()}}
    publish(report, args.save)


if __name__ == "__main__":
    main()
