"""The shipped UCI optical digits: framed like MNIST, credited, and remade by their script."""

import io

import numpy as np
import pytest
from scipy import ndimage

from denoiser.digits.uci import UCI_CREDIT, UCI_PATH, load_uci_digits


def test_they_are_framed_like_mnists_digits():
    uci = load_uci_digits()
    assert uci.x_test.shape == (1797, 28, 28) and uci.x_test.dtype == np.float32
    assert np.bincount(uci.y_test).min() >= 170  # every digit, about alike
    assert uci.x_test.min() == 0 and uci.x_test.max() == 1
    for digit in uci.x_test[::97]:
        rows, cols = np.nonzero(digit > 0.1)
        assert max(np.ptp(rows), np.ptp(cols)) <= 22  # its box about 20 px, as MNIST's
        cy, cx = ndimage.center_of_mass(digit)
        assert abs(cy - 13.5) < 1.5 and abs(cx - 13.5) < 1.5  # its centre of mass centred
    assert "CC BY 4.0" in uci.description and uci.description.startswith(UCI_CREDIT)


def test_the_shipped_file_is_what_its_script_makes():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits

    from scripts.make_uci_digits import framed

    source = load_digits()
    with np.load(UCI_PATH) as shipped:
        x, y = shipped["x_test"], shipped["y_test"]
    assert np.array_equal(y, source.target)
    picks = np.arange(0, len(x), 61)
    remade = np.stack([framed(source.images[i]) for i in picks])
    assert np.abs(remade.astype(int) - x[picks]).max() <= 1  # the same, but for rounding
    assert set(np.load(io.BytesIO(UCI_PATH.read_bytes())).files) == {"x_test", "y_test"}
