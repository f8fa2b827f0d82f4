"""Comparison, metrics and drawing: what the app and the CLI show of a denoiser's work."""
