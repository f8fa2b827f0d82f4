"""Write ``denoiser/assets/uci_digits.npz``: the UCI optical digits that scikit-learn ships,
framed like MNIST — handwriting that is not MNIST's, for the eighth lesson and the shift figures.

Needs scikit-learn (in requirements-dev.txt; the app reads only the file this writes)::

    python -m scripts.make_uci_digits

The 1,797 digits are the test split of *Optical Recognition of Handwritten Digits* (E. Alpaydin
and C. Kaynak, 1998; UCI Machine Learning Repository, https://doi.org/10.24432/C50P49, CC BY 4.0):
43 people's handwriting on 32×32 bitmaps, counted into 8×8 blocks of 0–16. Each is scaled up
smoothly to 80×80 and then framed as MNIST's were (:func:`denoiser.to_mnist`: its box scaled to
20 pixels, its centre of mass centred in 28×28), so only the handwriting and the coarse scan
differ from MNIST's, not the framing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from denoiser.digits.preprocess import to_mnist
from denoiser.models.files import save_bytes

OUT = Path(__file__).resolve().parents[1] / "denoiser" / "assets" / "uci_digits.npz"


def framed(block: np.ndarray) -> np.ndarray:
    """One 8×8 digit of 0–16 as a 28×28 ``uint8`` digit framed like MNIST."""
    img = Image.fromarray(np.uint8(np.round(block / 16 * 255)), mode="L")
    return np.uint8(np.round(to_mnist(np.asarray(img.resize((80, 80), Image.BICUBIC))) * 255))


def main() -> int:
    import io

    from sklearn.datasets import load_digits

    uci = load_digits()
    x = np.stack([framed(block) for block in uci.images])
    y = uci.target.astype(np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x_test=x, y_test=y)
    save_bytes(buffer.getvalue(), OUT)
    print(f"wrote {OUT} ({len(x)} digits, {OUT.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
