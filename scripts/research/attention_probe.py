"""Give a residual U-Net specialist self-attention and train it on (docs/specialist-22db.md).

Usage:
  python -m scripts.research.attention_probe --data mnist.npz --init DIR --out DIR2 [--minutes 100]
      [--lr 3e-4] [--seed 61] [--max-digits N]

Reads ``unet-gaussian`` (a U-Net with residual blocks) from ``--init``. Adds one transformer
block after the 7×7 bottleneck's residual blocks and one after the 14×14 decoder stage's. Each
block has a depthwise 3×3 convolution for position, multi-head self-attention and an MLP. The
blocks' last layers start at zero, so training starts from the given model's output. The model
is trained on minus each digit's PSNR at Gaussian 0.5, with a cosine schedule over the time
budget and bfloat16 arithmetic. It is saved as ``DIR2/attention.keras`` and scored on the
test digits (all 10,000 of full MNIST) at noise seeds 0, 5 and 1234.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
from keras import layers  # noqa: E402

from denoiser.digits.mnist import load_mnist  # noqa: E402
from denoiser.models.build import build_unet, loss_function, with_precision  # noqa: E402
from denoiser.models.files import save_model  # noqa: E402
from denoiser.models.runtime import Denoiser  # noqa: E402
from denoiser.models.shipped import load_pretrained  # noqa: E402
from denoiser.results.evaluation import evaluate_denoiser  # noqa: E402
from denoiser.training.fit import train  # noqa: E402


def attention_block(x, name: str, heads: int = 4):
    """A pre-norm transformer block over a square feature map, its output layers zeroed."""
    side, channels = x.shape[1], x.shape[-1]
    position = layers.DepthwiseConv2D(3, padding="same", depthwise_initializer="zeros",
                                      name=f"{name}_pos")(x)
    tokens = layers.Reshape((side * side, channels))(layers.Add()([x, position]))
    h = layers.LayerNormalization(name=f"{name}_ln1")(tokens)
    h = layers.MultiHeadAttention(heads, channels // heads, name=f"{name}_mha")(h, h)
    tokens = layers.Add()([tokens, layers.Dense(channels, kernel_initializer="zeros",
                                                name=f"{name}_out1")(h)])
    h = layers.LayerNormalization(name=f"{name}_ln2")(tokens)
    h = layers.Dense(2 * channels, activation="gelu", name=f"{name}_mlp")(h)
    tokens = layers.Add()([tokens, layers.Dense(channels, kernel_initializer="zeros",
                                                name=f"{name}_out2")(h)])
    return layers.Reshape((side, side, channels))(tokens)


#: Attention after the residual blocks of the 7×7 bottleneck and the 14×14 decoder stage, named
#: like those blocks (``res4_*``, ``res2_*``).
ATTENTION_AT = {7: "att4", 14: "att2"}


def with_attention(maps, side: int):
    """``build_unet``'s ``stage_end``: the U-Net as shipped, plus the two attention blocks."""
    return attention_block(maps, ATTENTION_AT[side]) if side in ATTENTION_AT else maps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="Keras-layout mnist.npz (default: $DENOISER_MNIST)")
    parser.add_argument("--init", required=True, help="directory holding unet-gaussian")
    parser.add_argument("--out", required=True, help="directory for attention.keras")
    parser.add_argument("--minutes", type=float, default=100.0)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=61)
    parser.add_argument("--max-digits", type=int, default=0, help="train on the first N (0: all)")
    args = parser.parse_args()
    if args.minutes <= 0 or args.lr <= 0:
        parser.error("--minutes and --lr must be positive")
    start = load_pretrained("unet-gaussian", args.init)
    if start.config.architecture != "unet" or not start.config.blocks or not start.config.context:
        parser.error("--init must hold a U-Net with residual blocks and whole-digit context")
    config = dataclasses.replace(start.config, loss="psnr", learning_rate=args.lr)
    digits = load_mnist(args.data)
    x_train = digits.x_train[: args.max_digits] if args.max_digits else digits.x_train
    with with_precision("mixed_bfloat16"):
        model = build_unet(config, stage_end=with_attention)
        old = {layer.name: layer for layer in start.model.layers if layer.weights}
        for layer in model.layers:
            if layer.name in old:
                layer.set_weights(old[layer.name].get_weights())
        print(f"{model.count_params():,} parameters against {start.model.count_params():,}",
              flush=True)
        model.compile(optimizer=keras.optimizers.Adam(args.lr), loss=loss_function("psnr"))
        result = train(config, x_train, batch_size=128, validation_split=0.05, seed=args.seed,
                       model=model, cosine_decay=True, epochs=10_000,
                       time_budget=args.minutes * 60, verbose=2)
    with with_precision("float32"):
        final = build_unet(config, stage_end=with_attention)
        final.set_weights(result.model.get_weights())
    os.makedirs(args.out, exist_ok=True)
    path = Path(args.out) / "attention.keras"
    save_model(final, path)
    print(f"{result.epochs_run} epochs; wrote {path}", flush=True)
    denoiser = Denoiser(final, name="attention", config=config)
    for seed in (0, 5, 1234):
        score = evaluate_denoiser(denoiser.denoise, digits.x_test, "gaussian", 0.5, seed=seed)
        print(f"{len(digits.x_test):,} test digits, noise seed {seed}: "
              f"{score['psnr']:.3f} dB / {score['ssim']:.4f}", flush=True)


if __name__ == "__main__":
    main()
