"""What the Learn view's experiments need besides the app: their models, recorded training curves,
and the distorted digits that show what PSNR and SSIM measure.

The lesson models (``pretrained/lessons/``, made by ``scripts/train_lessons.sh``) come in pairs
or triples that differ in one setting: the code size (4, 32, 128), the optimiser (the tutorial's
Adadelta at Keras 3's rate, and Adam: ``code-32``), and whole-digit context in a small U-Net.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from denoiser.digits.arrays import as_images
from denoiser.models.files import ModelFileError, model_dir, read_manifest

#: The lesson models' folder inside a model directory.
SUBDIR = "lessons"
CODE_SIZES = ("code-4", "code-32", "code-128")
#: Lesson 3's models -> their curve's label: the name its row shows, then the optimiser it was
#: trained with (the legend and the rows name the same model the same way).
OPTIMISERS = {"adadelta": "adadelta (Adadelta)", "code-32": "code-32 (Adam)"}
CONTEXT = ("context-0", "context-64")


def lessons_dir(models_dir: str | Path | None = None) -> Path:
    """Where the lesson models are: ``lessons/`` in the model directory."""
    return model_dir(models_dir) / SUBDIR


def recorded_curves(names: dict[str, str], key: str = "val_loss",
                    directory: str | Path | None = None) -> dict[str, list[float]]:
    """Each named model's loss per epoch, as its training recorded it in the manifest.

    Parameters
    ----------
    names : dict
        Model name -> the label the curve gets.
    key : {"val_loss", "loss"}

    Returns
    -------
    dict
        Label -> losses (models without a recorded history are left out).
    """
    try:
        models = read_manifest(directory if directory is not None else lessons_dir())["models"]
    except ModelFileError:
        return {}
    curves = {}
    for name, label in names.items():
        history = (models.get(name) or {}).get("training", {}).get("history", {})
        values = history.get(key) if isinstance(history, dict) else None
        if isinstance(values, list) and values and all(isinstance(v, (int, float)) for v in values):
            curves[label] = [float(v) for v in values]
    return curves


def shifted(images: np.ndarray, pixels: int = 1) -> np.ndarray:
    """Digits moved ``pixels`` to the right (the column that enters is black)."""
    x = as_images(images).reshape(-1, 28, 28)
    out = np.zeros_like(x)
    out[:, :, pixels:] = x[:, :, : 28 - pixels]
    return out


def metric_examples(clean: np.ndarray, strength: float, seed: int = 0) -> dict[str, np.ndarray]:
    """The same digits changed four ways, each more as ``strength`` (0–1) grows.

    Returns label -> (N, 28, 28) float32 in [0, 1]: Gaussian noise, a blur, a shift by one
    pixel (two from strength 0.5), and a dimming: four changes that PSNR and SSIM judge
    differently from the eye.

    Raises
    ------
    ValueError
        ``strength`` outside [0, 1].
    """
    from skimage.filters import gaussian

    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength!r}")
    x = as_images(clean).reshape(-1, 28, 28).astype(np.float32)
    rng = np.random.default_rng(seed)
    noise = np.clip(x + 0.4 * strength * rng.standard_normal(x.shape, dtype=np.float32), 0, 1)
    sigma = 0.2 + 1.3 * strength
    blurred = np.stack([gaussian(d, sigma=sigma, preserve_range=True) for d in x]).astype(np.float32)
    return {
        "Noise": noise,
        f"Blurred (σ {sigma:.1f})": np.clip(blurred, 0, 1),
        f"Shifted {1 if strength < 0.5 else 2} px": shifted(x, 1 if strength < 0.5 else 2),
        f"Dimmed to {1 - 0.5 * strength:.0%}": x * np.float32(1 - 0.5 * strength),
    }
