"""The baseline for bench_app.py: a bare Streamlit page with one slider and one image.

``$BARE_PAGE_WITH`` (comma-separated, for bench_browser.py) adds one Streamlit feature the app
uses at a time: ``link`` writes the slider's value into the address bar with ``st.query_params``
after every move (the app's shareable link), ``nav`` puts the page under a top navigation bar of
four pages (the app's Denoise / Train / Explore / Learn).
"""

import os

import numpy as np
import streamlit as st

WITH = set(filter(None, os.environ.get("BARE_PAGE_WITH", "").split(",")))


def bare() -> None:
    amount = st.slider("Amount", 0.0, 1.0, 0.5, 0.05)
    rng = np.random.default_rng(0)
    image = np.clip(0.5 + amount * rng.standard_normal((28, 28)), 0, 1)
    st.image(np.kron((image * 255).astype(np.uint8), np.ones((4, 4), np.uint8)), caption="Clean", width=112)
    if "link" in WITH:
        st.query_params["amount"] = f"{amount:g}"


if "nav" in WITH:
    icons = {"Train": ":material/model_training:", "Explore": ":material/insights:",
             "Learn": ":material/school:"}
    others = [st.Page(lambda: st.write("another page"), title=title, icon=icon, url_path=title.lower())
              for title, icon in icons.items()]
    st.navigation([st.Page(bare, title="Denoise", icon=":material/auto_fix_high:", default=True), *others],
                  position="top").run()
else:
    bare()
