"""Messages through Redis (denoiser.training.wire): what a run sends comes back equal; nothing else is
built."""

import pickle

import numpy as np
import pytest

from denoiser.digits.noise import NoiseSpec
from denoiser.models.config import ModelConfig
from denoiser.training.progress import Progress
from denoiser.training.wire import MAGIC, WireError, decode, encode
from tests.conftest import Touches


def test_a_runs_settings_and_reports_come_back_equal():
    digits = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    value = {"config": ModelConfig("unet", filters=8, context=16), "noise": NoiseSpec("blind", 0.5),
             "epochs": 3, "x_train": digits, "x_eval": None, "preview": digits[:2].astype(np.float32) / 255,
             "progress": Progress(1, 3, 10, 20, 1.5, loss=0.1, val_loss=float("nan")),
             "history": {"loss": [0.5, float("inf")]}, "model": b"\x00PK bytes", "ok": True,
             "tuple": ("started", None)}
    back = decode(encode(value))
    assert back["config"] == value["config"] and back["noise"] == value["noise"]
    np.testing.assert_array_equal(back["x_train"], digits)
    assert back["x_train"].dtype == np.uint8 and back["preview"].dtype == np.float32
    assert back["progress"].loss == 0.1 and np.isnan(back["progress"].val_loss)
    assert back["history"]["loss"][1] == float("inf") and back["model"] == b"\x00PK bytes"
    assert back["tuple"] == ["started", None] and back["x_eval"] is None and back["ok"] is True


def test_a_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    for payload in (pickle.dumps(Touches(marker)), pickle.dumps(("done", Touches(marker))),
                    MAGIC + pickle.dumps(Touches(marker))):
        with pytest.raises(WireError):
            decode(payload)
    assert not marker.exists()
    with pytest.raises(WireError, match="not sent"):
        encode({"x": Touches(marker)})


def message(header: bytes, *blobs: bytes) -> bytes:
    return MAGIC + len(header).to_bytes(8, "big") + header + b"".join(blobs)


@pytest.mark.parametrize("data", [
    message(b'{"value": {"$array": ["object", [1], 0]}, "blobs": [8]}', bytes(8)),
    message(b'{"value": {"$array": ["float32", [1000000], 0]}, "blobs": [8]}', bytes(8)),
    message(b'{"value": {"$bytes": 3}, "blobs": [8]}', bytes(8)),
    message(b'{"value": {"$bytes": 0}, "blobs": [8]}', bytes(4)),
    message(b'{"value": {"$class": ["Popen", {"args": "ls"}]}, "blobs": []}'),
    message(b'{"value": {"$class": ["ModelConfig", {"architecture": "evil"}]}, "blobs": []}'),
    message(b'{"value": {"$class": ["NoiseSpec", {"kind": "gaussian", "amount": 7}]}, "blobs": []}'),
    message(b'{"value": {"$eval": "1"}, "blobs": []}'),
    message(b'{"value": ' + b"[" * 100_000 + b"]" * 100_000 + b', "blobs": []}'),
    message(b'{"value": ' + b"[" * 40 + b"]" * 40 + b', "blobs": []}'),
    MAGIC + (10**9).to_bytes(8, "big") + b"{}",
    b"",
])
def test_damaged_or_foreign_messages_are_refused_in_words(data):
    with pytest.raises(WireError):
        decode(data)


def test_a_message_larger_than_any_the_app_sends_is_refused_before_reading(monkeypatch):
    import denoiser.training.wire as wire

    monkeypatch.setattr(wire, "MAX_MESSAGE_BYTES", 100)
    with pytest.raises(WireError, match="larger than any"):
        decode(encode({"model": bytes(200)}))


def run_settings(**changes) -> dict:
    rng = np.random.default_rng(1)
    settings = {"config": ModelConfig("dense", code_size=8), "noise": NoiseSpec("gaussian", 0.5),
                "epochs": 1, "batch_size": 32, "x_train": rng.random((6, 28, 28), np.float32),
                "preview_noisy": rng.random((2, 28, 28), np.float32), "x_eval": None,
                "x_held": rng.random((3, 28, 28), np.float32), "start_model": b"PK\x03\x04 a keras file"}
    return {**settings, **changes}


def test_a_fine_tunes_settings_travel_with_their_model_and_held_out_digits():
    from denoiser.training.wire import pack_settings, unpack_settings

    settings = run_settings()
    back = unpack_settings(pack_settings(settings))
    assert back["start_model"] == settings["start_model"]
    np.testing.assert_allclose(back["x_held"], settings["x_held"], atol=0.5 / 255)  # sent as 8 bits
    assert back["x_held"].dtype == np.float32 and back["x_eval"] is None
    fresh = unpack_settings(pack_settings(run_settings(x_held=None, start_model=None)))
    assert fresh["x_held"] is None and fresh["start_model"] is None


@pytest.mark.parametrize("changes", [{"start_model": "a path, not bytes"}, {"start_model": 3},
                                     {"x_held": [[0.5]]}])
def test_a_fine_tune_of_the_wrong_types_is_refused(changes):
    from denoiser.training.wire import unpack_settings

    raw = {**run_settings(), **changes}
    raw["x_train"] = np.uint8(raw["x_train"] * 255)
    if isinstance(raw["x_held"], np.ndarray):
        raw["x_held"] = np.uint8(raw["x_held"] * 255)
    with pytest.raises(WireError, match="wrong types"):
        unpack_settings(encode(raw))
