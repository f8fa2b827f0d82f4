"""A classroom on one server, without a browser per student: N simulated students move the noise
slider and sample digits while M others train, all speaking Streamlit's own websocket protocol
(:mod:`harness.streamlit_client`).

Usage:
  python -m benchmarks.class_load [--students 30] [--trainers 4] [--seconds 120]
         [--think 1 3] [--press-within 0] [--train-epochs 10] [--train-digits 4000]
         [--train-wait 900] [--alone-seconds 120] [--runs 1] [--save FILE]

Starts ``streamlit run app.py`` on a free loopback port. Every student, alone or in the class,
does the same: opens the Denoise page (its first updates untimed, so the page's pictures at every
amount exist), then repeats: think ``--think`` seconds (uniform), then one action of
:data:`PLAN` — move the Amount slider (seven times in ten), press New sample, press New noise, or
change the model (the last three make the server draw a new set of pictures). Each action is timed
from sending it until its picture has been fetched (as a browser's update).

First one student does this alone for ``--alone-seconds``: the baseline, measured as a class
member is measured. Then every student opens the page and, once all are open, they act for
``--seconds``, while trainers open the Train page and press Start training (all at once, or each
at a random moment within ``--press-within`` seconds), then watch their run until it ends, reading
its queue position while it waits. Reports, for each action alone and in the class, its count,
p50 and p95; the class's slider p95 over the lone student's slider p50 and over the class's own
p50; errors (exceptions on a page, updates that never came), the server's RSS (its process, and
with its training processes: sampled peaks), the server's CPU per update, and each training's
fate. Exits 1 when a target is missed: no errors, slider p95 ≤ 3× the lone student's slider p50,
every training finished, and every queued one showed its place.

Why not Locust: Locust drives users with gevent, which cannot run the asyncio ``websockets``
client; one asyncio loop holds 60 students here at a few percent of a core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from harness.classroom import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--trainers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--alone-seconds", type=float, default=120,
                        help="how long one student acts alone first, for the baseline")
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0),
                        help="a student's pause after each update, uniform in [a, b] seconds")
    parser.add_argument("--press-within", type=float, default=0.0,
                        help="trainers press Start training at random within this many seconds")
    parser.add_argument("--train-epochs", type=int, default=10)
    parser.add_argument("--train-digits", type=int, default=4000)
    parser.add_argument("--train-wait", type=float, default=900,
                        help="how long a trainer watches its run before calling it lost")
    parser.add_argument("--save", help="also write the JSON report here")
    parser.add_argument("--server-log", help="write the server's output to this file")
    parser.add_argument("--cluster", type=int, nargs=2, metavar=("REPLICAS", "WORKERS"),
                        help="drive a local cluster (deploy/local_cluster.py: Streamlit replicas behind "
                             "HAProxy, training workers on Redis) instead of one server")
    parser.add_argument("--runs", type=int, default=1,
                        help="repeat the whole test (a fresh server each time); the median run is "
                             "reported, with every run's key figures beside it")
    args = parser.parse_args()
    runs = [asyncio.run(run(args)) for _ in range(args.runs)]
    ranked = sorted(runs, key=lambda r: r.get("slider_p95_over_alone_p50", float("inf")))
    report = dict(ranked[(len(ranked) - 1) // 2])
    if len(runs) > 1:
        keys = ("slider_p95_over_alone_p50", "slider_p95_over_class_p50", "server_cpu_ms_per_update",
                "errors", "peak_rss_with_training_mb", "trainings")
        report["every_run"] = [{k: r.get(k) for k in keys} for r in runs]
        report["ok"] = all(r["ok"] for r in runs)
    text = json.dumps(report, indent=2)
    print(text)
    if args.save:
        Path(args.save).write_text(text + "\n")
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
