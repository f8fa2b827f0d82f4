"""The Streamlit pages of the denoiser app and what they share (``ui.common``, ``ui.loaders``,
``ui.state``, ``ui.layout``, ``ui.charts``)."""
