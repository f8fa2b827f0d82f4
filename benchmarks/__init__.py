"""Benchmarks: each module is a command (``python -m benchmarks.NAME``) that prints its figures."""

from pathlib import Path

# The complete MNIST beside the project, where this workplace keeps it (not needed at run time).
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"
