"""Speed against quality for the candidate default models: ms per slider move's model call
(8 digits, ONNX Runtime as the app runs it) against PSNR / SSIM at Gaussian 0.5 on the test digits.

Usage: python -m benchmarks.bench_frontier [--models blind blind-large conv] [--int8]
       [--data ../shared/data/mnist.npz] [--limit 0] [--repeats 200] [--rested 20]
       [--rest-ms 500] [--save benchmarks/results/bench_frontier-KIND.json]

Each call is timed twice over: back to back (``--repeats`` calls) and after ``--rest-ms`` of rest
each (``--rested`` calls), as a person moves the slider after looking at the last picture.

Each shipped model runs as shipped (float32); ``--int8`` adds each one quantised to 8-bit integers
as ``python -m denoiser quantize`` makes the shipped copies (:func:`denoiser.models.quantize.int8_onnx`:
per-channel weights, activation ranges at the 99.99th percentile of 256 noisy training digits).
Prints a Markdown table and a JSON report naming the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as app.py sets it, before numpy loads

import numpy as np  # noqa: E402

from denoiser import add_noise  # noqa: E402
from denoiser.digits.mnist import load_mnist  # noqa: E402
from denoiser.models.files import model_dir, read_manifest  # noqa: E402
from denoiser.models.onnx_session import OnnxModel, default_threads  # noqa: E402
from denoiser.models.quantize import calibration_digits, int8_onnx  # noqa: E402
from denoiser.results.evaluation import evaluate_denoiser  # noqa: E402
from harness import SHARED_MNIST  # noqa: E402
from harness.machine import describe_machine  # noqa: E402
from harness.timing import median_ms, median_ms_after_rest  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["blind", "blind-large", "conv"])
    parser.add_argument("--int8", action="store_true", help="also measure each model quantised to int8")
    parser.add_argument("--data", default=str(SHARED_MNIST), help="Keras-layout mnist.npz")
    parser.add_argument("--limit", type=int, default=0, help="evaluate on the first N test digits only")
    parser.add_argument("--repeats", type=int, default=200, help="calls timed back to back")
    parser.add_argument("--rested", type=int, default=20, help="calls timed after a rest each")
    parser.add_argument("--rest-ms", type=float, default=500)
    parser.add_argument("--save", help="also write the JSON report here")
    args = parser.parse_args()
    digits = load_mnist(args.data, allow_download=False)
    x_test = digits.x_test[: args.limit] if args.limit else digits.x_test
    move = add_noise(x_test[:8], "gaussian", 0.5, seed=0)
    calibration = calibration_digits(digits.x_train)
    manifest, directory = read_manifest(), model_dir()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            path = directory / manifest["models"][name]["onnx"]
            variants = [("float32", path)]
            if args.int8:
                copy = Path(tmp) / f"{name}.int8.onnx"
                int8_onnx(path, calibration, copy)
                variants.append(("int8", copy))
            for precision, file in variants:
                model = OnnxModel(file)
                scores = evaluate_denoiser(lambda x, m=model: np.clip(m(x), 0, 1), x_test, "gaussian",
                                           0.5, seed=1234)
                ms = median_ms(lambda m=model: m(move), args.repeats, warmups=5)
                rested = median_ms_after_rest(lambda m=model: m(move), args.rested, args.rest_ms / 1000)
                rows.append({"model": name, "precision": precision, "ms_8_digits": round(ms, 2),
                             "ms_8_digits_after_rest": round(rested, 2),
                             "psnr": round(scores["psnr"], 4), "ssim": round(scores["ssim"], 4),
                             "onnx_mb": round(file.stat().st_size / 1e6, 2)})
                print(rows[-1], flush=True)
    report = {"machine": describe_machine(), "runtime": f"onnxruntime, {default_threads()} threads",
              "test_digits": len(x_test), "noise": "gaussian 0.5, seed 1234", "rows": rows}
    report["rest_ms"] = args.rest_ms
    print("| model | precision | ms for 8 digits, back to back | after a rest | PSNR dB | SSIM | ONNX MB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['precision']} | {r['ms_8_digits']:.1f} | "
              f"{r['ms_8_digits_after_rest']:.1f} | {r['psnr']:.2f} | {r['ssim']:.3f} | {r['onnx_mb']:.1f} |")
    print(json.dumps(report, indent=2))
    if args.save:
        Path(args.save).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
