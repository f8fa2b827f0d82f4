"""Models that outlive a session: an uploaded .keras file, and the class gallery."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from denoiser.gallery import GalleryError, check_name, gallery_names, publish, unpublish
from denoiser.modelfiles import ModelFileError, read_manifest
from denoiser.modelupload import MAX_MODEL_BYTES, check_keras_bytes, open_upload, prepare_upload
from denoiser.pretrained import load_pretrained
from tests.conftest import odd_layer_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_bytes(tiny_model_dir):
    return (tiny_model_dir / "tiny-dense.keras").read_bytes()


def keras_file(model, tmp_path) -> bytes:
    path = tmp_path / "m.keras"
    model.save(path)
    return path.read_bytes()


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


def test_checking_an_upload_keeps_tensorflow_out_of_the_server(tiny_model_dir):
    code = ("import sys; from pathlib import Path; from denoiser.modelupload import open_upload; "
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
    files = sorted(p.name for p in gallery.iterdir())
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
    assert sorted(p.name for p in gallery.iterdir()) == ["manifest.json"]
