"""The Streamlit app, driven headless with streamlit.testing.v1.AppTest."""

import json
import re
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from denoiser.models.files import PRETRAINED_DIR
from denoiser.models.shipped import INT8_NOTE, list_pretrained
from denoiser.results.colours import colour_of
from tests.conftest import means, training_begun

APP = str(Path(__file__).resolve().parents[1] / "app.py")
needs_models = pytest.mark.skipif(not (PRETRAINED_DIR / "manifest.json").exists(),
                                  reason="no shipped models in pretrained/")


@pytest.fixture(autouse=True)
def no_pictures_drawn_yet():
    """The server's store of pictures outlives an AppTest: each test starts from none drawn."""
    from ui.instant_slider import picture_store

    picture_store.clear()


def app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def image_urls(at: AppTest) -> list[str]:
    """The media URL of every image on the page, in order (URLs are content hashes)."""
    return [img.url for el in at.get("image") for img in el.proto.imgs]


def slider_frames(at: AppTest) -> dict[str, str]:
    """The pictures the page hands the browser to follow its noise slider: URL by amount in
    hundredths (none when it left the slider to the server)."""
    found = [json.loads(el.proto.json) for el in at.get("bidi_component")]
    return next((data["frames"] for data in found if "frames" in data), {})


def rows(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**")]


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def on_page(at: AppTest) -> str:
    """Which page is on screen, told by what only that page draws."""
    keys = {"amount": "Denoise", "t_epochs": "Train", "sweep_n": "Explore"}
    for key, view in keys.items():
        if any(getattr(w, "key", None) == key for w in [*at.slider, *at.select_slider]):
            return view
    if any("What is an autoencoder?" in m.value for m in at.markdown):
        return "Learn"
    return "none"


def switch(at: AppTest, view: str) -> AppTest:
    """Open another page in the same session, as the navigation bar does."""
    return at.switch_page(f"ui/{view.lower()}.py").run()


@pytest.mark.slow
@pytest.mark.parametrize("view", ["Denoise", "Train", "Explore", "Learn"])
def test_every_page_renders_without_exception(view):
    at = switch(app(), view)
    no_exception(at)
    assert on_page(at) == view


@pytest.mark.parametrize("view", ["Train", "Explore", "Learn"])
def test_a_link_made_before_pages_had_paths_still_opens_its_view(view):
    at = app({"view": view, "noise": "speckle"})
    no_exception(at)
    assert on_page(at) == view
    assert at.query_params.get("view") is None  # followed once: the page's path says it now
    assert switch(at, "Denoise").selectbox(key="noise_kind").value == "speckle"


@needs_models
def test_first_render_already_shows_denoised_digits_with_metrics():
    at = app()
    no_exception(at)
    assert len(image_urls(at)) == 1  # the whole grid is one picture
    assert "Clean" in at.get("image")[0].proto.imgs[0].caption
    table = means(at)
    assert list(table["row"]) == ["Noisy", "Denoised by blind"]
    noisy, denoised = table["mean PSNR (dB)"]
    assert denoised > noisy + 5


@needs_models
def test_amount_slider_changes_noisy_images_and_metrics():
    at = app()
    before = means(at).copy()
    imgs_before = image_urls(at)
    at.slider(key="amount").set_value(0.2).run()
    no_exception(at)
    after = means(at)
    assert after["mean PSNR (dB)"][0] > before["mean PSNR (dB)"][0] + 3  # less noise, higher PSNR
    assert image_urls(at) != imgs_before
    assert at.query_params["amount"] == "0.2"


def test_the_browser_holds_the_picture_at_every_amount_and_a_move_needs_no_model(monkeypatch):
    import denoiser.results.pictures

    drawn, real = [], denoiser.results.pictures.compare_amounts

    def counted(*args, **kwargs):
        drawn.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(denoiser.results.pictures, "compare_amounts", counted)
    at = app()
    frames = slider_frames(at)
    assert sorted(map(int, frames)) == list(range(0, 101, 5))
    assert len(set(frames.values())) == 21  # a different picture at each amount
    assert image_urls(at) == [frames["50"]]  # what is on screen is the picture at the slider's amount
    assert len(drawn) == 1
    at.slider(key="amount").set_value(0.2).run()
    no_exception(at)
    assert image_urls(at) == [frames["20"]]  # the server sends the very picture the browser showed
    assert slider_frames(at) == frames and len(drawn) == 1  # the move called no model
    other = app()  # a second student on the same digits: the pictures drawn for the first serve
    assert slider_frames(other) == frames and len(drawn) == 1
    next(b for b in at.button if b.label == "New noise").click().run()
    assert len(drawn) == 2 and slider_frames(at)["20"] != frames["20"]  # new noise, new pictures


def test_with_a_slow_filter_the_slider_asks_the_server_as_any_widget_does():
    at = app()
    at.sidebar.multiselect(key="filters").set_value(["nl_means"]).run()
    no_exception(at)
    assert slider_frames(at) == {}  # 21 amounts of a filter at tens of ms a digit: not drawn ahead
    before = image_urls(at)
    at.slider(key="amount").set_value(0.2).run()
    assert image_urls(at) != before and "Filter: nl_means" in at.get("image")[0].proto.imgs[0].caption


@needs_models
def test_a_server_set_to_int8_says_so_and_still_denoises(monkeypatch):
    monkeypatch.setenv("DENOISER_PRECISION", "int8")
    at = app()
    no_exception(at)
    assert any(INT8_NOTE in c.value for c in at.caption)
    table = means(at)
    assert table["mean PSNR (dB)"][1] > table["mean PSNR (dB)"][0] + 5


@needs_models
def test_a_bad_precision_setting_is_named_and_the_models_run_in_float32(monkeypatch):
    monkeypatch.setenv("DENOISER_PRECISION", "fp16")
    at = app()
    no_exception(at)
    assert any("DENOISER_PRECISION must be one of" in w.value and "float32" in w.value for w in at.warning)
    assert not any(INT8_NOTE in c.value for c in at.caption)
    assert means(at)["row"] == ["Noisy", "Denoised by blind"]


@needs_models
def test_noise_draw_is_stable_across_reruns_until_new_noise():
    at = app()
    first = means(at)["mean PSNR (dB)"][0]
    at.sidebar.checkbox(key="show_diff").check().run()
    assert means(at)["mean PSNR (dB)"][0] == first
    next(b for b in at.button if b.label == "New noise").click().run()
    assert means(at)["mean PSNR (dB)"][0] != first


@needs_models
def test_picking_another_model_changes_the_denoised_output():
    at = app()
    first = means(at)["mean PSNR (dB)"][1]
    # The tutorial's dense net is ~4 dB below blind, so their means cannot tie on a few digits;
    # the specialist can (both round to the same 0.01 dB on some samples).
    other = "seed-dense"
    assert other in list_pretrained()
    at.sidebar.selectbox(key="model_name").set_value(other).run()
    no_exception(at)
    table = means(at)
    assert table["row"][1] == f"Denoised by {other}"
    assert table["mean PSNR (dB)"][1] != first


@needs_models
def test_classical_filter_rows_can_be_added():
    at = app()
    at.sidebar.multiselect(key="filters").set_value(["median", "wavelet"]).run()
    assert list(means(at)["row"]) == ["Noisy", "Denoised by blind", "Filter: median",
                                                  "Filter: wavelet"]


@needs_models
def test_several_models_denoise_the_same_noisy_digits_as_rows_and_the_link_keeps_them():
    at = app()
    noisy = means(at)["mean PSNR (dB)"][0]
    at.sidebar.multiselect(key="more_models").set_value(["conv", "seed-dense"]).run()
    no_exception(at)
    table = means(at)
    assert list(table["row"]) == ["Noisy", "Denoised by blind", "Denoised by conv", "Denoised by seed-dense"]
    assert table["mean PSNR (dB)"][0] == noisy  # the same noisy digits for every model
    assert len(set(table["mean PSNR (dB)"][1:])) == 3
    assert at.query_params["models"] == "conv,seed-dense"
    again = app({"model": "conv", "models": "blind,nope,conv"})  # unknown and duplicate names left out
    no_exception(again)
    assert again.sidebar.multiselect(key="more_models").value == ["blind"]
    assert list(means(again)["row"]) == ["Noisy", "Denoised by conv", "Denoised by blind"]


@needs_models
def test_the_projector_view_shows_fewer_larger_digits_without_the_sidebar():
    at = app({"count": "8"})
    small = at.get("image")[0].proto.imgs[0]
    at.toggle(key="projector").set_value(True).run()
    no_exception(at)
    assert at.query_params["projector"] == "1"
    assert any("display: none" in el.proto.body for el in at.get("html"))  # the sidebar is hidden
    assert not at.sidebar.selectbox  # its controls moved onto the page
    assert at.selectbox(key="model_name").value == "blind"
    caption = at.get("image")[0].proto.imgs[0].caption
    assert caption.count("digit ") == 3 and small.caption.count("digit ") == 8
    linked = app({"projector": "1"})
    assert linked.toggle(key="projector").value and not linked.sidebar.selectbox


@needs_models
def test_query_parameters_set_the_initial_state():
    at = app({"view": "Denoise", "noise": "salt_pepper", "amount": "0.3", "digit": "7",
              "model": "conv"})
    no_exception(at)
    assert at.selectbox(key="noise_kind").value == "salt_pepper"
    assert at.slider(key="amount").value == pytest.approx(0.3)
    assert at.sidebar.selectbox(key="model_name").value == "conv"
    assert at.selectbox(key="digit").value == "7"
    caption = at.get("image")[0].proto.imgs[0].caption
    assert "Clean: digit 7, digit 7, digit 7" in caption and "digit 1" not in caption


def test_bad_query_parameters_fall_back_to_defaults():
    at = app({"view": "Nope", "noise": "<script>", "amount": "lots", "digit": "12"})
    no_exception(at)
    assert on_page(at) == "Denoise"
    assert at.selectbox(key="noise_kind").value == "gaussian"


def canvas_digit() -> np.ndarray:
    img = Image.new("RGBA", (280, 280), (0, 0, 0, 255))
    ImageDraw.Draw(img).line([(140, 40), (140, 240)], fill=(255, 255, 255, 255), width=22)
    return np.asarray(img)


@needs_models
def test_drawn_digit_is_preprocessed_and_denoised():
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["canvas_override"] = canvas_digit()  # the canvas seam
    at.run()
    at.radio(key="source").set_value("Draw").run()
    no_exception(at)
    captions = [img.caption for el in at.get("image") for img in el.proto.imgs]
    assert "What the model receives (28×28)" in captions
    assert list(means(at)["row"]) == ["Noisy", "Denoised by blind"]
    assert captions[-1].startswith("Columns: Noisy, Denoised by blind, Clean")  # side by side


def test_blank_canvas_says_so():
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["canvas_override"] = np.zeros((280, 280, 4), np.uint8)
    at.run()
    at.radio(key="source").set_value("Draw").run()
    no_exception(at)
    assert any("blank" in i.value for i in at.info)


@pytest.mark.slow
def test_training_one_epoch_finishes_and_becomes_selectable():
    at = switch(app(), "Train")
    at.slider(key="t_epochs").set_value(1)
    at.slider(key="t_size").set_value(300)
    at.button[0].click().run()  # the form's Start training
    no_exception(at)
    job = at.session_state["active_job"]
    job.join(120)
    assert job.status == "finished" and len(job.history["val_loss"]) == 1
    assert len(job.previews) == 1
    at.run()
    # the preview digits are test digits, and say so (the validation digits are training digits)
    assert "**Test digits (never trained on), denoised after each epoch**" in [m.value for m in at.markdown]
    np.testing.assert_array_equal(job.preview_clean, at.session_state["digits"].x_test[:8])
    assert at.dataframe[0].value["run"][0] == "run 1"
    switch(at, "Denoise")
    no_exception(at)
    assert "run 1 (trained here)" in at.sidebar.selectbox(key="model_name").options
    at.sidebar.selectbox(key="model_name").set_value("run 1").run()
    no_exception(at)
    assert means(at)["row"][1] == "Denoised by run 1"


def chart_colours(at) -> dict[str, str]:
    """Series name → colour of the first line chart on the page (its Vega-Lite colour scale)."""
    import json

    element = next(e for e in at.get("arrow_vega_lite_chart") + at.get("vega_lite_chart"))
    scale = json.loads(element.proto.spec)["encoding"]["color"]["scale"]
    return dict(zip(scale["domain"], scale["range"]))


@pytest.mark.slow
def test_a_run_known_to_end_in_a_blob_says_why_and_runs_are_scored_against_baselines():
    at = switch(app(), "Train")
    at.slider(key="t_epochs").set_value(1)
    at.slider(key="t_size").set_value(300)
    at.button[0].click().run()
    no_exception(at)
    job = at.session_state["active_job"]
    heads_up = [w.value for w in at.warning if "may end in a blob" in w.value]
    assert heads_up and "9 weight updates" in heads_up[0]  # shown while the run starts
    job.join(120)
    at.run()
    no_exception(at)
    table = at.dataframe[0].value.set_index("run")
    assert list(table.index) == ["run 1", "noisy input", "median filter"]
    psnr = table["PSNR (Gaussian 0.5)"]
    assert psnr["median filter"] > psnr["noisy input"] > 0  # the median filter helps at Gaussian 0.5
    assert list(table["status"])[1:] == ["baseline", "baseline"]
    from denoiser.results.evaluation import EVAL_SEED, evaluate_denoiser

    x = at.session_state["digits"].x_test[:500]  # the digits and noise every run is scored on
    noisy = evaluate_denoiser(lambda a: a, x, "gaussian", 0.5, EVAL_SEED)
    assert psnr["noisy input"] == round(noisy["psnr"], 2)


@pytest.mark.slow
def test_a_finished_run_downloads_as_a_keras_file_that_denoises_like_it(monkeypatch):
    import keras
    from streamlit.delta_generator import DeltaGenerator

    served = []  # what each download button would send when clicked (AppTest has no media server)
    real = DeltaGenerator.download_button

    def recording(self, label, data, *args, **kwargs):
        served.append((label, data, kwargs.get("file_name")))
        return real(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", recording)
    at = switch(app(), "Train")
    at.slider(key="t_epochs").set_value(1)
    at.slider(key="t_size").set_value(200)
    at.button[0].click().run()
    job = at.session_state["active_job"]
    job.join(120)
    at.run()
    no_exception(at)
    button = next(b.proto for b in at.get("download_button") if b.proto.label == "Download .keras")
    assert button.help
    label, data, file_name = next(s for s in served if s[0] == "Download .keras")
    assert label == "Download .keras" and file_name == "run-1.keras"
    digits = np.random.default_rng(0).random((4, 28, 28)).astype(np.float32)
    with TemporaryDirectory() as tmp:
        (Path(tmp) / file_name).write_bytes(data() if callable(data) else data)
        model = keras.saving.load_model(Path(tmp) / file_name, safe_mode=True)
    np.testing.assert_allclose(np.clip(model.predict_on_batch(digits), 0, 1), job.denoiser().denoise(digits),
                               atol=1e-5)


@pytest.mark.slow
def test_unet_with_whole_digit_context_trains_from_the_form():
    at = switch(app(), "Train")
    at.selectbox(key="t_arch").set_value("unet").run()  # its own controls appear
    at.select_slider(key="t_filters").set_value(4)
    at.select_slider(key="t_context").set_value(32)
    at.slider(key="t_epochs").set_value(1)
    at.slider(key="t_size").set_value(200)
    at.button[0].click().run()
    no_exception(at)
    job = at.session_state["active_job"]
    assert job.config.context == 32 and "context 32" in job.summary()
    job.join(120)
    assert job.status == "finished"
    assert job.denoiser().denoise(np.zeros((28, 28), np.float32)).shape == (28, 28)


@pytest.mark.slow
def test_the_stop_button_ends_training_early_and_keeps_the_model():
    at = switch(app(), "Train")
    at.slider(key="t_epochs").set_value(50)
    at.button[0].click().run()
    job = training_begun(at.session_state["active_job"])
    at.run()  # the live panel shows the running run, and its Stop button
    stop = next(b for b in at.button if b.label == "Stop")
    assert stop.help.startswith("End training after the current batch")
    stop.click().run()  # pressed while the run trains
    no_exception(at)
    job.join(120)
    assert job.status == "stopped" and len(job.history["loss"]) < 50
    assert job.denoiser() is not None
    at.run()
    assert at.dataframe[0].value["status"][0] == "stopped"


@pytest.mark.slow
def test_a_session_keeps_its_last_five_runs():
    from denoiser.digits.noise import NoiseSpec
    from denoiser.models.config import ModelConfig
    from denoiser.training.jobs import TrainingJob

    at = switch(app(), "Train")
    blank = np.zeros((10, 28, 28), np.float32)
    for i in range(1, 6):  # five earlier runs (never started: nothing to train)
        at.session_state["runs"][f"run {i}"] = TrainingJob(ModelConfig(), NoiseSpec(), 1, 32, blank,
                                                           blank[:8], name=f"run {i}")
    at.slider(key="t_epochs").set_value(1)
    at.slider(key="t_size").set_value(100)
    at.button[0].click().run()
    no_exception(at)
    at.session_state["active_job"].join(120)
    assert list(at.session_state["runs"]) == ["run 2", "run 3", "run 4", "run 5", "run 6"]
    assert any("Only the last 5 runs are kept: run 1 was dropped" in i.value for i in at.info)


@pytest.mark.slow
@needs_models
def test_explore_sweep_and_latent_space():
    at = switch(app(), "Explore")
    no_exception(at)
    at.multiselect(key="sweep_models").set_value(["blind"])
    at.slider(key="sweep_n").set_value(20)
    at.button[0].click().run()  # Run sweep
    no_exception(at)
    sweep = at.session_state["sweep_result"]
    assert set(sweep["method"]) == {"noisy input", "blind", "filter: median"}
    assert len(sweep) == 3 * 9
    noisy = sweep[sweep.method == "noisy input"].sort_values("amount")["psnr"].to_numpy()
    assert (np.diff(noisy) < 0).all()  # more noise, lower PSNR
    ours = sweep[sweep.method == "blind"].set_index("amount")["psnr"]
    assert (ours > sweep[sweep.method == "noisy input"].set_index("amount")["psnr"]).all()
    assert chart_colours(at) == {m: colour_of(m) for m in ("noisy input", "blind", "filter: median")}
    at.multiselect(key="sweep_models").set_value(["conv", "blind"])  # other methods, other order
    at.multiselect(key="sweep_filters").set_value([])
    at.button[0].click().run()
    assert chart_colours(at) == {m: colour_of(m) for m in ("noisy input", "conv", "blind")}
    assert chart_colours(at)["noisy input"] == "#7f7f7f"  # the same grey in every chart
    # Latent space: a model with a code is offered, the walk shows the chosen number of steps.
    assert at.selectbox(key="latent_model").value in ("conv", "dense-best", "seed-dense")
    at.slider(key="interp_steps").set_value(5).run()
    no_exception(at)
    walk = at.get("image")[-1].proto.imgs
    assert [img.caption for img in walk] == ["0%", "25%", "50%", "75%", "100%"]
    assert any("principal components" in c.value for c in at.caption)  # the axes, in one line
    # the student picks the walk's two ends: another example of the same class starts elsewhere
    first = [img.url for img in walk]
    at.slider(key="interp_from_n").set_value(2).run()
    no_exception(at)
    assert [img.url for img in at.get("image")[-1].proto.imgs][0] != first[0]
    cached = at.session_state["latent_cache"]
    assert len(cached) == 1  # the codes were computed once, not again for the walk's change


@pytest.mark.parametrize("amount", ["inf", "1e400", "-inf", "nan"])
def test_a_link_with_an_impossible_amount_opens_the_page_with_a_notice(amount):
    at = app({"amount": amount, "count": "1e400", "seed": "-5"})
    no_exception(at)
    assert 0 <= at.slider(key="amount").value <= 1
    assert any("could not use" in i.value and "amount" in i.value for i in at.info)


@pytest.mark.slow
@needs_models
def test_a_shared_link_reproduces_the_screen():
    at = app()
    next(b for b in at.button if b.label == "New sample").click().run()
    next(b for b in at.button if b.label == "New noise").click().run()
    at.sidebar.multiselect(key="filters").set_value(["median"]).run()
    at.sidebar.checkbox(key="show_diff").check().run()
    at.slider(key="count").set_value(3).run()
    no_exception(at)
    link = dict(at.query_params)
    assert (link["sample"], link["seed"], link["filters"], link["diff"], link["count"]) == \
        ("1", "1", "median", "1", "3"), link
    fresh = app(link)
    no_exception(fresh)
    assert means(fresh) == means(at)  # same digits, same noise draw, same rows
    assert image_urls(fresh) == image_urls(at)


@needs_models
def test_a_failure_inside_a_view_shows_one_plain_line_and_no_server_path(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError(f"boom in {APP}")

    monkeypatch.setattr("denoiser.results.pictures.add_noise", broken)  # the picture at this amount
    monkeypatch.setattr("denoiser.results.compare.add_noise", broken)  # the picture at every amount
    at = app()
    no_exception(at)  # caught by the view's error boundary
    shown = " ".join(e.value for e in at.error)
    assert "Something went wrong" in shown
    page = " ".join(str(el.value) for el in [*at.error, *at.markdown, *at.info, *at.caption])
    assert "boom" not in page and "/" + "app.py" not in page and "Traceback" not in page
    assert at.sidebar.selectbox(key="model_name").value == "blind"  # the rest of the page stands


@pytest.mark.slow
def test_a_diverged_run_shows_its_status_keeps_its_good_epoch_and_is_selectable():
    at = switch(app(), "Train")
    at.select_slider(key="t_lr").set_value(10.0)
    at.slider(key="t_epochs").set_value(5)
    at.slider(key="t_size").set_value(300)  # 9 batches an epoch: caught in epoch 2, after a good one
    at.button[0].click().run()
    no_exception(at)
    job = at.session_state["active_job"]
    job.join(120)
    assert job.status == "diverged" and job.result.good_epoch == 1, job.result.message
    at.run()
    no_exception(at)
    assert at.dataframe[0].value["status"][0] == "diverged (epoch 1 kept)"
    shown = " ".join(e.value for e in at.error)
    assert "diverged in epoch 2" in shown and "weights of epoch 1" in shown and "Denoise" in shown
    assert len(job.history["val_loss"]) == 2  # the blown-up epoch is recorded…
    assert at.session_state["runs"].validation_curves() == {"run 1": job.history["val_loss"][:1]}
    assert any("drawn up to the epoch it kept" in c.value for c in at.caption)  # …but not charted
    assert any("adam at learning rate 10 overshoots" in w.value for w in at.warning)  # said up front
    switch(at, "Denoise")
    at.sidebar.selectbox(key="model_name").set_value("run 1").run()
    no_exception(at)
    assert means(at)["row"][1] == "Denoised by run 1"


@pytest.mark.slow
def test_three_sessions_share_one_training_slot_and_each_sees_its_place_in_line(monkeypatch):

    import denoiser.training.slots as slots

    monkeypatch.setenv(slots.SLOTS_VAR, "1")
    monkeypatch.setattr(slots, "_queue", None)  # this server's queue, made with one slot
    sessions = []
    for _ in range(3):
        at = switch(app(), "Train")
        at.slider(key="t_epochs").set_value(50)  # long: the first keeps the slot
        at.slider(key="t_size").set_value(200)
        at.button[0].click().run()
        no_exception(at)
        sessions.append(at)
    first, second, third = (at.session_state["active_job"] for at in sessions)
    assert first.queue is second.queue is third.queue and first.queue.slots == 1
    assert "number 2 in line" in " ".join(i.value for i in sessions[2].run().info)
    next(b for b in sessions[1].run().button if b.label == "Stop").click().run()  # leaves the line
    second.join(30)
    assert second.status == "cancelled"
    assert "number 1 in line" in " ".join(i.value for i in sessions[2].run().info)
    training_begun(first)
    next(b for b in sessions[0].run().button if b.label == "Stop").click().run()
    first.join(120)
    training_begun(third).stop()  # its turn came once the slot was free
    third.join(120)
    statuses = [[s for s in at.run().dataframe[0].value["status"] if s != "baseline"] for at in sessions]
    assert statuses == [["stopped"], ["cancelled"], ["stopped"]]  # each sees its own run only


# ---------------------------------------------------------------- models that outlive a session
@pytest.mark.slow
@needs_models
def test_an_uploaded_keras_file_becomes_a_model_and_a_bad_one_is_named(tiny_model_dir):
    at = app()
    uploader = at.sidebar.get("file_uploader")[0]
    uploader.set_value(("broken.keras", b"PK not a model", "application/octet-stream")).run()
    no_exception(at)
    assert any("Cannot use this model: this is not a .keras model file" in e.value for e in at.sidebar.error)
    assert list(means(at)["row"]) == ["Noisy", "Denoised by blind"]  # nothing lost
    data = (tiny_model_dir / "tiny-dense.keras").read_bytes()
    at.sidebar.get("file_uploader")[0].set_value(("my model.keras", data, "application/octet-stream")).run()
    no_exception(at)
    assert at.sidebar.selectbox(key="model_name").value == "mymodel"  # chosen at once, name cleaned
    assert means(at)["row"][1] == "Denoised by mymodel"
    assert not at.sidebar.error


def publish_from_train(at: AppTest, name: str, code: str) -> AppTest:
    at.selectbox(key="publish_pick").set_value("run 1")
    at.text_input(key="publish_name").input(name)
    at.text_input(key="publish_code").input(code)
    return next(b for b in at.button if b.label == "Publish").click().run()


def train_one_run(at: AppTest) -> AppTest:
    at = switch(at, "Train")
    at.slider(key="t_epochs").set_value(1)
    at.slider(key="t_size").set_value(300)
    at.button[0].click().run()
    at.session_state["active_job"].join(120)
    return at.run()


@pytest.mark.slow
@needs_models
def test_a_teacher_publishes_a_run_every_session_sees_it_and_without_the_code_nobody_does(
        tmp_path, monkeypatch):
    monkeypatch.setenv("DENOISER_GALLERY", str(tmp_path / "gallery"))
    monkeypatch.setenv("DENOISER_TEACHER_CODE", "sesame")  # the server's code, for every session
    student = train_one_run(app())
    assert not [w for w in student.text_input if w.key == "publish_code"]  # no teacher tools for a student
    teacher = AppTest.from_file(APP, default_timeout=120)
    teacher.query_params["teacher"] = ""  # the teacher's link: /train?teacher
    teacher = train_one_run(teacher.run())
    student = app()
    assert "run 1 (trained here)" in switch(teacher, "Denoise").sidebar.selectbox(key="model_name").options
    teacher = switch(teacher, "Train")
    options = student.sidebar.selectbox(key="model_name").options
    assert not any(o.startswith("run 1") for o in options)  # runs stay private
    from ui.sharing import code_guard

    now = [0.0]
    monkeypatch.setattr(code_guard(), "clock", lambda: now[0])  # the server's guard, on the test's clock
    publish_from_train(teacher, "class model", "wrong")
    assert any("not the teacher code" in e.value for e in teacher.error)
    assert not any("class model" in o for o in app().sidebar.selectbox(key="model_name").options)
    publish_from_train(teacher, "class model", "sesame")
    assert any("wait 1 s before trying the code again" in e.value for e in teacher.error)  # slowed
    now[0] += 1.0
    publish_from_train(teacher, "class model", "sesame")
    no_exception(teacher)
    assert any("Published as **class model**" in s.value for s in teacher.success)
    student = app()  # a new session of the same server
    box = student.sidebar.selectbox(key="model_name")
    assert "class model (class gallery)" in box.options
    box.set_value("class model").run()
    no_exception(student)
    assert means(student)["row"][1] == "Denoised by class model"


@pytest.mark.slow
@needs_models
def test_without_a_teacher_code_publishing_is_off(tmp_path, monkeypatch):
    monkeypatch.setenv("DENOISER_GALLERY", str(tmp_path / "gallery"))
    monkeypatch.delenv("DENOISER_TEACHER_CODE", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["teacher"] = ""
    at = train_one_run(at.run())
    no_exception(at)
    assert any("Publishing is off here" in c.value for c in at.caption)
    assert not [w for w in at.text_input if w.key == "publish_code"]
    assert not (tmp_path / "gallery").exists()


@pytest.mark.slow
@needs_models
def test_a_gallery_left_on_a_server_without_a_teacher_code_is_not_shown(tiny_model_dir, tmp_path,
                                                                          monkeypatch):
    from denoiser.models.files import read_manifest
    from denoiser.teaching.gallery import publish

    entry = read_manifest(tiny_model_dir)["models"]["tiny-dense"]
    gallery = tmp_path / "gallery"
    publish("last term", (tiny_model_dir / entry["file"]).read_bytes(),
            (tiny_model_dir / entry["onnx"]).read_bytes(), description="old", config=entry["config"],
            code="old", expected_code="old", directory=gallery)
    monkeypatch.setenv("DENOISER_GALLERY", str(gallery))
    monkeypatch.delenv("DENOISER_TEACHER_CODE", raising=False)
    assert not any("last term" in o for o in app().sidebar.selectbox(key="model_name").options)
    monkeypatch.setenv("DENOISER_TEACHER_CODE", "new")
    assert "last term (class gallery)" in app().sidebar.selectbox(key="model_name").options


# ---------------------------------------------------------------- the Learn view's lessons
LESSON_KEYS = ["bottleneck", "codes", "optimisers", "unseen", "context", "metrics", "pca", "shift"]
needs_lessons = pytest.mark.skipif(not (PRETRAINED_DIR / "lessons" / "manifest.json").exists(),
                                   reason="no lesson models in pretrained/lessons/")


@needs_models
@needs_lessons
@pytest.mark.parametrize("lesson", LESSON_KEYS)
def test_every_lesson_is_a_live_experiment(lesson):
    at = switch(app(), "Learn")
    at.segmented_control(key="lesson").set_value(lesson).run()
    no_exception(at)
    assert not at.warning, [w.value for w in at.warning]  # every model it needs is there
    assert any(m.value.startswith("## ") and m.value.endswith("?") for m in at.markdown)  # its question
    assert at.slider  # its own controls
    assert len(at.get("image")) + len(at.get("vega_lite_chart")) >= 1  # its result
    assert at.info  # what to look for


@needs_models
@needs_lessons
def test_a_lesson_responds_to_its_control_and_keeps_it_while_another_is_shown():
    at = switch(app(), "Learn")
    at.segmented_control(key="lesson").set_value("codes").run()
    before = image_urls(at)
    at.slider(key="l_codes_amount").set_value(0.9).run()
    assert image_urls(at) != before  # the experiment reran with more noise
    at.button(key="l_new").click().run()  # other digits for every lesson
    at.segmented_control(key="lesson").set_value("metrics").run()
    at.segmented_control(key="lesson").set_value("codes").run()
    assert at.slider(key="l_codes_amount").value == pytest.approx(0.9)
    assert at.session_state["l_seed"] == 1


@needs_models
@needs_lessons
def test_next_and_previous_walk_the_lessons_in_order():
    at = switch(app(), "Learn")
    seen = [at.session_state["lesson"]]
    for _ in range(len(LESSON_KEYS)):
        next(b for b in at.button if b.label == "Next").click().run()
        seen.append(at.session_state["lesson"])
    assert seen == [*LESSON_KEYS, LESSON_KEYS[0]]
    next(b for b in at.button if b.label == "Previous").click().run()
    assert at.session_state["lesson"] == LESSON_KEYS[-1]


@pytest.mark.slow
@needs_models
@needs_lessons
def test_a_lesson_link_sets_up_train_as_it_says_and_stays_in_the_session():
    at = train_one_run(app())  # a run the student already trained
    at = switch(at, "Learn")
    at.segmented_control(key="lesson").set_value("codes").run()
    next(b for b in at.button if b.label == "Train code size 4 yourself").click().run()
    no_exception(at)
    assert on_page(at) == "Train"
    assert at.select_slider(key="t_code").value == 4 and at.selectbox(key="t_arch").value == "dense"
    assert "run 1" in at.session_state["runs"]  # same session: nothing lost
    at = switch(at, "Learn")
    at.segmented_control(key="lesson").set_value("optimisers").run()
    next(b for b in at.button if b.label == "Train with adadelta yourself").click().run()
    assert at.selectbox(key="t_opt").value == "adadelta" and at.select_slider(key="t_lr").value == 1.0
    assert not any("Session State API" in w.value for w in at.warning)


@needs_models
@needs_lessons
def test_the_handwriting_lesson_measures_the_uci_digits_and_opens_a_fine_tune(tmp_path, monkeypatch):
    monkeypatch.setenv("DENOISER_COLLECTIONS", str(tmp_path / "collections"))  # no class digits here
    at = switch(app(), "Learn")
    at.segmented_control(key="lesson").set_value("shift").run()
    no_exception(at)
    text = " ".join(m.value for m in at.markdown)
    assert "UCI optical digits" in text and "CC BY 4.0" in text  # the other handwriting, credited
    assert "dB on theirs" in text and "dB on MNIST's" in text
    next(b for b in at.button if b.label == "Fine-tune conv on them").click().run()
    no_exception(at)
    assert on_page(at) == "Train"
    assert at.selectbox(key="t_start_from").value == "conv"
    assert at.selectbox(key="t_extra").value == "UCI optical digits"
    assert not [s for s in at.selectbox if s.key == "t_arch"]


@needs_models
@needs_lessons
def test_the_handwriting_lesson_measures_once_for_the_whole_class(tmp_path, monkeypatch):
    """Thirty students on lesson 8 at one amount: its 800 denoised digits are measured once, not at
    every student's rerun; another amount is measured anew and scores differently."""
    import streamlit as st

    from denoiser.results import shift

    monkeypatch.setenv("DENOISER_COLLECTIONS", str(tmp_path / "collections"))
    st.cache_data.clear()
    measured = []
    real = shift.measure_shift
    monkeypatch.setattr(shift, "measure_shift", lambda *a, **k: measured.append(a[3]) or real(*a, **k))

    def lesson_text(amount=None):
        at = switch(app(), "Learn")
        at.segmented_control(key="lesson").set_value("shift").run()
        if amount is not None:
            at.slider(key="l_shift_amount").set_value(amount).run()
        no_exception(at)
        return next(m.value for m in at.markdown if m.value.startswith("Mean PSNR over"))

    first, second = lesson_text(), lesson_text()
    assert first == second and len(measured) == 1
    assert lesson_text(0.9) != first and measured[1:] == [0.9]


@needs_models
@needs_lessons
def test_the_bottleneck_lesson_opens_denoise_with_its_model_and_noise():
    at = switch(app(), "Learn")
    at.slider(key="l_bottleneck_amount").set_value(0.8).run()
    next(b for b in at.button if b.label == "See it in Denoise").click().run()
    no_exception(at)
    assert at.sidebar.selectbox(key="model_name").value == "seed-dense"
    assert at.slider(key="amount").value == pytest.approx(0.8)
    assert means(at)["row"][1] == "Denoised by seed-dense"


@needs_models
def test_the_comparison_downloads_as_the_picture_shown_and_its_scores(monkeypatch):
    """Picture (PNG) is the grid on the page; Scores (CSV) has a line per row and digit whose
    means are the page's means table, at the amount shown."""
    import csv
    import io as _io

    from PIL import Image
    from streamlit.delta_generator import DeltaGenerator

    served = {}
    real = DeltaGenerator.download_button

    def recording(self, label, data, *args, **kwargs):
        served[label] = data() if callable(data) else data
        return real(self, label, data, *args, **kwargs)

    import streamlit as st

    shown = []
    real_image = st.image

    def showing(image, *args, **kwargs):
        if str(kwargs.get("caption", "")).startswith(("Rows", "Columns")):
            shown.append(image)
        return real_image(image, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", recording)
    monkeypatch.setattr(st, "image", showing)
    at = app()
    at.slider(key="amount").set_value(0.3).run()
    no_exception(at)
    png, scores = served["Picture (PNG)"], served["Scores (CSV)"]
    assert png == shown[-1] and Image.open(_io.BytesIO(png)).format == "PNG"
    lines = list(csv.DictReader(_io.StringIO(scores)))
    count = at.session_state["count"]
    table = at.markdown[-1].value if "| row |" in at.markdown[-1].value else next(
        m.value for m in at.markdown if "| row |" in m.value)
    for row in {line["row"] for line in lines}:
        mine = [line for line in lines if line["row"] == row]
        assert len(mine) == count and {line["amount"] for line in mine} == {"0.3"}
        mean = sum(float(line["psnr_db"]) for line in mine) / count
        shown = float(re.search(rf"\| {re.escape(row)} \| ([\d.]+) \|", table)[1])
        assert abs(mean - shown) < 0.01, row


@needs_models
def test_an_exercise_link_locks_the_controls_it_names_and_a_teacher_can_make_one():
    at = app({"lock": "model,amount", "amount": "0.3"})
    no_exception(at)
    assert at.sidebar.selectbox(key="model_name").disabled
    assert at.slider(key="amount").disabled and at.slider(key="amount").value == 0.3
    assert "Locked by this exercise's link" in at.slider(key="amount").help
    assert not at.selectbox(key="noise_kind").disabled  # what the link leaves free stays free
    at.selectbox(key="noise_kind").set_value("speckle").run()
    assert at.query_params["lock"] == "model,amount" and at.query_params["noise"] == "speckle"
    # the popover's link: this screen, with the locks chosen there
    fresh = app()
    assert not fresh.slider(key="amount").disabled
    fresh.multiselect(key="class_locks").set_value(["noise", "digits"]).run()
    link = fresh.code[-1].value
    assert "lock=noise,digits" in link and "amount=0.5" in link


def test_train_settings_set_but_not_started_are_kept_across_pages():
    at = switch(app(), "Train")
    at.slider(key="t_epochs").set_value(3).run()
    at.select_slider(key="t_code").set_value(8).run()
    at = switch(at, "Denoise")
    no_exception(at)
    at = switch(at, "Train")
    assert at.slider(key="t_epochs").value == 3 and at.select_slider(key="t_code").value == 8
