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
import numpy as np
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
           "build_model", "register_architecture",
           "decoder_of", "encoder_of", "grow", "loss_function", "make_optimizer", "psnr_loss",
           "rebuild", "with_precision"]


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


def rebuild(model: keras.Model, config: ModelConfig, compile: bool = True) -> keras.Model:
    """A new ``config`` model holding ``model``'s weights, built under the current dtype policy.

    ``config`` must describe ``model``'s architecture (weights are copied in order). Used to
    train a float32 model in mixed precision and to save the result as float32 again.
    """
    new = build_model(config, compile=compile)
    new.set_weights(model.get_weights())
    return new


def grow(model: keras.Model, config: ModelConfig) -> keras.Model:
    """A bigger ``config`` model that starts out computing what ``model`` computes.

    Three ways to grow a trained U-Net without losing its training:

    - add whole-digit context: the new ``context_merge`` convolution starts as the
      identity on the bottleneck and zero on the context maps;
    - widen it (more ``filters``): each layer's old weights land on its old
      channels, the new channels start from fresh random weights, and every
      weight from a new channel into an old one starts at zero. The old
      channels (and so the output) are unchanged until training puts the new
      ones to use;
    - deepen it (more ``blocks``): each new residual block's last convolution
      starts at zero, so the block passes its input through unchanged;
    - add ``clip_flags``: the weights from the two new input maps start at zero.

    Weights are matched by layer name; layers the old model lacks keep their
    fresh initial weights.
    """
    new = build_model(config)
    old = {layer.name: layer for layer in model.layers if layer.weights}
    had_flags = any(layer.name.startswith("clipped_") for layer in model.layers)
    positions = _old_channel_positions(new, old, new_flags=config.clip_flags and not had_flags)
    for layer in new.layers:
        if layer.name in old:
            layer.set_weights(_embed(layer, old[layer.name], positions[layer.name]))
    if config.context and "context_merge" not in old:
        merge = new.get_layer("context_merge")
        kernel, bias = (np.zeros_like(w) for w in merge.get_weights())
        channels = kernel.shape[-1]  # the bottleneck's channels come first in the concatenation
        kernel[1, 1, :channels, :] = np.eye(channels, dtype=kernel.dtype)
        merge.set_weights([kernel, bias])
    for layer in new.layers:
        if layer.name.startswith("res") and layer.name.endswith("_b") and layer.name not in old:
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    return new


def _inputs_of(node_config) -> list[str]:
    """Names of the layers feeding one layer, in order, from a functional model's config."""
    if isinstance(node_config, dict):
        history = node_config.get("config", {}).get("keras_history")
        if isinstance(history, (list, tuple)) and history:
            return [history[0]]
        return [name for value in node_config.values() for name in _inputs_of(value)]
    if isinstance(node_config, (list, tuple)):
        return [name for value in node_config for name in _inputs_of(value)]
    return []


def _old_channel_positions(new: keras.Model, old: dict, new_flags: bool = False
                           ) -> dict[str, list[int]]:
    """For each layer of ``new``, where the old model's input channels sit in its input.

    Walks the graph once: a weighted layer's old outputs are its first channels;
    pooling and activations keep positions; a concatenation offsets each part by
    the new widths before it; a flatten repeats the positions per pixel. With
    ``new_flags``, the clip-flag maps are new: none of their channels is old.
    """
    out: dict[str, list[int]] = {}  # layer name -> old channel positions in its output
    inputs: dict[str, list[int]] = {}
    first_part: dict[str, list[int]] = {}  # concatenation -> positions in its first part
    for spec in new.get_config()["layers"]:
        name, kind = spec["name"], spec["class_name"]
        layer = new.get_layer(name)
        width = layer.output.shape[-1]
        sources = _inputs_of(spec["inbound_nodes"])
        if not sources:
            out[name] = list(range(width))
            continue
        if kind == "Concatenate":
            merged, offset = [], 0
            for src in sources:
                merged += [offset + p for p in out[src]]
                offset += new.get_layer(src).output.shape[-1]
            incoming, first_part[name] = merged, out[sources[0]]
        else:
            incoming = out[sources[0]]
        inputs[name] = incoming
        if name in old:
            out[name] = list(range(old[name].output.shape[-1]))
        elif name == "context_merge":  # a new merge starts as the identity on the bottleneck
            out[name] = first_part[sources[0]]
        elif new_flags and name.startswith("clipped_"):  # new clip flags: nothing of the old model
            out[name] = []
        elif layer.weights:  # a new layer: none of its output comes from the old model
            out[name] = list(range(width))
        elif kind == "Flatten":
            channels = new.get_layer(sources[0]).output.shape[-1]
            pixels = width // channels
            out[name] = [i * channels + p for i in range(pixels) for p in incoming]
        elif kind == "Reshape":
            before = new.get_layer(sources[0]).output.shape[-1]
            if len(incoming) != before:
                raise ValueError(f"cannot widen through {name}: a reshape of a widened tensor")
            out[name] = list(range(width))
        else:
            out[name] = incoming
    return inputs


def _embed(layer, old_layer, incoming: list[int]) -> list[np.ndarray]:
    """``layer``'s weights with ``old_layer``'s written onto the old channels."""
    kernel, *rest = (w.copy() for w in layer.get_weights())
    old_kernel, *old_rest = old_layer.get_weights()
    transposed = isinstance(layer, layers.Conv2DTranspose)  # kernel is (h, w, out, in)
    if transposed:
        kernel, old_kernel = np.swapaxes(kernel, -1, -2), np.swapaxes(old_kernel, -1, -2)
    if old_kernel.shape[:-2] != kernel.shape[:-2] or old_kernel.shape[-2] != len(incoming):
        raise ValueError(f"layer {layer.name}: old weights {old_kernel.shape} do not fit {kernel.shape}")
    n_out = old_kernel.shape[-1]
    kernel[..., :n_out] = 0.0  # nothing new flows into an old channel ...
    kernel[..., incoming, :n_out] = old_kernel  # ... which computes what it did
    if transposed:
        kernel = np.swapaxes(kernel, -1, -2)
    for w, old_w in zip(rest, old_rest):
        w[:n_out] = old_w
    return [kernel, *rest]


def encoder_of(model: keras.Model) -> keras.Model | None:
    """The encoder (input → layer named ``code``) of a model, or None if it has no bottleneck."""
    try:
        code = model.get_layer("code")
    except ValueError:
        return None
    return keras.Model(model.inputs, code.output, name=f"{model.name}_encoder")


def decoder_of(model: keras.Model) -> keras.Model | None:
    """The decoder (code → image) of a bottleneck model, sharing its layers; None without a code.

    The layers after ``code`` are applied in order, which holds for the
    chain-shaped ``dense`` and ``conv`` models.
    """
    names = [layer.name for layer in model.layers]
    if "code" not in names:
        return None
    code = model.get_layer("code")
    x = inputs = keras.Input(shape=code.output.shape[1:], name="code_in")
    for layer in model.layers[names.index("code") + 1 :]:
        x = layer(x)
    return keras.Model(inputs, x, name=f"{model.name}_decoder")
