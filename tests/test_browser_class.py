"""A class collects its digits, in real Chromium: a teacher opens a collection, three students
draw ten digits each (one with the mouse on a laptop, one with a finger on a tablet, one on a phone), the
teacher sees 30, removes one and exports; a fresh server imports the file and shows 29; without
the code nobody opens, closes or deletes a collection. On one server, and on two replicas behind
HAProxy (the local cluster) sharing the collections folder."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest

from harness.server import (
    CHROMIUM,
    HAPROXY,
    REDIS_SERVER,
    free_port,
    start_streamlit,
    wait_healthy,
)
from harness.touch import finger_stroke
from ui.class_digits import ADD

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
              pytest.mark.slow, pytest.mark.browser]
CODE = "sesame"
PANEL = "The class's digits (teachers)"
LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 820, "height": 1180}
PHONE = {"width": 390, "height": 844}


def env_for(folder: Path) -> dict:
    return {"DENOISER_OFFLINE": "1", "DENOISER_TEACHER_CODE": CODE, "DENOISER_COLLECTIONS": str(folder),
            "DENOISER_GALLERY": str(folder.parent / "gallery"), "DENOISER_TRAINING_PRIORITY": "normal"}


class Server:
    """One Streamlit server on a free port (stopped on exit)."""

    def __init__(self, env: dict) -> None:
        self.port = free_port()
        self.proc = start_streamlit(ROOT / "app.py", self.port, env)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        wait_healthy(self.port)
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def new_page(browser, screen: dict = LAPTOP):
    """A laptop with a mouse, or a tablet or phone with a finger."""
    touch = screen is not LAPTOP
    context = browser.new_context(viewport=screen, has_touch=touch, is_mobile=touch,
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def settled(page) -> None:
    """The app has taken the last click and finished its run."""
    page.wait_for_timeout(500)
    page.locator('[data-test-script-state="notRunning"]').first.wait_for()


def choose(page, label: str, option: str) -> None:
    page.locator('[data-testid="stSelectbox"]', has_text=label).first.click()
    page.keyboard.type(option)  # as a person picks from a long list: type, then Enter
    page.get_by_role("option", name=option).first.wait_for()
    page.keyboard.press("Enter")


def teacher_panel(browser, url: str):
    page = new_page(browser)
    page.goto(url + "/train?teacher")
    page.get_by_text(PANEL).click()
    return page


def press(page, name: str, code: str | None = None) -> None:
    if code is not None:
        commit(page.get_by_role("textbox", name="Teacher code").last, code)
    button(page, name).click()


def commit(field, value: str) -> None:
    """Type ``value`` and press Enter, then let the app take it before the next click (a click that
    blurs a field still being typed in can race its value to the server on a loaded machine)."""
    field.fill(value)
    field.press("Enter")
    settled(field.page)


def button(page, name: str):
    """The app's button of that name (not a select box's "Open" arrow)."""
    return page.get_by_role("button", name=name, exact=True).and_(
        page.locator('[data-testid^="stBaseButton"]'))


def draw_digits(browser, url: str, student: int, screen: dict, first_total: int) -> str:
    """One student draws ten different digits and adds each, labelled 0–9; the replica that
    served them (behind the proxy; "" on one server)."""
    page = new_page(browser, screen)
    page.goto(url)
    page.get_by_text("Denoised by").first.wait_for()
    page.get_by_test_id("stRadioGroup").get_by_text("Draw", exact=True).click()
    for digit in range(10):
        try:
            draw_and_add(page, student, digit, screen, first_total + digit + 1)
        except Exception:  # what the student saw, for whoever reads the failure
            page.screenshot(path=str(ROOT / "build" / f"class-student{student}-{digit}.png"), full_page=True)
            print(page.get_by_test_id("stAlert").all_inner_texts())
            raise
    assert page.get_by_test_id("stException").count() == 0
    replica = next((c["value"] for c in page.context.cookies() if c["name"] == "DENOISER_REPLICA"), "")
    page.context.close()
    return replica


def draw_and_add(page, student: int, digit: int, screen: dict, total: int) -> None:
    """Draw ``digit`` (each student's own shapes), name it, add it: the collection holds ``total``."""
    canvas = page.locator("canvas").last
    canvas.wait_for()
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # every stroke another shape (the app frames a drawing, so a moved copy is the same digit)
    x0, y0 = box["x"] + 60, box["y"]
    points = [(x0, y0 + 40), (x0 + 20 + 12 * digit, y0 + 100 + 25 * student),
              (x0 + 10, y0 + 240 - 8 * digit)]
    if screen is not LAPTOP:  # a finger
        finger_stroke(page, points)
    else:
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=10)
        page.mouse.up()
    page.get_by_text("What the model receives (28×28)").wait_for()
    choose(page, "Which digit?", str(digit))
    if digit == 0:  # on a laptop, a tablet and a phone the button is in view under the drawing
        box = button(page, ADD).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= screen["height"], box
        assert box["x"] >= 0 and box["x"] + box["width"] <= screen["width"], box
    button(page, ADD).click()
    page.get_by_text(re.compile(rf"now holds {total} digits?\.")).wait_for()
    button(page, "Clear drawing").click()
    page.get_by_text("Draw a digit with a finger or the mouse").wait_for()


def see_class_digits(browser, url: str) -> None:
    """Any student picks Class digits on Denoise: the class's digits, denoised, and the slider
    changes the picture as it does for MNIST's."""
    page = new_page(browser)
    page.goto(url)
    page.get_by_text("Denoised by").first.wait_for()
    page.get_by_test_id("stRadioGroup").get_by_text("Class digits", exact=True).click()
    page.get_by_text("the class's digits “Class 7B, Tuesday”: 30 digits").wait_for()
    grid = page.locator(".st-key-grid img")
    page.wait_for_function("() => { const i = document.querySelector('.st-key-grid img');"
                           " return i && i.complete && i.naturalWidth > 0; }")
    before = grid.get_attribute("src")
    thumb = page.get_by_role("slider", name="Amount")
    thumb.focus()
    for _ in range(4):
        thumb.press("ArrowRight")
    page.wait_for_function("b => document.querySelector('.st-key-grid img').src !== b", arg=before)
    assert page.get_by_test_id("stException").count() == 0
    page.context.close()


def class_collects(browser, url: str, folder: Path, fresh_url: str) -> set[str]:
    """The whole story; the replicas that served the students."""
    from denoiser.teaching.collection import get_collection, list_collections

    teacher = teacher_panel(browser, url)
    teacher.get_by_role("textbox", name="New collection").fill("Class 7B, Tuesday")
    press(teacher, "Open", CODE)
    teacher.get_by_text("is open: students can add their digits").wait_for()

    # a student who opens the teacher's link without the code changes nothing
    intruder = teacher_panel(browser, url)
    intruder.get_by_role("textbox", name="New collection").fill("Mine")
    press(intruder, "Open", "guess")
    intruder.get_by_text("not the teacher code").first.wait_for()
    for action in ("Close", "Delete"):
        intruder.wait_for_timeout(1100)  # the guard's pause after a wrong code
        press(intruder, action, "guess2" + action)
        settled(intruder)
        intruder.get_by_text(re.compile("not the teacher code|wait|locked")).first.wait_for()
    assert [(c.name, c.open) for c in list_collections(folder)] == [("Class 7B, Tuesday", True)]
    intruder.context.close()

    replicas = {draw_digits(browser, url, student, screen, first_total=10 * (student - 1))
                for student, screen in ((1, LAPTOP), (2, TABLET), (3, PHONE))}

    see_class_digits(browser, url)

    teacher.reload()
    teacher.get_by_text(PANEL).click()
    teacher.get_by_text("Class 7B, Tuesday — 30 digits").wait_for()
    x, y = get_collection("Class 7B, Tuesday", folder).digits()
    assert len(x) == 30 and sorted(np.bincount(y).tolist()) == [3] * 10  # each student's 0–9
    commit(teacher.get_by_role("spinbutton", name="Digit number"), "1")
    press(teacher, "Remove it", CODE)
    teacher.get_by_text("Removed digit number 1: 29 left.").wait_for()
    with teacher.expect_download() as download:
        button(teacher, "Export (.npz)").click()
    data = Path(download.value.path()).read_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as exported:
        assert exported["x_train"].shape == (29, 28, 28) and len(exported["y_train"]) == 29
    teacher.context.close()

    fresh = teacher_panel(browser, fresh_url)
    named = folder.parent / "class-7b.npz"
    named.write_bytes(data)
    fresh.locator('[data-testid="stFileUploader"]', has_text="Import a collection").locator(
        "input[type=file]").set_input_files(str(named))
    press(fresh, "Import", CODE)
    fresh.get_by_text("Imported “class-7b”: 29 digits.").wait_for()
    fresh.context.close()
    return replicas


def test_a_class_collects_its_digits_on_one_server(browser, tmp_path):
    folder, other = tmp_path / "collections", tmp_path / "next-term" / "collections"
    with Server(env_for(folder)) as server, Server(env_for(other)) as fresh:
        class_collects(browser, server.url, folder, fresh.url)
    from denoiser.teaching.collection import get_collection

    assert len(get_collection("class-7b", other).digits()[0]) == 29  # kept on the fresh server


@pytest.mark.cluster
@pytest.mark.skipif(REDIS_SERVER is None or HAPROXY is None, reason="needs redis-server and haproxy")
def test_a_class_collects_its_digits_through_two_replicas_behind_the_proxy(browser, tmp_path):
    from deploy.local_cluster import Cluster

    folder, other = tmp_path / "collections", tmp_path / "next-term" / "collections"
    with Cluster(replicas=2, workers=0, env=env_for(folder)) as cluster, Server(env_for(other)) as fresh:
        replicas = class_collects(browser, cluster.url, folder, fresh.url)
        assert replicas == {"r1", "r2"}  # the students' digits reached one collection from both
        seen = " ".join((cluster.logs / f"replica{n}.log").read_text() for n in (1, 2))
        assert "Traceback" not in seen
