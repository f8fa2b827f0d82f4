"""Ideas for more PSNR that were measured and not kept (README, "Not yet reached").

Usage:
  python -m scripts.research.probes shift-tta --data mnist.npz [--model unet-gaussian]
      Average the model's outputs over 1-pixel shifts of the input (test-time augmentation).
  python -m scripts.research.probes flip-tta --data mnist.npz [--model unet-gaussian] [--dir DIR]
      The same with the input transposed, flipped or turned 180°, each view undone on the output.
  python -m scripts.research.probes refine --data mnist.npz [--model unet-gaussian] [--epochs 8]
      Freeze the model and train a second, width-16 U-Net with whole-digit context that reads
      the noisy digit and the first estimate and corrects the first model's logits.
  python -m scripts.research.probes ensemble --data mnist.npz [--model unet-gaussian] --dir A --dir B ...
      Average the outputs of the same-named model from several directories (e.g. runs kept in
      build/): each alone, every pair, and all of them; then, where all share one architecture,
      one model holding the mean of their weights.
  python -m scripts.research.probes postprocess --data mnist.npz [--model unet-gaussian] [--dir DIR]
      Snap outputs near 0 or 1 to exactly 0 or 1 (MNIST's background is exactly 0), and mix
      in some of the blind model's output; also the share of squared error on background pixels.
These five score the first 2,000 test digits at Gaussian 0.5 (noise seed 5) and print PSNR.
  python -m scripts.research.probes writer-gap --data mnist.npz [--model unet-gaussian] [--dir DIR]
      Mean PSNR at Gaussian 0.5 (noise seed 5) on the first 5,000 training digits (writers the
      model has seen) and on all test digits (writers it has not), with each set's mean ink and
      the gap left once PSNR's dependence on ink (a line fitted over both sets) is taken out.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from denoiser import add_noise, load_mnist  # noqa: E402
from denoiser.models.shipped import load_pretrained  # noqa: E402
from denoiser.results.metrics import psnr  # noqa: E402

SHIFTS = [(1, 0), (0, 1), (1, 1), (-1, 0), (0, -1), (-1, -1), (1, -1), (-1, 1)]


def shift(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move images by (dy, dx) pixels, filling with black."""
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    return np.ascontiguousarray(padded[:, 2 + dy : 30 + dy, 2 + dx : 30 + dx])


SHIFT_VIEWS = {f"shift {s}": (lambda a, s=s: shift(a, *s), lambda a, s=s: shift(a, -s[0], -s[1]))
               for s in SHIFTS}
# Each of these undoes itself.
FLIPS = {"transpose": lambda a: a.transpose(0, 2, 1), "horizontal flip": lambda a: a[:, :, ::-1],
         "vertical flip": lambda a: a[:, ::-1], "180° rotation": lambda a: a[:, ::-1, ::-1]}
FLIP_VIEWS = {name: (f, f) for name, f in FLIPS.items()}


def tta(model, clean: np.ndarray, noisy: np.ndarray, views: dict) -> None:
    """Score each view alone, averaged with the plain output, and all views so far averaged."""
    plain = model.denoise(noisy)
    outs = [plain]
    print(f"plain: {psnr(clean, plain).mean():.3f} dB", flush=True)
    for name, (forward, back) in views.items():
        out = back(model.denoise(np.ascontiguousarray(forward(noisy))))
        outs.append(out)
        print(f"{name}: alone {psnr(clean, out).mean():.3f} dB, "
              f"with plain {psnr(clean, (plain + out) / 2).mean():.3f} dB, "
              f"average of {len(outs)}: {psnr(clean, np.mean(outs, 0)).mean():.3f} dB", flush=True)


def refine(model, clean: np.ndarray, noisy: np.ndarray, x_train: np.ndarray, epochs: int) -> None:
    import keras
    from keras import layers

    from denoiser.models.build import unet_features
    from denoiser.training.fit import NoiseSpec, NoisyDigits

    base = model.model
    stage1 = keras.Model(base.input, base.get_layer("pixels").input, name="stage1")
    stage1.trainable = False
    inputs = keras.Input((28, 28), name="noisy")
    features = stage1(inputs)
    logit_layer = layers.Conv2D(1, 1, name="pixels_logit", trainable=False)
    logit = logit_layer(features)
    logit_layer.set_weights(base.get_layer("pixels").get_weights())
    estimate = layers.Activation("sigmoid")(logit)
    h = layers.Concatenate()([layers.Reshape((28, 28, 1))(inputs), estimate])
    d1 = unet_features(h, 16, context=128, prefix="refine_")  # the shipped U-Net's body
    delta = layers.Conv2D(1, 1, kernel_initializer="zeros", name="refine_pixels")(d1)  # starts as no change
    out = layers.Reshape((28, 28))(layers.Activation("sigmoid")(layers.Add()([logit, delta])))
    cascade = keras.Model(inputs, out)

    def score() -> float:
        return float(psnr(clean, np.asarray(cascade.predict_on_batch(noisy))).mean())

    print(f"start: {score():.3f} dB", flush=True)
    data = NoisyDigits(x_train, NoiseSpec("gaussian", 0.5), 128, seed=7)
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, epochs * len(data))
    cascade.compile(optimizer=keras.optimizers.Adam(schedule), loss="binary_crossentropy")

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(f"epoch {epoch + 1}: loss {logs['loss']:.5f}, {score():.3f} dB "
                  f"({time.strftime('%H:%M:%S')})", flush=True)

    cascade.fit(data, epochs=epochs, callbacks=[Report()], verbose=0)


def ensemble(models: dict, clean: np.ndarray, noisy: np.ndarray) -> None:
    outs = {where: model.denoise(noisy) for where, model in models.items()}
    for where, out in outs.items():
        print(f"{where}: {psnr(clean, out).mean():.3f} dB", flush=True)
    for a, b in itertools.combinations(outs, 2):
        print(f"{a} + {b}: {psnr(clean, (outs[a] + outs[b]) / 2).mean():.3f} dB", flush=True)
    print(f"all {len(outs)}: {psnr(clean, np.mean(list(outs.values()), 0)).mean():.3f} dB")
    weights = [model.model.get_weights() for model in models.values()]
    if len({tuple(w.shape for w in ws) for ws in weights}) == 1:
        averaged = next(iter(models.values())).model
        averaged.set_weights([np.mean(ws, 0) for ws in zip(*weights)])
        out = np.asarray(averaged.predict_on_batch(noisy))
        print(f"mean of the weights of all {len(weights)}: {psnr(clean, out).mean():.3f} dB")


def postprocess(model, blind, clean: np.ndarray, noisy: np.ndarray) -> None:
    out = model.denoise(noisy)
    print(f"plain: {psnr(clean, out).mean():.3f} dB", flush=True)
    for t in (0.005, 0.01, 0.02, 0.05):
        low = np.where(out < t, 0, out)
        both = np.where(low > 1 - t, 1, low)
        print(f"snap below {t} to 0: {psnr(clean, low).mean():.3f} dB; "
              f"and above {1 - t} to 1: {psnr(clean, both).mean():.3f} dB", flush=True)
    other = blind.denoise(noisy)
    for w in (0.1, 0.2, 0.3):
        print(f"mix {w:.0%} of blind: {psnr(clean, (1 - w) * out + w * other).mean():.3f} dB", flush=True)
    error = (out - clean) ** 2
    print(f"share of squared error on background pixels (clean == 0, {np.mean(clean == 0):.0%} "
          f"of all): {error[clean == 0].sum() / error.sum():.0%}")


def writer_gap(model, digits) -> None:
    sets = [("first 5,000 training digits", digits.x_train[:5000]),
            (f"all {len(digits.x_test):,} test digits", digits.x_test)]
    scores, inks = [], []
    for name, clean in sets:
        noisy = add_noise(clean, "gaussian", 0.5, seed=5)
        scores.append(psnr(clean, model.denoise(noisy)))
        inks.append(clean.sum(axis=(1, 2)))
        print(f"{name}: {scores[-1].mean():.3f} dB, mean ink {inks[-1].mean():.1f}", flush=True)
    slope, intercept = np.polyfit(np.concatenate(inks), np.concatenate(scores), 1)
    left = [(s - (slope * i + intercept)).mean() for s, i in zip(scores, inks)]
    print(f"PSNR falls {-slope:.4f} dB per unit of ink; gap with ink taken out: "
          f"{left[0] - left[1]:.3f} dB (raw {scores[0].mean() - scores[1].mean():.3f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probe", choices=["shift-tta", "flip-tta", "refine", "writer-gap", "ensemble",
                                            "postprocess"])
    parser.add_argument("--data", help="Keras-layout mnist.npz (default: $DENOISER_MNIST)")
    parser.add_argument("--model", default="unet-gaussian")
    parser.add_argument("--dir", action="append",
                        help="model directory (default: pretrained/); ensemble: give several")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    dirs = args.dir or [None]
    if args.probe == "ensemble" and len(dirs) < 2:
        parser.error("ensemble needs two or more --dir")
    if args.probe != "ensemble" and len(dirs) > 1:
        parser.error(f"{args.probe} takes one --dir; only ensemble takes several")
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    digits = load_mnist(args.data)
    models = {where or "pretrained": load_pretrained(args.model, where) for where in dirs}
    model = next(iter(models.values()))
    if args.probe == "writer-gap":
        writer_gap(model, digits)
        return
    clean = digits.x_test[:2000]
    noisy = add_noise(clean, "gaussian", 0.5, seed=5)
    if args.probe == "ensemble":
        ensemble(models, clean, noisy)
    elif args.probe == "postprocess":
        postprocess(model, load_pretrained("blind"), clean, noisy)
    elif args.probe == "shift-tta":
        tta(model, clean, noisy, SHIFT_VIEWS)
    elif args.probe == "flip-tta":
        tta(model, clean, noisy, FLIP_VIEWS)
    else:
        refine(model, clean, noisy, digits.x_train, args.epochs)


if __name__ == "__main__":
    main()
