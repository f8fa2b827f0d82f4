"""The Learn page: the lesson, its figures read from the files that measured them."""

from __future__ import annotations

import streamlit as st

from denoiser.lesson import lesson_markdown
from denoiser.modelfiles import model_dir
from ui.common import guarded


@guarded
def view_learn() -> None:
    st.markdown(lesson_markdown(models_dir=model_dir()))


view_learn()
