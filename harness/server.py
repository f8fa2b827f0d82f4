"""The app as a real server on a free local port, and Debian's Chromium to look at it."""

from __future__ import annotations

import contextlib
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


def tensorflow_mapped(pid: int) -> bool:
    """Whether TensorFlow's shared library is mapped into process ``pid`` (Linux)."""
    return "tensorflow" in Path(f"/proc/{pid}/maps").read_text()


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


#: Debian's redis-server and haproxy (haproxy lives in /usr/sbin, often not on a user's PATH).
REDIS_SERVER = shutil.which("redis-server")
HAPROXY = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")


def start_redis(port: int, directory: Path, log=subprocess.DEVNULL, timeout: float = 10,
                password: str | None = None) -> subprocess.Popen:
    """A throwaway redis-server on 127.0.0.1:port (no persistence), once it answers; with
    ``password``, clients must give it (``redis://:PASSWORD@127.0.0.1:PORT/0``)."""
    import redis

    if REDIS_SERVER is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(directory),
                             *(["--requirepass", password] if password else [])],
                            stdout=log, stderr=subprocess.STDOUT)
    client, end = redis.Redis(port=port, password=password), time.time() + timeout
    while time.time() < end:
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise TimeoutError(f"redis-server did not start on port {port}")


@contextlib.contextmanager
def throwaway_redis():
    """A redis-server on a free port with a temporary directory, for as long as the block runs;
    yields its URL."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start_redis(port, Path(tmp))
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


def start_worker(redis_url: str, env: dict | None = None, log=subprocess.DEVNULL) -> subprocess.Popen:
    """``python -m denoiser worker`` in its own process group (so a kill leaves nothing of it)."""
    return subprocess.Popen([sys.executable, "-m", "denoiser", "worker", "--redis", redis_url], cwd=ROOT,
                            env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a process started in its own group, with everything it started; wait for it."""
    import signal

    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


@contextlib.contextmanager
def app_in_chromium(env: dict | None = None):
    """The app served on a free port (the fresh offline machine's settings by default) and a
    headless Chromium; yields ``(browser, url)`` and stops both afterwards."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    proc = start_streamlit(ROOT / "app.py", port, FRESH_OFFLINE if env is None else env)
    try:
        wait_healthy(port)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
            try:
                yield browser, f"http://127.0.0.1:{port}"
            finally:
                browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
