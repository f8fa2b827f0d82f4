"""Time training steps in float32 against mixed bfloat16 (``train --mixed-precision``).

Usage: python -m benchmarks.bench_train_precision [--model blind | --arch unet --filters 24
       --context 128] [--batch-size 128] [--steps 30] [--repeats 5]
(--model takes a shipped model's architecture from pretrained/manifest.json.)
Prints the median seconds per step of each policy, the seconds an epoch over 57,000 digits
would take, and the speed-up. Random digits: the cost of a step does not depend on them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from denoiser.models.build import ModelConfig, build_model, with_precision  # noqa: E402
from denoiser.models.files import read_manifest  # noqa: E402
from harness.machine import describe_machine  # noqa: E402

EPOCH_DIGITS = 57_000  # the 60,000 training digits less 5% held out for validation


def seconds_per_step(config: ModelConfig, policy: str, batch_size: int, steps: int,
                     repeats: int) -> float:
    x = np.random.default_rng(0).random((batch_size * steps, 28, 28), dtype=np.float32)
    with with_precision(policy):
        model = build_model(config)
        model.fit(x, x, batch_size=batch_size, epochs=1, verbose=0)  # warm-up: traces the step
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.fit(x, x, batch_size=batch_size, epochs=1, verbose=0)
            times.append((time.perf_counter() - start) / steps)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a shipped model's name: time its architecture")
    parser.add_argument("--arch", default="unet")
    parser.add_argument("--filters", type=int, default=24)
    parser.add_argument("--context", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.model:
        config = ModelConfig.from_dict(read_manifest()["models"][args.model]["config"])
    else:
        config = ModelConfig(args.arch, filters=args.filters,
                             context=args.context if args.arch == "unet" else 0)
    report = {"model": (f"shipped {args.model}: " if args.model else "")
              + f"{config.architecture} width {config.filters}, context {config.context}, "
              f"{config.blocks} residual block(s)",
              "batch_size": args.batch_size, "machine": describe_machine(),
              "median_of": args.repeats}
    for policy in ("float32", "mixed_bfloat16"):
        step = seconds_per_step(config, policy, args.batch_size, args.steps, args.repeats)
        report[policy] = {"ms_per_step": round(step * 1000, 1),
                          "s_per_epoch": round(step * EPOCH_DIGITS / args.batch_size, 1)}
    report["speedup"] = round(report["float32"]["ms_per_step"] / report["mixed_bfloat16"]["ms_per_step"], 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
