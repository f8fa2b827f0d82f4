"""What the Learn view's experiments compute: distorted digits, recorded curves, lesson models."""

import json

import numpy as np
import pytest

from denoiser.models.shipped import list_pretrained
from denoiser.results.metrics import psnr, ssim
from denoiser.teaching.experiments import (
    CODE_SIZES,
    CONTEXT,
    OPTIMISERS,
    lessons_dir,
    metric_examples,
    recorded_curves,
    shifted,
)


def test_a_shift_moves_every_pixel_and_keeps_the_ink(digits):
    moved = shifted(digits[:3], 1)
    np.testing.assert_array_equal(moved[:, :, 1:], digits[:3, :, :27])
    assert (moved[:, :, 0] == 0).all()


def test_each_change_grows_with_strength_and_none_at_zero_noise(digits):
    clean = digits[:8]
    weak, strong = metric_examples(clean, 0.1), metric_examples(clean, 0.9)
    for (label_w, a), b in zip(weak.items(), strong.values()):
        assert a.shape == b.shape == clean.shape and a.dtype == np.float32
        assert a.min() >= 0 and a.max() <= 1
        if not label_w.startswith("Shifted"):  # a shift is whole pixels: 1 then 2
            assert psnr(clean, b).mean() < psnr(clean, a).mean(), label_w
    np.testing.assert_array_equal(metric_examples(clean, 0.0)["Noise"], clean)


def test_psnr_and_ssim_disagree_on_a_dimmed_digit_as_the_lesson_says(digits):
    # the lesson's point: a uniform dimming keeps the pattern (SSIM high) though every pixel moved
    clean = digits[:16]
    changed = metric_examples(clean, 0.5)
    dim = next(v for k, v in changed.items() if k.startswith("Dimmed"))
    noise = changed["Noise"]
    assert ssim(clean, dim).mean() > ssim(clean, noise).mean()


def test_strength_outside_0_to_1_is_refused(digits):
    with pytest.raises(ValueError, match="strength"):
        metric_examples(digits[:2], 1.5)


def test_recorded_curves_read_each_models_history_and_skip_the_rest(tmp_path):
    manifest = {"default": "a", "models": {
        "a": {"training": {"history": {"loss": [0.3, 0.2], "val_loss": [0.31, 0.22]}}},
        "b": {"training": {}},
        "c": {"training": {"history": {"val_loss": ["x"]}}}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    curves = recorded_curves({"a": "first", "b": "second", "c": "third", "d": "none"}, directory=tmp_path)
    assert curves == {"first": [0.31, 0.22]}
    assert recorded_curves({"a": "x"}, "loss", tmp_path) == {"x": [0.3, 0.2]}
    (tmp_path / "manifest.json").write_text("{broken")
    assert recorded_curves({"a": "x"}, directory=tmp_path) == {}


@pytest.mark.skipif(not (lessons_dir() / "manifest.json").exists(), reason="no lesson models shipped")
def test_the_shipped_lesson_models_are_all_there_with_their_curves():
    names = list_pretrained(lessons_dir())
    assert set(CODE_SIZES) | set(OPTIMISERS) | set(CONTEXT) <= set(names)
    # each curve's legend starts with the name its row of digits shows ("Denoised by code-32")
    assert all(label.split()[0] == name for name, label in OPTIMISERS.items())
    curves = recorded_curves(OPTIMISERS)
    assert len(curves) == 2 and all(len(c) == 30 for c in curves.values())
    adadelta, adam = curves.values()
    assert adadelta[-1] > adam[-1]  # what lesson 3 shows: Adadelta at Keras 3's rate lags far behind
