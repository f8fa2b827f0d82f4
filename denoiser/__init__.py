"""denoiser: explore image denoising with autoencoders on MNIST digits."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from denoiser.digits.mnist import load_mnist  # noqa: E402
from denoiser.digits.noise import NOISE_KINDS, add_noise  # noqa: E402
from denoiser.digits.preprocess import to_mnist  # noqa: E402

__all__ = ["NOISE_KINDS", "add_noise", "list_pretrained", "load_mnist", "load_pretrained", "to_mnist"]


def list_pretrained(directory: str | os.PathLike | None = None) -> list[str]:
    """Names of the shipped models (or those of ``directory``), the default first."""
    from denoiser.models.shipped import list_pretrained as _list

    return _list(directory)


def load_pretrained(name: str | None = None, directory: str | os.PathLike | None = None,
                    lazy: bool = False):
    """Load a shipped model (None = the default); returns a :class:`denoiser.models.runtime.Denoiser`.

    Same as :func:`denoiser.models.shipped.load_pretrained`: with ``lazy=True`` the model runs on ONNX
    Runtime and Keras loads only when first needed.
    """
    from denoiser.models.shipped import load_pretrained as _load

    return _load(name, directory, lazy=lazy)
