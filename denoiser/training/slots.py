"""How many trainings a server runs at once, and the line the others wait in.

:class:`TrainingQueue` gives each run its turn, first come first served; :func:`server_queue` is
the process's one queue; :func:`keep_a_spare` keeps a training process ready while a slot is free.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from denoiser.training.spare import spare_enabled, spare_pool

if TYPE_CHECKING:
    from denoiser.models.config import ModelConfig
    from denoiser.training.jobs import TrainingJob

log = logging.getLogger(__name__)

#: Peak memory of one training process (measured 0.8-0.9 GB for a dense and a width-16 U-Net run).
TRAINING_GB = 1.0
#: Environment variable setting how many trainings a server runs at once.
SLOTS_VAR = "DENOISER_TRAINING_SLOTS"
#: The most trainings a server runs at once, whatever the variable says.
MAX_SLOTS = 64


def default_slots() -> int:
    """Trainings to run at once: ``$DENOISER_TRAINING_SLOTS`` (a whole number from 1 to
    :data:`MAX_SLOTS`; anything else is logged and ignored), else one core left for the pages and
    one training process per gigabyte of available memory, at least one."""
    raw = os.environ.get(SLOTS_VAR, "").strip()
    if raw:
        if raw.isdigit() and 1 <= int(raw) <= MAX_SLOTS:
            return int(raw)
        log.warning("%s=%r is not a whole number from 1 to %d: ignored, the server picks the number "
                    "of trainings itself", SLOTS_VAR, raw[:20], MAX_SLOTS)
    cores = os.cpu_count() or 1
    try:
        free_gb = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (ValueError, OSError, AttributeError):
        free_gb = 2 * TRAINING_GB
    return max(1, min(cores - 1, int(free_gb // TRAINING_GB)))


class TrainingQueue:
    """At most ``slots`` trainings run at once; the others wait, first come first served.

    A job joins when started (:meth:`TrainingJob.start`) and leaves when its turn comes, or
    earlier when it is stopped or its page closes; :meth:`estimated_wait` guesses its start.
    """

    def __init__(self, slots: int, clock: Callable[[], float] = time.monotonic) -> None:
        if slots < 1:
            raise ValueError(f"a training queue needs at least one slot, got {slots!r}")
        self.slots, self.clock = slots, clock
        self._cond = threading.Condition()
        self._waiting: list[TrainingJob] = []
        self._running: dict[str, float] = {}  # job id -> when it started
        self._durations: list[float] = []

    def available(self) -> bool:
        """Always: this queue lives in the server itself (a Redis queue may be unreachable)."""
        return True

    def position_free(self) -> bool:
        """Whether no run waits for a slot."""
        with self._cond:
            return not self._waiting

    def enqueue(self, job: TrainingJob) -> None:
        with self._cond:
            self._waiting.append(job)
            self._cond.notify_all()

    def position(self, job: TrainingJob) -> int | None:
        with self._cond:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    @property
    def running(self) -> int:
        with self._cond:
            return len(self._running)

    def wait_turn(self, job: TrainingJob, wanted: Callable[[], bool], poll: float = 0.2) -> bool:
        """Block until ``job`` may train (True), or until ``wanted()`` turns False (False: it left)."""
        with self._cond:
            try:
                while wanted():
                    if self._waiting and self._waiting[0] is job and len(self._running) < self.slots:
                        self._waiting.pop(0)
                        self._running[job.id] = self.clock()
                        return True
                    self._cond.wait(poll)
                return False
            finally:
                if job in self._waiting:
                    self._waiting.remove(job)
                self._cond.notify_all()

    def done(self, job: TrainingJob) -> None:
        """``job`` has ended: its slot goes to the next in line."""
        with self._cond:
            started = self._running.pop(job.id, None)
            if started is not None:
                self._durations = [*self._durations[-9:], self.clock() - started]
            self._cond.notify_all()

    def estimated_wait(self, job: TrainingJob, typical: float = 60.0) -> float | None:
        """Seconds until ``job`` should start: the runs ahead of it, each taking as long as the
        median of the last ten (``typical`` before any has ended), less what the running ones
        have done. None once it is not waiting."""
        with self._cond:
            if job not in self._waiting:
                return None
            if self._durations:
                typical = sorted(self._durations)[len(self._durations) // 2]
            now = self.clock()
            slots = sorted(max(0.0, typical - (now - t)) for t in self._running.values())
            slots += [0.0] * (self.slots - len(slots))
            for _ in range(self._waiting.index(job)):  # each run ahead takes the slot free first
                slots[0] += typical
                slots.sort()
            return slots[0]


_queue: TrainingQueue | None = None
_queue_lock = threading.Lock()


def keep_a_spare(line: TrainingQueue, expect: ModelConfig | None = None) -> None:
    """Keep one training process ready (:mod:`denoiser.training.spare`) while ``line`` has a free slot
    and nobody waits; with every slot taken, end it (its memory is a slot's). ``expect``: the model
    the next run will likely train (what the Train form shows), which the spare then primes."""
    if not spare_enabled():
        return
    if line.running < line.slots and line.position_free():
        spare_pool().refill()
        if expect is not None:
            spare_pool().expect(expect)
    else:
        spare_pool().drop()


def server_queue() -> TrainingQueue:
    """The process's training queue (:func:`default_slots` slots), made on first use."""
    global _queue
    with _queue_lock:
        if _queue is None:
            _queue = TrainingQueue(default_slots())
        return _queue
