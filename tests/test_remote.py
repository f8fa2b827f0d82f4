"""Training on workers through RQ on a real redis-server (Debian's package, started on a free port)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from denoiser.digits.noise import NoiseSpec
from denoiser.models.config import ModelConfig
from harness.server import REDIS_SERVER, free_port, kill_group, start_redis, start_worker
from tests.conftest import Touches

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="Debian's redis-server is not installed "
                                                      "(apt-get install redis-server)")
# Workers here train at normal priority and beat every 2 s, so 20 s of silence means a dead one.
WORKER_ENV = {"DENOISER_TRAINING_PRIORITY": "normal", "TF_CPP_MIN_LOG_LEVEL": "3", "DENOISER_BEAT_TTL": "20"}


@pytest.fixture(autouse=True)
def quick_to_notice_a_dead_worker(monkeypatch):
    monkeypatch.setattr("denoiser.training.remote.BEAT_TTL", 20)


class RedisServer:
    """A throwaway redis-server, stopped and started again on the same port at will."""

    def __init__(self, directory: Path) -> None:
        self.port, self.directory, self.proc = free_port(), directory, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = start_redis(self.port, self.directory)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def worker_process(url: str):
    """A worker, its log in build/ (a pipe nobody reads would fill and stop it)."""
    (ROOT / "build").mkdir(exist_ok=True)
    with open(ROOT / "build" / f"worker-{url.rsplit(':', 1)[-1].replace('/', '-')}.log", "ab") as log:
        return start_worker(url, WORKER_ENV, log=log)


@pytest.fixture
def worker(redis_server):
    proc = worker_process(redis_server.url)
    yield proc
    kill_group(proc)


def remote_job(queue, digits, epochs=1, size=300, alive=None):
    from denoiser.training.remote import RemoteTrainingJob

    return RemoteTrainingJob(ModelConfig("dense", code_size=16), NoiseSpec("gaussian", 0.5), epochs, 32,
                             digits[:size], preview_clean=digits[:4], x_eval=digits[:50], queue=queue,
                             alive=alive)


def assert_a_fresh_worker_trains(url: str, queue, digits) -> None:
    """A new worker takes a run sent as the app sends it and finishes it."""
    rescuer = worker_process(url)
    try:
        run = remote_job(queue, digits).start()
        run.join(300)
        assert run.status == "finished", run.error
    finally:
        kill_group(rescuer)


def wait_for(predicate, timeout: float = 180.0, what: str = "") -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def run_keys(redis_server) -> list[bytes]:
    import redis

    return redis.Redis.from_url(redis_server.url).keys("denoiser:run:*")


def test_a_run_trains_on_a_worker_like_a_local_one_and_leaves_nothing_in_redis(redis_server, worker, digits):
    from denoiser.training.remote import RedisQueue

    queue = RedisQueue(redis_server.url)
    job = remote_job(queue, digits).start()
    job.join(300)
    assert job.status == "finished", job.error
    assert len(job.history["val_loss"]) == 1 and len(job.previews) == 1
    assert job.metrics["psnr"] > 5
    out = job.denoiser().denoise(digits[:3])  # its model came back through Redis
    assert out.shape == (3, 28, 28) and np.isfinite(out).all()
    assert run_keys(redis_server) == []


def test_a_fine_tune_trains_on_a_worker_from_the_model_sent_and_scores_its_held_out_digits(
        redis_server, worker, digits):
    from denoiser.models.files import model_to_bytes
    from denoiser.models.runtime import Denoiser
    from denoiser.results.evaluation import EVAL_SEED, evaluate_denoiser
    from denoiser.training.fit import train
    from denoiser.training.remote import RedisQueue, RemoteTrainingJob

    config = ModelConfig("dense", code_size=16)
    start = train(config, digits[:300], epochs=1, validation_split=0.0).model
    held = digits[300:360]
    before = evaluate_denoiser(Denoiser(start, config=config).denoise, held, "gaussian", 0.5, seed=EVAL_SEED)
    job = RemoteTrainingJob(config, NoiseSpec("gaussian", 0.5), 1, 32, digits[:300], preview_clean=digits[:4],
                            x_eval=digits[:50], queue=RedisQueue(redis_server.url),
                            start_model=model_to_bytes(start), start_name="mine", x_held=held,
                            held_name="other digits").start()
    job.join(300)
    assert job.status == "finished", job.error
    # the worker began from the model sent: its "before" is that model's score on the held-out digits
    assert job.held["before"]["psnr"] == pytest.approx(before["psnr"], abs=0.02)  # digits sent as 8 bits
    assert job.held["after"]["psnr"] != job.held["before"]["psnr"]
    assert run_keys(redis_server) == []


def test_runs_wait_in_line_and_a_closed_page_leaves_the_line(redis_server, digits):
    from denoiser.training.remote import RedisQueue

    queue = RedisQueue(redis_server.url)  # no worker yet: everything waits
    page = {"open": True}
    first = remote_job(queue, digits, alive=lambda: page["open"]).start()
    wait_for(lambda: queue.position(first) == 1, 30, "the first run in line")
    second = remote_job(queue, digits).start()
    wait_for(lambda: queue.position(second) == 2, 30, "the second run behind it")
    assert first.status == "queued" and first.queue_position() == 1
    page["open"] = False
    first.join(30)
    assert first.status == "cancelled"
    wait_for(lambda: second.queue_position() == 1, 30, "the second to move up")
    second.stop()
    second.join(30)
    assert second.status == "cancelled"
    wait_for(lambda: run_keys(redis_server) == [], 30, "the runs' keys to go")


def test_stop_ends_a_remote_run_after_the_batch_and_keeps_the_model(redis_server, worker, digits):
    from denoiser.training.remote import RedisQueue

    job = remote_job(RedisQueue(redis_server.url), digits, epochs=50, size=2000).start()
    wait_for(lambda: job.progress is not None, 300, "training to start on the worker")
    job.stop()
    job.join(120)
    assert job.status == "stopped" and job.denoiser() is not None
    assert len(job.history["loss"]) < 50


def test_a_worker_killed_mid_run_fails_the_run_with_its_reason_and_the_queue_goes_on(redis_server, digits):
    from denoiser.training.remote import RedisQueue

    queue = RedisQueue(redis_server.url)
    doomed = worker_process(redis_server.url)
    try:
        job = remote_job(queue, digits, epochs=50, size=2000).start()
        wait_for(lambda: job.progress is not None, 300, "training to start on the worker")
        kill_group(doomed)  # SIGKILL: no goodbye
        job.join(180)
        assert job.status == "failed" and "worker" in job.error and "again" in job.error
    finally:
        kill_group(doomed)
    assert_a_fresh_worker_trains(redis_server.url, queue, digits)


def test_a_run_whose_page_is_gone_is_dropped_by_the_worker_and_its_keys_go(redis_server, worker, digits):
    from denoiser.training.remote import RedisQueue

    page = {"open": True}
    job = remote_job(RedisQueue(redis_server.url), digits, epochs=50, size=2000,
                     alive=lambda: page["open"]).start()
    wait_for(lambda: job.progress is not None, 300, "training to start on the worker")
    page["open"] = False
    job.join(120)
    assert not job.running  # the server side ends too, however the worker's last report went
    assert job.model_bytes is None  # nobody is there to take it
    import redis

    client = redis.Redis.from_url(redis_server.url)
    wait_for(lambda: all(client.ttl(k) > 0 for k in run_keys(redis_server)), 60, "every key to expire")
    wait_for(lambda: run_keys(redis_server) == [], 60, "the run's keys to go")


def test_without_redis_training_is_unavailable_and_comes_back_with_it(redis_server):
    from denoiser.training.remote import RedisQueue

    now = [0.0]
    queue = RedisQueue(redis_server.url, clock=lambda: now[0])
    assert queue.available()
    redis_server.stop()
    assert queue.available()  # checked at most every 2 s: the answer is the last one
    now[0] += 2.0
    assert not queue.available()
    redis_server.start()
    now[0] += 2.0
    assert queue.available()


def test_a_run_whose_server_died_is_dropped_when_its_heartbeat_lapses(redis_server, worker, digits):
    # What a replica that died leaves behind: the run's settings and a heartbeat nobody refreshes.
    import redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    from denoiser.training.remote import QUEUE, key
    from denoiser.training.wire import pack_settings

    client = redis.Redis.from_url(redis_server.url)
    job = remote_job(None, digits, epochs=200, size=2000)
    client.set(key(job.id, "settings"), pack_settings(job.settings()), ex=3600)
    client.set(key(job.id, "alive"), 1, ex=15)  # refreshed by nobody from now on
    Queue(QUEUE, connection=client, serializer=JSONSerializer).enqueue_call(
        "denoiser.training.worker.train_on_worker", args=(job.id,), timeout=3600, result_ttl=0)
    wait_for(lambda: client.llen(key(job.id, "events")) > 2, 300, "the worker to train it")
    # the heartbeat lapses: the worker stops after a batch, drops the run and deletes its keys
    wait_for(lambda: run_keys(redis_server) == [], 120, "the dead server's run to be dropped")
    assert client.llen(f"rq:queue:{QUEUE}") == 0



def test_pickles_written_into_redis_run_on_no_worker_and_no_server(redis_server, worker, digits, tmp_path):
    # Whoever can write to Redis plants pickles: as a run's settings, as an RQ job record, and
    # as a report to a server. Nothing unpickles them; the run fails in words, the worker goes on.
    import pickle

    import redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    from denoiser.training.remote import QUEUE, RedisQueue, key

    client = redis.Redis.from_url(redis_server.url)
    marker = tmp_path / "ran"
    planted = remote_job(None, digits)
    client.set(key(planted.id, "settings"), pickle.dumps(Touches(marker)), ex=600)
    client.set(key(planted.id, "alive"), 1, ex=600)
    Queue(QUEUE, connection=client, serializer=JSONSerializer).enqueue_call(
        "denoiser.training.worker.train_on_worker", args=(planted.id,), timeout=600, result_ttl=0)
    wait_for(lambda: client.llen(key(planted.id, "events")) > 0, 120, "the worker to answer")
    assert b"could not read the run's settings" in client.lindex(key(planted.id, "events"), 0)
    Queue(QUEUE, connection=client).enqueue_call(  # an RQ job record pickled, holding a pickle bomb
        "denoiser.training.worker.train_on_worker", args=(Touches(marker),), timeout=600, result_ttl=0)
    wait_for(lambda: client.llen(f"rq:queue:{QUEUE}") == 0, 60, "the worker to take the planted record")
    # a server's run, with no worker taking it: a planted report fails it without running anything
    queue = RedisQueue(redis_server.url)
    worker_less = remote_job(queue, digits)
    kill_group(worker)
    worker_less.start()
    wait_for(lambda: client.exists(key(worker_less.id, "settings")), 30, "the run to be queued")
    client.rpush(key(worker_less.id, "events"), pickle.dumps(("done", Touches(marker))))
    worker_less.join(60)
    assert worker_less.status == "failed" and "does not read" in worker_less.error
    assert not marker.exists()
    # and a worker still trains a run sent as the app sends it
    assert_a_fresh_worker_trains(redis_server.url, queue, digits)
    assert not marker.exists()


def test_a_redis_with_a_password_is_used_through_its_url_and_refused_without_it(tmp_path):
    from denoiser.training.remote import RedisQueue
    from harness.server import start_redis

    port = free_port()
    proc = start_redis(port, tmp_path, password="s3cret-for-the-class")
    try:
        assert RedisQueue(f"redis://:s3cret-for-the-class@127.0.0.1:{port}/0").available()
        assert not RedisQueue(f"redis://127.0.0.1:{port}/0").available()  # NOAUTH: training unavailable
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_train_form_s_model_reaches_the_workers_and_an_idle_one_primes_it(redis_server, monkeypatch):
    """With Redis, the Train page tells the workers what its form shows (the newest few, each
    sent once); an idle worker's primer builds and traces them outside any run, once each, and
    leaves out what is not one of this app's configs."""
    import dataclasses
    import threading

    import redis
    from streamlit.testing.v1 import AppTest

    from denoiser.training import primed
    from denoiser.training.remote import EXPECTED, EXPECTED_KEEP, RedisQueue, expected_configs
    from denoiser.training.worker import Primer

    monkeypatch.setenv("DENOISER_REDIS_URL", redis_server.url)
    monkeypatch.setattr("denoiser.training.remote._queue", None)
    r = redis.Redis.from_url(redis_server.url)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("ui/train.py").run()
    (form,) = expected_configs(r)  # the form's defaults
    assert (form.architecture, form.code_size, form.optimizer) == ("dense", 32, "adam")
    at.select_slider(key="t_code").set_value(16).run()
    assert expected_configs(r) == [form, dataclasses.replace(form, code_size=16)]
    at.run()  # the same form again: nothing new is sent
    assert r.zcard(EXPECTED) == 2

    queue = RedisQueue(redis_server.url)
    for code in (8, 4):
        queue.expect(ModelConfig(code_size=code))
    assert r.zcard(EXPECTED) == EXPECTED_KEEP  # the oldest went
    r.zadd(EXPECTED, {b"DNW1 not a config": time.time() + 60})  # whoever can write to Redis
    wanted = expected_configs(r)
    assert wanted == [ModelConfig(code_size=8), ModelConfig(code_size=4)]  # the newest 3, less the foreign

    busy = threading.Lock()
    held = []
    real_prime = primed.prime
    monkeypatch.setattr(primed, "prime", lambda config, seed=0: (held.append(busy.locked()),
                                                                  real_prime(config, seed)))
    primed._kept.clear()
    try:
        assert Primer(r, busy).once() == wanted
        assert held == [True, True]  # each under the lock a run takes
        assert primed.primed_configs() == wanted
        assert Primer(r, busy).once() == []  # primed already: nothing again
        assert primed.take(ModelConfig(code_size=4)) is not None
    finally:
        primed._kept.clear()
