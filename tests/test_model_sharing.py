"""Models that outlive a session: an uploaded .keras file, and the class gallery."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from denoiser.models.config import ModelConfig
from denoiser.models.files import ModelFileError, read_manifest
from denoiser.models.keras_check import MAX_MODEL_BYTES, check_keras_bytes
from denoiser.models.shipped import load_pretrained
from denoiser.models.upload import open_upload, prepare_upload
from denoiser.teaching.gallery import GalleryError, check_name, gallery_names, publish, unpublish
from tests.conftest import odd_layer_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_bytes(tiny_model_dir):
    return (tiny_model_dir / "tiny-dense.keras").read_bytes()


def keras_file(model, tmp_path) -> bytes:
    path = tmp_path / "m.keras"
    model.save(path)
    return path.read_bytes()


@pytest.mark.slow
def test_an_uploaded_model_is_checked_exported_and_denoises_like_keras(tiny_bytes, tiny_model_dir, digits):
    checked = prepare_upload(tiny_bytes)
    assert checked.architecture == "dense" and checked.has_code and checked.parameters > 1000
    model = open_upload(tiny_bytes, "my model", checked)
    noisy = np.clip(digits[:8] + 0.3, 0, 1)
    out = model.denoise(noisy)
    assert out.shape == (8, 28, 28) and np.isfinite(out).all()
    shipped = load_pretrained("tiny-dense", tiny_model_dir)  # the same file, as a shipped model
    np.testing.assert_allclose(out, shipped.model.predict_on_batch(noisy).reshape(8, 28, 28), atol=1e-4)
    assert "uploaded here" in model.description


@pytest.mark.slow
def test_checking_an_upload_keeps_tensorflow_out_of_the_server(tiny_model_dir):
    code = ("import sys; from pathlib import Path; from denoiser.models.upload import open_upload; "
            f"m = open_upload(Path({str(tiny_model_dir / 'tiny-dense.keras')!r}).read_bytes(), 'up'); "
            "import numpy as np; m.denoise(np.zeros((2, 28, 28), np.float32)); "
            "print(sorted(k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'keras')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_a_lambda_layer_is_refused_in_plain_words_without_running_anything(tmp_path):
    data = keras_file(odd_layer_model("Lambda"), tmp_path)
    with pytest.raises(ModelFileError, match="Lambda layer, which is Python code"):
        check_keras_bytes(data)


def test_an_unknown_layer_is_refused(tmp_path):
    import keras

    @keras.saving.register_keras_serializable(package="elsewhere")
    class Doubler(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    inputs = keras.Input(shape=(28, 28))
    data = keras_file(keras.Model(inputs, Doubler()(inputs)), tmp_path)
    with pytest.raises(ModelFileError, match="does not know \\(Doubler\\)"):
        check_keras_bytes(data)


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"PK\x03\x04 not really a zip", "not a .keras model file"),
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a .keras model file"),
])
def test_damaged_or_foreign_files_are_refused(data, words):
    with pytest.raises(ModelFileError, match=words):
        prepare_upload(data)


def test_a_file_over_the_size_cap_is_refused_before_it_is_read():
    with pytest.raises(ModelFileError, match="MB are accepted"):
        check_keras_bytes(bytes(MAX_MODEL_BYTES + 1))


@pytest.mark.slow
def test_a_model_of_another_shape_is_refused(tmp_path):
    import keras

    inputs = keras.Input(shape=(32, 32))
    data = keras_file(keras.Model(inputs, keras.layers.Dense(32)(inputs)), tmp_path)
    with pytest.raises(ModelFileError, match="shape"):
        prepare_upload(data)


def test_a_zip_without_weights_is_refused(tmp_path):
    path = tmp_path / "x.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps({"class_name": "Functional"}))
    with pytest.raises(ModelFileError, match="not a .keras model file"):
        check_keras_bytes(path.read_bytes())


# ---------------------------------------------------------------- hostile files (issue 45)
def rezip(data: bytes, config_text: bytes | None = None, edit=None, extra: dict | None = None) -> bytes:
    """A copy of the .keras file ``data`` with its config replaced or edited, or members added."""
    out = io.BytesIO()
    with (zipfile.ZipFile(io.BytesIO(data)) as source,
          zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target):
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "config.json":
                if edit is not None:
                    config = json.loads(body)
                    edit(config)
                    body = json.dumps(config).encode()
                body = config_text if config_text is not None else body
            target.writestr(item.filename, body)
        for name, body in (extra or {}).items():
            target.writestr(name, body)
    return out.getvalue()


@pytest.mark.slow
def test_a_decompression_bomb_is_refused_from_the_zip_directory_before_unpacking(tiny_bytes, monkeypatch):
    config = zipfile.ZipFile(io.BytesIO(tiny_bytes)).read("config.json")
    bomb = rezip(tiny_bytes, config_text=config[:-1] + b" " * (300 * 2**20) + b"}")
    assert len(bomb) < 2 * 2**20  # DEFLATE packs the whitespace ~1000:1: small to send
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("parsed the bomb"))
    with pytest.raises(ModelFileError, match="unpacks to 300 MB"):
        check_keras_bytes(bomb)
    weights_bomb = rezip(tiny_bytes, extra={"assets/padding.bin": bytes(200 * 2**20)})
    with pytest.raises(ModelFileError, match="unpacks to 200 MB"):
        check_keras_bytes(weights_bomb)


def test_a_zip_that_understates_its_config_is_read_only_up_to_the_cap(tiny_bytes):
    from denoiser.models.keras_check import MAX_CONFIG_BYTES

    config = zipfile.ZipFile(io.BytesIO(tiny_bytes)).read("config.json")
    data = bytearray(rezip(tiny_bytes, config_text=config[:-1] + b" " * (3 * 2**20) + b"}"))
    # the directory lies: config.json's declared size (local and central headers) set to 1,000
    patched = 0
    for at in range(len(data) - 46):
        if data[at:at + 4] == b"PK\x01\x02" and data[at + 46:at + 57] == b"config.json":
            data[at + 24:at + 28] = (1000).to_bytes(4, "little")
            patched += 1
        if data[at:at + 4] == b"PK\x03\x04" and data[at + 30:at + 41] == b"config.json":
            data[at + 22:at + 26] = (1000).to_bytes(4, "little")
            patched += 1
    assert patched == 2 and zipfile.ZipFile(io.BytesIO(data)).getinfo("config.json").file_size == 1000
    assert MAX_CONFIG_BYTES < 3 * 2**20
    with pytest.raises(ModelFileError, match="not a .keras model file"):
        check_keras_bytes(bytes(data))


def test_a_deeply_nested_config_is_refused_in_plain_words_not_a_recursion_error(tiny_bytes):
    deep = b'{"class_name": "Functional", "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with pytest.raises(ModelFileError, match="nests more than 64 levels"):
        check_keras_bytes(rezip(tiny_bytes, config_text=deep))
    # brackets inside strings are not nesting
    shallow = json.dumps({"class_name": "__tuple__", "note": "[[[[" * 100}).encode()
    check_keras_bytes(rezip(tiny_bytes, config_text=shallow))


@pytest.mark.parametrize("change, words", [
    (lambda layer: layer.update(module="keras_evil.layers"), "does not know \\(Dense\\)"),
    (lambda layer: layer.update(module="kerasx"), "does not know"),
    (lambda layer: layer.update(module="os", class_name="system", registered_name="denoiser>system"),
     "does not know \\(system\\)"),
    (lambda layer: layer.update(registered_name="denoiser>Dense"), "claims to be another class"),
    (lambda layer: layer["config"].update(hidden={"class_name": "__lambda__", "config": {"code": "x"}}),
     "Lambda layer, which is Python code"),
    (lambda layer: layer["config"].update(hidden={"class_name": "__numpy__", "config": {}}),
     "does not load \\(__numpy__\\)"),
    (lambda layer: layer.update(class_name="TFSMLayer"), "does not know \\(TFSMLayer\\)"),
    (lambda layer: layer.update(module=None), "does not know"),
    (lambda layer: layer.update(class_name=["Dense"]), "damaged"),
    (lambda layer: layer["config"].update(act={"module": "builtins", "class_name": "function",
                                               "config": "os.system", "registered_name": "function"}),
     "function this app does not know"),
])
def test_objects_outside_the_exact_allow_list_are_refused_before_any_process(tiny_bytes, change, words,
                                                                             monkeypatch):
    import denoiser.models.upload as upload

    def edit(config):
        layer = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
        change(layer)

    monkeypatch.setattr(upload, "call_in_fresh_process", lambda *a, **k: pytest.fail("started a process"))
    with pytest.raises(ModelFileError, match=words):
        prepare_upload(rezip(tiny_bytes, edit=edit))


def test_every_shipped_and_trainable_model_passes_the_allow_list(tiny_model_dir, tmp_path):

    from denoiser.models.build import build_model, psnr_loss

    shipped = ROOT / "pretrained"
    files = [*shipped.glob("*.keras"), *shipped.joinpath("lessons").glob("*.keras"),
             *tiny_model_dir.glob("*.keras")]
    for path in files:
        check_keras_bytes(path.read_bytes())
    model = build_model(ModelConfig("unet", filters=8, context=16, blocks=1, clip_flags=True))
    model.compile("adam", loss=psnr_loss)  # a compiled model names this package's loss
    assert "Conv2D" in check_keras_bytes(keras_file(model, tmp_path))


def wide_model(kind: str):
    import keras

    inputs = keras.Input(shape=(28, 28))
    x = keras.layers.Reshape((28, 28, 1))(inputs)
    if kind == "wide convolutions":
        x = keras.layers.Conv2D(512, 3, padding="same")(x)
        x = keras.layers.Conv2D(512, 3, padding="same")(x)  # 784 · 9 · 512 · 512 ≈ 1.8 G per digit
        x = keras.layers.Conv2D(1, 1)(x)
    else:  # upsampling: a layer of 448 × 448 × 4 values per digit
        x = keras.layers.Conv2D(4, 3, padding="same")(x)
        x = keras.layers.UpSampling2D(16)(x)
        x = keras.layers.AveragePooling2D(16)(x)
        x = keras.layers.Conv2D(1, 1)(x)
    return keras.Model(inputs, keras.layers.Reshape((28, 28))(x))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["wide convolutions", "upsampling"])
def test_a_model_too_costly_per_digit_is_refused_in_plain_words(tmp_path, kind):
    data = keras_file(wide_model(kind), tmp_path)
    assert len(data) < 20 * 2**20 and check_keras_bytes(data)  # a small file of allowed layers
    with pytest.raises(ModelFileError, match="million multiply-adds .* every student's page stays quick"):
        prepare_upload(data)


@pytest.mark.slow
def test_the_shipped_models_cost_at_most_half_the_bound():
    from denoiser.models.files import load_model_file
    from denoiser.models.upload import MAX_ACTIVATIONS_PER_DIGIT, MAX_MACS_PER_DIGIT, model_cost

    costs = {p.stem: model_cost(load_model_file(p)) for p in ROOT.joinpath("pretrained").glob("*.keras")}
    assert max(m for m, _ in costs.values()) <= MAX_MACS_PER_DIGIT / 2, costs
    assert max(a for _, a in costs.values()) <= MAX_ACTIVATIONS_PER_DIGIT / 2, costs
    assert costs["seed-dense"][0] == 784 * 32 + 32 * 784 + 784 + 784  # two Dense layers and two reshapes


def test_checks_wait_in_a_short_line_and_the_rest_are_told_to_try_again():
    import threading

    from denoiser.models.upload import CheckLine

    line = CheckLine(slots=1, waiting=1, patience=60)
    inside, release, order = threading.Event(), threading.Event(), []

    def first():
        with line.turn():
            order.append("first")
            inside.set()
            release.wait(30)

    def second():
        with line.turn():
            order.append("second")

    a = threading.Thread(target=first)
    a.start()
    assert inside.wait(30)
    b = threading.Thread(target=second)
    b.start()
    while line._queued == 0:  # the second waits in line
        threading.Event().wait(0.01)
    with pytest.raises(ModelFileError, match="try again in a minute"), line.turn():
        pass  # a third finds the line full
    release.set()
    a.join(30), b.join(30)
    assert order == ["first", "second"]
    impatient = CheckLine(slots=1, waiting=4, patience=0)
    with impatient.turn(), pytest.raises(ModelFileError, match="try again"), impatient.turn():
        pass


@pytest.mark.slow
def test_a_checking_process_cannot_take_more_memory_than_its_limit():
    from denoiser.fresh import call_in_fresh_process

    with pytest.raises(MemoryError):
        call_in_fresh_process(np.ones, 2**31, timeout=120, memory_bytes=2**30)  # 16 GB of float64


# ---------------------------------------------------------------- the class gallery
def published(tiny_model_dir, gallery, name="class model", code="sesame", expected="sesame", **kw):
    entry = read_manifest(tiny_model_dir)["models"]["tiny-dense"]
    return publish(name, (tiny_model_dir / entry["file"]).read_bytes(),
                   (tiny_model_dir / entry["onnx"]).read_bytes(), description="a test run",
                   config=entry["config"], code=code, expected_code=expected, directory=gallery, **kw)


def test_a_published_model_loads_for_everyone_like_a_shipped_one(tiny_model_dir, tmp_path, digits):
    gallery = tmp_path / "gallery"
    assert published(tiny_model_dir, gallery, name="  class model ") == "class model"
    assert gallery_names(gallery) == ["class model"]
    model = load_pretrained("class model", gallery, lazy=True)  # checksums checked on load
    shipped = load_pretrained("tiny-dense", tiny_model_dir)
    np.testing.assert_allclose(model.denoise(digits[:4]), shipped.denoise(digits[:4]), atol=1e-6)
    assert model.description.startswith("class gallery:")
    files = sorted(p.name for p in gallery.iterdir() if not p.name.startswith("."))
    assert all(name.startswith("m-") or name == "manifest.json" for name in files)  # no typed name in a path


@pytest.mark.parametrize("code, expected, words", [
    (None, "sesame", "not the teacher code"),
    ("wrong", "sesame", "not the teacher code"),
    ("sesame", None, "publishing is off"),
    ("", "", "publishing is off"),
])
def test_publishing_needs_the_teacher_code(tiny_model_dir, tmp_path, code, expected, words):
    with pytest.raises(GalleryError, match=words):
        published(tiny_model_dir, tmp_path / "g", code=code, expected=expected)
    assert gallery_names(tmp_path / "g") == [] and not (tmp_path / "g").exists()


@pytest.mark.parametrize("name", ["", " ", "../etc/passwd", "a" * 40, "<script>", "-dash", "blind"])
def test_bad_or_taken_names_are_refused(name):
    with pytest.raises(GalleryError):
        check_name(name, taken=("blind",))


def test_the_gallery_is_capped_and_a_model_can_be_removed(tiny_model_dir, tmp_path):
    gallery = tmp_path / "g"
    for i in range(2):
        published(tiny_model_dir, gallery, name=f"m{i}", max_models=2)
    with pytest.raises(GalleryError, match="holds 2 models"):
        published(tiny_model_dir, gallery, name="m2", max_models=2)
    published(tiny_model_dir, gallery, name="m1", max_models=2)  # replacing one is allowed
    with pytest.raises(GalleryError):
        unpublish("m0", code="wrong", expected_code="sesame", directory=gallery)
    unpublish("m0", code="sesame", expected_code="sesame", directory=gallery)
    assert gallery_names(gallery) == ["m1"]
    assert (gallery / read_manifest(gallery)["models"]["m1"]["file"]).exists()  # shared file kept
    unpublish("m1", code="sesame", expected_code="sesame", directory=gallery)
    assert sorted(p.name for p in gallery.iterdir() if not p.name.startswith(".")) == ["manifest.json"]


def _publish_many(model_dir: str, gallery: str, prefix: str, count: int, max_models: int) -> list[str]:
    """In another process: publish ``count`` models named PREFIX-i; return the refusals."""
    from denoiser.teaching.gallery import GalleryError

    refused = []
    for i in range(count):
        try:
            published(Path(model_dir), Path(gallery), name=f"{prefix}-{i}", max_models=max_models)
        except GalleryError as err:
            refused.append(str(err))
    return refused


@pytest.mark.slow
def test_two_processes_publishing_at_once_lose_nothing_and_respect_the_cap(tiny_model_dir, tmp_path):
    import concurrent.futures
    import multiprocessing

    gallery = tmp_path / "shared"
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=spawn) as pool:
        jobs = [pool.submit(_publish_many, str(tiny_model_dir), str(gallery), p, 12, 100) for p in "ab"]
        assert [j.result(300) for j in jobs] == [[], []]
    assert sorted(gallery_names(gallery)) == sorted(f"{p}-{i}" for p in "ab" for i in range(12))
    capped = tmp_path / "capped"
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=spawn) as pool:
        jobs = [pool.submit(_publish_many, str(tiny_model_dir), str(capped), p, 6, 5) for p in "ab"]
        refusals = [r for j in jobs for r in j.result(300)]
    assert len(gallery_names(capped)) == 5 and len(refusals) == 7  # 12 tries, 5 places
    assert all("holds 5 models" in r for r in refusals)


def test_publishing_a_name_again_removes_the_old_files(tiny_model_dir, tmp_path):
    gallery = tmp_path / "g"
    published(tiny_model_dir, gallery, name="mine")
    first = read_manifest(gallery)["models"]["mine"]
    entry = read_manifest(tiny_model_dir)["models"]["tiny-conv"]
    files = tiny_model_dir / entry["file"], tiny_model_dir / entry["onnx"]
    publish("mine", files[0].read_bytes(), files[1].read_bytes(), description="another run",
            config=entry["config"], code="sesame", expected_code="sesame", directory=gallery)
    second = read_manifest(gallery)["models"]["mine"]
    assert second["file"] != first["file"]
    files = sorted(p.name for p in gallery.iterdir() if not p.name.startswith("."))
    assert files == sorted([second["file"], second["onnx"], "manifest.json"])


def test_wrong_teacher_codes_are_slowed_then_locked_out_per_session_and_per_server(caplog):
    from denoiser.teaching.gallery import CodeGuard

    now = [1000.0]
    guard = CodeGuard(per_session=3, per_server=6, window=600, lockout=600, clock=lambda: now[0])
    with pytest.raises(GalleryError, match="not the teacher code"):
        guard.check("guess-1", "sesame", "alice")
    with pytest.raises(GalleryError, match="wait 1 s"):
        guard.check("sesame", "sesame", "alice")  # too soon: not even compared
    now[0] += 1
    guard.check("sesame", "sesame", "alice")  # the right code after the wait: let in, forgiven
    for _ in range(3):
        now[0] += 60
        with pytest.raises(GalleryError, match="not the teacher code"):
            guard.check("guess-2", "sesame", "bob")
    now[0] += 60
    with pytest.raises(GalleryError, match="from this page: the teacher tools are locked for 9 more"):
        guard.check("sesame", "sesame", "bob")  # locked out, even with the right code
    guard.check("sesame", "sesame", "carol")  # another session is not
    for who in ("dave", "erin"):
        with pytest.raises(GalleryError, match="not the teacher code"):
            guard.check("guess-3", "sesame", who)
    with pytest.raises(GalleryError, match="on this server"):
        guard.check("sesame", "sesame", "carol")  # six wrong codes, some from new tabs: the server locks
    now[0] += 601
    guard.check("sesame", "sesame", "carol")
    guard.check("sesame", "sesame", "bob")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "wrong teacher code" in logged and "locked on this server" in logged
    assert "guess" not in logged  # what was typed is never logged


def test_the_training_slots_setting_is_checked(monkeypatch, caplog):
    from denoiser.training.slots import SLOTS_VAR, default_slots

    monkeypatch.setenv(SLOTS_VAR, "3")
    assert default_slots() == 3
    monkeypatch.delenv(SLOTS_VAR)
    usual = default_slots()
    for bad in ("0", "-2", "many", "1e9", "100000"):
        monkeypatch.setenv(SLOTS_VAR, bad)
        assert default_slots() == usual
    assert "not a whole number from 1 to 64" in caplog.text
