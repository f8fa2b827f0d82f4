"""The server's CPU per slider move, started as the benchmarks start it and as a person does.

Usage: python -m benchmarks.bench_server_cpu [--moves 60] [--settle 20] [--no-walk]

For each way of starting ``streamlit run app.py``:
- ``offline``: ``DENOISER_OFFLINE=1``, as every other benchmark and test starts it;
- ``plain``: as the README's command starts it, downloads allowed and no MNIST file named (here,
  offline, Keras' download fails; online it succeeds).
one simulated student (Streamlit's websocket protocol, :mod:`harness.streamlit_client`) opens
Denoise, a second opens Explore, whose latent walk decodes digits, and both wait ``--settle``
seconds (the background MNIST download has its go). Then the student moves the Amount slider
``--moves`` times, one after the other, and the server's CPU seconds over those moves are
divided by their number. Also reports whether TensorFlow's library was mapped into the server.
Prints a JSON report naming the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from harness.classroom import AMOUNTS, move  # noqa: E402
from harness.machine import describe_machine  # noqa: E402
from harness.server import FRESH_OFFLINE, free_port, start_streamlit, tensorflow_mapped, wait_healthy  # noqa: E402
from harness.streamlit_client import Session  # noqa: E402
from harness.timing import server_cpu_seconds  # noqa: E402


async def measure(url: str, port: int, moves: int, settle: float, walk: bool) -> dict:
    student = Session(url, timeout=120)
    await student.open()
    if walk:  # another tab opens Explore: its script run decodes the latent walk
        explorer = Session(url, path="explore", timeout=300)
        await explorer.open()
        await explorer.close()
    await asyncio.sleep(settle)
    for amount in (0.45, 0.5):  # warm-up, untimed
        await move(student, amount)
    before = server_cpu_seconds(port)
    latencies = [await move(student, AMOUNTS[i % len(AMOUNTS)]) for i in range(moves)]
    cpu = server_cpu_seconds(port) - before
    await student.close()
    return {"server_cpu_ms_per_move": round(1000 * cpu / moves, 1),
            "median_update_ms": round(statistics.median(latencies), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=60)
    parser.add_argument("--settle", type=float, default=20.0,
                        help="seconds to wait after opening the pages, before timing")
    parser.add_argument("--no-walk", action="store_true", help="do not open Explore")
    args = parser.parse_args()
    report = {"machine": describe_machine(), "moves": args.moves, "walk": not args.no_walk}
    with tempfile.TemporaryDirectory() as keras_home:
        starts = {"offline": FRESH_OFFLINE,
                  "plain": {"DENOISER_OFFLINE": "", "DENOISER_MNIST": "", "KERAS_HOME": keras_home}}
        for name, env in starts.items():
            port = free_port()
            proc = start_streamlit(ROOT / "app.py", port, env)
            try:
                wait_healthy(port)
                start = time.perf_counter()
                result = asyncio.run(measure(f"http://127.0.0.1:{port}", port, args.moves,
                                             args.settle, not args.no_walk))
                result["tensorflow_in_server"] = tensorflow_mapped(proc.pid)
                result["seconds"] = round(time.perf_counter() - start, 1)
            finally:
                proc.terminate()
                proc.wait(10)
            report[name] = result
            print(name, result, file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
