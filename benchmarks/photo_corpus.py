"""Phone photos of handwriting against the same digits rendered cleanly: framing and denoising.

Usage: python -m benchmarks.photo_corpus [--digits 20] [--model conv] [--save FILE]

For each condition of ``harness.handwriting`` (thin pen, marker, ruled paper, shadow, uneven
light, JPEG, all at once): the ink overlap of the framed photo with the framed clean render
(Dice; as framed and give or take one pixel of centring), how much worse the model cleans the
photo's digit than the clean one at Gaussian 0.5 (dB, each against itself, the same noise), and
the upload path's time per photo (decode and frame).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import denoiser
from denoiser.digits.mnist import load_sample
from denoiser.digits.preprocess import digit_from_bytes, to_mnist
from denoiser.results.metrics import psnr
from harness.handwriting import CONDITIONS, centre_lines, clean, overlap, photo
from harness.machine import describe_machine
from harness.timing import publish, spread

REPEATS = 8  # noise patterns per digit


def cleaned_db(model, digit: np.ndarray, seed: int) -> float:
    noisy = denoiser.add_noise(np.repeat(digit[None], REPEATS, 0), "gaussian", 0.5, seed=seed)
    return float(psnr(np.repeat(digit[None], REPEATS, 0), model.denoise(noisy)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=20)
    parser.add_argument("--model", default="conv")
    parser.add_argument("--save")
    args = parser.parse_args()
    model = denoiser.load_pretrained(args.model)
    images, _ = load_sample().sample(args.digits, None, seed=3)
    lines = [centre_lines(image) for image in images]
    references = [to_mnist(clean(line)) for line in lines]
    report = {"machine": describe_machine(), "model": args.model, "digits": args.digits,
              "noise": "gaussian 0.5", "conditions": {}}
    for condition in CONDITIONS:
        exact, shifted, gaps, times = [], [], [], []
        for i, (line, reference) in enumerate(zip(lines, references)):
            data = photo(line, condition, seed=i)
            start = time.perf_counter()
            framed = digit_from_bytes(data)
            times.append((time.perf_counter() - start) * 1000)
            exact.append(overlap(framed, reference))
            shifted.append(overlap(framed, reference, shift=1))
            gaps.append(cleaned_db(model, reference, i) - cleaned_db(model, framed, i))
        report["conditions"][condition] = {
            "overlap_median": round(float(np.median(exact)), 3),
            "overlap_within_1px_min": round(min(shifted), 3),
            "db_worse_mean": round(float(np.mean(gaps)), 2),
            "db_worse_max": round(max(gaps), 2),
            "frame": spread(times),
        }
    publish(report, args.save)


if __name__ == "__main__":
    main()
