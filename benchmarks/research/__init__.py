"""Probes that served a past decision (kept runnable; their results stay in benchmarks/results/):
``python -m benchmarks research.NAME`` or ``python -m benchmarks.research.NAME``."""
