"""Distribution shift (denoiser.results.shift and python -m denoiser shift): the same denoisers on
a class's digits and on MNIST's, at the same noise."""

import io
import json

import numpy as np
import pytest

from denoiser.results.shift import measure_shift, shift_markdown


def strokes(n: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 28, 28), np.float32)
    for i in range(n):
        col = rng.integers(8, 18)
        x[i, 5:23, col:col + width] = 1
    return x


def test_each_method_is_measured_on_each_set_at_the_same_noise_and_names_its_worst_digits():
    thin, thick = strokes(6, 2, 0), strokes(6, 6, 1)
    blur = {"keep": lambda x: x, "zero": lambda x: np.zeros_like(x)}
    rows = measure_shift(blur, {"ours": thin, "theirs": thick}, "gaussian", 0.4, seed=3)
    assert [(r["method"], r["digits_of"]) for r in rows] == [
        ("keep", "ours"), ("keep", "theirs"), ("zero", "ours"), ("zero", "theirs")]
    by = {(r["method"], r["digits_of"]): r for r in rows}
    # predicting black is worse on the set with more ink: the shift between the sets shows
    assert by[("zero", "theirs")]["psnr"] < by[("zero", "ours")]["psnr"]
    # the same noisy digits for every method: "keep" scores equal a direct measure at that seed
    from denoiser import add_noise
    from denoiser.results.metrics import psnr

    direct = psnr(thin, np.clip(add_noise(thin, "gaussian", 0.4, seed=3), 0, 1))
    assert by[("keep", "ours")]["psnr"] == pytest.approx(direct.mean(), abs=0.01)
    assert by[("keep", "ours")]["worst"] == list(np.argsort(direct, kind="stable")[:3])
    assert by[("keep", "ours")]["psnr_sd"] == pytest.approx(direct.std(), abs=0.01)
    table = shift_markdown(rows)
    assert table.count("\n") == 5 and "| keep | ours | 6 |" in table and " ± " in table


def test_a_set_that_is_not_digits_is_refused():
    with pytest.raises(ValueError, match="28, 28"):
        measure_shift({"keep": lambda x: x}, {"bad": np.zeros((3, 32, 32))})


@pytest.mark.slow
def test_the_cli_measures_an_exported_collection_against_mnist(tmp_path, capsys):
    from denoiser.cli import main
    from denoiser.digits.mnist import load_sample

    ours = np.round(load_sample().x_test[:20] * 255).astype(np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, x_train=ours, y_train=load_sample().y_test[:20].astype(np.uint8),
             x_test=np.zeros((0, 28, 28), np.uint8), y_test=np.zeros(0, np.uint8))
    (tmp_path / "class7b.npz").write_bytes(buffer.getvalue())
    assert main(["shift", str(tmp_path / "class7b.npz"), "--models", "blind", "--sample", "--limit", "40",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    sets = {(r["method"], r["digits_of"]): r for r in report["results"]}
    methods, digit_sets = ("noisy input", "blind", "filter: median"), ("class7b", "MNIST test")
    assert set(sets) == {(m, s) for m in methods for s in digit_sets}
    assert sets[("blind", "class7b")]["digits"] == 20 and sets[("blind", "MNIST test")]["digits"] == 40
    assert sets[("blind", "class7b")]["psnr"] > sets[("noisy input", "class7b")]["psnr"]
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    assert main(["shift", str(bad), "--sample"]) == 2  # a usage error, said in one line
    assert "not an .npz" in capsys.readouterr().err
