"""A training worker: RQ runs each queued run here, reporting back through Redis.

``python -m denoiser worker`` calls :func:`run_worker`; the server side (the queue, the run a
page reads) is :mod:`denoiser.training.remote`. A run trains through the same
:func:`denoiser.training.child.train_and_report` as in a server's own child process.
"""

from __future__ import annotations

import logging
import threading

from denoiser.training.child import lower_priority, train_and_report
from denoiser.training.remote import BEAT_TTL, KEY_TTL, QUEUE, REFRESH, connect, key
from denoiser.training.wire import WireError, encode, unpack_settings

log = logging.getLogger(__name__)


class _Watch:
    """The worker's view of one run: beats while it trains, and tells training to stop when the
    person pressed Stop (the model is kept) or the page is gone (the run is dropped)."""

    def __init__(self, r, run_id: str) -> None:
        self.r, self.run_id = r, run_id
        self.stop = threading.Event()
        self.dropped = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"beat-{run_id}", daemon=True)

    def check(self) -> None:
        self.r.set(key(self.run_id, "beat"), 1, ex=BEAT_TTL)
        if not self.r.exists(key(self.run_id, "alive")):
            self.dropped = True
            self.stop.set()
        elif self.r.exists(key(self.run_id, "stop")):
            self.stop.set()

    def _loop(self) -> None:
        while not self._done.wait(REFRESH):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - Redis away for a moment: the next beat tries again
                log.debug("beat of %s failed", self.run_id)

    def __enter__(self) -> _Watch:
        self.check()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join(5)


def train_on_worker(run_id: str) -> str:
    """The RQ job: train run ``run_id`` from its settings in Redis, reporting back through Redis.

    Returns what happened ("done", "dropped", "expired" or "refused": settings this app does not
    read); the model itself travels in the last report, which expires with the run's other keys.
    """
    from rq import get_current_job

    r = get_current_job().connection
    data = r.get(key(run_id, "settings"))
    if data is None or not r.exists(key(run_id, "alive")):
        r.delete(key(run_id, "settings"))
        return "expired"  # its page closed (or its server died) while it waited
    events = key(run_id, "events")

    def report(item: tuple) -> None:
        r.rpush(events, encode(list(item)))
        r.expire(events, KEY_TTL)

    try:
        settings = unpack_settings(data)
    except WireError as err:
        log.warning("run %s: settings in Redis that this app does not read: %s", run_id, err)
        r.delete(key(run_id, "settings"))
        report(("error", f"the worker could not read the run's settings: {err}"))
        return "refused"
    with _Watch(r, run_id) as watch:
        report(("started", None))
        train_and_report(settings, report, watch.stop)
    r.delete(key(run_id, "beat"))
    if watch.dropped:  # nobody is there to take the model: leave nothing behind
        r.delete(events, key(run_id, "settings"))
        return "dropped"
    return "done"


def run_worker(url: str, burst: bool = False) -> None:
    """Serve the training queue at ``url``: one run at a time, at low CPU priority, in this process
    (a worker killed mid-run takes its run with it, and the run's page says so)."""
    import keras
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    lower_priority()
    r = connect(url)

    class Worker(SimpleWorker):
        def perform_job(self, *args, **kwargs):  # a fresh Keras session for every run
            try:
                return super().perform_job(*args, **kwargs)
            finally:
                keras.backend.clear_session()

    Worker([QUEUE], connection=r, serializer=JSONSerializer).work(burst=burst, with_scheduler=False)
