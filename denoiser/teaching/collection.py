"""A class's own digits: a collection a teacher opens and students add drawings to.

A collection is a folder beside the class gallery holding ``meta.json`` (its name, whether it is
open) and ``digits.npz`` (the digits as 28×28 ``uint8`` and their labels, nothing else): no
session id, name or time is kept with a digit, so nothing identifies who drew it. Every change
reads, edits and writes the collection atomically under the folder's lock
(:func:`denoiser.models.files.manifest_lock`), which holds across processes and, on a shared
file system with ``flock``, across replicas: two students adding at once lose nothing.

A collection leaves and comes back as an ``.npz`` in Keras' MNIST layout (``x_train``,
``y_train``, ``x_test``, ``y_test``; every digit in the training split). An imported file is
bounded and checked like any upload: read without pickle, only those four arrays, of the right
shapes, types and values, at most :data:`MAX_DIGITS` digits.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from denoiser.digits.mnist import Digits, other_digits
from denoiser.models.files import manifest_lock, save_bytes

#: Environment variable: where collections are kept (default: ``collections`` beside the gallery).
COLLECTIONS_VAR = "DENOISER_COLLECTIONS"
#: The most digits one collection holds (a class of 40 drawing each digit five times).
MAX_DIGITS = 2_000
#: The most digits one browser session may add to a collection.
MAX_PER_SESSION = 50
#: The largest ``.npz`` file imported (2,000 digits are 1.6 MB uncompressed).
MAX_NPZ_BYTES = 8 * 2**20
#: The arrays of an exported collection, in Keras' MNIST layout.
KEYS = ("x_train", "y_train", "x_test", "y_test")
_NAME = re.compile(r"^[\w ,.'()+-]{1,60}$")


class CollectionError(ValueError):
    """A collection that cannot be opened, changed or read, said in plain words."""


@dataclass(frozen=True)
class Collection:
    """One collection: its folder, its name, and whether students may still add to it."""

    folder: Path
    name: str
    open: bool

    def digits(self) -> tuple[np.ndarray, np.ndarray]:
        """The digits (N, 28, 28) ``uint8`` and their labels (N,) ``uint8``, in the order added."""
        return _read_digits(self.folder)

    def as_digits(self) -> Digits:
        """The collection as test digits in [0, 1], to sample, denoise and measure like MNIST's
        (its training split is empty)."""
        return other_digits(*self.digits(), f"the class's digits “{self.name}”")

    def counts(self) -> dict[int, int]:
        """How many of each digit 0-9 the collection holds."""
        _, labels = self.digits()
        return {d: int(np.sum(labels == d)) for d in range(10)}


def collections_dir(directory: str | Path | None = None) -> Path:
    """``directory``, else ``$DENOISER_COLLECTIONS``, else ``collections`` beside the gallery."""
    if directory or os.environ.get(COLLECTIONS_VAR):
        return Path(directory or os.environ[COLLECTIONS_VAR])
    from denoiser.teaching.gallery import gallery_dir

    return gallery_dir().parent / "collections"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "collection"


def _check_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not _NAME.match(name):
        raise CollectionError("a collection's name is 1 to 60 letters, digits, spaces and , . ' ( ) + -")
    return name


def _read_meta(folder: Path) -> dict:
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise CollectionError(f"the collection in {folder.name} is damaged or gone") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        raise CollectionError(f"the collection in {folder.name} is damaged")
    return meta


def _read_digits(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    path = folder / "digits.npz"
    if not path.exists():
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8)
    with np.load(path, allow_pickle=False) as data:
        return data["x"], data["y"]


def _write_digits(folder: Path, x: np.ndarray, y: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=x.astype(np.uint8), y=y.astype(np.uint8))
    save_bytes(buffer.getvalue(), folder / "digits.npz")


def list_collections(directory: str | Path | None = None) -> list[Collection]:
    """The collections kept here, by name (damaged ones left out)."""
    root = collections_dir(directory)
    found = []
    for folder in sorted(root.glob("*/meta.json")):
        try:
            meta = _read_meta(folder.parent)
        except CollectionError:
            continue
        found.append(Collection(folder.parent, meta["name"], bool(meta.get("open"))))
    return sorted(found, key=lambda c: c.name.lower())


def get_collection(name: str, directory: str | Path | None = None) -> Collection:
    """The collection called ``name``.

    Raises
    ------
    CollectionError
        There is none of that name.
    """
    for collection in list_collections(directory):
        if collection.name == name:
            return collection
    raise CollectionError(f"there is no collection called {name!r}")


def open_collection(name: str, directory: str | Path | None = None) -> Collection:
    """Open a new collection ``name`` for students to add to (or reopen one of that name)."""
    name = _check_name(name)
    root = collections_dir(directory)
    with manifest_lock(root):
        folder = root / _slug(name)
        if (folder / "meta.json").exists() and _read_meta(folder)["name"] != name:
            raise CollectionError(f"another collection already uses a name like {name!r}: pick another")
        folder.mkdir(parents=True, exist_ok=True)
        save_bytes(json.dumps({"name": name, "open": True}).encode(), folder / "meta.json")
    return Collection(folder, name, True)


def close_collection(collection: Collection) -> Collection:
    """Stop students adding to ``collection`` (its digits stay, to look at, measure and export)."""
    with manifest_lock(collection.folder.parent):
        meta = _read_meta(collection.folder)
        save_bytes(json.dumps({**meta, "open": False}).encode(), collection.folder / "meta.json")
    return Collection(collection.folder, collection.name, False)


def delete_collection(collection: Collection) -> None:
    """Remove ``collection`` and every digit in it."""
    with manifest_lock(collection.folder.parent):
        shutil.rmtree(collection.folder, ignore_errors=True)


def add_digit(collection: Collection, digit: np.ndarray, label: int) -> int:
    """Add one 28×28 ``digit`` (floats in [0, 1], as the canvas and uploads make them) labelled
    ``label``; returns how many digits the collection now holds.

    Raises
    ------
    CollectionError
        The collection is closed, gone or full; the digit or label is not one.
    """
    digit = np.asarray(digit, dtype=np.float32)
    if digit.shape != (28, 28) or not np.all(np.isfinite(digit)):
        raise CollectionError("a digit is a 28×28 picture")
    if isinstance(label, bool) or not isinstance(label, (int, np.integer)) or not 0 <= label <= 9:
        raise CollectionError("a digit's label is a whole number from 0 to 9")
    with manifest_lock(collection.folder.parent):
        meta = _read_meta(collection.folder)
        if not meta.get("open"):
            raise CollectionError(f"the collection {meta['name']!r} is closed: the teacher can reopen it")
        x, y = _read_digits(collection.folder)
        if len(x) >= MAX_DIGITS:
            raise CollectionError(f"the collection {meta['name']!r} is full ({MAX_DIGITS:,} digits)")
        pixels = np.round(np.clip(digit, 0, 1) * 255).astype(np.uint8)
        _write_digits(collection.folder, np.concatenate([x, pixels[None]]), np.append(y, np.uint8(label)))
        return len(x) + 1


def remove_digit(collection: Collection, index: int) -> int:
    """Remove the digit at ``index`` (in the order added); returns how many are left."""
    with manifest_lock(collection.folder.parent):
        x, y = _read_digits(collection.folder)
        if not 0 <= index < len(x):
            raise CollectionError(f"there is no digit number {index + 1} (the collection holds {len(x)})")
        keep = np.arange(len(x)) != index
        _write_digits(collection.folder, x[keep], y[keep])
        return int(keep.sum())


def export_npz(collection: Collection) -> bytes:
    """``collection`` as an ``.npz`` in Keras' MNIST layout (every digit in the training split)."""
    x, y = collection.digits()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x_train=x, y_train=y, x_test=np.zeros((0, 28, 28), np.uint8),
                        y_test=np.zeros(0, np.uint8))
    return buffer.getvalue()


def read_npz(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The digits and labels of an ``.npz`` in Keras' MNIST layout (both splits, training first),
    checked before anything is kept.

    Raises
    ------
    CollectionError
        Too large; not an ``.npz``; a member other than the four arrays, or holding Python
        objects (a pickle); shapes, types or values that are not MNIST's; too many digits.
    """
    if not data:
        raise CollectionError("the file is empty")
    if len(data) > MAX_NPZ_BYTES:
        raise CollectionError(f"the file is {len(data) / 2**20:.0f} MB; collections up to "
                              f"{MAX_NPZ_BYTES // 2**20} MB are accepted")
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError):
        raise CollectionError("this is not an .npz file of digits") from None
    if sorted(m.filename for m in members) != sorted(f"{k}.npy" for k in KEYS):
        raise CollectionError("an .npz of digits holds exactly x_train, y_train, x_test and y_test")
    limit = MAX_DIGITS * 28 * 28 + 1024
    if any(m.file_size > limit for m in members):
        raise CollectionError(f"the file unpacks to more than {MAX_DIGITS:,} digits")
    _check_headers(data)  # what each array claims to be, before numpy sets memory aside for it
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in KEYS}
    except ValueError as err:
        if "allow_pickle" in str(err):  # numpy refuses object arrays without pickle
            raise CollectionError("the file holds Python objects, which this app never loads") from None
        raise CollectionError("this .npz file is damaged") from None
    except (OSError, zipfile.BadZipFile, EOFError):
        raise CollectionError("this .npz file is damaged") from None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
            raise CollectionError(f"x_{split} must be 28×28 digits of 8-bit pixels (uint8), "
                                  f"not {x.dtype} of shape {x.shape}")
        if y.ndim != 1 or len(y) != len(x) or y.dtype.kind not in "ui":
            raise CollectionError(f"y_{split} must hold one whole-number label per digit")
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise CollectionError(f"y_{split} holds labels outside 0-9")
    x = np.concatenate([arrays["x_train"], arrays["x_test"]])
    y = np.concatenate([arrays["y_train"], arrays["y_test"]]).astype(np.uint8)
    if len(x) > MAX_DIGITS:
        raise CollectionError(f"the file holds {len(x):,} digits; a collection holds at most {MAX_DIGITS:,}")
    return x, y


def _check_headers(data: bytes) -> None:
    """Refuse an array whose header claims Python objects or more than :data:`MAX_DIGITS`
    digits' worth of values (read from the ``.npy`` headers alone)."""
    from numpy.lib import format as npy

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for member in archive.infolist():
            with archive.open(member) as fh:
                try:
                    version = npy.read_magic(fh)
                    read = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}[version]
                    shape, _, dtype = read(fh)
                except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile):
                    raise CollectionError("this .npz file is damaged") from None
            if dtype.hasobject:
                raise CollectionError("the file holds Python objects, which this app never loads")
            if int(np.prod(shape, dtype=np.float64)) > MAX_DIGITS * 28 * 28:
                raise CollectionError(f"the file holds more than {MAX_DIGITS:,} digits")


def import_npz(name: str, data: bytes, directory: str | Path | None = None) -> Collection:
    """A new, closed collection ``name`` holding the digits of an exported ``.npz``; nothing is
    written unless the whole file passes :func:`read_npz`."""
    x, y = read_npz(data)
    name = _check_name(name)
    root = collections_dir(directory)
    with manifest_lock(root):
        folder = root / _slug(name)
        if (folder / "meta.json").exists():
            taken = _read_meta(folder)["name"]
            raise CollectionError(f"a collection called {taken!r} exists: pick another name")
        folder.mkdir(parents=True, exist_ok=True)
        _write_digits(folder, x, y)
        save_bytes(json.dumps({"name": name, "open": False}).encode(), folder / "meta.json")
    return Collection(folder, name, False)
