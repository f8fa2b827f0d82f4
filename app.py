"""denoiser — a Streamlit app that teaches image denoising with autoencoders.

Run with ``streamlit run app.py``. This file sets the page up and navigates between the four
pages, each a script in ``ui/`` (Denoise, Train, Explore, Learn); what they share is in
``ui/common.py`` and its neighbours (loaders, state, layout, charts), and all the work is done by
the ``denoiser`` package.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# One BLAS thread per numpy call (set before numpy loads): the page's own numpy work is small,
# where a second thread only waits on a core another user is using. Models run in ONNX Runtime
# with their own threads (denoiser.models.onnx_session); training runs in child processes.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import streamlit as st  # noqa: E402

from denoiser.digits.mnist import MNIST_CREDIT  # noqa: E402
from denoiser.teaching.links import VIEWS
from ui.layout import page_style, projector_on, projector_toggle
from ui.loaders import (
    fetch_full_mnist_in_background,
    freeze_again_if_keras_loaded,
    freeze_startup_objects,
    get_digits,
    server_precision,
)
from ui.sharing import remember_teacher_link  # noqa: E402
from ui.state import init_state

st.set_page_config(page_title="denoiser · autoencoders on MNIST", page_icon="🧹", layout="wide")

ICONS = {"Denoise": ":material/auto_fix_high:", "Train": ":material/model_training:",
         "Explore": ":material/insights:", "Learn": ":material/school:"}


def pages() -> dict[str, st.Page]:
    """One page per view; its URL path is its name (``/train``), Denoise is the landing page."""
    return {view: st.Page(f"ui/{view.lower()}.py", title=view, icon=ICONS[view], url_path=view.lower(),
                          default=view == "Denoise") for view in VIEWS}


def main() -> None:
    init_state()
    remember_teacher_link()
    views = pages()
    page = st.navigation(list(views.values()), position="top")
    wanted = st.session_state.pop("link_view", None)  # a link made before pages had paths: ?view=Train
    if wanted in views and wanted != page.title:
        st.switch_page(views[wanted], query_params={k: v for k, v in st.query_params.items() if k != "view"})
    page_style()
    data = get_digits()
    head = st.container(horizontal=True, vertical_alignment="center", horizontal_alignment="distribute")
    if not projector_on():  # on a projector the digits get the height
        head.title("denoiser", width="content")
    with head:
        projector_toggle()
    setting_error = server_precision()[1]
    if setting_error:
        st.warning(f"This server's settings: {setting_error}.")
    notices = st.session_state.pop("link_notices", None)
    if notices:
        st.info("This link had settings the app could not use: " + "; ".join(notices) + ".")
    page.run()
    st.divider()
    st.caption(f"Image denoising with autoencoders, on handwritten MNIST digits. {data.description}. "
               f"Data: {MNIST_CREDIT}.")
    fetch_full_mnist_in_background()
    freeze_startup_objects()
    freeze_again_if_keras_loaded()


main()
