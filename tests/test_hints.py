"""Hints before a run that is known to end in a blob (denoiser.training.hints) and where the app shows
them."""

import pytest

from denoiser.models.config import ModelConfig
from denoiser.training.hints import MIN_UPDATES, training_hints, updates_per_run


def test_updates_count_batches_of_the_digits_left_after_validation():
    assert updates_per_run(1, 4000, 32) == 113  # 3,600 training digits in batches of 32
    assert updates_per_run(3, 4000, 32) == 339
    assert updates_per_run(2, 100, 512) == 2  # a last, partial batch is an update too


def test_the_defaults_of_the_train_page_get_no_hint():
    assert training_hints(ModelConfig("dense", code_size=32, nodes=256), 10, 4000, 32) == []


@pytest.mark.parametrize(("epochs", "digits", "batch", "warned"), [
    (3, 4000, 32, True),  # the grey blob: 339 updates
    (1, 4000, 32, True),
    (6, 4000, 32, False),  # 678 updates
    (3, 4000, 16, False),  # a smaller batch: 675 updates
    (50, 200, 512, True),  # many epochs of one batch each
])
def test_too_few_updates_are_named_with_what_to_change(epochs, digits, batch, warned):
    hints = training_hints(ModelConfig("dense"), epochs, digits, batch)
    assert bool(hints) == warned
    if warned:
        assert f"{updates_per_run(epochs, digits, batch):,} weight updates" in hints[0]
        assert f"{MIN_UPDATES:,}" in hints[0] and "smaller batch" in hints[0]


def test_a_tiny_code_is_named_only_for_architectures_with_a_code():
    assert any("code of 2" in h for h in training_hints(ModelConfig("dense", code_size=2), 10, 4000, 32))
    assert training_hints(ModelConfig("dense", code_size=4), 10, 4000, 32) == []
    assert training_hints(ModelConfig("unet", filters=4), 10, 4000, 32) == []  # no code setting


@pytest.mark.parametrize(("optimizer", "rate", "warned"), [
    ("adam", 0.1, True), ("adam", 10.0, True), ("adam", 0.01, False),
    ("sgd", 1.0, True), ("sgd", 0.1, False), ("adadelta", 1.0, False),  # Adadelta's own scale
])
def test_a_learning_rate_that_overshoots_is_named(optimizer, rate, warned):
    hints = training_hints(ModelConfig("dense", optimizer=optimizer, learning_rate=rate), 10, 4000, 32)
    assert any("overshoots" in h for h in hints) == warned
