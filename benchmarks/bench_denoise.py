"""Time ``Denoiser.denoise`` against the bare Keras call on the same 10,000 digits.

Usage: python -m benchmarks.bench_denoise [--model NAME] [--repeats 7] [--data mnist.npz]
Prints medians in ms and their ratio (the overhead of denoise's checks and batching).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from benchmarks.timing import median_ms  # noqa: E402
from denoiser import add_noise, load_mnist, load_pretrained  # noqa: E402
from harness.machine import describe_machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="shipped model (default: the default model)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--data", default=None)
    args = parser.parse_args()

    digits = load_mnist(args.data)
    x = digits.x_test
    x = np.concatenate([x] * int(np.ceil(args.n / len(x))))[: args.n]
    noisy = add_noise(x, "gaussian", 0.5, seed=0)
    results = {"machine": describe_machine(), "digits": len(noisy),
               "data": digits.description, "repeats": args.repeats, "models": {}}
    names = [args.model] if args.model else None
    from denoiser.pretrained import list_pretrained

    for name in names or list_pretrained():
        model = load_pretrained(name)
        bare = median_ms(lambda m=model: m.model.predict_on_batch(noisy), args.repeats)
        ours = median_ms(lambda m=model: m.denoise(noisy), args.repeats)
        results["models"][name] = {"keras_predict_on_batch_ms": round(bare, 1),
                                   "denoise_ms": round(ours, 1), "ratio": round(ours / bare, 3)}
        print(f"{name:>14}: bare Keras {bare:8.1f} ms   denoise() {ours:8.1f} ms   "
              f"ratio {ours / bare:.3f}", file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
