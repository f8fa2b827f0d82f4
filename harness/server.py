"""The app as a real server on a free local port, and Debian's Chromium to look at it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: The flags Chromium needs on these machines (no sandbox as root, no network of its own).
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: The app as a fresh offline machine runs it: the shipped sample (even when $DENOISER_MNIST
#: names the full set) and no download attempt. Benchmarks and screenshots start it so.
FRESH_OFFLINE = {"DENOISER_OFFLINE": "1", "DENOISER_MNIST": ""}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(script: Path, port: int, env: dict | None = None,
                    log: str | Path | None = None) -> subprocess.Popen:
    """``streamlit run script`` on 127.0.0.1:port, headless, in the repository root (its output
    discarded, or appended to ``log``)."""
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the server's, kept open
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=out, stderr=subprocess.STDOUT)


def wait_healthy(port: int, timeout: float = 60) -> None:
    """Wait until the server on ``port`` answers its health check (TimeoutError after ``timeout`` s)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not start on port {port}")
