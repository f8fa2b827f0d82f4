"""The charts the pages draw (Vega-Lite through ``st.vega_lite_chart``, fixed colours per method)
and the code space of bottleneck models."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

if TYPE_CHECKING:
    import pandas as pd

def bar_chart(values: dict[str, float], title: str, height: int = 220) -> None:
    """Horizontal bars, one per name, each in its fixed colour (:mod:`denoiser.results.colours`)."""
    import pandas as pd

    from denoiser.results.colours import colours_of

    table = pd.DataFrame({"name": list(values), "value": list(values.values())})
    spec = {
        "mark": {"type": "bar"},
        "height": height,
        "encoding": {
            "x": {"field": "value", "type": "quantitative", "title": title},
            "y": {"field": "name", "type": "nominal", "title": None, "sort": None},
            "color": {"field": "name", "type": "nominal", "legend": None,
                      "scale": {"domain": list(values), "range": colours_of(list(values))}},
            "tooltip": [{"field": "name", "type": "nominal"},
                        {"field": "value", "type": "quantitative", "title": title, "format": ".2f"}],
        },
    }
    st.vega_lite_chart(table, spec, width="stretch")


def line_chart(table: pd.DataFrame, x_title: str, y_title: str, height: int = 280) -> None:
    """Lines with point markers (so a single epoch shows too), one per column of ``table``, each
    in its own fixed colour (:mod:`denoiser.results.colours`: the same method, the same colour everywhere).

    A plain Vega-Lite spec, not altair: the live training panel redraws its curves every second,
    and building and validating the same chart in altair cost several times what the spec does,
    all of it holding the interpreter's lock (timed by hand on an AVX2 EPYC).
    """
    import pandas as pd  # imported where needed: the first page has no use for it

    from denoiser.results.colours import colours_of

    long = table.rename_axis("x").reset_index().melt("x", var_name="series", value_name="y").dropna()
    integer_x = pd.api.types.is_integer_dtype(long["x"])
    spec = {
        "mark": {"type": "line", "point": True},
        "height": height,
        "encoding": {
            "x": {"field": "x", "type": "quantitative", "title": x_title,
                  "axis": {"format": "d" if integer_x else ".1f", "tickMinStep": 1 if integer_x else 0.1}},
            "y": {"field": "y", "type": "quantitative", "title": y_title, "scale": {"zero": False}},
            "color": {"field": "series", "type": "nominal", "title": None, "legend": {"orient": "bottom"},
                      "scale": {"domain": list(table.columns), "range": colours_of(list(table.columns))}},
            "tooltip": [{"field": "series", "type": "nominal"},
                        {"field": "x", "type": "quantitative", "title": x_title},
                        {"field": "y", "type": "quantitative", "title": y_title, "format": ".4f"}],
        },
    }
    st.vega_lite_chart(long, spec, width="stretch")


# ---------------------------------------------------------------- the code space
#: Projections kept per session: (model, digits) → PCA coordinates (a few models' worth).
LATENT_CACHE = 6


def latent_points(model, data, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The PCA of ``model``'s codes for the first ``count`` test digits, computed once per model
    and count in this session (a session's own runs are models too, so no global cache)."""
    from denoiser.results.latent import pca_2d

    cache = st.session_state.setdefault("latent_cache", {})
    key = (model.name, id(model), count)
    if key not in cache:
        cache[key] = pca_2d(model.encode(data.x_test[:count]))
        while len(cache) > LATENT_CACHE:
            cache.pop(next(iter(cache)))
    return cache[key]


def code_scatter(coords: np.ndarray, labels: np.ndarray, height: int) -> None:
    """Codes projected to 2-D (:func:`latent_points`), one point per digit, coloured by its class."""
    import pandas as pd

    st.scatter_chart(pd.DataFrame({"PC 1": coords[:, 0], "PC 2": coords[:, 1], "digit": labels.astype(str)}),
                     x="PC 1", y="PC 2", color="digit", height=height)
