"""The real app in real Chromium (Debian's package), driven by Playwright."""

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from harness.server import CHROMIUM, free_port, start_streamlit, tensorflow_mapped, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = start_streamlit(ROOT / "app.py", port, {"DENOISER_OFFLINE": "1"})
    try:
        wait_healthy(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def open_app(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("Denoised by").first.wait_for()
    # What a person sees: the result picture is not only in the page but loaded.
    page.wait_for_function(
        "() => { const els = document.querySelectorAll('[data-testid=\"stImage\"] img');"
        " return els.length > 0 && Array.from(els).every(e => e.complete && e.naturalWidth > 0); }")


def image_sources(page) -> list[str]:
    return page.eval_on_selector_all('[data-testid="stImage"] img', "els => els.map(e => e.src)")


def assert_no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def at_rest(page, pictures: int = 0) -> None:
    """Wait until the page is as a person then keeps seeing it: its script has finished (nothing
    greyed out as stale), at least ``pictures`` pictures are drawn, and the components that give
    them their text have had their chance (a picture still without text is then the test's to
    find, not this wait's)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_function("n => { const els = Array.from(document.querySelectorAll('img'));"
                           " return els.length >= n && els.every(e => e.complete && e.naturalWidth > 0); }",
                           arg=pictures)
    page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached")
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('img')).every(e => e.hasAttribute('alt'))",
            timeout=20_000)


def test_page_loads_with_images_and_no_exception(page, server):
    open_app(page, server)
    widths = page.eval_on_selector_all('[data-testid="stImage"] img', "els => els.map(e => e.naturalWidth)")
    assert widths and widths[0] >= 8 * 28 * 4  # one picture holds the grid of 8 digits
    assert page.get_by_text("Denoised by blind").count() >= 1
    assert_no_exception(page)
    (ROOT / "build").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "build" / "browser-denoise.png"), full_page=True)


def test_moving_the_slider_changes_the_images(page, server):
    open_app(page, server)
    before = image_sources(page)
    thumb = page.get_by_role("slider", name="Amount")
    thumb.focus()
    for _ in range(4):
        thumb.press("ArrowLeft")
    page.wait_for_function(
        "before => { const now = Array.from(document.querySelectorAll('[data-testid=\"stImage\"] img'))"
        ".map(e => e.src); return now.length > 0 && now[0] !== before[0]; }", arg=before)
    page.wait_for_function("() => window.location.search.includes('amount=0.3')")  # shareable link
    assert_no_exception(page)


def slider_follows(page) -> None:
    """Wait until the slider moves the picture in the browser: the component holds every
    amount's picture (on a loaded machine they arrive well after the first one). A page opened
    while another session (an earlier test's) still drew the same pictures waits a few seconds
    for them, then gets them at its next rerun, as a student's next move would: a reload."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    ready = "() => window.__denoiserFrames && window.__denoiserFrames.size >= 21"
    try:
        page.wait_for_function(ready, timeout=60_000)
    except PlaywrightTimeout:
        page.reload()
        page.wait_for_function(ready, timeout=120_000)


def test_dragging_the_slider_shows_each_amount_before_the_server_hears_of_it(page, server):
    open_app(page, server)
    slider_follows(page)
    grid = '.st-key-grid [data-testid="stImage"] img'
    first = page.eval_on_selector(grid, "e => e.src")
    thumb = page.get_by_role("slider", name="Amount")
    box = thumb.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    seen = []
    for step in range(1, 5):  # still held: Streamlit sends a slider's value when it is let go
        page.mouse.move(box["x"] + box["width"] / 2 + 40 * step, box["y"] + box["height"] / 2)
        page.wait_for_function("([sel, seen]) => !seen.includes(document.querySelector(sel).src)",
                               arg=[grid, [first, *seen]])
        seen.append(page.eval_on_selector(grid, "e => e.src"))
    assert "amount=0.5" in page.evaluate("() => window.location.search")  # the server has not heard
    page.mouse.up()
    page.wait_for_function("() => !window.location.search.includes('amount=0.5')")  # now it has
    page.wait_for_function("([sel, last]) => document.querySelector(sel).src === last", arg=[grid, seen[-1]])
    assert len(set(seen)) == 4  # a new picture at each amount passed, and the server's is the last
    assert_no_exception(page)


def test_fast_key_presses_never_paint_an_earlier_amount_again(page, server):
    """The server's rerun for each press lands after later presses were shown: the page must not
    go back to an amount the slider has left (it is put right before the browser paints)."""
    open_app(page, server)
    grid = '.st-key-grid [data-testid="stImage"] img'
    page.evaluate("""sel => { window.__painted = [];
      const tick = () => { const src = document.querySelector(sel).src;
        if (window.__painted[window.__painted.length - 1] !== src) window.__painted.push(src);
        requestAnimationFrame(tick); };
      tick(); }""", grid)
    thumb = page.get_by_role("slider", name="Amount")
    thumb.focus()
    for _ in range(4):
        thumb.press("ArrowRight")
    page.wait_for_function("() => window.location.search.includes('amount=0.7')")  # the last rerun
    page.wait_for_function("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    painted = page.evaluate("() => window.__painted")
    assert len(painted) >= 2 and len(painted) == len(set(painted)), painted
    assert_no_exception(page)


def draw_stroke(page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Open the Draw source and drag the mouse across the canvas (coordinates in canvas pixels)."""
    page.get_by_text("Draw", exact=True).click()
    canvas = page.locator("canvas").last
    canvas.wait_for()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + start[0], box["y"] + start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + end[0], box["y"] + end[1], steps=20)
    page.mouse.up()
    page.get_by_text("What the model receives (28×28)").wait_for()


def test_a_stroke_drawn_with_the_mouse_is_denoised_beside_the_canvas(page, server):
    open_app(page, server)
    draw_stroke(page, (140, 40), (145, 240))
    result = page.locator('[data-testid="stImage"]', has_text="Columns: Noisy, Denoised by blind")
    img = result.locator("img")
    img.wait_for()
    page.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=img.element_handle())
    assert page.get_by_text("your digit").count() >= 1
    # At 1400×1000, without scrolling, the whole result (noisy, denoised, clean) is on screen,
    # at its own size: one digit is 112 px, not stretched to the page's width.
    assert page.evaluate("window.scrollY") == 0
    box = img.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 1000 and box["x"] + box["width"] <= 1400
    natural = img.evaluate("e => [e.naturalWidth, e.naturalHeight]")
    assert abs(box["width"] - natural[0]) <= 1 and abs(box["height"] - natural[1]) <= 1
    assert box["height"] < 250  # one line of digits
    canvas = page.locator("canvas").last.bounding_box()
    assert box["x"] > canvas["x"] + canvas["width"]  # beside the canvas, not under it
    assert_no_exception(page)
    page.screenshot(path=str(ROOT / "build" / "browser-draw.png"))


def test_uploading_a_png_works(page, server, tmp_path):
    img = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(img).ellipse((80, 50, 220, 250), outline=0, width=25)  # a dark 0 on paper
    path = tmp_path / "zero.png"
    img.save(path)
    open_app(page, server)
    page.get_by_test_id("stRadioGroup").get_by_text("Upload", exact=True).click()
    digit_uploader = page.locator('[data-testid="stFileUploader"]', has_text="A photo or scan of one digit")
    digit_uploader.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_text("What the model receives (28×28)").wait_for()
    page.get_by_text("Denoised by blind").first.wait_for()
    assert_no_exception(page)


def test_one_epoch_training_completes_and_shows_its_curve(page, server):
    page.goto(server + "/train")
    page.get_by_role("button", name="Start training").wait_for()
    epochs = page.get_by_role("slider", name="Epochs")
    epochs.focus()
    epochs.press("Home")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("run 1 finished").first.wait_for(timeout=120_000)
    page.get_by_text("Validation loss of every run").wait_for()  # the page has refreshed
    charts = '[data-testid="stVegaLiteChart"]'
    page.locator(f"{charts} canvas, {charts} svg").first.wait_for()
    # this run's losses, every run's validation loss, and PSNR against the baselines
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == 3
    assert page.locator(f'.st-key-live_panel {charts}').count() == 1  # the run's own, in its panel
    assert_no_exception(page)
    page.screenshot(path=str(ROOT / "build" / "browser-train.png"), full_page=True)


def test_drawn_canvas_pixels_reach_the_model_preview(page, server):
    # The 28×28 preview must show ink where the stroke was drawn (not an empty image).
    open_app(page, server)
    draw_stroke(page, (60, 140), (220, 140))
    preview = page.locator('[data-testid="stImage"] img').first
    png = preview.screenshot()
    arr = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    assert arr.max() > 200 and arr.mean() < 120  # white stroke on black


def ink_rows(png: bytes) -> np.ndarray:
    """Indices of the rows of a screenshot that hold dark (text) pixels."""
    gray = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return np.flatnonzero((gray < 110).any(axis=1))


def test_the_projector_view_at_1024x768_has_headings_20px_tall_and_no_sidebar(browser, server):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        open_app(page, server + "/?projector=1&models=conv")
        assert not page.locator('[data-testid="stSidebar"]').is_visible()
        img = page.locator('[data-testid="stImage"] img').first
        box = img.bounding_box()
        assert box["x"] + box["width"] <= 1024
        # The first heading ("Noisy") sits in the picture's top band, above the first digit (a
        # black square): measure the heading's own ink on screen, the rows before the square's.
        band = np.asarray(Image.open(io.BytesIO(page.screenshot(
            clip={"x": box["x"], "y": box["y"], "width": 200, "height": 120}))).convert("L"))
        dark = (band < 110).mean(axis=1)
        square = np.flatnonzero(dark > 0.25)[0]  # the digit's first row: a wide run of black
        text = np.flatnonzero((dark[:square] > 0) & (dark[:square] <= 0.25))
        assert text.size and text[-1] - text[0] + 1 >= 20, (text, square)
        assert "Denoised by conv" in img.get_attribute("alt")  # the compared model is there
        page.screenshot(path=str(ROOT / "build" / "browser-projector.png"))
    finally:
        context.close()


def test_at_150_percent_zoom_no_control_is_cut_short(browser, server):
    # 150 % zoom in a 1400×1000 window: the page lays out in 933×667 CSS pixels, drawn 1.5× larger.
    context = browser.new_context(viewport={"width": 933, "height": 667}, device_scale_factor=1.5)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        open_app(page, server)
        for text in ("New noise", "New sample", "Projector view"):
            label = page.get_by_text(text, exact=True).first
            label.wait_for()
            # cut short = some box from the text up to its widget is narrower than its content
            cut = label.evaluate(
                "e => { for (let n = e; n && !(n.dataset && n.dataset.testid && n.dataset.testid"
                ".startsWith('stElementContainer')); n = n.parentElement)"
                " { if (n.scrollWidth > n.clientWidth + 1) return true; } return false; }")
            assert not cut, f"{text!r} is cut short"
            box = label.bounding_box()
            assert box["x"] + box["width"] <= 933
    finally:
        context.close()


def test_a_keras_model_uploaded_in_the_sidebar_denoises_beside_blind(page, server, tiny_model_dir, tmp_path):
    open_app(page, server)
    path = tmp_path / "class-run.keras"
    path.write_bytes((tiny_model_dir / "tiny-dense.keras").read_bytes())
    model_uploader = page.locator('[data-testid="stFileUploader"]', has_text="Load a model")
    model_uploader.locator('input[type="file"]').set_input_files(str(path))
    page.get_by_text("Denoised by class-run").first.wait_for(timeout=180_000)  # checked, then chosen
    assert_no_exception(page)
    assert page.locator('[data-testid="stAlert"]').count() == 0


def test_a_lesson_is_a_live_experiment_and_its_button_sets_up_train(page, server):
    page.goto(server + "/learn")
    page.get_by_text("2. Code size", exact=True).click()
    page.get_by_text("Denoised by code-128").first.wait_for()
    result = page.locator('[data-testid="stImage"] img').first
    page.wait_for_function("e => e.complete && e.naturalWidth > 0", arg=result.element_handle())
    before = image_sources(page)
    thumb = page.get_by_role("slider", name="Noise amount")
    thumb.focus()
    thumb.press("ArrowRight")
    page.wait_for_function(
        "before => { const now = Array.from(document.querySelectorAll('[data-testid=\"stImage\"] img'))"
        ".map(e => e.src); return now.length > 0 && now[0] !== before[0]; }", arg=before)
    page.get_by_role("button", name="Train code size 4 yourself").click()
    page.get_by_role("button", name="Start training").wait_for()
    assert page.url.endswith("/train")  # the same tab: the same session
    code = page.get_by_role("slider", name="Code size")
    assert code.get_attribute("aria-valuetext") == "4"
    assert_no_exception(page)


def test_the_latent_space_plots_codes_and_walks_between_the_chosen_digits(page, server):
    page.goto(server + "/explore")
    page.get_by_text("Model with a code").wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()  # the PCA scatter
    page.get_by_text("PC 1 and PC 2 are the two directions").wait_for()  # the axes, explained
    walk = page.locator('[data-testid="stImage"] img')
    walk.first.wait_for(timeout=120_000)  # the first walk loads the decoder
    before = image_sources(page)
    page.get_by_role("slider", name="To: which example").focus()
    page.keyboard.press("ArrowRight")  # the second 8 of the test digits as the walk's end
    page.wait_for_function(
        "before => { const now = Array.from(document.querySelectorAll('[data-testid=\"stImage\"] img'))"
        ".map(e => e.src); return now.length > 0 && now[now.length - 1] !== before[before.length - 1]; }",
        arg=before)
    assert_no_exception(page)


def test_a_teacher_publishes_a_run_and_a_new_session_picks_it_from_the_gallery(browser, tmp_path):
    port = free_port()
    env = {"DENOISER_OFFLINE": "1", "DENOISER_TEACHER_CODE": "sesame",
           "DENOISER_GALLERY": str(tmp_path / "gallery"), "DENOISER_TRAINING_PRIORITY": "normal"}
    proc = start_streamlit(ROOT / "app.py", port, env)
    try:
        wait_healthy(port)
        url = f"http://127.0.0.1:{port}"
        teacher = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        teacher.set_default_timeout(120_000)
        teacher.goto(url + "/train?teacher")  # the teacher's link: the tools only students never see
        epochs = teacher.get_by_role("slider", name="Epochs")
        epochs.focus()
        epochs.press("Home")
        teacher.get_by_role("button", name="Start training").click()
        teacher.get_by_text("run 1 finished").first.wait_for(timeout=180_000)
        teacher.get_by_text("Share with the class (teachers)").click()
        teacher.get_by_role("textbox", name="Name in the gallery").fill("Week 3 model")
        teacher.get_by_role("textbox", name="Teacher code").first.fill("sesame")
        teacher.get_by_role("button", name="Publish").click()
        outcome = teacher.get_by_text("Published as").or_(teacher.get_by_text("Not published"))
        outcome.first.wait_for()
        assert "Published as" in outcome.first.inner_text(), outcome.first.inner_text()  # else: why not
        student = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        student.set_default_timeout(120_000)
        open_app(student, url)
        student.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]', has_text="Denoiser").click()
        option = student.get_by_role("option", name="Week 3 model (class gallery)")
        option.wait_for()
        assert student.get_by_role("option", name="run 1 (trained here)").count() == 0  # the teacher's own
        option.click()
        student.get_by_text("Rows: Noisy, Denoised by Week 3 model").first.wait_for()
        assert_no_exception(student)
        student.goto(url + "/train")
        student.get_by_role("button", name="Start training").wait_for()
        assert student.get_by_text("Share with the class (teachers)").count() == 0
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_server_that_may_download_keeps_tensorflow_out_even_after_a_latent_walk(browser, tmp_path):
    # As a person starts it: downloads allowed (offline here, so Keras' download fails), no file
    # named. Before, the download and the walk's decoder imported TensorFlow into the server, and
    # from then on every script run paid Keras' clear_session: a full garbage collection.
    port = free_port()
    proc = start_streamlit(ROOT / "app.py", port, {"DENOISER_OFFLINE": "", "DENOISER_MNIST": "",
                                                   "KERAS_HOME": str(tmp_path)})
    try:
        wait_healthy(port)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(120_000)
        open_app(page, f"http://127.0.0.1:{port}")
        page.goto(f"http://127.0.0.1:{port}/explore")
        page.locator('[data-testid="stImage"] img').first.wait_for()  # the walk, decoded
        assert_no_exception(page)
        context.close()
        assert not tensorflow_mapped(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def shown_amount(page) -> float:
    """The Amount slider's value as the page shows it."""
    return float(page.locator('.st-key-amount input[type="range"]').get_attribute("aria-valuetext"))


def test_replacing_an_upload_keeps_the_amount_the_page_the_picture_and_the_link_agree(page, server, tmp_path):
    """Replacing a photo with another (and coming back from another page) keeps the noise
    amount: the slider, the noisy row's score for that amount and the link all say 0.6."""
    import re
    from urllib.parse import parse_qs, urlparse

    paths = []
    for i, box in enumerate([(80, 50, 220, 250), (110, 40, 190, 260)]):
        img = Image.new("L", (300, 300), 255)
        ImageDraw.Draw(img).ellipse(box, outline=0, width=25)
        paths.append(tmp_path / f"digit{i}.png")
        img.save(paths[-1])
    open_app(page, server + "/?amount=0.6")
    page.get_by_test_id("stRadioGroup").get_by_text("Upload", exact=True).click()
    uploader = page.locator('[data-testid="stFileUploader"]', has_text="A photo or scan of one digit")

    def agree(step: str, picture: bool = True) -> None:
        if picture:
            page.get_by_text("Denoised by").first.wait_for()
        page.wait_for_timeout(500)  # the rerun the replacement set off has begun …
        at_rest(page, 1 if picture else 0)  # … and ended
        assert shown_amount(page) == pytest.approx(0.6), step
        assert parse_qs(urlparse(page.url).query).get("amount") == ["0.6"], step
        if picture:
            table = page.locator('[data-testid="stMarkdownContainer"] table').first.inner_text()
            noisy_db = float(re.search(r"Noisy\s+([\d.]+)", table)[1])
            assert noisy_db < 40, step  # a noisy row with noise in it (no noise scores 100 dB)

    for path in [*paths, paths[0]]:
        uploader.locator('input[type="file"]').set_input_files(str(path))
        agree(f"after uploading {path.name}")
    page.get_by_role("link", name="Train").first.click()
    page.get_by_text("Start training").first.wait_for()
    page.get_by_role("link", name="Denoise").first.click()
    page.get_by_text("A photo or scan of one digit").wait_for()
    agree("back from Train (a page keeps no upload)", picture=False)
    uploader.locator('input[type="file"]').set_input_files(str(paths[1]))
    agree("uploading again")
    assert_no_exception(page)


@pytest.mark.parametrize("path, ready, pictures", [
    ("/", "Denoised by", 1), ("/?projector=1", "Denoised by", 1), ("/train", "Start training", 0),
    ("/explore", "Noise sweep", 8), ("/learn", "Lesson", 1)])
def test_axe_core_finds_nothing_critical_or_serious(browser, server, path, ready, pictures):
    """axe-core (from npm) on every page and the projector view, once all its pictures are shown:
    no critical or serious violation (images without text, contrast under 4.5:1, …); headings in
    order (a moderate rule) too."""
    from harness.axe import violations

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(server + path)
    page.get_by_text(ready).first.wait_for()
    at_rest(page, pictures)
    found = violations(page, ("critical", "serious", "moderate"))
    context.close()
    assert found == [], found


def test_every_picture_says_what_it_shows_and_follows_the_slider(page, server):
    """The grid's text alternative names its rows, digits, noise and scores, and says the new
    amount as soon as the slider moves (the picture is swapped in the browser)."""
    open_app(page, server)
    grid = page.locator('.st-key-grid [data-testid="stImage"] img')
    page.wait_for_function("() => document.querySelector('.st-key-grid [data-testid=\"stImage\"] img').alt")
    alt = grid.get_attribute("alt")
    assert alt.startswith("Comparison of 8 digits") and "gaussian noise at 0.50" in alt
    assert "Noisy, mean" in alt and "Denoised by blind, mean" in alt and "dB" in alt
    page.locator('.st-key-amount input[type="range"]').focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.st-key-grid [data-testid=\"stImage\"] img')"
                           ".alt.includes('at 0.55')")
    assert page.eval_on_selector_all("img", "els => els.filter(e => !e.alt).length") == 0


def test_from_page_load_three_key_presses_change_the_amount(page, server):
    """Tab reaches a 'Skip to the noise amount' link first, Enter puts the focus on the slider, an
    arrow key moves it: the picture and the link follow."""
    open_app(page, server)
    at_rest(page, 1)
    # An in-page link to the slider's box, as screen readers and checkers know skip links (it
    # points there once the slider is drawn).
    page.wait_for_function("() => (document.getElementById('denoiser-skip-amount') || {}).hash > '#'")
    target = page.get_attribute("#denoiser-skip-amount", "href")
    assert page.locator(target).locator('[aria-label="Amount"]').count() >= 1
    before = image_sources(page)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.innerText") == "Skip to the noise amount"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Amount"
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('amount=0.55')")
    assert shown_amount(page) == pytest.approx(0.55) and image_sources(page) != before


def test_the_chosen_lesson_stays_highlighted_after_another_page(page, server):
    """Lesson 3 chosen, Denoise, back to Learn: lesson 3 is both shown and highlighted."""
    page.goto(server + "/learn")
    page.get_by_text("Lesson").first.wait_for()
    lessons = page.locator(".st-key-lesson button", has_text=". ")
    lessons.nth(2).click()
    page.get_by_text("learn almost nothing under Keras 3").first.wait_for()
    page.get_by_role("link", name="Denoise").first.click()
    page.get_by_text("Denoised by").first.wait_for()
    page.get_by_role("link", name="Learn").first.click()
    page.get_by_text("learn almost nothing under Keras 3").first.wait_for()
    at_rest(page, 1)
    checked = [lessons.nth(i).get_attribute("aria-checked") for i in range(lessons.count())]
    assert len(checked) == 8 and checked[2] == "true" and checked.count("true") == 1


SURFACES = {  # name: viewport, touch, link
    "projector, three models": ({"width": 1024, "height": 768}, False,
                                "/?projector=1&models=conv,dense-best"),
    "laptop": ({"width": 1366, "height": 768}, False, "/"),
    "tablet": ({"width": 820, "height": 1180}, True, "/"),
    "phone": ({"width": 390, "height": 844}, True, "/"),
}


@pytest.mark.parametrize("surface", list(SURFACES))
def test_the_whole_comparison_is_on_the_first_screen_and_nothing_is_cut(browser, server, surface):
    """On a projector and a laptop, the slider and the whole comparison (every row down to the
    clean digits' captions) fit the first screen; on a tablet and a phone nothing is wider than
    the screen and the grid shows every digit; the drawing canvas is whole."""
    viewport, touch, link = SURFACES[surface]
    context = browser.new_context(viewport=viewport, has_touch=touch, is_mobile=touch)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server + link)
    page.get_by_text("Denoised by").first.wait_for()
    at_rest(page, 1)
    grid = page.locator('.st-key-grid [data-testid="stImage"] img').bounding_box()
    drawn = page.evaluate("() => { const i = document.querySelector('.st-key-grid img');"
                          " return [i.naturalWidth, i.naturalHeight]; }")
    slider = page.locator('.st-key-amount input[type="range"]').bounding_box()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    assert grid["x"] >= 0 and grid["x"] + grid["width"] <= viewport["width"]
    # the picture is scaled whole, never cropped or stretched: its box has the picture's own
    # proportions, or the picture is fitted inside it (object-fit: contain)
    fit = page.evaluate("() => getComputedStyle(document.querySelector('.st-key-grid img')).objectFit")
    assert fit == "contain" or grid["height"] / grid["width"] == pytest.approx(drawn[1] / drawn[0], rel=0.02)
    shown_h = min(grid["height"], grid["width"] * drawn[1] / drawn[0])
    if not touch:
        assert slider["y"] + slider["height"] <= viewport["height"]
        assert grid["y"] + shown_h <= viewport["height"], (grid, drawn)
        assert shown_h >= 240  # still a picture a class can read
    else:
        from harness.touch import finger_stroke

        # The sidebar folds (once the page's component has run, and its slide has ended).
        page.wait_for_function("() => { const s = document.querySelector('[data-testid=\"stSidebar\"]');"
                               " return !s || s.getAttribute('aria-expanded') === 'false'"
                               " || s.getBoundingClientRect().right <= 1; }")
        page.get_by_test_id("stRadioGroup").get_by_text("Draw", exact=True).click()
        canvas = page.locator("canvas").last
        canvas.wait_for()
        assert page.get_by_text("with a finger or the mouse").count() >= 1
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        column = page.locator('[data-testid="stColumn"]', has=canvas).first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
        # whole: not cut by its column
        assert column["x"] <= box["x"] and box["x"] + box["width"] <= column["x"] + column["width"] + 1
        finger_stroke(page, [(box["x"] + box["width"] * f, box["y"] + box["height"] * f)
                             for f in (0.3, 0.5, 0.7)])
        page.get_by_text("What the model receives").first.wait_for()  # a finger's stroke is a digit
    context.close()


def test_a_runs_status_shows_right_under_start_training(browser, server):
    """At 1366×768, pressing Start training (scrolled to it) shows the run's status in one line
    right under the button, in view, and it follows the run to its end."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(server + "/train")
    start = page.get_by_role("button", name="Start training")
    start.scroll_into_view_if_needed()
    page.locator(".st-key-t_size input[type='range'], [aria-label='Training digits']").first.wait_for()
    start.click()
    status = page.locator(".st-key-start_status", has_text="run 1")
    status.wait_for()
    button, line = start.bounding_box(), status.bounding_box()
    assert line["y"] >= 0 and line["y"] + line["height"] <= 768  # in view where the person pressed
    assert 0 <= line["y"] - (button["y"] + button["height"]) <= 120  # right under the button
    page.locator(".st-key-start_status", has_text="run 1 finished").wait_for()
    context.close()


def test_on_a_projector_every_lessons_picture_fits_one_screen(browser, server):
    """1024×768 in projector view: each lesson's picture (scrolled to) is shown whole within one
    screen's height and width, never cropped."""
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server + "/learn?projector=1")
    page.get_by_text("Lesson").first.wait_for()
    lessons = page.locator(".st-key-lesson button", has_text=". ")
    measured = 0
    for i in range(lessons.count()):
        lessons.nth(i).click()
        page.wait_for_timeout(500)  # its run has begun …
        at_rest(page)  # … and ended
        pictures = page.locator("[class*='st-key-rows-'] img, .st-key-metric-examples img")
        for k in range(pictures.count()):
            img = pictures.nth(k)
            box = img.bounding_box()
            natural = img.evaluate("e => [e.naturalWidth, e.naturalHeight]")
            shown = min(box["height"], box["width"] * natural[1] / natural[0])
            assert shown <= 768 and box["x"] + box["width"] <= 1024, (i, box, natural)
            measured += 1
    assert measured >= 5  # the lessons with a picture of rows were all measured
    context.close()
