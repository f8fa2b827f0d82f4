"""Does a U-Net denoise better when told which pixels the noise clipped? (docs/specialist-22db.md)

Usage:
  python -m scripts.research.clip_flags_ab --data mnist.npz [--seeds 0 1] [--digits 20000] [--epochs 15]

Gaussian noise is clipped to [0, 1], so a noisy pixel of exactly 0 only says that the clean value
plus noise fell at or below 0: for MNIST's black background that happens half of the time, for
ink only 2% of the time. A convolution can hardly tell that exact 0 from a 0.01. This trains
the same small U-Net (16 filters, whole-digit context 128) from scratch twice per seed, on the
first ``--digits`` training digits with minus each digit's PSNR as the loss: once on the noisy
digit alone and once with ``clip_flags`` (two more input maps marking the pixels at exactly 0
and exactly 1). Both runs share the seed (weights, noise, order). It prints the mean PSNR of
each on the first 5,000 test digits at Gaussian 0.5, noise seeds 5 and 1234.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from denoiser.digits.mnist import load_mnist  # noqa: E402
from denoiser.models.build import build_model  # noqa: E402
from denoiser.models.config import ModelConfig  # noqa: E402
from denoiser.models.runtime import Denoiser  # noqa: E402
from denoiser.results.evaluation import evaluate_denoiser  # noqa: E402
from denoiser.training.fit import train  # noqa: E402


def run(clip_flags: bool, seed: int, x_train, x_test, epochs: int) -> list[float]:
    """Train one U-Net from scratch; its mean PSNR on ``x_test`` at noise seeds 5 and 1234."""
    config = ModelConfig("unet", filters=16, context=128, clip_flags=clip_flags, loss="psnr",
                         learning_rate=1e-3)
    keras.utils.set_random_seed(seed)  # the same initial weights for the layers both runs share
    result = train(config, x_train, epochs=epochs, validation_split=0.0, seed=seed,
                   model=build_model(config), cosine_decay=True)
    denoiser = Denoiser(result.model, config=config)
    return [evaluate_denoiser(denoiser.denoise, x_test, "gaussian", 0.5, seed=s,
                              with_ssim=False)["psnr"] for s in (5, 1234)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="Keras-layout mnist.npz (default: $DENOISER_MNIST)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--digits", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    if args.digits < 1 or args.epochs < 1:
        parser.error("--digits and --epochs must be positive")
    digits = load_mnist(args.data)
    x_train, x_test = digits.x_train[: args.digits], digits.x_test[:5000]
    print(f"{len(x_train):,} training digits, {args.epochs} epoch(s); "
          f"{len(x_test):,} test digits, PSNR at noise seeds 5 / 1234", flush=True)
    for seed in args.seeds:
        scores = {}
        for flags in (False, True):
            start = time.perf_counter()
            scores[flags] = run(flags, seed, x_train, x_test, args.epochs)
            print(f"seed {seed}, clip flags {'on ' if flags else 'off'}: "
                  + " / ".join(f"{s:.3f}" for s in scores[flags])
                  + f" dB  ({time.perf_counter() - start:.0f} s)", flush=True)
        gain = [a - b for a, b in zip(scores[True], scores[False])]
        print(f"seed {seed}, gain: " + " / ".join(f"{g:+.3f}" for g in gain) + " dB", flush=True)


if __name__ == "__main__":
    main()
