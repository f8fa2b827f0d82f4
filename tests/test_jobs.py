import threading

import numpy as np
import pytest

from denoiser.jobs import TrainingJob
from denoiser.models import ModelConfig
from denoiser.training import NoiseSpec


def job(digits, epochs=2, **kwargs) -> TrainingJob:
    return TrainingJob(ModelConfig("dense", code_size=16), NoiseSpec("gaussian", 0.5), epochs, 32,
                       digits[:200], preview_clean=digits[200:206], x_eval=digits[300:340], **kwargs)


def test_job_trains_in_the_background_and_reports(digits):
    j = job(digits).start()
    assert j.status in ("training", "finished")
    j.join(60)
    assert j.status == "finished" and not j.running
    assert len(j.history["loss"]) == 2 and len(j.history["val_loss"]) == 2
    assert len(j.previews) == 2 and j.previews[-1].shape == (6, 28, 28)
    assert j.progress.epoch_end and j.progress.fraction == pytest.approx(1.0)
    assert set(j.metrics) == {"psnr", "ssim"}
    model = j.denoiser()
    assert model.name == j.name and model.denoise(digits[:2]).shape == (2, 28, 28)
    with pytest.raises(RuntimeError, match="already started"):
        j.start()


def test_stop_keeps_the_model(digits):
    j = job(digits, epochs=200)
    j.start()
    j.stop()
    j.join(60)
    assert j.status == "stopped" and j.denoiser() is not None
    assert len(j.history["loss"]) < 200


def test_a_run_whose_page_is_gone_frees_its_model(digits):
    gone = threading.Event()
    j = job(digits, epochs=200)
    j.alive = lambda: not gone.is_set()
    j.start()
    gone.set()  # the browser tab closes mid-training
    j.join(60)
    assert j.status == "stopped" and j.model_bytes is None and j.denoiser() is None


def test_failures_are_reported_in_plain_words_and_logged_in_full(digits, caplog):
    j = job(digits)
    j.x_train = np.zeros((10, 5, 5), np.float32)  # shape the model cannot take
    with caplog.at_level("WARNING", logger="denoiser.jobs"):
        j.start().join(60)
    assert j.status == "failed" and j.denoiser() is None
    assert "server's log" in j.error and "Error" not in j.error and "Traceback" not in j.error
    assert "Traceback" in caplog.text and "shape" in caplog.text  # the details, for whoever runs it


def test_absurd_job_settings_are_refused(digits):
    with pytest.raises(ValueError, match="epochs"):
        job(digits, epochs=10_000)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def test_ten_start_stop_cycles_leak_no_threads_and_little_memory(digits):
    def cycle():
        j = job(digits, epochs=50)
        j.start()
        j.stop()
        j.join(60)
        assert j.status in ("stopped", "finished")

    for _ in range(2):  # warm up: the first runs fill this process's caches
        cycle()
    threads, rss = threading.active_count(), rss_mb()
    for _ in range(10):
        cycle()
    assert threading.active_count() <= threads
    # Training runs in child processes, so the server keeps nothing of it (measured: ~2 MB).
    assert rss_mb() - rss < 20, f"RSS grew by {rss_mb() - rss:.0f} MB over 10 cycles"


def test_training_runs_in_a_lower_priority_process(digits):
    import multiprocessing
    import os
    import time

    from denoiser.jobs import BACKGROUND_NICE

    j = job(digits, epochs=200).start()
    nice = policy = None
    deadline = time.time() + 60
    while nice is None and time.time() < deadline:
        kids = [p for p in multiprocessing.active_children() if p.name == f"denoiser-train-{j.id}"]
        if kids:  # from its first instruction: its start-up (imports) must not compete either
            nice = os.getpriority(os.PRIO_PROCESS, kids[0].pid)
            if hasattr(os, "sched_getscheduler"):
                policy = os.sched_getscheduler(kids[0].pid)
        time.sleep(0.01)
    j.stop()
    j.join(60)
    assert nice is not None and nice >= BACKGROUND_NICE
    if hasattr(os, "SCHED_IDLE"):
        assert policy == os.SCHED_IDLE
        assert os.sched_getscheduler(0) != os.SCHED_IDLE
    assert os.getpriority(os.PRIO_PROCESS, 0) < BACKGROUND_NICE  # the server itself is untouched
    assert not [p for p in multiprocessing.active_children() if p.name == f"denoiser-train-{j.id}"]


def test_a_run_list_names_runs_in_order_and_drops_the_oldest(digits):
    from denoiser.runlist import RunList

    runs = RunList(cap=2)
    names = []
    for _ in range(3):
        j = job(digits)
        j.name = runs.next_name()
        names.append(j.name)
        dropped = runs.add(j)
    assert names == ["run 1", "run 2", "run 3"] and dropped == ["run 1"]
    assert list(runs) == ["run 2", "run 3"] and runs.dropped == 1
    assert runs.finished() == []  # none was trained
    with pytest.raises(ValueError, match="at least one run"):
        RunList(cap=0)
