"""Handwriting that is not MNIST's: the UCI optical digits, framed like MNIST, shipped with the app.

The file (``denoiser/assets/uci_digits.npz``, made by ``python -m scripts.make_uci_digits``)
holds the 1,797 digits scikit-learn ships from *Optical Recognition of Handwritten Digits*
(E. Alpaydin and C. Kaynak, 1998; UCI Machine Learning Repository,
https://doi.org/10.24432/C50P49; licence CC BY 4.0): 43 writers, scanned on coarse 8×8
blocks, scaled up and framed as MNIST's digits were. A model trained on MNIST meets other
people's handwriting and another scanner here — the shift the eighth lesson measures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from denoiser.digits.mnist import Digits, other_digits

UCI_PATH = Path(__file__).parents[1] / "assets" / "uci_digits.npz"
#: How the digits are credited wherever they are shown.
UCI_CREDIT = ("UCI optical digits (Alpaydin & Kaynak 1998, UCI Machine Learning Repository, "
              "CC BY 4.0), framed like MNIST")


def load_uci_digits(path: str | Path = UCI_PATH) -> Digits:
    """The UCI optical digits as test digits (float32 (N, 28, 28) in [0, 1]; no training split).

    Examples
    --------
    >>> uci = load_uci_digits()
    >>> uci.x_test.shape, sorted(set(uci.y_test.tolist())) == list(range(10))
    ((1797, 28, 28), True)
    """
    with np.load(path, allow_pickle=False) as arrays:
        return other_digits(arrays["x_test"], arrays["y_test"], UCI_CREDIT)
