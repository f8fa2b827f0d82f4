"""Search the dense autoencoder's four hyperparameters (code size, layers, nodes, loss).

Usage: python -m scripts.research.dense_search --data mnist.npz [--epochs 10]
Trains each candidate on the training split (Gaussian 0.5, Adam) and prints a Markdown table of
mean PSNR/SSIM on the first 2,000 test digits. The best row became the shipped `dense-best`.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from denoiser.digits.mnist import load_mnist  # noqa: E402
from denoiser.models.build import ModelConfig  # noqa: E402
from denoiser.models.runtime import Denoiser  # noqa: E402
from denoiser.results.evaluation import evaluate_denoiser  # noqa: E402
from denoiser.training.fit import NoiseSpec, train  # noqa: E402

CANDIDATES = [  # (code size, layers, nodes, loss)
    (32, 1, 128, "binary_crossentropy"),  # the tutorial's shape
    (128, 1, 128, "binary_crossentropy"),
    (32, 3, 512, "binary_crossentropy"),
    (64, 2, 512, "binary_crossentropy"),
    (64, 3, 512, "binary_crossentropy"),
    (64, 3, 512, "mse"),
    (128, 3, 1024, "binary_crossentropy"),
    (128, 4, 1024, "binary_crossentropy"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    digits = load_mnist(args.data)
    x_eval = digits.x_test[:2000]
    print(f"{digits.description}; {args.epochs} epochs each, Gaussian 0.5, Adam 1e-3 with cosine decay, "
          "batch 128; scored on the first 2,000 test digits\n", flush=True)
    print("| code size | layers | nodes | loss | PSNR (dB) | SSIM | seconds |\n|---|---|---|---|---|---|---|")
    for code, layers, nodes, loss in CANDIDATES:
        config = ModelConfig("dense", code_size=code, layers=layers, nodes=nodes, loss=loss)
        start = time.perf_counter()
        result = train(config, digits.x_train, epochs=args.epochs, noise=NoiseSpec("gaussian", 0.5),
                       validation_split=0.05, cosine_decay=True)
        scores = evaluate_denoiser(Denoiser(result.model).denoise, x_eval, "gaussian", 0.5, seed=1)
        print(f"| {code} | {layers} | {nodes} | {loss} | {scores['psnr']:.2f} | {scores['ssim']:.3f} "
              f"| {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
