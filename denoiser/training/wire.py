"""Messages between the app's servers and its training workers: JSON and raw bytes, never pickle.

Whatever travels through Redis (a run's settings and digits, progress reports, previews, the
trained model) is encoded here. Unpickling runs whatever the bytes say, so anyone able to write
to Redis could run code on every replica and worker; decoding these messages can only build
the few plain types listed below, each checked (an array's dtype, shape and size, a config's
fields), and it bounds the message's size and nesting before reading it.

A message is ``MAGIC``, the length of a JSON header (8 bytes, big-endian), the header, then the
binary parts it refers to (arrays' and bytes' contents, in order). Values: ``None``, booleans,
numbers, strings, lists (a tuple comes back as a list), dicts with string keys, ``bytes``,
numpy arrays of :data:`DTYPES`, and the dataclasses in :data:`CLASSES`.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np

from denoiser.digits.noise import NoiseSpec
from denoiser.models.config import ModelConfig
from denoiser.training.progress import Progress

MAGIC = b"DNW1"
#: The largest message decoded (60,000 digits as uint8 are 47 MB; a model file at most 64 MB).
MAX_MESSAGE_BYTES = 256 * 2**20
#: How deeply a message's lists and dicts may nest.
MAX_DEPTH = 32
#: Array types a message may hold.
DTYPES = frozenset({"uint8", "float32", "float64", "int32", "int64", "bool"})
#: Dataclasses a message may hold, rebuilt from their fields (each validates its own).
CLASSES = {"ModelConfig": ModelConfig.from_dict, "NoiseSpec": lambda fields: NoiseSpec(**fields),
           "Progress": lambda fields: Progress(**fields)}


class WireError(ValueError):
    """A message that is not one of this app's, or holds something it does not send."""


def encode(value: object) -> bytes:
    """``value`` as a message (see the module's docstring for what it may hold)."""
    blobs: list[bytes] = []

    def plain(item: object, depth: int) -> object:
        if depth > MAX_DEPTH:
            raise WireError("the message nests too deeply")
        if item is None or isinstance(item, (bool, int, str)):
            return item
        if isinstance(item, float):
            return item if math.isfinite(item) else {"$float": repr(item)}
        if isinstance(item, (np.integer, np.floating, np.bool_)):
            return plain(item.item(), depth)
        if isinstance(item, (bytes, bytearray, memoryview)):
            blobs.append(bytes(item))
            return {"$bytes": len(blobs) - 1}
        if isinstance(item, np.ndarray):
            if item.dtype.name not in DTYPES:
                raise WireError(f"arrays of {item.dtype} are not sent")
            blobs.append(np.ascontiguousarray(item).tobytes())
            return {"$array": [item.dtype.name, list(item.shape), len(blobs) - 1]}
        if dataclasses.is_dataclass(item) and type(item).__name__ in CLASSES:
            fields = {f.name: plain(getattr(item, f.name), depth + 1) for f in dataclasses.fields(item)}
            return {"$class": [type(item).__name__, fields]}
        if isinstance(item, (list, tuple)):
            return [plain(v, depth + 1) for v in item]
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item) or any(k.startswith("$") for k in item):
                raise WireError("dict keys are plain strings")
            return {k: plain(v, depth + 1) for k, v in item.items()}
        raise WireError(f"{type(item).__name__} is not sent")

    header = json.dumps({"value": plain(value, 0), "blobs": [len(b) for b in blobs]},
                        separators=(",", ":")).encode()
    return b"".join([MAGIC, len(header).to_bytes(8, "big"), header, *blobs])


def decode(data: bytes) -> object:
    """The value a message holds.

    Raises
    ------
    WireError
        The bytes are not a message of this app's, are too large, or hold anything it does not send.
    """
    if not isinstance(data, (bytes, bytearray)) or len(data) > MAX_MESSAGE_BYTES:
        raise WireError("not a message of this app's, or larger than any it sends")
    if data[:4] != MAGIC or len(data) < 12:
        raise WireError("not a message of this app's")
    size = int.from_bytes(data[4:12], "big")
    if size > len(data) - 12:
        raise WireError("a damaged message")
    try:
        header = json.loads(bytes(data[12:12 + size]))
    except (ValueError, RecursionError):
        raise WireError("a damaged message") from None
    lengths = header.get("blobs") if isinstance(header, dict) else None
    if (not isinstance(lengths, list) or not all(isinstance(n, int) and n >= 0 for n in lengths)
            or 12 + size + sum(lengths) != len(data)):
        raise WireError("a damaged message")
    offsets = np.concatenate([[12 + size], 12 + size + np.cumsum(lengths, dtype=np.int64)]).tolist()

    def blob(index: object) -> bytes:
        if not isinstance(index, int) or not 0 <= index < len(lengths):
            raise WireError("a damaged message")
        return bytes(data[offsets[index]:offsets[index + 1]])

    def value(item: object, depth: int) -> object:
        if depth > MAX_DEPTH:
            raise WireError("the message nests too deeply")
        if isinstance(item, list):
            return [value(v, depth + 1) for v in item]
        if not isinstance(item, dict):
            return item
        if len(item) == 1 and next(iter(item)).startswith("$"):
            (tag, body), = item.items()
            return _tagged(tag, body, blob, lambda v: value(v, depth + 1))
        return {k: value(v, depth + 1) for k, v in item.items()}

    return value(header.get("value"), 0)


def _tagged(tag: str, body: object, blob, value) -> object:
    if tag == "$bytes":
        return blob(body)
    if tag == "$float" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "$array" and isinstance(body, list) and len(body) == 3:
        dtype, shape, index = body
        if dtype not in DTYPES or not isinstance(shape, list) or len(shape) > 8 \
                or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise WireError("an array this app does not send")
        raw = blob(index)
        if math.prod(shape) * np.dtype(dtype).itemsize != len(raw):
            raise WireError("a damaged array")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if tag == "$class" and isinstance(body, list) and len(body) == 2 and body[0] in CLASSES \
            and isinstance(body[1], dict):
        try:
            return CLASSES[body[0]](value(body[1]))
        except (TypeError, ValueError) as err:
            raise WireError(f"a {body[0]} this app does not send ({err})"[:200]) from None
    raise WireError("the message holds something this app does not send")


# ---------------------------------------------------------------- a run's messages
#: The fields of a run's settings, as a server sends them to a worker.
SETTINGS = frozenset({"config", "noise", "epochs", "batch_size", "x_train", "preview_noisy", "x_eval",
                      "x_held", "start_model"})
_DIGIT_SETS = ("x_train", "x_eval", "x_held")
#: The kinds of report a worker sends back.
REPORTS = frozenset({"started", "progress", "preview", "error", "done"})


def pack_settings(settings: dict) -> bytes:
    """The settings for the wire: digits as uint8 (MNIST is 8-bit: nothing is lost)."""
    out = dict(settings)
    for name in _DIGIT_SETS:
        if out.get(name) is not None:
            out[name] = np.round(np.asarray(out[name]) * 255).astype(np.uint8)
    return encode(out)


def unpack_settings(data: bytes) -> dict:
    """Settings read from Redis, checked: the fields a run has, of the types it sends."""
    settings = decode(data)
    if not isinstance(settings, dict) or set(settings) != SETTINGS:
        raise WireError("not a run's settings")
    ok = (isinstance(settings["config"], ModelConfig) and isinstance(settings["noise"], NoiseSpec)
          and all(isinstance(settings[n], int) and not isinstance(settings[n], bool)
                  for n in ("epochs", "batch_size"))
          and isinstance(settings["x_train"], np.ndarray) and settings["x_train"].dtype == np.uint8
          and settings["x_train"].ndim == 3 and settings["x_train"].shape[1:] == (28, 28)
          and isinstance(settings["preview_noisy"], np.ndarray)
          and all(settings[n] is None or (isinstance(settings[n], np.ndarray)
                                          and settings[n].dtype == np.uint8) for n in ("x_eval", "x_held"))
          and (settings["start_model"] is None or isinstance(settings["start_model"], bytes)))
    if not ok:
        raise WireError("a run's settings of the wrong types")
    for name in _DIGIT_SETS:
        if settings.get(name) is not None:
            settings[name] = settings[name].astype(np.float32) / 255.0
    settings["preview_noisy"] = settings["preview_noisy"].astype(np.float32)
    return settings


def unpack_report(data: bytes) -> tuple[str, object]:
    """A worker's report read from Redis: ``(kind, payload)`` of a kind it sends."""
    item = decode(data)
    if not (isinstance(item, list) and len(item) == 2 and item[0] in REPORTS):
        raise WireError("not a worker's report")
    return item[0], item[1]
