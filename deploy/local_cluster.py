"""A whole denoiser cluster on one machine: redis-server, W training workers, R Streamlit replicas
and HAProxy in front (sticky sessions by cookie, websockets passed through).

Usage: python -m deploy.local_cluster [--replicas 2] [--workers 2] [--port 8500]
(or ``bash deploy/local-cluster.sh``); Ctrl-C stops everything it started. Needs Debian's
``redis-server`` and ``haproxy`` packages. Every process listens on 127.0.0.1 only; see the
README's deployment section for several machines.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.server import (  # noqa: E402
    HAPROXY,
    free_port,
    kill_group,
    start_redis,
    start_streamlit,
    start_worker,
    wait_healthy,
)

#: The cookie HAProxy sets to keep a browser on its replica (Streamlit keeps a session in the
#: process that holds its websocket; without stickiness uploads fail with "400 session invalid").
COOKIE = "DENOISER_REPLICA"

HAPROXY_CFG = """\
global
    maxconn 4096
defaults
    mode http
    option redispatch
    retries 2
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
frontend web
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    cookie {cookie} insert indirect nocache
    option httpchk GET /_stcore/health
    http-check expect status 200
{servers}
"""


def haproxy_config(port: int, replica_ports: list[int]) -> str:
    """HAProxy's configuration: ``port`` in front of the replicas, one cookie value per replica,
    each checked every second and taken out after two failed checks."""
    servers = "\n".join(f"    server r{i} 127.0.0.1:{p} cookie r{i} check inter 1s fall 2 rise 1"
                        for i, p in enumerate(replica_ports, start=1))
    return HAPROXY_CFG.format(port=port, cookie=COOKIE, servers=servers)


def _kill_now(name: str, proc: subprocess.Popen) -> None:
    if name.startswith("worker"):  # its own process group: nothing of it survives
        kill_group(proc)
    else:
        proc.kill()
        proc.wait(30)


@dataclass
class Cluster:
    """Start with :meth:`start`, stop with :meth:`stop` (or use it as a context manager)."""

    replicas: int = 2
    workers: int = 2
    port: int = 0  # the proxy's port (0: a free one)
    env: dict = field(default_factory=dict)  # more environment for replicas and workers
    logs: Path | None = None
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    replica_ports: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.redis_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="denoiser-cluster-"))
        self.logs = self.logs or self.dir

    def _log(self, name: str):
        return open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the process's, kept open

    def start_redis(self) -> None:
        self.procs["redis"] = start_redis(self.redis_port, self.dir, log=self._log("redis"))

    def start_worker(self, n: int) -> None:
        self.procs[f"worker{n}"] = start_worker(self.redis_url, self.env, log=self._log(f"worker{n}"))

    def start_replica(self, n: int) -> None:
        port = self.replica_ports[n - 1]
        self.procs[f"replica{n}"] = start_streamlit(ROOT / "app.py", port,
                                                    {**self.env, "DENOISER_REDIS_URL": self.redis_url},
                                                    log=self.logs / f"replica{n}.log")
        wait_healthy(port, timeout=120)

    def start(self) -> Cluster:
        try:
            self.start_redis()
            for n in range(1, self.workers + 1):
                self.start_worker(n)
            self.replica_ports = [free_port() for _ in range(self.replicas)]
            for n in range(1, self.replicas + 1):
                self.start_replica(n)
            cfg = self.dir / "haproxy.cfg"
            cfg.write_text(haproxy_config(self.port, self.replica_ports))
            if HAPROXY is None:
                raise RuntimeError("haproxy is not installed (Debian: apt-get install haproxy)")
            self.procs["haproxy"] = subprocess.Popen([HAPROXY, "-f", str(cfg), "-db"],
                                                     stdout=self._log("haproxy"), stderr=subprocess.STDOUT)
            wait_healthy(self.port)  # the proxy answers with a replica's health check
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self, name: str) -> None:
        """Kill one process at once (SIGKILL), as a crash would."""
        _kill_now(name, self.procs.pop(name))

    def stop(self) -> None:
        for name in list(self.procs)[::-1]:
            proc = self.procs.pop(name)
            if proc.poll() is None:
                proc.terminate()  # a worker finishes its current batch's bookkeeping and goes
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    _kill_now(name, proc)
        if self.logs != self.dir:  # logs kept elsewhere: the working folder can go
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicas", type=int, default=2, help="Streamlit processes behind the proxy")
    parser.add_argument("--workers", type=int, default=2, help="training workers (one run each at a time)")
    parser.add_argument("--port", type=int, default=8500, help="the proxy's port: open http://127.0.0.1:PORT")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="denoiser-logs-"))
    with Cluster(args.replicas, args.workers, args.port, logs=logs) as c:
        print(f"denoiser on {c.url} — {args.replicas} replica(s) on ports {c.replica_ports}, "
              f"{args.workers} worker(s), Redis {c.redis_url}; logs in {c.logs}. Ctrl-C stops it all.",
              flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
