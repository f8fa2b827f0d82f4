"""The inputs of the school capacity model: what one queued run costs Redis, and how many runs one
worker trains an hour.

Usage: python -m benchmarks.bench_worker [--runs 3] [--queued 8]
                                          [--save benchmarks/results/bench_worker-KIND.json]

Starts its own redis-server (Debian's package) on a free port. First it queues ``--queued`` runs
with no worker listening and reads Redis' ``used_memory`` before and after (the settings and
digits of the app's default run: dense, 4,000 training digits); then it starts one
``python -m denoiser worker`` and times ``--runs`` default runs (10 epochs) one after another,
from Start to the model back on the server.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from harness.machine import describe_machine  # noqa: E402
from harness.server import kill_group, start_worker, throwaway_redis  # noqa: E402


def default_run(queue, digits, alive=None):
    """The Train page's defaults: the tutorial's dense network, 10 epochs, batch 32, 4,000 digits."""
    from denoiser.digits.noise import NoiseSpec
    from denoiser.models.config import ModelConfig
    from denoiser.training.remote import RemoteTrainingJob

    return RemoteTrainingJob(ModelConfig("dense"), NoiseSpec("gaussian", 0.5), 10, 32, digits.x_train[:4000],
                             preview_clean=digits.x_test[:8], x_eval=digits.x_test[:500], queue=queue,
                             alive=alive)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queued", type=int, default=8)
    parser.add_argument("--save")
    args = parser.parse_args()
    from denoiser.digits.mnist import load_mnist
    from denoiser.training.remote import RedisQueue

    digits = load_mnist(allow_download=False)
    with throwaway_redis() as url:
        queue = RedisQueue(url)
        before = queue.redis.info("memory")["used_memory"]
        page = {"open": True}
        waiting = [default_run(queue, digits, alive=lambda: page["open"]).start()
                   for _ in range(args.queued)]
        while len(queue.rq.get_job_ids()) < args.queued:
            time.sleep(0.1)
        time.sleep(1.0)
        per_run = (queue.redis.info("memory")["used_memory"] - before) / args.queued
        page["open"] = False  # every page closes: the runs leave the line
        for job in waiting:
            job.join(60)
        worker = start_worker(url, {"DENOISER_TRAINING_PRIORITY": "normal"})
        seconds = []
        try:
            for _ in range(args.runs):
                job = default_run(queue, digits)
                started = time.monotonic()
                job.start().join(1800)
                if job.status != "finished":
                    raise SystemExit(f"a run ended {job.status}: {job.error}")
                seconds.append(time.monotonic() - started)
        finally:
            kill_group(worker)
    median = statistics.median(seconds)
    report = {"machine": describe_machine(), "data": digits.description,
              "run": "dense 784→256→32→256→784 (the Train page's defaults), 10 epochs, batch 32, "
                     "4,000 digits",
              "redis_bytes_per_queued_run": round(per_run),
              "run_seconds": [round(s, 1) for s in seconds], "run_seconds_median": round(median, 1),
              "runs_per_worker_hour": round(3600 / median, 1)}
    text = json.dumps(report, indent=2)
    print(text)
    if args.save:
        Path(args.save).write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
