"""Shareable links: the Denoise screen's settings to and from a URL's query parameters.

:func:`read_link` never raises: every parameter is checked, clamped or dropped, and each
one it could not use is named in a short notice. :func:`link_params` writes the
settings back, so a link reproduces the screen (same digits, same noise draw, same rows).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields

from denoiser.digits.noise import NOISE_KINDS
from denoiser.results.classical import CLASSICAL

VIEWS = ("Denoise", "Train", "Explore", "Learn")
SOURCES = ("Test digits", "Draw", "Upload", "Class digits")
DIGIT_CLASSES = ("any", *map(str, range(10)))
MAX_COUNT = 16
MAX_MODELS = 8  # models compared beside the main one
MAX_SEED = 2**31 - 1
AMOUNT_STEP = 0.05
#: The noise slider's amounts: 0 to 1 in steps of :data:`AMOUNT_STEP` (a link's amount is rounded to one).
SLIDER_AMOUNTS: tuple[float, ...] = tuple(round(AMOUNT_STEP * k, 2)
                                      for k in range(round(1 / AMOUNT_STEP) + 1))


@dataclass
class LinkState:
    """The settings a link carries; the defaults are the app's first screen."""

    view: str = "Denoise"
    noise: str = "gaussian"
    amount: float = 0.5
    digit: str = "any"
    model: str | None = None
    count: int = 8
    sample: int = 0  # which test digits: the "New sample" counter
    seed: int = 0  # which noise draw: the "New noise" counter
    filters: list[str] = field(default_factory=list)
    diff: bool = False
    source: str = "Test digits"
    models: list[str] = field(default_factory=list)  # more models, each a row beside ``model``
    projector: bool = False  # fewer, larger digits for a classroom projector
    lock: list[str] = field(default_factory=list)  # controls an exercise link fixes (LOCKABLE)


#: What an exercise link can lock, and the controls each name covers on the Denoise page.
LOCKABLE = {"model": "the models, filters and the difference row", "noise": "the noise kind and its draw",
            "amount": "the noise amount", "digits": "which digits (source, how many, class, sample)"}

DEFAULTS = LinkState()
ALWAYS = ("noise", "amount", "digit")  # in every link, so a reader sees the setting


def _last(value: str | Sequence[str] | None) -> str | None:
    """A repeated key's last value (what a browser's later parameter means)."""
    if value is None or isinstance(value, str):
        return value
    return str(value[-1]) if len(value) else None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _known(text: str, known: Collection[str], what: str, notices: list[str]) -> list[str]:
    """The names of comma-separated ``text`` that are ``known``, once each, in their order; a
    notice naming (a few of) the others."""
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in known]
    if unknown:
        notices.append(f"unknown {what} {', '.join(n[:40] for n in unknown[:5])} left out")
    return list(dict.fromkeys(name for name in names if name in known))


def read_link(params: Mapping[str, str | Sequence[str]]) -> tuple[LinkState, list[str]]:
    """Settings from query parameters, and a notice for each one that was out of range or unknown.

    Parameters
    ----------
    params : mapping
        Parameter name -> value, or -> list of values for a repeated key (the last counts).

    Returns
    -------
    (LinkState, list of str)

    Examples
    --------
    >>> state, notices = read_link({"amount": "inf", "digit": "7", "count": "300"})
    >>> state.amount, state.digit, state.count
    (0.5, '7', 16)
    >>> notices
    ["amount 'inf' is not a number from 0 to 1: 0.5 is used", 'count 300 was set to 16']
    """
    state, notices = LinkState(), []
    get = {key: _last(value) for key, value in params.items()}

    def choice(key: str, options: Sequence[str]) -> None:
        value = get.get(key)
        if value is None:
            return
        if value in options:
            setattr(state, key, value)
        else:
            notices.append(f"{key} {value[:40]!r} is unknown: {getattr(DEFAULTS, key)} is used")

    choice("view", VIEWS)
    choice("noise", tuple(NOISE_KINDS))
    choice("digit", DIGIT_CLASSES)
    choice("source", SOURCES)
    if get.get("amount") is not None:
        value = _number(get["amount"])
        if value is None:
            notices.append(f"amount {get['amount'][:40]!r} is not a number from 0 to 1: "
                           f"{DEFAULTS.amount} is used")
        else:
            state.amount = round(min(1.0, max(0.0, value)) / AMOUNT_STEP) * AMOUNT_STEP
            state.amount = round(state.amount, 2)
            if state.amount != value:
                notices.append(f"amount {get['amount'][:40]} was set to {state.amount:g}")
    for key, low, high in (("count", 1, MAX_COUNT), ("sample", 0, MAX_SEED), ("seed", 0, MAX_SEED)):
        if get.get(key) is None:
            continue
        value = _number(get[key])
        if value is None:
            notices.append(f"{key} {get[key][:40]!r} is not a whole number: "
                           f"{getattr(DEFAULTS, key)} is used")
            continue
        clamped = int(min(high, max(low, round(value))))
        setattr(state, key, clamped)
        if clamped != value:
            notices.append(f"{key} {get[key][:40]} was set to {clamped}")
    if get.get("model"):
        state.model = get["model"][:100]  # checked against the models on the page, not here
    if get.get("filters"):
        state.filters = _known(get["filters"], CLASSICAL, "filter(s)", notices)
    if get.get("models"):  # checked against the models on the page, like ``model``
        names = list(dict.fromkeys(name[:100] for name in get["models"].split(",") if name))
        state.models = names[:MAX_MODELS]
        if len(names) > MAX_MODELS:
            notices.append(f"only the first {MAX_MODELS} of {len(names)} models are compared")
    if get.get("lock"):
        known = _known(get["lock"], LOCKABLE, "lock(s)", notices)
        state.lock = [name for name in LOCKABLE if name in known]  # in the page's order
    for flag in ("diff", "projector"):
        if get.get(flag) is not None:
            setattr(state, flag, get[flag] in ("1", "true", "yes", "on"))
    return state, notices


def link_params(state: LinkState) -> dict[str, str]:
    """Query parameters for ``state``: the noise always, the rest where it differs from the first
    screen. The view is the page's own path (``/train``), not a parameter; :func:`read_link` still
    reads the ``view`` of older links."""
    params: dict[str, str] = {}
    for f in fields(LinkState):
        value = getattr(state, f.name)
        if f.name == "view" or value is None or (value == getattr(DEFAULTS, f.name) and f.name not in ALWAYS):
            continue
        if f.name in ("filters", "models", "lock"):
            params[f.name] = ",".join(value)
        elif f.name in ("diff", "projector"):
            params[f.name] = "1"
        elif f.name == "amount":
            params["amount"] = f"{value:g}"
        else:
            params[f.name] = str(value)
    return params
