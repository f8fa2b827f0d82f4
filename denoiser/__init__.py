"""denoiser: explore image denoising with autoencoders on MNIST digits."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from .data import load_mnist  # noqa: E402
from .noise import NOISE_KINDS, add_noise  # noqa: E402
from .preprocess import to_mnist  # noqa: E402

__all__ = ["NOISE_KINDS", "add_noise", "list_pretrained", "load_mnist", "load_pretrained", "to_mnist"]


def list_pretrained() -> list[str]:
    """Names of the shipped models, the default first."""
    from .pretrained import list_pretrained as _list

    return _list()


def load_pretrained(name: str | None = None):
    """Load a shipped model (None = the default); returns a :class:`denoiser.pretrained.Denoiser`."""
    from .pretrained import load_pretrained as _load

    return _load(name)
