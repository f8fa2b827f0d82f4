"""A local cluster (deploy/local_cluster.py): real redis-server, two training workers, two
Streamlit replicas and HAProxy with sticky sessions, driven without a browser (and with one for
an upload)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from harness.classroom import ENDED
from harness.server import CHROME_ARGS, CHROMIUM, HAPROXY, REDIS_SERVER
from harness.streamlit_client import Session

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(REDIS_SERVER is None or HAPROXY is None,
                                reason="needs Debian's redis-server and haproxy "
                                       "(apt-get install redis-server haproxy)")
ENV = {"DENOISER_OFFLINE": "1", "DENOISER_MNIST": "", "DENOISER_TRAINING_PRIORITY": "normal"}


@pytest.fixture(scope="module")
def cluster():
    from deploy.local_cluster import Cluster

    logs = ROOT / "build" / "cluster-logs"
    logs.mkdir(parents=True, exist_ok=True)
    with Cluster(replicas=2, workers=2, env=ENV, logs=logs) as c:
        yield c


def replica_of(session: Session) -> str:
    return dict(part.split("=", 1) for part in session.cookie.split("; ") if "=" in part).get(
        "DENOISER_REPLICA", "")


async def train_once(url: str, digits: int = 300) -> dict:
    """One student: open Train through the proxy, train 1 epoch, wait for the end."""
    async with Session(url, "train", timeout=120) as page:
        page.stage("Epochs", 1)
        page.stage("Training digits", digits)
        await page.click("Start training")
        end = time.monotonic() + 600
        while time.monotonic() < end:
            await asyncio.sleep(1.0)
            text = " ".join(page.texts())
            if ended := ENDED.search(text):
                return {"status": ended[1], "replica": replica_of(page), "text": text,
                        "exceptions": page.exceptions}
        return {"status": "timeout", "replica": replica_of(page), "text": "", "exceptions": page.exceptions}


def test_six_sessions_train_through_the_proxy_on_two_workers_each_seeing_only_its_own_run(cluster):
    async def class_of_six():
        return await asyncio.gather(*(train_once(cluster.url) for _ in range(6)))

    fates = asyncio.run(class_of_six())
    assert [f["status"] for f in fates] == ["finished"] * 6, [f["text"][-300:] for f in fates]
    assert all(not f["exceptions"] for f in fates)
    assert {f["replica"] for f in fates} == {"r1", "r2"}  # the proxy spread the class
    for fate in fates:  # each page names its own run only: run 1, never another session's
        assert "run 1 finished" in fate["text"] and "run 2" not in fate["text"]
    done = [len(re.findall(r"Successfully completed", (cluster.logs / f"worker{n}.log").read_text()))
            for n in (1, 2)]
    assert sum(done) >= 6 and min(done) >= 1, done  # both workers trained


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_an_upload_through_the_proxy_works(cluster, tmp_path):
    from PIL import Image, ImageDraw
    from playwright.sync_api import sync_playwright

    img = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(img).line((100, 30, 100, 170), fill=0, width=18)  # a dark 1 on paper
    path = tmp_path / "one.png"
    img.save(path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROME_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(cluster.url)
            page.get_by_text("Denoised by").first.wait_for()
            page.get_by_test_id("stRadioGroup").get_by_text("Upload", exact=True).click()
            uploader = page.locator('[data-testid="stFileUploader"]', has_text="A photo or scan of one digit")
            uploader.locator('input[type="file"]').set_input_files(str(path))
            page.get_by_text("What the model receives (28×28)").wait_for()
            assert page.get_by_text("400").count() == 0  # no "session invalid": the upload stuck
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()


def test_redis_stopped_denoising_goes_on_training_says_so_and_comes_back(cluster):
    async def scenario():
        async with Session(cluster.url, timeout=120) as denoise:
            cluster.procs["redis"].terminate()
            cluster.procs.pop("redis").wait(10)
            try:
                before = denoise.image_urls()
                await denoise.set_value("Amount", 0.25)  # denoising needs no queue
                moved = denoise.image_urls() != before and await denoise.fetch_images() > 0
                await asyncio.sleep(2.5)  # past the cached answer of the last check
                async with Session(cluster.url, "train", timeout=120) as train:
                    down = " ".join(train.texts())
            finally:
                cluster.start_redis()  # the same port: the servers reconnect by themselves
            await asyncio.sleep(2.5)
            async with Session(cluster.url, "train", timeout=120) as train:
                up = " ".join(train.texts())
            return moved, down, up

    moved, down, up = asyncio.run(scenario())
    assert moved
    assert "Training is unavailable right now" in down
    assert "Training is unavailable right now" not in up
    assert asyncio.run(train_once(cluster.url))["status"] == "finished"  # and it trains again


def test_a_killed_replica_leaves_the_other_sessions_alone_and_its_users_get_a_fresh_session(cluster):
    async def scenario():
        pages = []
        while {replica_of(p) for p in pages} != {"r1", "r2"}:  # one tab on each replica
            page = Session(cluster.url, timeout=120)
            await page.open()
            pages.append(page)
        victim = next(p for p in pages if replica_of(p) == "r1")
        survivor = next(p for p in pages if replica_of(p) == "r2")
        cluster.kill("replica1")
        await asyncio.sleep(3)  # the proxy's checks (every second, two misses) take it out
        before = survivor.image_urls()
        await survivor.set_value("Amount", 0.2)  # untouched: same session, same replica
        survived = survivor.image_urls() != before and not survivor.exceptions
        again = Session(cluster.url, timeout=120, cookie=victim.cookie)  # the old tab, reloaded
        await again.open()
        fresh = replica_of(again) == "r2" and bool(again.image_urls())
        for page in [*pages, again]:
            await page.close()
        return survived, fresh

    survived, fresh = asyncio.run(scenario())
    assert survived and fresh
