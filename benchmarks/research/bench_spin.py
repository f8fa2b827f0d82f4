"""What would threads that spin between operations buy, and cost? The default model after a rest
under three thread-pool settings of ONNX Runtime.

Usage: python -m benchmarks.research.bench_spin [--rest-ms 500] [--repeats 15]

The app's sessions (:mod:`denoiser.models.onnx_session`) each have their own pool whose threads sleep as
soon as they find no work (``session.intra_op.allow_spinning = 0``). After a rest, each of the
graph's operations then wakes a sleeping thread, which on some virtual machines costs more than
the operation. This measures, each setting in a fresh process (a process-wide pool cannot be
undone):

- ``sleeping`` — the app's setting (:func:`denoiser.models.onnx_session.session_options`): per-session
  pools, threads never spin;
- ``spinning`` — per-session pools whose threads spin a while before they sleep (ONNX Runtime's
  default);
- ``shared spinning`` — one process-wide pool for every session, spinning (ONNX Runtime's
  global thread pool; then no session may have a pool of its own, which ONNX Runtime's own
  quantisation tools assume).

For each: the default model's call for 8 digits after ``--rest-ms`` of rest (median ms), the CPU
the process burns in the 0.3 s after a call while it does nothing (the spin), and four shipped
models called in turn on 8 digits each after a rest, as the Compare view runs them. Prints a JSON
report naming the CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

MODES = ("sleeping", "spinning", "shared spinning")
MODELS = ("blind", "blind-large", "conv", "unet-gaussian")


def measure(mode: str, rest_ms: float, repeats: int) -> dict:
    """One setting, in this process: run it in a fresh one."""
    import numpy as np
    import onnxruntime as ort

    from denoiser.digits.noise import add_noise
    from denoiser.models.onnx_session import default_threads, session_options
    from denoiser.models.shipped import model_dir, read_manifest

    threads = default_threads()
    if mode == "shared spinning":
        from onnxruntime.capi import _pybind_state

        _pybind_state.set_global_thread_pool_sizes(threads, 1)
    manifest = read_manifest()["models"]

    def session(name: str):
        options = session_options(threads, spinning=mode != "sleeping")
        # the shared pool spins as ONNX Runtime's global pools do; a session's own pool settings
        # are then not used
        options.use_per_session_threads = mode != "shared spinning"
        s = ort.InferenceSession(str(model_dir() / manifest[name]["onnx"]), options,
                                 providers=["CPUExecutionProvider"])
        feed = s.get_inputs()[0].name
        return lambda x: s.run(None, {feed: x})

    calls = [session(name) for name in MODELS]
    x = add_noise(np.zeros((8, 28, 28), np.float32), "gaussian", 0.5, seed=0)
    for call in calls:
        call(x)
        call(x)
    one, spin, four = [], [], []
    for _ in range(repeats):
        time.sleep(rest_ms / 1000)
        start = time.perf_counter()
        calls[0](x)
        one.append((time.perf_counter() - start) * 1000)
        cpu = time.process_time()
        time.sleep(0.3)
        spin.append((time.process_time() - cpu) * 1000)
        time.sleep(rest_ms / 1000)
        start = time.perf_counter()
        for call in calls:
            call(x)
        four.append((time.perf_counter() - start) * 1000)
    return {"mode": mode, "threads": threads,
            "blind_8_digits_after_rest_ms": round(statistics.median(one), 1),
            "cpu_in_the_0.3_s_after_a_call_ms": round(statistics.median(spin), 1),
            "four_models_in_turn_after_rest_ms": round(statistics.median(four), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rest-ms", type=float, default=500)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)  # one setting, in-process
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(measure(args.mode, args.rest_ms, args.repeats)))
        return
    from harness.machine import describe_machine

    rows = []
    for mode in MODES:
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_spin", "--mode", mode,
                              "--rest-ms", str(args.rest_ms), "--repeats", str(args.repeats)],
                             check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(rows[-1], file=sys.stderr, flush=True)
    print(json.dumps({"machine": describe_machine(), "rest_ms": args.rest_ms, "repeats": args.repeats,
                      "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
