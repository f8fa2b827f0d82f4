"""Compare U-Net shapes for the same training time (the CPU is the limit, not the epochs).

Usage: python -m scripts.research.unet_search --data mnist.npz [--seconds 150] [names ...]
Each candidate trains from scratch on the 60,000 training digits with Gaussian noise 0.5 (Adam
1e-3, batch 64, BCE, fresh noise every epoch) until --seconds have passed, then is scored on the
first 2,000 test digits (noise seed 0). Prints one JSON line per candidate: parameters, epochs
started, mean PSNR/SSIM. Results: docs/unet-search.md; the winner's idea (a dense layer across
the 7×7 bottleneck, ``ModelConfig(context=...)``) is in the shipped U-Nets.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from denoiser.digits.mnist import load_mnist  # noqa: E402
from denoiser.digits.noise import add_noise  # noqa: E402
from denoiser.models.build import ModelConfig, build_model  # noqa: E402
from denoiser.results.metrics import psnr, ssim  # noqa: E402
from denoiser.training.fit import NoiseSpec, NoisyDigits  # noqa: E402


def _double_conv(x, filters: int, name: str):
    x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=name + "a")(x)
    return layers.Conv2D(filters, 3, padding="same", activation="relu", name=name + "b")(x)


def three_level_unet(f: int, context: int = 0) -> keras.Model:
    """Not shipped: a deeper U-Net, 32 → 16 → 8 → 4 (the digit zero-padded to 32×32)."""
    inputs = keras.Input((28, 28))
    x0 = layers.ZeroPadding2D(2)(layers.Reshape((28, 28, 1))(inputs))
    e1 = _double_conv(x0, f, "e1")
    e2 = _double_conv(layers.MaxPooling2D(2)(e1), 2 * f, "e2")
    e3 = _double_conv(layers.MaxPooling2D(2)(e2), 4 * f, "e3")
    b = _double_conv(layers.MaxPooling2D(2)(e3), 8 * f, "b")
    if context:
        g = layers.Dense(context, activation="relu")(layers.Flatten()(b))
        g = layers.Reshape((4, 4, 32))(layers.Dense(4 * 4 * 32, activation="relu")(g))
        b = layers.Conv2D(8 * f, 3, padding="same", activation="relu")(layers.Concatenate()([b, g]))
    u3 = layers.Conv2DTranspose(4 * f, 2, strides=2, padding="same")(b)
    d3 = _double_conv(layers.Concatenate()([u3, e3]), 4 * f, "d3")
    u2 = layers.Conv2DTranspose(2 * f, 2, strides=2, padding="same")(d3)
    d2 = _double_conv(layers.Concatenate()([u2, e2]), 2 * f, "d2")
    u1 = layers.Conv2DTranspose(f, 2, strides=2, padding="same")(d2)
    d1 = _double_conv(layers.Concatenate()([u1, e1, x0]), f, "d1")
    out = layers.Conv2D(1, 1, activation="sigmoid")(layers.Cropping2D(2)(d1))
    return keras.Model(inputs, layers.Reshape((28, 28))(out))


CANDIDATES = {
    "unet w24 (shipped before)": lambda: build_model(ModelConfig("unet", filters=24), compile=False),
    "unet w24 + context 128": lambda: build_model(ModelConfig("unet", filters=24, context=128),
                                                  compile=False),
    "unet w16 + context 128": lambda: build_model(ModelConfig("unet", filters=16, context=128),
                                                  compile=False),
    "unet w32": lambda: build_model(ModelConfig("unet", filters=32), compile=False),
    "3-level unet w16": lambda: three_level_unet(16),
    "3-level unet w16 + context 128": lambda: three_level_unet(16, 128),
    "3-level unet w24": lambda: three_level_unet(24),
}


class TimeBudget(keras.callbacks.Callback):
    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None) -> None:
        self.start = time.time()

    def on_train_batch_end(self, batch, logs=None) -> None:
        if time.time() - self.start > self.seconds:
            self.model.stop_training = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--seconds", type=float, default=150)
    parser.add_argument("names", nargs="*", help=f"candidates (default all): {', '.join(CANDIDATES)}")
    args = parser.parse_args()
    digits = load_mnist(args.data)
    x_eval = digits.x_test[:2000]
    noisy = add_noise(x_eval, "gaussian", 0.5, seed=0)
    for name in args.names or CANDIDATES:
        keras.utils.set_random_seed(0)
        model = CANDIDATES[name]()
        model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy")
        data = NoisyDigits(digits.x_train, NoiseSpec("gaussian", 0.5), 64, seed=0)
        history = model.fit(data, epochs=1000, callbacks=[TimeBudget(args.seconds)], verbose=0)
        out = np.asarray(model.predict_on_batch(noisy))
        print(json.dumps({"name": name, "params": model.count_params(),
                          "epochs_started": len(history.epoch),
                          "psnr": round(float(psnr(x_eval, out).mean()), 2),
                          "ssim": round(float(ssim(x_eval, out).mean()), 3)}), flush=True)


if __name__ == "__main__":
    main()
