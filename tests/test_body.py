"""The one training body (denoiser.training.body): what every way of training shares."""

import keras
import numpy as np
import pytest

from denoiser import load_mnist
from denoiser.models.build import ModelConfig, build_model
from denoiser.models.onnx_session import OnnxModel
from denoiser.results.evaluation import EVAL_SEED, evaluate_denoiser
from denoiser.training.body import train_export_measure
from denoiser.training.fit import NoiseSpec

CONFIG = ModelConfig("dense", code_size=8, nodes=32)


@pytest.fixture(scope="module")
def digits():
    data = load_mnist()
    return data.x_train[:256], data.x_test[:64]


def test_scores_are_the_exported_models_at_the_evaluation_seed(digits):
    x_train, x_eval = digits
    trained = train_export_measure(CONFIG, x_train, x_eval=x_eval, epochs=1, batch_size=64,
                                   noise=NoiseSpec("salt_pepper", 0.3), validation_split=0.0,
                                   measure_at=[("salt_pepper", 0.3), ("gaussian", 0.5),
                                               ("gaussian", 0.5), ("blind", 0.0)])
    assert trained.usable and trained.onnx and trained.export_error is None
    assert list(trained.metrics) == ["salt_pepper@0.3", "gaussian@0.5"]  # once each, blind skipped
    onnx = OnnxModel(trained.onnx)

    def run(x):
        return onnx(x)

    for key, scores in trained.metrics.items():
        kind, amount = key.split("@")
        again = evaluate_denoiser(run, x_eval, kind, float(amount), seed=EVAL_SEED)
        assert scores["psnr"] == pytest.approx(again["psnr"], abs=1e-4)
        other_seed = evaluate_denoiser(run, x_eval, kind, float(amount), seed=EVAL_SEED + 1)
        assert scores["psnr"] != pytest.approx(other_seed["psnr"], abs=1e-6)


def test_it_fine_tunes_the_model_it_is_given(digits):
    x_train, _ = digits
    first = train_export_measure(CONFIG, x_train, epochs=2, batch_size=32, validation_split=0.0)
    start = build_model(CONFIG)
    start.set_weights(first.model.get_weights())
    again = train_export_measure(CONFIG, x_train, start=lambda: start, epochs=1, batch_size=32,
                                 validation_split=0.0)
    fresh = train_export_measure(CONFIG, x_train, epochs=1, batch_size=32, validation_split=0.0)
    assert again.model is start and not again.metrics  # no digits to score on: no scores
    # it went on from two epochs' weights, so its first epoch starts where a fresh model's cannot
    assert again.result.history["loss"][0] < fresh.result.history["loss"][0]


def test_mixed_precision_trains_in_bfloat16_and_hands_back_float32(digits):
    x_train, x_eval = digits
    seen = []

    def start():
        seen.append(keras.mixed_precision.dtype_policy().name)
        return None

    trained = train_export_measure(CONFIG, x_train, x_eval=x_eval[:16], start=start,
                                   mixed_precision=True, epochs=1, batch_size=64,
                                   validation_split=0.0)
    assert seen == ["mixed_bfloat16"]
    assert keras.mixed_precision.dtype_policy().name == "float32"  # restored
    assert {w.dtype for w in trained.model.weights} == {"float32"}
    assert trained.model.dtype_policy.name == "float32" and trained.onnx
    out = np.asarray(trained.model(x_eval[:4]))
    assert out.dtype == np.float32


def test_held_out_digits_are_scored_before_and_after_a_fine_tune(digits):
    x_train, x_eval = digits
    first = train_export_measure(CONFIG, x_train, epochs=1, batch_size=64, validation_split=0.0)
    start = build_model(CONFIG)
    start.set_weights(first.model.get_weights())
    from denoiser.models.runtime import Denoiser

    before = evaluate_denoiser(Denoiser(start, config=CONFIG).denoise, x_eval, "gaussian", 0.5,
                               seed=EVAL_SEED)
    tuned = train_export_measure(CONFIG, x_train, x_held=x_eval, start=lambda: start, epochs=3,
                                 batch_size=32, validation_split=0.0)
    assert tuned.held["before"] == pytest.approx(before)  # the starting model, before it trained on
    after = evaluate_denoiser(OnnxModel(tuned.onnx), x_eval, "gaussian", 0.5, seed=EVAL_SEED)
    assert tuned.held["after"]["psnr"] == pytest.approx(after["psnr"], abs=1e-4)
    assert tuned.held["after"]["psnr"] > tuned.held["before"]["psnr"]  # three more epochs helped
    fresh = train_export_measure(CONFIG, x_train, x_held=x_eval, epochs=1, validation_split=0.0)
    assert fresh.held["before"] is None and fresh.held["after"]  # a new model has no before
