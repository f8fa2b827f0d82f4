"""Models primed ahead of their run: same start as a new model, no tracing in the run itself
(the ONNX export after training traces the model's call, not these steps)."""

from __future__ import annotations

import queue
import threading
import time

import keras
import numpy as np
import pytest

from denoiser.models.build import build_model
from denoiser.models.config import ModelConfig
from denoiser.training import primed
from denoiser.training.body import train_export_measure
from denoiser.training.fit import train

DENSE = ModelConfig("dense", code_size=16)


@pytest.fixture(autouse=True)
def nothing_primed():
    primed._kept.clear()
    yield
    primed._kept.clear()


@pytest.fixture
def traced(monkeypatch):
    """Counts Keras tracing a model's training and evaluation steps (a traced graph is then run
    without calling them again), per model."""
    calls: dict[str, list[int]] = {"train": [], "test": [], "predict": []}
    functional = type(build_model(DENSE, compile=False))
    train_step, test_step, predict_step = (functional.train_step, functional.test_step,
                                           functional.predict_step)

    def counting_train(self, data):
        calls["train"].append(id(self))
        return train_step(self, data)

    def counting_test(self, data):
        calls["test"].append(id(self))
        return test_step(self, data)

    def counting_predict(self, data):
        calls["predict"].append(id(self))
        return predict_step(self, data)

    monkeypatch.setattr(functional, "train_step", counting_train)
    monkeypatch.setattr(functional, "predict_step", counting_predict)
    monkeypatch.setattr(functional, "test_step", counting_test)
    return calls


def test_a_primed_model_starts_where_a_new_one_does(digits):
    keras.utils.set_random_seed(3)
    new = build_model(DENSE)
    new.optimizer.build(new.trainable_variables)
    primed.prime(DENSE, seed=3)
    model = primed.take(DENSE, seed=3)
    assert model is not None and primed.take(DENSE, seed=3) is None  # taken once
    for ours, theirs in zip(model.variables, new.variables, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for ours, theirs in zip(model.optimizer.variables, new.optimizer.variables, strict=True):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # no step taken, rate as set
    assert int(model.optimizer.iterations.numpy()) == 0


def test_a_run_on_a_primed_model_traces_nothing_and_learns_as_a_new_one(digits, traced):
    x = digits[:203]  # batches of 32 and a last one of 22 (182 training digits), 21 to validate
    fresh = train(DENSE, x, epochs=2, batch_size=32)
    assert traced["train"] and traced["test"]  # a new model's steps are traced in its run
    primed.prime(DENSE)
    for calls in traced.values():
        calls.clear()
    previews = []

    class Preview(keras.callbacks.Callback):  # as a run's process draws its previews
        def on_epoch_end(self, epoch, logs=None):
            previews.append(self.model.predict_on_batch(digits[:8]))

    # as a run's process trains: through the one training body, at any batch size
    result = train_export_measure(DENSE, x, epochs=2, batch_size=64, callbacks=[Preview()]).result
    assert traced == {"train": [], "test": [], "predict": []} and len(previews) == 2
    assert primed.primed_configs() == []  # the run took it
    # a new model with the same settings: the same start and data, so the same run up to the
    # rounding of other kernels
    run = train(DENSE, x, epochs=2, batch_size=64)
    assert result.history["loss"][-1] == pytest.approx(run.history["loss"][-1], rel=1e-3)
    assert fresh.history["loss"][1] < fresh.history["loss"][0]


def test_other_settings_or_precision_get_a_new_model(digits):
    primed.prime(DENSE)
    assert primed.take(ModelConfig("dense", code_size=16, learning_rate=1e-2)) is None
    assert primed.take(DENSE, seed=1) is None
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        assert primed.take(DENSE) is None
    finally:
        keras.config.set_dtype_policy("float32")
    assert primed.take(DENSE) is not None


def test_only_the_latest_few_are_kept():
    configs = [ModelConfig("dense", code_size=c) for c in (4, 8, 12, 16)]
    for config in configs:
        primed.prime(config)
    assert primed.primed_configs() == configs[-primed.KEEP:]
    primed.prime(configs[1])  # primed again: the newest
    assert primed.primed_configs()[-1] == configs[1]


def test_the_spare_primes_the_latest_wish_and_a_run_goes_first(digits):
    from denoiser.training.spare import _next_run

    inbox: queue.Queue = queue.Queue()
    wishes = [ModelConfig("dense", code_size=c) for c in (4, 8)]
    for wish in wishes:
        inbox.put(("expect", wish))
    got: list[dict] = []
    spare = threading.Thread(target=lambda: got.append(_next_run(inbox)), daemon=True)
    spare.start()
    deadline = time.monotonic() + 120  # a bound, not a measure: priming takes well under it
    while not primed.primed_configs() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert primed.primed_configs() == [wishes[-1]]  # only the latest wish
    assert spare.is_alive()  # and it waits for more
    inbox.put(("expect", DENSE))
    inbox.put(("train", {"run": 1}))  # came together: the run, without priming first
    spare.join(60)
    assert got == [{"run": 1}] and primed.primed_configs() == [wishes[-1]]
