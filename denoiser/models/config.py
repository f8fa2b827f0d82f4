"""Model configurations: small dataclasses saved with every model (no TensorFlow needed)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Architecture:
    """What everything outside the model builder needs to know about one architecture.

    ``settings`` are the :class:`ModelConfig` fields its builder reads (besides the loss
    and optimiser, which every model has): the app shows a control for each, the CLI
    passes their flags, :meth:`ModelConfig.describe` names them, and a config that sets
    any other field away from its default is refused.
    """

    description: str
    settings: tuple[str, ...]
    has_code: bool = False  # its bottleneck layer is named "code" (latent-space views use it)


#: The architectures, by name. Add one here and its builder in ``denoiser.models.build.BUILDERS``
#: (docs/architecture.md); :func:`denoiser.models.build.register_architecture` does both at run time.
ARCHITECTURES: dict[str, Architecture] = {
    "dense": Architecture("the tutorial's fully connected autoencoder: 784 → … → code → … → 784",
                          ("code_size", "layers", "nodes"), has_code=True),
    "conv": Architecture("a convolutional autoencoder (keras-io denoising example): 28→14→7→14→28",
                         ("filters",), has_code=True),
    "unet": Architecture("a small U-Net: conv encoder/decoder with skip connections at every scale",
                         ("filters", "context", "blocks", "clip_flags")),
}
LOSSES = ("binary_crossentropy", "mse", "psnr")
OPTIMIZERS = ("adam", "adadelta", "sgd")
#: How :meth:`ModelConfig.describe` names each setting's value (a false or zero value is left out
#: for the optional ones: context, blocks, clip_flags).
SETTING_WORDS: dict[str, str] = {
    "code_size": "code {}", "layers": "{} layer(s)", "nodes": "{} nodes", "filters": "width {}",
    "context": "context {}", "blocks": "{} residual block(s) per scale", "clip_flags": "clip flags",
}
OPTIONAL = ("context", "blocks", "clip_flags")

#: Valid ranges for numeric settings: name -> (low, high).
LIMITS: dict[str, tuple[float, float]] = {
    "code_size": (1, 784),
    "layers": (1, 5),
    "nodes": (1, 4096),
    "filters": (1, 256),
    "context": (0, 1024),
    "blocks": (0, 4),
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
    context : int
        ``unet`` only: nodes of a fully connected layer that reads the whole 7×7
        bottleneck, so every pixel's decision can use the shape of the whole digit
        (0 = none; convolutions alone see only a neighbourhood).
    blocks : int
        ``unet`` only: residual blocks (two 3×3 convolutions and a shortcut)
        after the bottleneck and after each decoder stage (0 = none).
    clip_flags : bool
        ``unet`` only: give the network two more input maps marking the pixels the
        noise clipped to exactly 0 or exactly 1. Such a pixel says less than its
        value suggests (only that the noisy value fell outside [0, 1]), and a
        convolution can hardly tell an exact 0 from a 0.01 by itself.
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
    context: int = 0
    blocks: int = 0
    clip_flags: bool = False
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
        if not isinstance(self.clip_flags, bool):
            raise ValueError(f"clip_flags must be true or false, got {self.clip_flags!r}")
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
            if name != "learning_rate" and int(value) != value:
                raise ValueError(f"{name} must be a whole number in [{low:g}, {high:g}], got {value!r}")
            if not low <= value <= high:
                raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {value!r}")
        reads = ARCHITECTURES[self.architecture].settings
        extras = [f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)
                  if f.name in SETTING_WORDS and f.name not in reads and getattr(self, f.name) != f.default]
        if extras:
            raise ValueError(f"architecture {self.architecture!r} does not read {', '.join(extras)} "
                             f"(it reads {', '.join(reads) or 'none of them'}; leave the others at their "
                             "defaults)")

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

    def describe(self, training: bool = False) -> str:
        """The architecture and the settings it reads, e.g. ``unet (width 32, context 128)``;
        with ``training``, the loss, optimiser and learning rate too.

        Examples
        --------
        >>> ModelConfig("dense", code_size=64, layers=2).describe(training=True)
        'dense (code 64, 2 layer(s), 128 nodes), binary_crossentropy, adam lr 0.001'
        """
        parts = [SETTING_WORDS[name].format(getattr(self, name))
                 for name in ARCHITECTURES[self.architecture].settings
                 if name in SETTING_WORDS and (getattr(self, name) or name not in OPTIONAL)]
        text = f"{self.architecture} ({', '.join(parts)})" if parts else self.architecture
        if training:
            text += f", {self.loss}, {self.optimizer} lr {self.learning_rate:g}"
        return text

    def dense_sizes(self) -> list[int]:
        """Encoder layer sizes of the dense model, ending with the code layer."""
        hidden = [max(self.nodes // 2**i, self.code_size) for i in range(self.layers - 1)]
        return hidden + [self.code_size]
