"""Where the grey blob gives way: the app's default dense model after N weight updates.

Usage: python -m scripts.research.blob_updates [--updates 113 226 339 452 600 904 1130]

Trains the Train page's default model (dense, code 32, one layer of 256 nodes, Adam 1e-3, batch 32,
Gaussian 0.5) on the shipped sample's 3,600 training digits for each number of weight updates and
reports, on 200 test digits: PSNR, and how much the outputs differ from digit to digit (the mean
per-pixel standard deviation across digits, as a fraction of the clean digits' own): near 0 is one
blob for every input. The hint threshold ``denoiser.training.hints.MIN_UPDATES`` comes from this table.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from denoiser import add_noise
from denoiser.digits.mnist import load_sample
from denoiser.models.config import ModelConfig
from denoiser.results.metrics import psnr
from denoiser.training.fit import train
from harness.machine import describe_machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, nargs="+", default=[113, 226, 339, 452, 600, 904, 1130])
    args = parser.parse_args()
    data = load_sample()
    x, clean = data.x_train[:3600], data.x_test[:200]
    noisy = add_noise(clean, "gaussian", 0.5, seed=0)
    spread_clean = float(clean.std(axis=0).mean())
    rows = []
    config = ModelConfig("dense", code_size=32, layers=1, nodes=256)
    for updates in args.updates:
        # one "epoch" of exactly ``updates`` batches of 32 digits (the data cycled as needed)
        reps = int(np.ceil(updates * 32 / len(x)))
        data_n = np.concatenate([x] * reps)[: updates * 32]
        result = train(config, data_n, epochs=1, batch_size=32, validation_split=0.0, seed=0)
        out = np.clip(np.asarray(result.model.predict_on_batch(noisy)).reshape(clean.shape), 0, 1)
        rows.append({"updates": updates, "psnr": round(float(psnr(clean, out).mean()), 2),
                     "spread": round(float(out.std(axis=0).mean()) / spread_clean, 3)})
        print(rows[-1], flush=True)
    print(json.dumps({"machine": describe_machine(), "model": config.describe(training=True),
                      "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
