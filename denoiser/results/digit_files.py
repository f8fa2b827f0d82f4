"""Digit files: reading PNG/JPEG/NPY digits, and writing denoised ones as PNGs (the CLI's ``denoise``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from denoiser.digits.arrays import from_levels
from denoiser.digits.preprocess import ink_map, read_image, to_mnist
from denoiser.models.files import save_bytes
from denoiser.results.grid import digit_png

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def digits_from_file(path: str | Path) -> np.ndarray:
    """Load the digits in a file as float32 (N, 28, 28) in [0, 1].

    A ``.npy`` holds (28, 28) or (N, 28, 28) digits (uint8 0–255 or float 0–1).
    A PNG/JPEG that is already a 28×28 light-on-dark digit is used as it is;
    any other image goes through :func:`denoiser.to_mnist`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise ValueError(f"{path.name}: not a readable .npy array ({err})") from None
        if arr.shape[-2:] != (28, 28) or arr.ndim not in (2, 3):
            raise ValueError(f"{path.name}: expected (28, 28) or (N, 28, 28), got {arr.shape}")
        if np.issubdtype(arr.dtype, np.floating) and arr.size and np.nanmax(arr) > 1:
            arr = arr / 255.0  # floats saved as 0..255 levels
        try:
            return from_levels(arr).reshape(-1, 28, 28)
        except ValueError as err:
            raise ValueError(f"{path.name}: {err}") from None
    if suffix not in IMAGE_SUFFIXES:
        raise ValueError(f"{path.name}: unsupported file type; use .png, .jpg, .jpeg or .npy")
    rgba = read_image(path)
    if rgba.shape[:2] == (28, 28):
        gray = rgba[..., :3].mean(axis=2)
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        if np.median(border) < 0.5 and rgba[..., 3].min() >= 0.99:
            return gray[None].astype(np.float32)  # already an MNIST-style digit: keep its noise
        return ink_map(rgba)[None].astype(np.float32)
    return to_mnist(rgba)[None]


def denoise_files(
    inputs: list[str | Path],
    out_dir: str | Path,
    denoise: Callable[[np.ndarray], np.ndarray],
    scale: int = 1,
) -> list[Path]:
    """Denoise each input file and write ``<stem>-denoised.png`` (``<stem>-<i>-denoised.png`` for batches).

    All inputs are read and checked before anything is written.
    """
    if not 1 <= int(scale) <= 32:
        raise ValueError(f"scale must be in [1, 32], got {scale!r}")
    loaded = []
    for path in inputs:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"{path}: no such file")
        loaded.append((path, digits_from_file(path)))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path, digits in loaded:
        clean = denoise(digits)
        for i, digit in enumerate(clean):
            name = f"{path.stem}-denoised.png" if len(clean) == 1 else f"{path.stem}-{i}-denoised.png"
            target = out_dir / name
            save_bytes(digit_png(digit, scale), target)
            written.append(target)
    return written
