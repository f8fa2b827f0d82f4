"""Start training → the first point of its curve: without a spare training process, with one, and
with one that primed the run's model.

Usage: python -m benchmarks.bench_first_point [--runs 3] [--think 15] [--onednn-isa AVX2] [--save FILE]

A run on the server's training queue (one slot), 2 epochs of 2,000 digits, dense; the time from
``TrainingJob.start()`` to its first progress report (the progress bar's first move), to the end
of its first epoch (the loss curve's first point) and to its end (the page itself polls once a
second). Cold: every run starts its own process (importing
TensorFlow). Spare: the Train page has been open ``--think`` seconds (a student reading the form),
so the spare process (``denoiser.training.spare``) has imported TensorFlow. Primed: the same, and
the page told the spare what its form shows (this run's model), so the spare built and traced it
(``denoiser.training.primed``). Alternated, ``--runs`` each.

``--onednn-isa AVX2`` holds oneDNN, which runs TensorFlow's matrix products and convolutions, to
that instruction set in the training processes (``$ONEDNN_MAX_CPU_ISA``): on an AVX-512 CPU, a
stand-in for an AVX2 one that has its kernels but not its clock or caches. Its results are kept
as ``bench_first_point-avx2cap.json``, apart from a real AVX2 machine's.
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
from harness.machine import held_to_isa
from harness.timing import publish, spread

#: The run measured (the Train form's default model).
CONFIG = ModelConfig("dense", code_size=32)


def first_point_ms(line, x, job_class=TrainingJob, config: ModelConfig = CONFIG) -> tuple[float, ...]:
    """ms to the first progress report (the progress bar moves), to the first epoch's point on
    the loss curve, and to the run's end (``line``: the queue, local or Redis, of ``job_class``)."""
    job = job_class(config, NoiseSpec("gaussian", 0.5), 2, 32, x[:2000],
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
    parser.add_argument("--onednn-isa", help="hold oneDNN to this instruction set, e.g. AVX2")
    parser.add_argument("--save")
    args = parser.parse_args()
    machine, held = held_to_isa(args.onednn_isa)
    os.environ.update(held)  # read by oneDNN in each training process, which inherits it
    x = load_sample().x_train
    line = TrainingQueue(1)
    times = {"cold": ([], [], []), "spare": ([], [], []), "primed": ([], [], [])}
    for _ in range(args.runs):
        for mode in times:
            os.environ["DENOISER_SPARE_TRAINER"] = "0" if mode == "cold" else "1"
            spare_pool().drop()
            if mode != "cold":  # the page opens (and says what its form shows)
                keep_a_spare(line, expect=CONFIG if mode == "primed" else None)
            time.sleep(args.think)
            for kept, value in zip(times[mode], first_point_ms(line, x)):
                kept.append(value)
    spare_pool().drop()
    report = {"machine": machine, "runs": args.runs, "think_s": args.think,
              "run": "dense, 2 epochs, 2,000 digits, batch 32",
              **{mode: {"first_report": spread(f), "first_curve_point": spread(p), "whole_run": spread(t)}
                 for mode, (f, p, t) in times.items()}}
    publish(report, args.save)


if __name__ == "__main__":
    main()
