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
