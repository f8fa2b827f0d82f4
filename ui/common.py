"""What every page shares besides its own modules: the error boundary and two sizes.

The rest lives beside it, one job each: ``ui.loaders`` (loaded once per process),
``ui.state`` (per session: widgets, the link, the models to pick), ``ui.layout`` (the projector
view and the picture's fit) and ``ui.charts``. The work itself is done by the ``denoiser`` package.
"""

from __future__ import annotations

import functools
import logging

import streamlit as st

MAX_RUNS = 5  # trained runs kept per browser session
SCALE = 4  # screen pixels per digit pixel
log = logging.getLogger("denoiser.app")


def guarded(view):
    """An error boundary: a failure inside ``view`` shows one plain line (the rest of the page
    stays) and its details, traceback included, go to the server's log, never to the visitor."""

    @functools.wraps(view)
    def run(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except Exception:  # noqa: BLE001 - Streamlit's rerun and stop are BaseExceptions: not caught
            log.exception("error in %s", view.__name__)
            st.error("Something went wrong in this part of the page. Try another setting or reload; "
                     "the details are in the server's log.")
            return None

    return run
