"""Shareable links: any query string gives settings and notices, never an exception."""

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from denoiser.digits.noise import NOISE_KINDS
from denoiser.results.classical import CLASSICAL
from denoiser.teaching.links import MAX_COUNT, MAX_MODELS, VIEWS, LinkState, link_params, read_link

KEYS = ["view", "noise", "amount", "digit", "model", "count", "sample", "seed", "filters", "diff",
        "source", "models", "projector", "other"]
ODD_NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                        st.integers(-10**400, 10**400).map(str),
                        st.sampled_from(["inf", "-inf", "nan", "1e400", "-1e400", "0x10", "", " 3 ", "½"]))
VALUES = st.one_of(st.text(max_size=30), ODD_NUMBERS)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(params=st.dictionaries(st.sampled_from(KEYS),
                              st.one_of(VALUES, st.lists(VALUES, max_size=3)), max_size=len(KEYS)))
def test_any_query_string_gives_valid_settings(params):
    state, notices = read_link(params)
    assert state.view in VIEWS and state.noise in NOISE_KINDS
    assert math.isfinite(state.amount) and 0 <= state.amount <= 1
    assert round(state.amount * 20, 6) == round(state.amount * 20)  # on the slider's steps
    assert 1 <= state.count <= MAX_COUNT and state.sample >= 0 and state.seed >= 0
    assert all(f in CLASSICAL for f in state.filters)
    assert len(state.models) <= MAX_MODELS and all(name and "," not in name for name in state.models)
    assert all(isinstance(n, str) and len(n) < 200 for n in notices)
    again, _ = read_link(link_params(state))  # what the page writes back reads the same
    assert again == dataclasses.replace(state, view="Denoise")  # the view is the page's path


@pytest.mark.parametrize("amount", ["inf", "1e400", "-inf", "nan", "NaN", "zero"])
def test_an_amount_that_is_no_number_is_named_and_replaced(amount):
    state, notices = read_link({"amount": amount})
    assert state.amount in (0.0, 0.5, 1.0)
    assert len(notices) == 1 and "amount" in notices[0]


def test_out_of_range_values_are_clamped_with_a_notice():
    state, notices = read_link({"amount": "7", "count": "-3", "digit": "12", "filters": "median,evil"})
    assert (state.amount, state.count, state.digit, state.filters) == (1.0, 1, "any", ["median"])
    assert len(notices) == 4


def test_a_repeated_key_takes_its_last_value():
    state, notices = read_link({"noise": ["speckle", "poisson"], "amount": ["0.1", "0.3"]})
    assert (state.noise, state.amount) == ("poisson", 0.3) and not notices


def test_a_screen_round_trips_through_its_link():
    screen = LinkState(noise="salt_pepper", amount=0.35, digit="7", model="blind",
                       count=3, sample=4, seed=2, filters=["median", "wavelet"], diff=True,
                       source="Test digits", models=["conv", "seed-dense"], projector=True)
    params = link_params(screen)
    assert params["models"] == "conv,seed-dense" and params["projector"] == "1"
    assert params["filters"] == "median,wavelet" and params["diff"] == "1" and params["seed"] == "2"
    assert read_link(params) == (screen, [])
    assert link_params(LinkState()) == {"noise": "gaussian", "amount": "0.5", "digit": "any"}
    assert "view" not in link_params(LinkState(view="Train"))


def test_a_link_compares_at_most_a_few_models_and_says_so():
    many = ",".join(f"m{i}" for i in range(MAX_MODELS + 3))
    state, notices = read_link({"models": many + ",m0"})
    assert state.models == [f"m{i}" for i in range(MAX_MODELS)]
    assert len(notices) == 1 and str(MAX_MODELS) in notices[0]


def test_an_exercise_link_locks_known_controls_and_keeps_the_lock():
    from denoiser.teaching.links import LinkState, link_params, read_link

    state, notices = read_link({"lock": "amount,model,wings"})
    assert state.lock == ["model", "amount"]  # in the page's order, the unknown one left out
    assert notices == ["unknown lock(s) wings left out"]
    assert link_params(state)["lock"] == "model,amount"
    assert "lock" not in link_params(LinkState())  # no lock, no parameter
