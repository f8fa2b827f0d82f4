"""One fixed colour per method, the same in every chart: a student who learns that the noisy
input is grey and the median filter orange reads every later chart at a glance.

Colours come from the Okabe–Ito palette (distinguishable with the common colour-vision
deficiencies) and Tableau 10, in a fixed order: the noisy input, the classical filters, the
shipped models, then a session's runs by number. A name outside these gets a colour from its
own characters, so it too is the same on every page and every day.
"""

from __future__ import annotations

import hashlib
import re

#: The noisy input and the classical filters, as the evaluation tables name them.
FIXED = {
    "noisy input": "#7f7f7f",
    "filter: median": "#e69f00",
    "median filter": "#e69f00",
    "filter: gaussian_blur": "#56b4e9",
    "filter: nl_means": "#009e73",
    "filter: total_variation": "#f0e442",
    "filter: wavelet": "#cc79a7",
    "filter: bm3d": "#8c564b",
    "blind": "#0072b2",
    "blind-large": "#17becf",
    "unet-gaussian": "#d55e00",
    "conv": "#2ca02c",
    "dense-best": "#9467bd",
    "seed-dense": "#bcbd22",
    "adadelta": "#cc79a7",
    "adam": "#009e73",
    "code-4": "#e69f00",
    "code-32": "#0072b2",
    "code-128": "#d55e00",
    "context-0": "#999999",
    "context-64": "#0072b2",
    "training loss": "#0072b2",
    "validation loss": "#d55e00",
}
#: Colours for a session's runs ("run 1", "run 2", …) and any other name.
SPARE = ("#1f77b4", "#ff7f0e", "#d62728", "#8c564b", "#e377c2", "#393b79", "#637939", "#843c39")


def colour_of(name: str) -> str:
    """The hex colour of ``name`` in every chart of the app.

    Examples
    --------
    >>> colour_of("noisy input")
    '#7f7f7f'
    >>> colour_of("run 2") == colour_of("run 2") != colour_of("run 3")
    True
    """
    if name in FIXED:
        return FIXED[name]
    run = re.fullmatch(r"run (\d+)", name)
    if run:
        return SPARE[(int(run[1]) - 1) % len(SPARE)]
    return SPARE[int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(SPARE)]


def colours_of(names: list[str]) -> list[str]:
    """:func:`colour_of` for each name (an Altair ``Scale(domain=names, range=...)``)."""
    return [colour_of(n) for n in names]
