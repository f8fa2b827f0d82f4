"""The baseline for bench_app.py: a bare Streamlit page with one slider and one image."""

import numpy as np
import streamlit as st

amount = st.slider("Amount", 0.0, 1.0, 0.5, 0.05)
rng = np.random.default_rng(0)
image = np.clip(0.5 + amount * rng.standard_normal((28, 28)), 0, 1)
st.image(np.kron((image * 255).astype(np.uint8), np.ones((4, 4), np.uint8)), caption="Clean", width=112)
