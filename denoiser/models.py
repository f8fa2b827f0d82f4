"""Denoising autoencoders, each built from a small config saved with it.

Every model maps noisy digits of shape (N, 28, 28) in [0, 1] to clean ones of
the same shape. Models with a bottleneck (``dense``, ``conv``) also expose
their encoder for the latent-space view; the U-Net's skip connections bypass
its bottleneck, so it has none.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

import keras
from keras import layers, ops

ARCHITECTURES: dict[str, str] = {
    "dense": "the tutorial's fully connected autoencoder: 784 → … → code → … → 784",
    "conv": "a convolutional autoencoder (keras-io denoising example): 28→14→7→14→28",
    "unet": "a small U-Net: conv encoder/decoder with skip connections at every scale",
}
LOSSES = ("binary_crossentropy", "mse", "psnr")


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
OPTIMIZERS = ("adam", "adadelta", "sgd")

#: Valid ranges for numeric settings: name -> (low, high).
LIMITS: dict[str, tuple[float, float]] = {
    "code_size": (1, 784),
    "layers": (1, 5),
    "nodes": (1, 4096),
    "filters": (1, 256),
    "learning_rate": (1e-6, 10.0),
}


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model's architecture and optimiser.

    Parameters
    ----------
    architecture : {"dense", "conv", "unet"}
    code_size : int
        Nodes in the dense code layer (the bottleneck).
    layers : int
        Dense encoder layers, the code layer included (1 = 784 → code → 784).
    nodes : int
        Nodes in the first hidden dense layer; each deeper layer halves it
        (never below ``code_size``) and the decoder mirrors the encoder.
    filters : int
        Width (channels at full resolution) of ``conv`` and ``unet``.
    loss : {"binary_crossentropy", "mse", "psnr"}
        ``psnr`` is minus each image's PSNR (see :func:`psnr_loss`).
    optimizer : {"adam", "adadelta", "sgd"}
    learning_rate : float
    """

    architecture: str = "dense"
    code_size: int = 32
    layers: int = 1
    nodes: int = 128
    filters: int = 32
    loss: str = "binary_crossentropy"
    optimizer: str = "adam"
    learning_rate: float = 1e-3

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {self.architecture!r}; valid: {', '.join(ARCHITECTURES)}"
            )
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; valid: {', '.join(LOSSES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid: {', '.join(OPTIMIZERS)}")
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
            if name != "learning_rate" and int(value) != value:
                raise ValueError(f"{name} must be a whole number in [{low:g}, {high:g}], got {value!r}")
            if not low <= value <= high:
                raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {value!r}")

    @classmethod
    def tutorial(cls) -> ModelConfig:
        """The seed tutorial's model exactly: 784 → 32 → 784, BCE, Adadelta at Keras' default rate."""
        return cls("dense", code_size=32, layers=1, loss="binary_crossentropy",
                   optimizer="adadelta", learning_rate=1e-3)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def dense_sizes(self) -> list[int]:
        """Encoder layer sizes of the dense model, ending with the code layer."""
        hidden = [max(self.nodes // 2**i, self.code_size) for i in range(self.layers - 1)]
        return hidden + [self.code_size]


def build_dense(config: ModelConfig) -> keras.Model:
    """The tutorial's dense autoencoder with its four hyperparameters exposed."""
    inputs = keras.Input(shape=(28, 28), name="noisy")
    x = layers.Flatten()(inputs)
    for i, size in enumerate(config.dense_sizes()):
        last = i == config.layers - 1
        x = layers.Dense(size, activation="relu", name="code" if last else f"enc_{i}")(x)
    for i, size in enumerate(reversed(config.dense_sizes()[:-1])):
        x = layers.Dense(size, activation="relu", name=f"dec_{i}")(x)
    x = layers.Dense(784, activation="sigmoid", name="pixels")(x)
    outputs = layers.Reshape((28, 28), name="clean")(x)
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
    x = layers.Conv2D(1, 3, activation="sigmoid", padding="same")(x)
    outputs = layers.Reshape((28, 28), name="clean")(x)
    return keras.Model(inputs, outputs, name="conv_autoencoder")


def _double_conv(x, filters: int, name: str):
    x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_a")(x)
    return layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_b")(x)


def build_unet(config: ModelConfig) -> keras.Model:
    """A small U-Net: 28 → 14 → 7 and back, with skip connections at each scale."""
    f = config.filters
    inputs = keras.Input(shape=(28, 28), name="noisy")
    x0 = layers.Reshape((28, 28, 1))(inputs)
    e1 = _double_conv(x0, f, "enc1")
    e2 = _double_conv(layers.MaxPooling2D(2)(e1), 2 * f, "enc2")
    b = _double_conv(layers.MaxPooling2D(2)(e2), 4 * f, "bottleneck")
    u2 = layers.Conv2DTranspose(2 * f, 2, strides=2, padding="same", name="up2")(b)
    d2 = _double_conv(layers.Concatenate()([u2, e2]), 2 * f, "dec2")
    u1 = layers.Conv2DTranspose(f, 2, strides=2, padding="same", name="up1")(d2)
    d1 = _double_conv(layers.Concatenate()([u1, e1, x0]), f, "dec1")
    x = layers.Conv2D(1, 1, activation="sigmoid", name="pixels")(d1)
    outputs = layers.Reshape((28, 28), name="clean")(x)
    return keras.Model(inputs, outputs, name="unet")


_BUILDERS = {"dense": build_dense, "conv": build_conv, "unet": build_unet}


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
    model = _BUILDERS[config.architecture](config)
    if compile:
        model.compile(optimizer=make_optimizer(config), loss=loss_function(config.loss))
    return model


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
