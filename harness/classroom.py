"""A classroom on one server or a local cluster, without a browser per student: simulated students
speaking Streamlit's own websocket protocol (:mod:`harness.streamlit_client`) move the slider,
sample digits and train. ``python -m benchmarks class_load`` is its command (what it measures
and how: that module's docstring); the tests drive it too.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from pathlib import Path

from denoiser.models.quantize import precision
from harness.machine import describe_machine
from harness.server import FRESH_OFFLINE, free_port, start_streamlit, wait_healthy
from harness.streamlit_client import ProtocolError, Session
from harness.timing import server_cpu_seconds, spread

ROOT = Path(__file__).resolve().parents[1]

AMOUNTS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.55, 0.5, 0.45)
QUEUED = re.compile(r"number (\d+) in line")
ENDED = re.compile(r"run \d+ (finished|stopped|diverged|failed|cancelled)")


def tree_rss_mb(root: int) -> tuple[float, float]:
    """RSS of process ``root`` alone and of it with all its descendants, in MB."""
    parents, rss = {}, {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(proc.name)] = int(fields[1])
            rss[int(proc.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 1e6
        except (OSError, IndexError, ValueError):
            continue
    family, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    return rss.get(root, 0.0), sum(rss.get(pid, 0.0) for pid in family)


async def timed(session: Session, action) -> float:
    """Milliseconds from sending ``action`` (an awaitable) until its pictures are fetched."""
    start = time.perf_counter()
    await action
    await session.fetch_images()
    return (time.perf_counter() - start) * 1000


async def move(session: Session, amount: float) -> float:
    return await timed(session, session.set_value("Amount", amount))


#: What a student does at its i-th step (i % 10): the slider, or an action the server draws for.
PLAN = {0: "new sample", 5: "new noise", 7: "model change"}
ACTIONS = ("slider", "new sample", "new noise", "model change")
MODELS = ("blind", "conv")


async def act(session: Session, i: int) -> tuple[str, float]:
    """The i-th action of a student: its kind and milliseconds."""
    kind = PLAN.get(i % 10, "slider")
    if kind == "new sample":
        return kind, await timed(session, session.click("New sample"))
    if kind == "new noise":
        return kind, await timed(session, session.click("New noise"))
    if kind == "model change":
        return kind, await timed(session, session.set_value("Denoiser", MODELS[(i // 10 + 1) % 2]))
    return kind, await move(session, AMOUNTS[i % len(AMOUNTS)])


async def student(url: str, seed: int, start: asyncio.Barrier | None, seconds: float, think: tuple,
                  latencies: dict[str, list[float]], errors: list[str]) -> int:
    """One student on the Denoise page (``start``: wait there for the class); returns the updates
    timed."""
    pause, timed = random.Random(seed), 0
    session = Session(url, timeout=60)
    try:
        await session.open()
        for amount in (0.45, 0.5):  # a page's first updates are untimed (as in the browser test)
            await move(session, amount)
    except (ProtocolError, OSError) as err:
        errors.append(f"student {seed} could not open the page: {err}")
        if start is not None:
            await start.wait()
        return 0
    if start is not None:
        await start.wait()
    until, i = time.monotonic() + seconds, seed
    while time.monotonic() < until:
        await asyncio.sleep(pause.uniform(*think))
        try:
            kind, ms = await act(session, i)
            latencies[kind].append(ms)
            timed += 1
        except (ProtocolError, OSError) as err:
            errors.append(f"student {seed}: {err}")
        i += 1
    errors.extend(f"student {seed}: exception on the page: {e}" for e in session.exceptions)
    await session.close()
    return timed


async def trainer(url: str, seed: int, start: asyncio.Barrier, press_within: float, epochs: int,
                  digits: int, wait_s: float) -> dict:
    """One student on the Train page: press Start training, watch the run until it ends."""
    session = Session(url, "train", timeout=120)
    fate = {"trainer": seed, "positions": [], "status": "never started"}
    try:
        await session.open()
        session.stage("Epochs", epochs)
        session.stage("Training digits", digits)
    except (ProtocolError, OSError) as err:
        fate["status"] = f"error: {err}"
    await start.wait()  # every page open (or failed): the class starts together
    if fate["status"] == "never started":
        try:
            await asyncio.sleep(random.Random(seed).uniform(0, press_within))
            pressed = time.monotonic()
            await session.click("Start training")
            fate["status"] = "pressed"
            while time.monotonic() - pressed < wait_s:
                await asyncio.sleep(1.0)  # the page refreshes itself every second (run_every)
                text = " ".join(session.texts())
                if (position := QUEUED.search(text)) and (not fate["positions"]
                                                          or fate["positions"][-1] != int(position[1])):
                    fate["positions"].append(int(position[1]))
                if ended := ENDED.search(text):
                    fate["status"] = ended[1]
                    if ended[1] != "finished":  # what the page said about it
                        fate["message"] = text[ended.start():ended.start() + 200]
                    fate["seconds"] = round(time.monotonic() - pressed, 1)
                    break
            else:
                fate["status"] = "still running"
        except (ProtocolError, OSError) as err:
            fate["status"] = f"error: {err}"
    fate["exceptions"] = list(session.exceptions)
    await session.close()
    return fate


class OneServer:
    """The app on one Streamlit server (trainings in its own child processes)."""

    def __init__(self, log: str | None) -> None:
        self.port = free_port()
        self.proc = start_streamlit(ROOT / "app.py", self.port, FRESH_OFFLINE, log=log)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_healthy(self.port)

    def rss_mb(self) -> tuple[float, float]:
        """(the pages' servers, everything with training)."""
        return tree_rss_mb(self.proc.pid)

    def cpu_seconds(self) -> float:
        return server_cpu_seconds(self.port)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class LocalCluster:
    """The app as deploy/local_cluster.py runs it: replicas behind HAProxy, workers on Redis."""

    def __init__(self, replicas: int, workers: int) -> None:
        from deploy.local_cluster import Cluster

        self.cluster = Cluster(replicas, workers, env=FRESH_OFFLINE).start()
        self.url = self.cluster.url

    def rss_mb(self) -> tuple[float, float]:
        procs = self.cluster.procs
        pages = sum(tree_rss_mb(p.pid)[1] for name, p in procs.items() if name.startswith("replica"))
        return pages, sum(tree_rss_mb(p.pid)[1] for p in procs.values())

    def cpu_seconds(self) -> float:
        return sum(server_cpu_seconds(port) for port in self.cluster.replica_ports)

    def stop(self) -> None:
        self.cluster.stop()


async def run(args) -> dict:
    cluster = getattr(args, "cluster", None)
    target = LocalCluster(*cluster) if cluster else OneServer(args.server_log)
    url = target.url
    report = {"machine": describe_machine(), "precision": precision(), "students": args.students,
              "trainers": args.trainers,
              "seconds": args.seconds, "think_s": list(args.think), "press_within_s": args.press_within,
              "train_epochs": args.train_epochs, "train_digits": args.train_digits,
              **({"cluster": {"replicas": cluster[0], "workers": cluster[1]}} if cluster else {})}
    try:
        alone = {kind: [] for kind in ACTIONS}
        alone_errors: list[str] = []
        await student(url, 0, None, args.alone_seconds, tuple(args.think), alone, alone_errors)
        report["alone"] = {kind: spread(alone[kind]) for kind in ACTIONS}
        report["rss_idle_mb"] = round(target.rss_mb()[0])
        latencies: dict[str, list[float]] = {kind: [] for kind in ACTIONS}
        errors: list[str] = list(alone_errors)
        peaks = {"server": 0.0, "with_training": 0.0}
        stop_sampling = asyncio.Event()

        async def sample_memory() -> None:
            while not stop_sampling.is_set():
                server, family = target.rss_mb()
                peaks["server"] = max(peaks["server"], server)
                peaks["with_training"] = max(peaks["with_training"], family)
                await asyncio.sleep(0.5)

        start = asyncio.Barrier(args.students + args.trainers + 1)
        sampler = asyncio.create_task(sample_memory())

        async def timed_window() -> float:
            await start.wait()
            before = target.cpu_seconds()
            await asyncio.sleep(args.seconds)
            return target.cpu_seconds() - before

        cpu_task = asyncio.create_task(timed_window())
        results = await asyncio.gather(
            *(student(url, 1 + i, start, args.seconds, tuple(args.think), latencies, errors)
              for i in range(args.students)),
            *(trainer(url, 1000 + i, start, args.press_within, args.train_epochs, args.train_digits,
                      args.train_wait) for i in range(args.trainers)))
        server_cpu = await cpu_task
        stop_sampling.set()
        await sampler
    finally:
        target.stop()
    fates = results[args.students:]
    errors.extend(f"trainer {i}: exception on the page: {e}"
                  for i, f in enumerate(fates) for e in f["exceptions"])
    updates = sum(results[:args.students])
    report["class"] = {kind: spread(latencies[kind]) for kind in ACTIONS}
    slider, lone = report["class"]["slider"], report["alone"]["slider"]
    report.update({
        "updates": updates,
        "errors": len(errors),
        "error_examples": errors[:5],
        # the server process's CPU over the timed window (its training children not included)
        "server_cpu_ms_per_update": round(1000 * server_cpu / updates) if updates else None,
        "peak_rss_server_mb": round(peaks["server"]),
        "peak_rss_with_training_mb": round(peaks["with_training"]),
        "trainings": {status: sum(f["status"] == status for f in fates)
                      for status in sorted({f["status"] for f in fates})},
        "queue_positions_seen": [f["positions"] for f in fates],
        "training_messages": [f["message"] for f in fates if f.get("message")],
    })
    if slider["n"] and lone["n"]:
        report["slider_p95_over_alone_p50"] = round(slider["p95_ms"] / lone["p50_ms"], 2)
        report["slider_p95_over_class_p50"] = round(slider["p95_ms"] / slider["p50_ms"], 2)
    waited = [f for f in fates if f["positions"]]
    report["ok"] = (report["errors"] == 0
                    and (not slider["n"] or report.get("slider_p95_over_alone_p50", 99) <= 3.0)
                    and all(f["status"] == "finished" for f in fates)
                    # with more trainings than slots, some must have shown their place in line
                    and (len(fates) <= 1 or bool(waited)))
    return report


