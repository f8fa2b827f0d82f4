"""What the tests, benchmarks and scripts share: a served app, a browser, an upload corpus.

Not part of the ``denoiser`` package; run the scripts that use it from the repository root
(``python -m benchmarks.bench_app``), where Python finds it.
"""

from pathlib import Path

# The complete MNIST beside the project, where this workplace keeps it (not needed at run time).
SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"
