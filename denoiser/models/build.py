"""Denoising autoencoders, each built from a small config saved with it.

Every model maps noisy digits of shape (N, 28, 28) in [0, 1] to clean ones of
the same shape. Models with a bottleneck (``dense``, ``conv``) also expose
their encoder for the latent-space view; the U-Net's skip connections bypass
its bottleneck, so it has none.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator

import keras
from keras import layers, ops

from denoiser.models.config import (
    ARCHITECTURES,
    LIMITS,
    LOSSES,
    OPTIMIZERS,
    SETTING_WORDS,
    Architecture,
    ModelConfig,
)

__all__ = ["ARCHITECTURES", "BUILDERS", "LIMITS", "LOSSES", "OPTIMIZERS", "Architecture", "ModelConfig",
           "build_model", "register_architecture", "loss_function", "make_optimizer", "psnr_loss",
           "with_precision"]


#: The output layers always compute in float32, so that under mixed precision
#: (``train --mixed-precision``) the loss still sees full-precision pixels.
OUTPUT_DTYPE = "float32"

#: The convolutional models' output sigmoid starts at about the mean MNIST pixel
#: (sigmoid(-2) = 0.12), not 0.5. From 0.5, the first steps of MSE or PSNR training push
#: every pixel down so hard that a convolutional model overshoots into the sigmoid's flat
#: tail: all-black output and no gradient to come back (measured: every fresh U-Net at
#: learning rate 1e-3). The dense model keeps Keras's zero bias, as in the tutorial: it
#: learns from 0.5 on every loss.
OUTPUT_BIAS = keras.initializers.Constant(-2.0)


@contextlib.contextmanager
def with_precision(policy: str) -> Iterator[None]:
    """Build and train models under a Keras dtype policy (e.g. ``"mixed_bfloat16"``), then restore it."""
    before = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(before)


@keras.saving.register_keras_serializable(package="denoiser")
def psnr_loss(y_true, y_pred):
    """Minus each image's PSNR in dB (peak 1), so minimising it maximises mean PSNR.

    Unlike pixel-wise MSE or BCE, which weigh every pixel of the batch alike, this
    weighs every *image* alike on a log scale: an already-clean digit gains as much
    from halving its error as a hard one does. The 1e-5 floor caps PSNR at 50 dB.
    """
    y_true = ops.cast(y_true, y_pred.dtype)
    mse = ops.mean(ops.square(y_true - y_pred), axis=tuple(range(1, len(y_pred.shape))))
    return (10.0 / math.log(10.0)) * ops.log(mse + 1e-5)


def loss_function(name: str):
    """The Keras loss for a config's loss name."""
    return psnr_loss if name == "psnr" else name


def build_dense(config: ModelConfig) -> keras.Model:
    """The tutorial's dense autoencoder with its four hyperparameters exposed."""
    inputs = keras.Input(shape=(28, 28), name="noisy")
    x = layers.Flatten()(inputs)
    for i, size in enumerate(config.dense_sizes()):
        last = i == config.layers - 1
        x = layers.Dense(size, activation="relu", name="code" if last else f"enc_{i}")(x)
    for i, size in enumerate(reversed(config.dense_sizes()[:-1])):
        x = layers.Dense(size, activation="relu", name=f"dec_{i}")(x)
    x = layers.Dense(784, activation="sigmoid", name="pixels", dtype=OUTPUT_DTYPE)(x)
    outputs = layers.Reshape((28, 28), name="clean", dtype=OUTPUT_DTYPE)(x)
    return keras.Model(inputs, outputs, name="dense_autoencoder")


def build_conv(config: ModelConfig) -> keras.Model:
    """Convolutional autoencoder after the keras-io denoising example."""
    f = config.filters
    inputs = keras.Input(shape=(28, 28), name="noisy")
    x = layers.Reshape((28, 28, 1))(inputs)
    x = layers.Conv2D(f, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Conv2D(f, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D(2, padding="same", name="code")(x)
    x = layers.Conv2DTranspose(f, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2DTranspose(f, 3, strides=2, activation="relu", padding="same")(x)
    x = layers.Conv2D(1, 3, activation="sigmoid", padding="same", dtype=OUTPUT_DTYPE,
                      bias_initializer=OUTPUT_BIAS)(x)
    outputs = layers.Reshape((28, 28), name="clean", dtype=OUTPUT_DTYPE)(x)
    return keras.Model(inputs, outputs, name="conv_autoencoder")


def _double_conv(x, filters: int, name: str):
    x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_a")(x)
    return layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_b")(x)


def _whole_digit_context(b, nodes: int, filters: int, prefix: str = ""):
    """A dense layer across the whole 7×7 bottleneck, broadcast back as 7×7 maps."""
    g = layers.Dense(nodes, activation="relu", name=f"{prefix}context")(layers.Flatten()(b))
    g = layers.Dense(7 * 7 * 16, activation="relu", name=f"{prefix}context_maps")(g)
    g = layers.Reshape((7, 7, 16))(g)
    merged = layers.Concatenate()([b, g])
    return layers.Conv2D(filters, 3, padding="same", activation="relu",
                         name=f"{prefix}context_merge")(merged)


def _residual_block(x, name: str):
    """``relu(x + conv(relu(conv(x))))``, keeping ``x``'s channels."""
    channels = x.shape[-1]
    y = layers.Conv2D(channels, 3, padding="same", activation="relu", name=f"{name}_a")(x)
    y = layers.Conv2D(channels, 3, padding="same", name=f"{name}_b")(y)
    return layers.ReLU()(layers.Add()([x, y]))


def unet_features(x0, filters: int, context: int = 0, prefix: str = "", blocks: int = 0,
                  stage_end: Callable | None = None):
    """The U-Net's body on a 28×28 map ``x0``: encoder, bottleneck, decoder.

    Returns the last full-size feature maps (``filters`` channels) before the
    output convolution. ``prefix`` names the layers, so that two bodies can live
    in one model (e.g. a second stage that refines the first one's output).
    ``blocks`` residual blocks follow the bottleneck and each decoder stage.
    ``stage_end(maps, side)``, if given, transforms the bottleneck's and each decoder
    stage's maps after their blocks (``side`` 7, 14 or 28), e.g. to try an extra layer.
    """
    end = stage_end or (lambda maps, side: maps)
    f = filters
    e1 = _double_conv(x0, f, f"{prefix}enc1")
    e2 = _double_conv(layers.MaxPooling2D(2)(e1), 2 * f, f"{prefix}enc2")
    b = _double_conv(layers.MaxPooling2D(2)(e2), 4 * f, f"{prefix}bottleneck")
    if context:
        b = _whole_digit_context(b, context, 4 * f, prefix)
    for i in range(blocks):
        b = _residual_block(b, f"{prefix}res4_{i}")
    b = end(b, 7)
    u2 = layers.Conv2DTranspose(2 * f, 2, strides=2, padding="same", name=f"{prefix}up2")(b)
    d2 = _double_conv(layers.Concatenate()([u2, e2]), 2 * f, f"{prefix}dec2")
    for i in range(blocks):
        d2 = _residual_block(d2, f"{prefix}res2_{i}")
    d2 = end(d2, 14)
    u1 = layers.Conv2DTranspose(f, 2, strides=2, padding="same", name=f"{prefix}up1")(d2)
    d1 = _double_conv(layers.Concatenate()([u1, e1, x0]), f, f"{prefix}dec1")
    for i in range(blocks):
        d1 = _residual_block(d1, f"{prefix}res1_{i}")
    d1 = end(d1, 28)
    return d1


def _with_clip_flags(x0):
    """``x0`` (N, 28, 28, 1) and two maps: 1 where a pixel is exactly 0, and where it is exactly 1.

    Built from ``Rescaling`` and a capped ``ReLU`` (``min(max(1 - 10⁴·x, 0), 1)`` and
    ``min(max(1 + 10⁴·(x - 1), 0), 1)``), in float32 so that mixed precision cannot
    round a 0.999 up to 1.
    """
    def flag(scale: float, offset: float, name: str):
        scaled = layers.Rescaling(scale, offset, dtype="float32", name=f"clipped_{name}_ramp")(x0)
        return layers.ReLU(max_value=1.0, dtype="float32", name=f"clipped_{name}")(scaled)

    return layers.Concatenate(name="noisy_and_clipped")(
        [x0, flag(-1e4, 1.0, "low"), flag(1e4, 1.0 - 1e4, "high")])


def build_unet(config: ModelConfig, stage_end: Callable | None = None) -> keras.Model:
    """A small U-Net: 28 → 14 → 7 and back, with skip connections at each scale.

    With ``config.context`` > 0 the 7×7 bottleneck also passes through a dense
    layer that sees the whole digit (measured: +0.24 dB at Gaussian 0.5 for the
    same training time, docs/unet-search.md). ``stage_end``: see :func:`unet_features`.
    """
    inputs = keras.Input(shape=(28, 28), name="noisy")
    x0 = layers.Reshape((28, 28, 1))(inputs)
    if config.clip_flags:
        x0 = _with_clip_flags(x0)
    d1 = unet_features(x0, config.filters, config.context, blocks=config.blocks,
                       stage_end=stage_end)
    x = layers.Conv2D(1, 1, activation="sigmoid", name="pixels", dtype=OUTPUT_DTYPE,
                      bias_initializer=OUTPUT_BIAS)(d1)
    outputs = layers.Reshape((28, 28), name="clean", dtype=OUTPUT_DTYPE)(x)
    return keras.Model(inputs, outputs, name="unet")


#: Architecture name -> the function that builds its Keras model from a config.
BUILDERS: dict[str, Callable[[ModelConfig], keras.Model]] = {
    "dense": build_dense, "conv": build_conv, "unet": build_unet}


def register_architecture(name: str, architecture: Architecture,
                          builder: Callable[[ModelConfig], keras.Model]) -> None:
    """Add an architecture at run time: its description and settings, and its builder.

    The builder takes a :class:`ModelConfig` and returns an uncompiled Keras model mapping
    (N, 28, 28) to (N, 28, 28) in [0, 1]; name a bottleneck layer ``code`` when
    ``architecture.has_code``. Everything else (the app's controls, the CLI's ``--arch``,
    descriptions, saving and loading) follows; see docs/architecture.md.
    """
    unknown = [s for s in architecture.settings if s not in SETTING_WORDS]
    if unknown:
        raise ValueError(f"architecture {name!r} reads unknown settings {', '.join(unknown)}; "
                         f"known: {', '.join(SETTING_WORDS)} (a new one is a ModelConfig field first)")
    ARCHITECTURES[name] = architecture
    BUILDERS[name] = builder


def make_optimizer(config: ModelConfig) -> keras.optimizers.Optimizer:
    """The optimiser named in the config, at its learning rate."""
    classes = {
        "adam": keras.optimizers.Adam,
        "adadelta": keras.optimizers.Adadelta,
        "sgd": keras.optimizers.SGD,
    }
    return classes[config.optimizer](learning_rate=config.learning_rate)


def build_model(config: ModelConfig, compile: bool = True) -> keras.Model:
    """Build (and by default compile) the model a config describes."""
    model = BUILDERS[config.architecture](config)
    if compile:
        model.compile(optimizer=make_optimizer(config), loss=loss_function(config.loss))
    return model
