import math
import threading
import types

import keras
import numpy as np
import pytest

from denoiser.models.build import ModelConfig, build_model
from denoiser.training.fit import DivergenceGuard, NoiseSpec, NoisyDigits, TimeBudget, train


@pytest.mark.slow
def test_short_training_lowers_validation_loss(digits):
    result = train(ModelConfig("dense", code_size=32), digits, epochs=4, batch_size=32,
                   validation_split=0.2)
    val = result.history["val_loss"]
    assert len(val) == 4 and result.epochs_run == 4
    assert val[-1] < val[0] - 0.01
    assert not result.stopped and not result.diverged


def test_fresh_noise_every_epoch_but_fixed_per_epoch(digits):
    data = NoisyDigits(digits[:64], NoiseSpec("gaussian", 0.5), batch_size=32, seed=1)
    first = data[0][0].copy()
    assert np.array_equal(first, data[0][0])  # re-reading a batch in an epoch is stable
    data.on_epoch_end()
    assert not np.array_equal(first, data[0][0])
    assert len(data) == 2


def test_augment_bends_about_half_of_each_batch_afresh_every_epoch(digits):
    spec = NoiseSpec("gaussian", 0.5)
    plain = NoisyDigits(digits[:128], spec, batch_size=128, seed=1, shuffle=False)
    bent = NoisyDigits(digits[:128], spec, batch_size=128, seed=1, shuffle=False, augment=1.0)
    targets = bent[0][1]
    changed = ~np.all(np.isclose(targets, digits[:128], atol=1e-6), axis=(1, 2))
    assert 40 <= changed.sum() <= 88  # about half; the rest stay real digits
    assert np.array_equal(plain[0][1], digits[:128])
    assert np.array_equal(targets, bent[0][1])  # stable within an epoch
    bent.on_epoch_end()
    assert not np.array_equal(targets, bent[0][1])  # bent afresh the next epoch


def test_progress_reports_every_batch_and_epoch(digits):
    reports = []
    train(ModelConfig("dense"), digits[:128], epochs=2, batch_size=32, validation_split=0.25,
          on_progress=reports.append)
    batches = [r for r in reports if not r.epoch_end]
    epochs = [r for r in reports if r.epoch_end]
    assert len(batches) == 2 * 3 and len(epochs) == 2
    assert epochs[-1].fraction == pytest.approx(1.0)
    assert epochs[0].val_loss is not None and epochs[0].eta_s > 0


def test_stop_request_ends_after_the_current_batch_and_keeps_weights(digits):
    stop = threading.Event()
    seen = []

    def on_progress(p):
        seen.append(p)
        if p.batch == 2 and not p.epoch_end:
            stop.set()

    result = train(ModelConfig("dense"), digits, epochs=50, batch_size=16,
                   stop_event=stop, on_progress=on_progress)
    assert result.stopped and "stopped" in result.message
    assert result.epochs_run == 1
    assert max(p.batch for p in seen if not p.epoch_end) == 2
    out = result.model.predict_on_batch(digits[:2])
    assert np.isfinite(out).all()


def test_divergence_stops_and_keeps_the_last_good_weights(digits):
    # Adam at learning rate 10 saturates the sigmoid output: the loss grows instead of falling.
    from tests.conftest import weight_recorder

    recorder = weight_recorder()
    result = train(ModelConfig("dense", optimizer="adam", learning_rate=10.0), digits,
                   epochs=20, batch_size=16, callbacks=[recorder])
    assert result.diverged
    assert "diverged" in result.message and "lower learning rate" in result.message
    assert result.epochs_run < 20 and result.good_epoch == result.epochs_run - 1
    for kept, good in zip(result.model.get_weights(), recorder.weights[result.good_epoch], strict=True):
        np.testing.assert_array_equal(kept, good)
    assert math.isfinite(float(np.mean(result.model.predict_on_batch(digits[:4]))))


@pytest.mark.slow
def test_a_run_that_diverges_late_keeps_exactly_its_last_good_epochs_weights(digits):
    from tests.conftest import sabotage, weight_recorder

    recorder = weight_recorder()
    result = train(ModelConfig("dense", code_size=16), digits, epochs=6, batch_size=64,
                   callbacks=[recorder, sabotage(epoch=3)])
    assert result.diverged and result.good_epoch == 2 and result.usable
    assert "diverged in epoch 3" in result.message and "weights of epoch 2" in result.message
    for kept, recorded in zip(result.model.get_weights(), recorder.weights[2], strict=True):
        np.testing.assert_array_equal(kept, recorded)


def test_a_run_that_diverges_in_its_first_epoch_has_nothing_to_keep(digits):
    from tests.conftest import sabotage

    result = train(ModelConfig("dense", code_size=16), digits, epochs=3, batch_size=64,
                   callbacks=[sabotage(epoch=1)])
    assert result.diverged and result.good_epoch == 0 and not result.usable
    assert "no epoch had finished" in result.message


def test_growth_is_judged_over_the_run_not_within_one_short_epoch():
    model = build_model(ModelConfig("dense"))
    guard = DivergenceGuard(min_batches=10)
    guard.set_model(model)
    guard.on_train_begin()
    for epoch in range(3):  # epochs of 4 batches: the batch index never reaches 10
        guard.on_epoch_begin(epoch)
        for b in range(4):
            guard.on_train_batch_end(b, {"loss": 0.7 if epoch == 0 else 5.0})
        guard.on_epoch_end(epoch)
    assert guard.diverged and "diverged in epoch 3" in guard.message
    assert guard.good_epoch == 2


def test_blind_noise_spec_and_bad_specs():
    assert "blind" in NoiseSpec("blind").describe()
    with pytest.raises(ValueError, match="blind"):
        NoiseSpec("rain")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        NoiseSpec("gaussian", 3.0)


def test_bad_training_arguments_are_refused(digits):
    with pytest.raises(ValueError, match="shape"):
        train(ModelConfig(), np.zeros((10, 32, 32)), epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        train(ModelConfig(), digits, epochs=0)
    with pytest.raises(ValueError, match="validation_split"):
        train(ModelConfig(), digits, epochs=1, validation_split=1.5)
    with pytest.raises(ValueError, match="augment"):
        train(ModelConfig(), digits, epochs=1, augment=3.0)


def test_nan_loss_is_caught_and_weights_restored():
    model = build_model(ModelConfig("dense"))
    guard = DivergenceGuard()
    guard.set_model(model)
    guard.on_train_begin()
    before = [w.copy() for w in model.get_weights()]
    model.set_weights([w + 1.0 for w in before])  # what a bad step would do
    guard.on_train_batch_end(0, {"loss": 0.7})
    assert not guard.diverged
    guard.on_train_batch_end(1, {"loss": float("nan")})
    assert guard.diverged and "nan" in guard.message and model.stop_training
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_nan_training_data_is_refused_up_front(digits):
    bad = digits[:32].copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        train(ModelConfig("dense"), bad, epochs=1)


def test_training_ends_when_its_owner_goes_away(digits):
    calls = []

    def alive():
        calls.append(1)
        return len(calls) < 3  # the browser tab closes during the third batch

    result = train(ModelConfig("dense"), digits, epochs=20, batch_size=16, alive=alive)
    assert result.stopped and result.epochs_run == 1
    assert len(calls) == 3


def test_divergence_guard_reads_negative_losses_by_their_size():
    model = build_model(ModelConfig("dense", loss="psnr"))
    guard = DivergenceGuard(min_batches=1)
    guard.set_model(model)
    guard.on_train_begin()
    guard.on_train_batch_end(0, {"loss": -12.0})  # 12 dB
    guard.on_train_batch_end(1, {"loss": -11.0})  # a little worse: normal noise in training
    assert not guard.diverged
    guard.on_train_batch_end(2, {"loss": -3.0})  # 3 dB: the output has collapsed
    assert guard.diverged and "-12 to -3" in guard.message


@pytest.mark.slow
def test_psnr_loss_trains_and_raises_validation_psnr(digits):
    result = train(ModelConfig("dense", loss="psnr"), digits, epochs=3, batch_size=32,
                   validation_split=0.2)
    val = result.history["val_loss"]
    assert not result.diverged, result.message
    assert val[-1] < val[0] - 0.5  # at least half a dB better


def ticking_clock(seconds_per_batch: float):
    """A Keras callback and a clock it drives: every batch takes exactly ``seconds_per_batch``,
    however fast or busy the machine is."""

    class Tick(keras.callbacks.Callback):
        now = 0.0

        def on_train_batch_begin(self, batch, logs=None):
            self.now += seconds_per_batch

    tick = Tick()
    return tick, lambda: tick.now


@pytest.mark.slow
def test_time_budget_ends_training_in_time_and_anneals_the_learning_rate(digits):
    config = ModelConfig("dense", code_size=16, learning_rate=2e-3)
    tick, clock = ticking_clock(0.1)  # 320 digits in batches of 32: 1 s an epoch
    budget = TimeBudget(6.0, clock=clock)
    result = train(config, digits, epochs=10_000, batch_size=32, validation_split=0.2,
                   cosine_decay=True, time_budget=budget, callbacks=[tick])
    assert result.epochs_run == 6 and not result.stopped  # a 7th would end at 7 s
    lr = float(result.model.optimizer.learning_rate)
    assert lr == pytest.approx(budget.learning_rate_at(5.0), rel=1e-5)  # set as the 6th began
    assert lr < 2e-3 * 0.1


@pytest.mark.slow
def test_time_budget_continues_a_model_trained_on_an_epoch_schedule(digits):
    config = ModelConfig("dense", code_size=16)
    first = train(config, digits, epochs=1, batch_size=32, cosine_decay=True)
    tick, clock = ticking_clock(0.5)  # 360 digits in batches of 32: 12 batches, 6 s an epoch
    again = train(config, digits, epochs=100, batch_size=32, model=first.model, cosine_decay=True,
                  time_budget=TimeBudget(20.0, clock=clock), callbacks=[tick])
    assert again.epochs_run == 3 and not again.diverged  # 18 s; a 4th would end at 24
    assert float(again.model.optimizer.learning_rate) < config.learning_rate


def test_time_budget_cosine_runs_from_the_peak_to_zero():
    budget = TimeBudget(100.0, peak_lr=1e-3)
    assert budget.learning_rate_at(0.0) == pytest.approx(1e-3)
    assert budget.learning_rate_at(50.0) == pytest.approx(5e-4)
    assert budget.learning_rate_at(100.0) == pytest.approx(0.0, abs=1e-12)
    assert budget.learning_rate_at(250.0) == pytest.approx(0.0, abs=1e-12)
    for bad in (0, -5.0, float("nan")):
        with pytest.raises(ValueError, match="time budget must be positive seconds"):
            TimeBudget(bad)


def test_time_budget_judges_the_next_epoch_without_the_first_batchs_one_off_cost():
    clock = [0.0]
    budget = TimeBudget(8.0, clock=lambda: clock[0])
    budget.set_model(types.SimpleNamespace(stop_training=False))

    def epoch(first: float, rest: float, batches: int = 10) -> None:
        budget.on_epoch_begin(0)
        for b in range(batches):
            clock[0] += first if b == 0 else rest
            budget.on_train_batch_end(b)
        budget.on_epoch_end(0)

    budget.on_train_begin()
    epoch(first=5.0, rest=0.1)  # tracing makes the first batch slow: 5.9 s in all
    assert budget.expected_epoch(clock[0]) == pytest.approx(1.0)  # 0.9 s for 9 batches, x 10/9
    assert not budget.model.stop_training  # 5.9 + 1.0 fits in 8 s
    epoch(first=0.1, rest=0.1)  # 6.9 s: one more 1-second epoch would end at 7.9
    assert not budget.model.stop_training
    epoch(first=0.1, rest=0.1)  # 7.9 s: the next would end at 8.9, past the budget
    assert budget.model.stop_training
    budget.on_epoch_begin(0)
    clock[0] += 3.0
    budget.on_train_batch_end(0)
    assert budget.expected_epoch(clock[0]) == pytest.approx(3.0)  # one batch: the whole epoch


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["mse", "psnr"])
def test_a_fresh_unet_learns_on_mse_and_psnr_instead_of_going_black(digits, loss):
    result = train(ModelConfig("unet", filters=8, loss=loss), digits, epochs=2, batch_size=32,
                   validation_split=0.2)
    out = result.model.predict_on_batch(digits[:64])
    assert out.max() > 0.5  # strokes, not the sigmoid's flat all-black tail
    val = result.history["val_loss"]
    assert val[-1] < val[0]
