"""The class's own digits in the app (ui.class_digits), through Streamlit's AppTest: a teacher
opens a collection with the teacher code, a student adds the digit they drew, the teacher sees it
and removes it; without the code nobody changes anything."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from denoiser.teaching.collection import get_collection, list_collections
from ui.class_digits import ADD

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def classroom(tmp_path, monkeypatch):
    """A server with a teacher code and its own collections folder; the code guard on the test's
    clock (a wrong code makes the next try wait)."""
    monkeypatch.setenv("DENOISER_COLLECTIONS", str(tmp_path / "collections"))
    monkeypatch.setenv("DENOISER_TEACHER_CODE", "sesame")
    from ui.sharing import code_guard

    now = [0.0]
    monkeypatch.setattr(code_guard(), "clock", lambda: now[0])
    return now


def drawn_seven() -> np.ndarray:
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(img).line([(60, 50), (220, 50), (120, 240)], fill=(255, 255, 255, 255), width=22)
    return np.asarray(img)


def student_drawing() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["canvas_override"] = drawn_seven()  # the canvas seam
    at.run()
    return at.radio(key="source").set_value("Draw").run()


def teacher_on_train() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["teacher"] = ""  # the teacher's link: /train?teacher
    return at.run().switch_page("ui/train.py").run()


def press(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def texts(at: AppTest, kind: str) -> str:
    return " ".join(e.value for e in getattr(at, kind))


def test_a_teacher_opens_a_collection_a_student_adds_a_seven_and_the_teacher_removes_it(classroom):
    student = student_drawing()
    assert not [s for s in student.selectbox if s.key == "class_label"]  # nothing open: nothing offered

    teacher = teacher_on_train()
    teacher.text_input(key="class_code").input("wrong")
    teacher.text_input(key="class_new_name").input("Class 7B, Tuesday")
    teacher = press(teacher, "Open")
    assert "not the teacher code" in texts(teacher, "error") and list_collections() == []
    classroom[0] += 1.0  # the guard's wait after a wrong code has passed
    teacher.text_input(key="class_code").input("sesame")
    teacher = press(teacher, "Open")
    assert "is open" in texts(teacher, "success")

    student = student_drawing()
    assert "no name, no session" in " ".join(c.value for c in student.caption)  # what is kept, said first
    student = student.selectbox(key="class_label").set_value(7).run()
    student = press(student, ADD)
    assert "now holds 1 digit." in texts(student, "success")
    student = press(student, ADD)  # the same drawing twice
    assert "already" in texts(student, "info")
    x, y = get_collection("Class 7B, Tuesday").digits()
    assert list(y) == [7] and x.shape == (1, 28, 28) and x.max() == 255  # the framed drawing

    teacher = teacher_on_train()
    assert "7: 1" in [img.caption for el in teacher.get("image") for img in el.proto.imgs]
    teacher.text_input(key="class_code").input("sesame")
    teacher = press(teacher, "Remove it")
    assert "0 left" in texts(teacher, "success")
    assert len(get_collection("Class 7B, Tuesday").digits()[0]) == 0


def test_a_closed_collection_takes_no_more_digits_and_a_student_has_no_teacher_tools(classroom):
    from denoiser.teaching.collection import close_collection, open_collection

    close_collection(open_collection("7B"))
    student = student_drawing()
    assert not [s for s in student.selectbox if s.key == "class_label"]  # closed: nothing offered
    student = student.switch_page("ui/train.py").run()
    assert not [t for t in student.text_input if t.key == "class_code"]  # no ?teacher: no tools


def test_class_digits_are_a_source_on_denoise_sampled_like_mnists(classroom):
    from denoiser.teaching.collection import add_digit, open_collection

    at = AppTest.from_file(APP, default_timeout=120).run()
    assert "Class digits" not in at.radio(key="source").options  # no class digits yet: not offered

    collection = open_collection("7B")
    seven = np.zeros((28, 28), np.uint8)
    seven[6:22, 12:16] = 255
    one = np.zeros((28, 28), np.uint8)
    one[4:24, 13:15] = 200
    for digit, label in [(seven, 7), (one, 1), (seven[::-1], 7)]:
        add_digit(collection, digit, label)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at = at.radio(key="source").set_value("Class digits").run()
    assert not at.exception
    assert "the class's digits “7B”: 3 digits" in " ".join(c.value for c in at.caption)
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    grid = next(c for c in captions if c.startswith(("Rows", "Columns")))
    assert sorted(grid.split("Clean: ")[1].split(". ")[0].split(", ")) == ["digit 1", "digit 7", "digit 7"]
    at = at.selectbox(key="digit").set_value("7").run()  # one class, as with MNIST's digits
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    grid = next(c for c in captions if c.startswith(("Rows", "Columns")))
    assert grid.split("Clean: ")[1].split(". ")[0].split(", ") == ["digit 7", "digit 7"]
    assert "dB" in " ".join(m.value for m in at.markdown)  # the means table, as for MNIST


def test_explore_measures_the_class_digits_and_the_uci_digits_against_mnists(classroom):
    from denoiser.teaching.collection import add_digit, open_collection

    collection = open_collection("7B")
    for k in range(3):
        digit = np.zeros((28, 28), np.uint8)
        digit[5:23, 10 + k:14 + k] = 255
        add_digit(collection, digit, 1)
    at = AppTest.from_file(APP, default_timeout=180).run().switch_page("ui/explore.py").run()
    assert at.selectbox(key="shift_set").options == ["class: 7B", "UCI optical digits"]
    at = next(b for b in at.button if b.label == "Measure").click().run()
    assert not at.exception
    table = next(m.value for m in at.markdown if "| method | digits of |" in m.value)
    lines = [line for line in table.splitlines() if "| class: 7B |" in line]
    assert lines and all("| 3 |" in line for line in lines)  # every method on the class's 3 digits
    assert "| noisy input | MNIST test | 200 |" in table
    shown = [img.caption for el in at.get("image") for img in el.proto.imgs]
    assert "class: 7B #0" in " ".join(shown)  # the worst class digits are shown

    at.selectbox(key="shift_set").set_value("UCI optical digits")
    at = next(b for b in at.button if b.label == "Measure").click().run()
    table = next(m.value for m in at.markdown if "| method | digits of |" in m.value)
    assert "| noisy input | UCI optical digits | 200 |" in table
    assert "CC BY 4.0" in " ".join(c.value for c in at.caption)  # credited where shown


@pytest.mark.slow
def test_train_fine_tunes_a_shipped_model_on_other_handwriting_and_shows_before_and_after(classroom):
    at = AppTest.from_file(APP, default_timeout=180).run().switch_page("ui/train.py").run()
    assert at.selectbox(key="t_extra").options == ["MNIST only", "UCI optical digits"]
    at.session_state["t_code"] = 4  # a new model's setting: not the fine-tune's
    at.selectbox(key="t_start_from").set_value("seed-dense")
    at.selectbox(key="t_extra").set_value("UCI optical digits")
    at.slider(key="t_epochs").set_value(1)
    at.slider(key="t_size").set_value(100)
    at = at.run()
    assert not [s for s in at.selectbox if s.key == "t_arch"]  # its own layers: no architecture to pick
    assert "1,198 join the training digits, 599 are held out" in " ".join(c.value for c in at.caption)
    at = next(b for b in at.button if b.label == "Start training").click().run()
    job = at.session_state["active_job"]
    job.join(180)
    at = at.run()
    assert job.status == "finished", job.error
    assert len(job.x_train) == 100 + 1198 and len(job.x_held) == 599
    assert job.summary().startswith("fine-tuned from seed-dense: dense")
    import json

    shipped = json.loads((Path(APP).parent / "pretrained" / "manifest.json").read_text())
    own = shipped["models"]["seed-dense"]["config"]
    assert at.session_state["t_code"] == 4 and job.config.code_size == own["code_size"] != 4
    assert (job.config.nodes, job.config.layers) == (own["nodes"], own["layers"])  # its own layers
    before, after = job.held["before"], job.held["after"]
    assert before and after and before != after
    table = at.dataframe[0].value
    cell = table.loc[table["run"] == "run 1", "held-out other digits (dB)"].iloc[0]
    assert cell == f"{before['psnr']:.2f} → {after['psnr']:.2f}"


def test_a_link_to_class_digits_shows_them_here_and_test_digits_where_there_are_none(classroom):
    from denoiser.teaching.collection import add_digit, open_collection

    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["source"] = "Class digits"
    at = at.run()
    assert not at.exception and at.radio(key="source").value == "Test digits"  # none here

    add_digit(open_collection("7B"), np.pad(np.full((20, 4), 255, np.uint8), ((4, 4), (12, 12))), 1)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["source"] = "Class digits"
    at = at.run()
    assert at.radio(key="source").value == "Class digits"
    assert "“7B”: 1 digit," in " ".join(c.value for c in at.caption)


def test_a_guided_round_asks_for_each_digit_in_turn_and_labels_it_so(classroom):
    from denoiser.teaching.collection import open_collection

    open_collection("7B")
    student = student_drawing()
    student = student.toggle(key="class_guided").set_value(True).run()
    assert "Draw a 0" in texts(student, "markdown")
    assert not [s for s in student.selectbox if s.key == "class_label"]  # the round names the digit
    student = press(student, ADD)
    assert "Added as a 0" in texts(student, "success")
    assert "Draw a 1" in texts(student, "markdown")  # the next one asked for
    student.session_state["canvas_override"] = np.asarray(  # another drawing
        Image.fromarray(drawn_seven()).transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    student = press(student.run(), ADD)
    assert "Added as a 1" in texts(student, "success")
    assert list(get_collection("7B").digits()[1]) == [0, 1]
    student.session_state["class_added_labels"] = list(range(10))  # the whole round drawn
    student = student.run()
    assert "every digit from 0 to 9" in texts(student, "success")
    assert not [b for b in student.button if b.label == ADD]  # nothing more asked for
