"""The browserless Streamlit client and the classroom load generator, against the real server."""

import asyncio
import re
from argparse import Namespace

import pytest

from harness.classroom import run, tree_rss_mb
from harness.server import FRESH_OFFLINE, ROOT, free_port, start_streamlit, wait_healthy
from harness.streamlit_client import Session


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = start_streamlit(ROOT / "app.py", port, FRESH_OFFLINE)
    try:
        wait_healthy(port, timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def noisy_psnr(session: Session) -> float:
    table = next(t for t in session.texts() if t.startswith("| row |"))
    return float(re.search(r"\| Noisy \| ([\d.]+) \|", table)[1])


def test_a_session_moves_the_slider_and_fetches_the_new_picture(server):
    async def scenario():
        async with Session(server) as page:
            assert page.widget("Amount").kind == "slider"
            assert page.widget("Amount").fragment_id  # inside the results fragment
            first_url, first_psnr = page.image_urls(), noisy_psnr(page)
            ahead = page.frame_urls()  # the picture at every amount, for the browser to load ahead
            assert len(set(ahead)) == 21 and first_url[0] in ahead
            with_ahead = await page.fetch_images()
            await page.set_value("Amount", 0.1)
            assert page.image_urls() != first_url and page.image_urls()[0] in ahead  # one it had
            assert noisy_psnr(page) > first_psnr + 5  # less noise: a much cleaner noisy row
            alone = await page.fetch_images()
            assert 1000 < alone < with_ahead / 10  # the PNG again; what was loaded ahead, not again
            before = page.image_urls()
            await page.click("New sample")
            assert page.image_urls() != before
            return page.exceptions

    assert asyncio.run(scenario()) == []


def test_a_noise_move_reruns_only_the_inner_fragment_and_a_sample_change_still_redraws(server):
    """The noise controls and the grid are a fragment inside the test-digit fragment: moving
    Amount reruns only them (the digits stay), choosing how many digits reruns both."""
    def digits(session: Session) -> list[str]:  # the clean row's captions, from the grid's caption
        caption = session.image_captions()[-1]
        return re.search(r"Clean: (.*?)\. ", caption)[1].split(", ")

    async def scenario():
        async with Session(server) as page:
            outer, inner = page.widget("How many digits").fragment_id, page.widget("Amount").fragment_id
            assert outer and inner and outer != inner
            shown, picture = digits(page), page.image_urls()
            await page.set_value("Amount", 0.3)
            assert "Amount" in page.drawn and "How many digits" not in page.drawn
            assert digits(page) == shown and page.image_urls() != picture  # the same digits, re-noised
            await page.set_value("How many digits", 3)
            assert {"How many digits", "Amount"} <= set(page.drawn)
            assert len(digits(page)) == 3
            await page.set_value("Amount", 0.6)  # the inner fragment, rerun with the new digits
            assert "How many digits" not in page.drawn and len(digits(page)) == 3
            return page.exceptions

    assert asyncio.run(scenario()) == []


def test_a_session_opens_another_page_by_its_path(server):
    async def scenario():
        async with Session(server, "train") as page:
            return page.widget("Start training").kind, set(page.pages)

    kind, pages = asyncio.run(scenario())
    assert kind == "button" and {"", "train", "explore", "learn"} <= pages


def test_the_load_generator_runs_a_small_class_with_a_queue(monkeypatch):
    monkeypatch.setenv("DENOISER_TRAINING_SLOTS", "1")
    args = Namespace(students=2, trainers=2, seconds=4.0, alone_seconds=4.0, think=(0.1, 0.3),
                     press_within=0.0, train_epochs=1, train_digits=200, train_wait=600, server_log=None)
    report = asyncio.run(run(args))
    assert report["errors"] == 0, report["error_examples"]
    # the lone student is measured as a class member is: the same actions, the same think time
    assert set(report["alone"]) == set(report["class"]) == {"slider", "new sample", "new noise",
                                                            "model change"}
    assert report["alone"]["slider"]["n"] > 0 and report["class"]["slider"]["n"] > 0
    assert report["class"]["slider"]["p95_ms"] >= report["class"]["slider"]["p50_ms"] > 0
    assert report["slider_p95_over_alone_p50"] == round(
        report["class"]["slider"]["p95_ms"] / report["alone"]["slider"]["p50_ms"], 2)
    assert report["updates"] == sum(row["n"] for row in report["class"].values())
    assert report["trainings"] == {"finished": 2}
    # one slot, two runs: one of them waited and showed its place in line
    assert [1] in report["queue_positions_seen"]
    assert report["peak_rss_with_training_mb"] > report["peak_rss_server_mb"] > 0


def test_every_action_a_student_takes_changes_what_the_page_shows(server):
    from harness.classroom import PLAN, act

    async def scenario():
        async with Session(server) as page:
            seen = {}
            for i in sorted(PLAN) + [1]:
                before_url, before_caption = page.image_urls(), page.image_captions()[-1]
                kind, ms = await act(page, i)
                seen[kind] = (page.image_urls() != before_url, ms > 0)
                if kind == "model change":
                    assert "conv" in " ".join(page.texts()) and before_caption != page.image_captions()[-1]
            return seen, page.exceptions

    seen, exceptions = asyncio.run(scenario())
    assert exceptions == [] and seen == {kind: (True, True) for kind in ("new sample", "new noise",
                                                                        "model change", "slider")}


def test_process_tree_memory_counts_children():
    import os
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(200_000_000); "
                              "x[::4096] = b'1' * len(x[::4096]); time.sleep(30)"])
    try:
        for _ in range(100):
            alone, family = tree_rss_mb(os.getpid())
            if family - alone > 150:
                break
            asyncio.run(asyncio.sleep(0.1))
        assert family - alone > 150  # the child's 200 MB are counted with the family only
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("samples", [[5.0], [9.0, 1.0], [3.0, 1.0, 2.0], list(range(1, 101))])
def test_a_spread_never_puts_p95_below_p50(samples):
    from harness.timing import spread

    row = spread(samples)
    assert row["n"] == len(samples) and row["p95_ms"] >= row["p50_ms"]
    assert row["p95_ms"] == (max(samples) if len(samples) < 20 else 95.0)  # the nearest rank


def test_a_model_published_to_the_gallery_reaches_a_session_already_open(tmp_path):
    """Two sessions: one is on Denoise when the teacher publishes; its next slider move (a
    fragment's rerun, which never redraws the sidebar by itself) brings the model into its list."""
    from denoiser.models.files import PRETRAINED_DIR, read_manifest
    from denoiser.teaching.gallery import publish

    def options(session: Session) -> list[str]:
        return next(list(proto.options) for kind, proto in session.elements.values()
                    if kind == "selectbox" and proto.label == "Denoiser")

    gallery = tmp_path / "gallery"
    port = free_port()
    proc = start_streamlit(ROOT / "app.py", port, {**FRESH_OFFLINE, "DENOISER_GALLERY": str(gallery),
                                                   "DENOISER_TEACHER_CODE": "sesame"})
    try:
        wait_healthy(port, timeout=120)

        async def scenario():
            url = f"http://127.0.0.1:{port}"
            async with Session(url) as open_before, Session(url) as other:
                assert not any("week 3" in o for o in options(open_before))
                entry = read_manifest(PRETRAINED_DIR)["models"]["seed-dense"]
                publish("week 3", (PRETRAINED_DIR / entry["file"]).read_bytes(),
                        (PRETRAINED_DIR / entry["onnx"]).read_bytes(), description="the class's",
                        config=entry["config"], code="sesame", expected_code="sesame", directory=gallery)
                await open_before.set_value("Amount", 0.3)
                assert "week 3 (class gallery)" in options(open_before)
                await other.click("New sample")
                assert "week 3 (class gallery)" in options(other)
                return open_before.exceptions + other.exceptions

        assert asyncio.run(scenario()) == []
    finally:
        proc.terminate()
        proc.wait(10)
