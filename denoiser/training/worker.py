"""A training worker: RQ runs each queued run here, reporting back through Redis.

``python -m denoiser worker`` calls :func:`run_worker`; the server side (the queue, the run a
page reads) is :mod:`denoiser.training.remote`. A run trains through the same
:func:`denoiser.training.child.train_and_report` as in a server's own child process. While it
waits for a run, the worker primes the models the class's Train forms show (:class:`Primer`), as
a server's spare training process does.
"""

from __future__ import annotations

import logging
import threading

from denoiser.training.child import lower_priority, train_and_report
from denoiser.training.remote import BEAT_TTL, KEY_TTL, QUEUE, REFRESH, connect, expected_configs, key
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


class Primer:
    """Builds and traces (:func:`denoiser.training.primed.prime`) the models the Train forms show
    (:func:`~denoiser.training.remote.expected_configs`) while the worker waits, so a run with
    those settings starts with its graphs made. ``busy`` is held by the run that trains: priming
    never overlaps a run (both use Keras' global state)."""

    def __init__(self, r, busy: threading.Lock, every: float = REFRESH) -> None:
        self.r, self.busy, self.every = r, busy, every
        self._failed: set = set()  # configs that could not be primed: not tried again
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="primer", daemon=True)

    def once(self) -> list:
        """Prime what the forms show and is not primed yet, newest last; returns what it primed."""
        import redis

        from denoiser.training.primed import prime, primed_configs

        try:
            wanted = expected_configs(self.r)
        except (redis.RedisError, OSError):
            return []  # Redis away for a moment: the next look tries again
        done = []
        for config in wanted:
            if config in primed_configs() or config in self._failed:
                continue
            with self.busy:
                try:
                    prime(config)
                except Exception:  # noqa: BLE001 - a run with it builds its own model instead
                    log.warning("could not prime %s", config, exc_info=True)
                    self._failed.add(config)
                    continue
            done.append(config)
        return done

    def _loop(self) -> None:
        while not self._done.wait(self.every):
            self.once()

    def start(self) -> Primer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._done.set()
        self._thread.join(30)


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
    busy = threading.Lock()

    class Worker(SimpleWorker):
        def perform_job(self, *args, **kwargs):
            with busy:  # a primed model is taken, or a new one built, while no priming runs
                try:
                    return super().perform_job(*args, **kwargs)
                finally:
                    keras.backend.clear_session()  # a fresh Keras session for every run

    primer = Primer(r, busy).start()
    try:
        Worker([QUEUE], connection=r, serializer=JSONSerializer).work(burst=burst, with_scheduler=False)
    finally:
        primer.stop()
