"""Training on worker machines: RQ (a job queue on Redis) runs :class:`RemoteTrainingJob`\\ s.

Chosen by one setting, ``$DENOISER_REDIS_URL``; without it the server trains in its own child
processes (:mod:`denoiser.training.jobs`). A remote run behaves like a local one — live progress, loss
curves, previews, Stop after the current batch keeping the model, cancelled when its page
closes, a place in line — because the worker (:mod:`denoiser.training.worker`) calls the same
:func:`denoiser.training.child.train_and_report` and its reports travel back through Redis. What travels:

- ``denoiser:run:<id>:settings`` — the run's settings and digits, server → worker;
- ``…:events`` — a list of reports, worker → server; the last one carries the model's bytes;
- ``…:alive`` — refreshed by the server while the run's page is open; when it lapses the worker
  stops the run and drops it (a closed tab, or a replica that died);
- ``…:stop`` — set by the server when the person presses Stop;
- ``…:beat`` — refreshed by the worker while it trains; when it lapses the worker is gone and the
  run has failed;
- ``denoiser:expected`` — the models the class's Train forms show now (:meth:`RedisQueue.expect`),
  the newest few: an idle worker builds and traces them ahead (:mod:`denoiser.training.primed`).

Every value is a :mod:`denoiser.training.wire` message (JSON and raw bytes), and RQ's own job records use
its JSON serializer: nothing read from Redis is ever unpickled, so whoever can write to Redis
still cannot run code on a replica or a worker. Redis must be private all the same (a password,
TLS with ``rediss://``, a network only the servers reach): whoever can write to it can start,
stop or fake training runs.

Every key expires (:data:`KEY_TTL` at most), so nothing a dead server or worker leaves behind
stays in Redis. Keys hold the run's random id only: nothing a person typed becomes a key.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from denoiser.models.config import ModelConfig
from denoiser.training.jobs import FAILED, TrainingJob
from denoiser.training.wire import WireError, decode, encode, pack_settings, unpack_report

log = logging.getLogger(__name__)

#: Environment variable: the Redis URL, with its password, e.g.
#: ``rediss://:PASSWORD@queue.school.lan:6380/0`` (``rediss`` is Redis over TLS).
REDIS_VAR = "DENOISER_REDIS_URL"
QUEUE = "denoiser-training"
PREFIX = "denoiser:run:"
#: Seconds any key of a run lives at most (a run longer than this would need a refresh: the
#: app's own limits, 200 epochs of 60,000 digits, keep under it on one worker for dense models).
KEY_TTL = 6 * 3600
#: Seconds a run lives on after its page last said it is open.
ALIVE_TTL = int(os.environ.get("DENOISER_ALIVE_TTL", "20"))
#: Seconds a started run lives on after its worker last beat.
BEAT_TTL = int(os.environ.get("DENOISER_BEAT_TTL", "60"))
#: Seconds between the server's and the worker's refreshes.
REFRESH = 2.0
#: The models the Train forms show, newest kept: a sorted set of configs scored by time.
EXPECTED = "denoiser:expected"
#: How many of them a worker primes (as many as it keeps: ``denoiser.training.primed.KEEP``).
EXPECTED_KEEP = 3
#: The longest entry read from it (a config is a few hundred bytes).
MAX_EXPECTED_BYTES = 4096


def redis_url() -> str | None:
    """The Redis URL from ``$DENOISER_REDIS_URL`` (None: train locally)."""
    return os.environ.get(REDIS_VAR) or None


def connect(url: str):
    """A Redis client that fails fast (a page never hangs on a lost queue)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=10)


def key(run_id: str, part: str) -> str:
    return f"{PREFIX}{run_id}:{part}"


def _rq_job_id(run_id: str) -> str:
    return f"denoiser-{run_id}"


class RedisQueue:
    """The job queue as a training page sees it: is it up, where a run stands in line, how long.

    Parameters
    ----------
    url : str
        The Redis URL.
    clock : callable
        Seconds, for caching the availability check (tests inject one).
    """

    def __init__(self, url: str, clock: Callable[[], float] = time.monotonic) -> None:
        from rq import Queue
        from rq.serializers import JSONSerializer

        self.url, self.clock = url, clock
        self.redis = connect(url)
        self.rq = Queue(QUEUE, connection=self.redis, serializer=JSONSerializer)
        self._checked: tuple[float, bool] = (-1e9, False)
        self._expected: ModelConfig | None = None

    def available(self, every: float = 2.0) -> bool:
        """Whether Redis answers (checked at most every ``every`` seconds)."""
        import redis

        at, ok = self._checked
        if self.clock() - at >= every:
            try:
                ok = bool(self.redis.ping())
            except (redis.RedisError, OSError):
                ok = False
            self._checked = (self.clock(), ok)
        return ok

    def expect(self, config: ModelConfig) -> None:
        """Tell the workers that a run will likely train ``config`` soon (what a Train form shows):
        an idle worker primes it. Sent again only when it changes; Redis away is no error."""
        import redis

        if config == self._expected:
            return
        try:
            with self.redis.pipeline() as pipe:
                pipe.zadd(EXPECTED, {encode(config): time.time()})
                pipe.zremrangebyrank(EXPECTED, 0, -EXPECTED_KEEP - 1)  # the newest few stay
                pipe.expire(EXPECTED, KEY_TTL)
                pipe.execute()
            self._expected = config
        except (redis.RedisError, OSError):
            log.debug("could not tell the workers what to prime")

    @property
    def slots(self) -> int:
        """Workers listening now (each trains one run at a time)."""
        from rq import Worker

        try:
            return max(1, Worker.count(queue=self.rq))
        except Exception:  # noqa: BLE001 - Redis gone: the page says so elsewhere
            return 1

    def enqueue(self, job: TrainingJob) -> None:
        """Nothing yet: the run's own thread submits it once its settings are in Redis."""

    def submit(self, job: TrainingJob) -> None:
        """Put the run in line for a worker (its settings must be in Redis already)."""
        self.rq.enqueue_call("denoiser.training.worker.train_on_worker", args=(job.id,),
                             job_id=_rq_job_id(job.id), timeout=KEY_TTL, result_ttl=0,
                             failure_ttl=KEY_TTL, ttl=KEY_TTL)

    def position(self, job: TrainingJob) -> int | None:
        """1 for the next run to start, …; None once it trains (or has left)."""
        try:
            ids = self.rq.get_job_ids()
        except Exception:  # noqa: BLE001 - Redis gone: no position to show
            return None
        name = _rq_job_id(job.id)
        return ids.index(name) + 1 if name in ids else None

    def estimated_wait(self, job: TrainingJob, typical: float = 60.0) -> float | None:
        """Seconds until ``job`` should start: the runs ahead of it shared among the workers."""
        place = self.position(job)
        return None if place is None else typical * -(-place // self.slots)

    def look(self, job: TrainingJob) -> tuple[str | None, bool, bool, int]:
        """(RQ's status of the run or None once RQ forgot it, whether it is still in line, whether
        its worker beat lately, reports not yet read); a lost connection raises (the run waits
        for Redis to return)."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            status = Job.fetch(_rq_job_id(job.id), connection=self.redis,
                               serializer=self.rq.serializer).get_status(refresh=True)
        except NoSuchJobError:
            status = None
        waiting = _rq_job_id(job.id) in self.rq.get_job_ids()
        return (status, waiting, bool(self.redis.exists(key(job.id, "beat"))),
                int(self.redis.llen(key(job.id, "events"))))

    def cancel(self, job: TrainingJob) -> None:
        from rq.job import Job

        try:
            Job.fetch(_rq_job_id(job.id), connection=self.redis, serializer=self.rq.serializer).cancel()
        except Exception:  # noqa: BLE001 - it may have started or expired meanwhile
            log.debug("cannot cancel %s", job.id)

    def done(self, job: TrainingJob) -> None:
        self.redis.delete(*(key(job.id, part) for part in ("settings", "events", "alive", "stop", "beat")))


def expected_configs(r) -> list[ModelConfig]:
    """The models the Train forms show now (:meth:`RedisQueue.expect`), oldest first; an entry
    that is not one of this app's configs (whoever can write to Redis wrote it) is left out."""
    configs = []
    for data in reversed(r.zrevrange(EXPECTED, 0, EXPECTED_KEEP - 1)):
        try:
            config = decode(data) if len(data) <= MAX_EXPECTED_BYTES else None
        except WireError:
            config = None
        if isinstance(config, ModelConfig):
            configs.append(config)
        elif data not in _refused:  # said once, not at every look
            _refused.append(data)
            del _refused[:-EXPECTED_KEEP]
            log.warning("left out an entry of %s that is not a model's settings", EXPECTED)
    return configs


_refused: list[bytes] = []


#: What a run's settings hold, and what a worker reports.
class RemoteTrainingJob(TrainingJob):
    """A :class:`~denoiser.training.jobs.TrainingJob` trained by a worker through ``queue`` (a
    :class:`RedisQueue`).

    The page reads it exactly like a local run; a thread here keeps its page's heartbeat,
    relays the worker's reports and notices a worker that died.
    """

    poll = 0.5  # seconds between looks at Redis

    def _run(self) -> None:
        import redis

        q: RedisQueue = self.queue
        r = q.redis
        try:
            r.set(key(self.id, "settings"), pack_settings(self.settings()), ex=KEY_TTL)
            r.set(key(self.id, "alive"), 1, ex=ALIVE_TTL)
            q.submit(self)
        except (redis.RedisError, OSError) as err:
            log.warning("cannot queue run %s: %s", self.id, err)
            self.error = "the training queue (Redis) cannot be reached: try again in a moment"
            return
        last_alive = last_heard = time.monotonic()
        lost_since = taken_since = None
        try:
            while True:
                try:
                    page_open = self.alive is None or self.alive()
                    if not self._wanted():  # Stop pressed (the model is kept), or the page closed
                        r.set(key(self.id, "stop"), 1, ex=KEY_TTL)
                        if not page_open:
                            r.delete(key(self.id, "alive"))  # the worker drops it at its next beat
                        if not self._admitted.is_set():  # still in line: it leaves without training
                            q.cancel(self)
                            self.cancelled = True
                            return
                    if page_open and time.monotonic() - last_alive >= REFRESH:
                        r.set(key(self.id, "alive"), 1, ex=ALIVE_TTL)
                        last_alive = time.monotonic()
                    reply = r.blpop([key(self.id, "events")], timeout=self.poll)
                    if reply is None:
                        status, waiting, beating, pending = q.look(self)
                    lost_since = None
                except (redis.RedisError, OSError) as err:  # Redis gone: wait for it a while
                    lost_since = lost_since or time.monotonic()
                    if time.monotonic() - lost_since > ALIVE_TTL:
                        log.warning("run %s lost its queue: %s", self.id, err)
                        self.error = "the training queue (Redis) went away during this run"
                        return
                    time.sleep(self.poll)
                    continue
                if reply is not None:
                    last_heard = time.monotonic()
                    try:
                        kind, payload = unpack_report(reply[1])
                    except WireError as err:
                        log.warning("run %s: a report in Redis this app does not read: %s", self.id, err)
                        self.error = ("the training queue sent a report this app does not read: "
                                      "start the run again")
                        return
                    if kind == "started":
                        self._admitted.set()
                    elif self._report(kind, payload):
                        return
                    continue
                if status == "started":
                    self._admitted.set()
                # A worker that died: it took the run from the line but never said so, or it
                # started and then stopped beating and reporting (a busy worker at low priority
                # may be slow, so only silence on both counts for BEAT_TTL seconds means gone).
                taken = status == "queued" and not waiting
                taken_since = (taken_since or time.monotonic()) if taken else None
                silent = time.monotonic() - last_heard > BEAT_TTL
                worker_gone = ((self._admitted.is_set() and status != "finished" and not beating and silent)
                               or (taken_since is not None and time.monotonic() - taken_since > BEAT_TTL))
                if status in ("failed", "stopped", "canceled") or worker_gone:
                    self.error = ("the worker training it stopped (killed or crashed): start the run again"
                                  if status != "canceled" else FAILED)
                    return
                if self._admitted.is_set() and status in (None, "finished") and not beating:
                    if pending:  # its last reports arrived meanwhile
                        continue
                    # the worker ended the run without a last report: it dropped a run whose
                    # page had closed (or the report expired)
                    if self.alive is None or self.alive():
                        self.error = "the worker ended the run without sending its model back: start it again"
                    else:
                        self.cancelled = True
                    return
                if status is None and not self._admitted.is_set() and not waiting and silent:
                    self.error = "the run left the training queue without an answer: start it again"
                    return
        except Exception:  # noqa: BLE001 - reported to the user, never raised in a thread
            log.exception("remote run %s failed", self.id)
            self.error = FAILED
        finally:
            try:
                q.done(self)
            except Exception:  # noqa: BLE001 - keys expire by themselves
                log.debug("cannot clean up run %s", self.id)


_queue: RedisQueue | None = None
_queue_lock = threading.Lock()


def training_backend() -> tuple[type[TrainingJob], object]:
    """The job class and queue this server trains with: :class:`RemoteTrainingJob` on the Redis
    queue when ``$DENOISER_REDIS_URL`` is set, else a local :class:`~denoiser.training.jobs.TrainingJob`
    on the process's bounded queue."""
    global _queue
    url = redis_url()
    if url is None:
        from denoiser.training.slots import server_queue

        return TrainingJob, server_queue()
    with _queue_lock:
        if _queue is None or _queue.url != url:
            _queue = RedisQueue(url)
        return RemoteTrainingJob, _queue
