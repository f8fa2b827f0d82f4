"""Time ``Denoiser.denoise`` against the bare Keras call on the same 10,000 digits.

Usage: python -m benchmarks.bench_denoise [--model NAME] [--repeats 7] [--data mnist.npz]
Prints medians in ms and the median of the per-repeat ratios (the overhead of denoise's checks
and batching), the ONNX Runtime path's time, and how many cores each call kept busy. The calls
alternate (bare, ours, ONNX Runtime), so a slow spell of the machine falls on all of them; timing
all bare calls first and then all of ours let such drift pass for overhead. Each round starts
with the next call in turn, so that no call always runs right after the same other one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from denoiser import add_noise, load_mnist, load_pretrained  # noqa: E402
from denoiser.models.quantize import precision  # noqa: E402
from harness import SHARED_MNIST  # noqa: E402
from harness.machine import describe_machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="shipped model (default: the default model)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--data", default=str(SHARED_MNIST) if SHARED_MNIST.exists() else None,
                        help="Keras-layout mnist.npz (default: the workplace's copy beside the project, "
                             "else the usual search, which downloads where it must)")
    args = parser.parse_args()

    digits = load_mnist(args.data)
    x = digits.x_test
    x = np.concatenate([x] * int(np.ceil(args.n / len(x))))[: args.n]
    noisy = add_noise(x, "gaussian", 0.5, seed=0)
    results = {"machine": describe_machine(), "precision": precision(), "digits": len(noisy),
               "data": digits.description, "repeats": args.repeats, "models": {}}
    names = [args.model] if args.model else None
    from denoiser.models.shipped import list_pretrained

    for name in names or list_pretrained():
        model = load_pretrained(name)
        calls = {"bare": lambda m=model: m.model.predict_on_batch(noisy),
                 "ours": lambda m=model: m.denoise(noisy)}
        if model.onnx is not None:  # the other path denoise() can take, for the record
            calls["onnx"] = lambda m=model: m.onnx(noisy)
        times: dict[str, list[float]] = {key: [] for key in calls}
        cores: dict[str, list[float]] = {key: [] for key in calls}
        keys = list(calls)
        for repeat in range(args.repeats + 1):  # the first round warms every call up, untimed
            # each round starts with another call, so that no call always follows the same one
            for key in keys[repeat % len(keys):] + keys[: repeat % len(keys)]:
                call = calls[key]
                start, cpu = time.perf_counter(), time.process_time()
                call()
                if repeat:
                    times[key].append((time.perf_counter() - start) * 1000)
                    cores[key].append((time.process_time() - cpu) * 1000 / times[key][-1])
        bare, ours = statistics.median(times["bare"]), statistics.median(times["ours"])
        ratios = [o / b for o, b in zip(times["ours"], times["bare"])]
        results["models"][name] = {
            "keras_predict_on_batch_ms": round(bare, 1), "denoise_ms": round(ours, 1),
            "ratio": round(statistics.median(ratios), 3),
            "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
            "path": model.large_batch_path or ("onnx" if model.onnx is not None else "keras"),
            **({"onnx_runtime_ms": round(statistics.median(times["onnx"]), 1)} if "onnx" in calls else {}),
            "cores_busy": {key: round(statistics.median(v), 2) for key, v in cores.items()}}
        print(f"{name:>14}: bare Keras {bare:8.1f} ms   denoise() {ours:8.1f} ms   "
              f"ratio {statistics.median(ratios):.3f}", file=sys.stderr, flush=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
