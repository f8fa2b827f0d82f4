"""Where the server's time for one picture goes, part by part (no browser, no Streamlit).

Usage: python -m benchmarks.bench_move [--model blind] [--digits 8] [--repeats 50] [--rest-ms 500]

Times, as the Denoise page runs them for one picture (the first after a change of digits, models
or noise, and every move where the page leaves the slider to the server): the noise draw, the
model (ONNX Runtime, as the app runs it), PSNR and SSIM for every row, drawing the grid, and
encoding it as PNG. Each
repeat is one picture after ``--rest-ms`` of rest, as a person looks at the result before moving
again: on some machines a second core gives little for a while after an idle spell
(``benchmarks.research.bench_cores_after_rest``), which a loop of calls back to back never sees (both are
in ``benchmarks/results/bench_move-*.json``).
The back-to-back medians are reported too. Prints a JSON report of medians in ms, naming the CPU
and the precision (``DENOISER_PRECISION=int8`` runs the model's 8-bit copy, as a server so set does).

``every_amount`` prices what the page does on each change of digits, models or noise since the
slider moves in the browser (``ui.instant_slider``): after the picture at the slider's amount, the
pictures at the other 20 amounts (``compare_amounts``: one model call on all their noisy digits,
then each amount's metrics, grid and PNG), after a rest each time, and the bytes a browser then
loads ahead. A slider move itself then calls no model: the server looks its picture up.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as app.py sets it, before numpy loads

import numpy as np  # noqa: E402

from denoiser import add_noise  # noqa: E402
from denoiser.digits.mnist import load_sample  # noqa: E402
from denoiser.models.onnx_session import default_threads  # noqa: E402
from denoiser.models.quantize import precision  # noqa: E402
from denoiser.models.shipped import load_pretrained  # noqa: E402
from denoiser.results.compare import compare_amounts  # noqa: E402
from denoiser.results.grid import COLUMNS_UP_TO, digit_grid, png_bytes  # noqa: E402
from denoiser.results.metrics import psnr, ssim  # noqa: E402
from denoiser.teaching.links import SLIDER_AMOUNTS  # noqa: E402
from harness.machine import describe_machine  # noqa: E402
from harness.timing import median_ms, median_ms_after_rest  # noqa: E402


def every_amount(model, clean: np.ndarray, repeats: int, rest_s: float) -> dict:
    """Server time (ms, median after ``rest_s`` of rest) and bytes for the pictures at the 20
    amounts other than the slider's (0.5), as the page draws them after its first picture."""
    others = [a for a in SLIDER_AMOUNTS if a != 0.5]
    captions = [f"digit {i}" for i in range(len(clean))]

    def draw_all() -> int:
        results = compare_amounts(clean, captions, "gaussian", others, 0, {model.name: model.denoise})
        return sum(len(png_bytes(digit_grid(result.rows, columns=len(clean) <= COLUMNS_UP_TO, scale=4)))
                   for result in results)
    size = draw_all()
    return {"amounts": len(others), "digits": len(others) * len(clean), "png_bytes": size,
            "median_ms": round(median_ms_after_rest(draw_all, repeats, rest_s), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="blind")
    parser.add_argument("--digits", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--rest-ms", type=float, default=500, help="rest before each timed move")
    args = parser.parse_args()
    clean = load_sample().x_test[: args.digits]
    model = load_pretrained(args.model, lazy=True)
    noisy = add_noise(clean, "gaussian", 0.5, seed=0)
    denoised = model.denoise(noisy)
    rows = [("Noisy", noisy), (f"Denoised by {model.name}", denoised)]
    grid_rows = [(label, images, [f"{a:.1f} dB · {b:.2f}" for a, b in
                                  zip(psnr(clean, images), ssim(clean, images))]) for label, images in rows]
    grid_rows.append(("Clean", clean, [f"digit {i}" for i in range(len(clean))]))
    picture = digit_grid(grid_rows, scale=4)
    parts = {
        "noise": lambda: add_noise(clean, "gaussian", 0.5, seed=0),
        "model": lambda: model.denoise(noisy),
        "psnr_ssim_two_rows": lambda: [(psnr(clean, x), ssim(clean, x)) for _, x in rows],
        "grid_drawing": lambda: digit_grid(grid_rows, scale=4),
        "png_encoding": lambda: png_bytes(picture),
    }
    report = {"machine": describe_machine(), "model": args.model, "digits": args.digits,
              "runtime": (f"onnxruntime, {default_threads()} threads" if model.onnx is not None
                          else "keras"),
              "precision": precision(), "rest_ms": args.rest_ms}
    at_rest: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(args.repeats):
        time.sleep(args.rest_ms / 1000)
        for name, fn in parts.items():  # one move's parts, in the page's order
            start = time.perf_counter()
            fn()
            at_rest[name].append((time.perf_counter() - start) * 1000)
    report["median_ms"] = {name: round(statistics.median(times), 2) for name, times in at_rest.items()}
    report["total_ms"] = round(sum(report["median_ms"].values()), 2)
    report["back_to_back_median_ms"] = {name: round(median_ms(fn, args.repeats), 2)
                                        for name, fn in parts.items()}
    report["back_to_back_total_ms"] = round(sum(report["back_to_back_median_ms"].values()), 2)
    report["every_amount"] = every_amount(model, clean, max(5, args.repeats // 5), args.rest_ms / 1000)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
