"""What the tests, benchmarks and scripts share: a served app, a browser, an upload corpus.

Not part of the ``denoiser`` package; run the scripts that use it from the repository root
(``python -m benchmarks.bench_app``), where Python finds it.
"""
