"""A class's own digits (denoiser.teaching.collection): collected without a trace of who drew
them, never lost between processes, and exported and imported as checked .npz files."""

import io
import multiprocessing
import zipfile

import numpy as np
import pytest

from denoiser.teaching.collection import (
    MAX_DIGITS,
    CollectionError,
    add_digit,
    close_collection,
    delete_collection,
    export_npz,
    get_collection,
    import_npz,
    list_collections,
    open_collection,
    read_npz,
    remove_digit,
)


def digit(value: float = 0.5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((28, 28)).astype(np.float32) * value


def test_students_add_digits_the_teacher_removes_one_and_closes_it(tmp_path):
    class_7b = open_collection("Class 7B, Tuesday", tmp_path)
    assert [c.name for c in list_collections(tmp_path)] == ["Class 7B, Tuesday"]
    for label in (3, 3, 7):
        add_digit(class_7b, digit(seed=label), label)
    assert class_7b.counts()[3] == 2 and class_7b.counts()[7] == 1
    x, y = class_7b.digits()
    assert x.dtype == np.uint8 and x.shape == (3, 28, 28) and list(y) == [3, 3, 7]
    assert np.array_equal(x[2], np.round(digit(seed=7) * 255).astype(np.uint8))
    assert remove_digit(class_7b, 0) == 2
    assert list(class_7b.digits()[1]) == [3, 7]
    closed = close_collection(class_7b)
    assert not get_collection("Class 7B, Tuesday", tmp_path).open
    with pytest.raises(CollectionError, match="closed"):
        add_digit(closed, digit(), 1)
    assert len(closed.digits()[0]) == 2  # its digits stay after closing
    delete_collection(closed)
    assert list_collections(tmp_path) == []


def test_nothing_that_identifies_a_student_is_kept(tmp_path):
    """The folder holds the name, whether it is open, the pixels and the labels: nothing else."""
    collection = open_collection("7B", tmp_path)
    add_digit(collection, digit(), 4)
    assert sorted(p.name for p in collection.folder.iterdir()) == ["digits.npz", "meta.json"]
    with np.load(collection.folder / "digits.npz", allow_pickle=False) as data:
        assert sorted(data.files) == ["x", "y"]
    assert (collection.folder / "meta.json").read_text() == '{"name": "7B", "open": true}'


@pytest.mark.parametrize("bad, words", [
    (lambda: np.zeros((28, 27)), "28×28"),
    (lambda: np.full((28, 28), np.nan), "28×28"),
])
def test_what_is_not_a_digit_is_refused(tmp_path, bad, words):
    collection = open_collection("7B", tmp_path)
    with pytest.raises(CollectionError, match=words):
        add_digit(collection, bad(), 1)
    for label in (10, -1, True, 2.0):
        with pytest.raises(CollectionError, match="0 to 9"):
            add_digit(collection, digit(), label)
    assert len(collection.digits()[0]) == 0


def test_a_full_collection_says_so_and_keeps_what_it_has(tmp_path, monkeypatch):
    import denoiser.teaching.collection as module

    monkeypatch.setattr(module, "MAX_DIGITS", 3)
    collection = open_collection("7B", tmp_path)
    for i in range(3):
        add_digit(collection, digit(seed=i), i)
    with pytest.raises(CollectionError, match="full"):
        add_digit(collection, digit(), 5)
    assert list(collection.digits()[1]) == [0, 1, 2]


def test_names_are_checked_and_two_names_never_share_a_folder(tmp_path):
    with pytest.raises(CollectionError, match="1 to 60"):
        open_collection("../../etc", tmp_path)
    with pytest.raises(CollectionError, match="1 to 60"):
        open_collection("x" * 61, tmp_path)
    open_collection("Class 7B", tmp_path)
    with pytest.raises(CollectionError, match="another collection"):
        open_collection("class-7b", tmp_path)
    with pytest.raises(CollectionError, match="no collection"):
        get_collection("Class 9", tmp_path)


def _add_many(folder: str, start: int, count: int) -> None:
    from denoiser.teaching.collection import add_digit, get_collection

    collection = get_collection("together", folder)
    for i in range(count):
        add_digit(collection, np.full((28, 28), (start + i) / 255, np.float32), (start + i) % 10)


@pytest.mark.slow  # starts processes
def test_two_processes_adding_at_once_lose_nothing(tmp_path):
    open_collection("together", tmp_path)
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_add_many, args=(str(tmp_path), start, 25)) for start in (0, 100)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    x, _ = get_collection("together", tmp_path).digits()
    assert sorted(x[:, 0, 0].tolist()) == [*range(25), *range(100, 125)]


def test_an_export_comes_back_as_a_closed_collection_with_the_same_digits(tmp_path):
    collection = open_collection("7B", tmp_path / "this term")
    for label in range(10):
        add_digit(collection, digit(seed=label), label)
    data = export_npz(collection)
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:  # Keras' MNIST layout
        assert sorted(npz.files) == ["x_test", "x_train", "y_test", "y_train"]
        assert npz["x_train"].shape == (10, 28, 28) and npz["x_test"].shape == (0, 28, 28)
    again = import_npz("7B from last term", data, tmp_path / "next term")
    assert not again.open
    for a, b in zip(collection.digits(), again.digits()):
        assert np.array_equal(a, b)
    with pytest.raises(CollectionError, match="exists"):
        import_npz("7B from last term", data, tmp_path / "next term")


def npz(**arrays) -> bytes:
    fields = {"x_train": np.zeros((2, 28, 28), np.uint8), "y_train": np.array([1, 2], np.uint8),
              "x_test": np.zeros((0, 28, 28), np.uint8), "y_test": np.zeros(0, np.uint8)}
    fields.update(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **{k: v for k, v in fields.items() if v is not None})
    return buffer.getvalue()


class Touches:
    def __reduce__(self):
        import os

        return (os.system, ("touch /tmp/denoiser-collection-pwned",))


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"not a zip at all", "not an .npz"),
    (npz(x_train=np.zeros((2, 28, 28), np.float32)), "uint8"),
    (npz(x_train=np.zeros((2, 32, 32), np.uint8)), "28×28"),
    (npz(y_train=np.array([1, 12], np.uint8)), "outside 0-9"),
    (npz(y_train=np.array([1], np.uint8)), "one whole-number label per digit"),
    (npz(y_train=np.array([1.0, 2.0])), "one whole-number label per digit"),
    (npz(y_test=None), "exactly x_train"),
    (npz(extra=np.zeros(3)), "exactly x_train"),
    (npz(y_train=np.array([Touches(), Touches()], dtype=object)), "Python objects"),
    (npz(x_train=np.zeros((MAX_DIGITS + 1, 28, 28), np.uint8),
         y_train=np.zeros(MAX_DIGITS + 1, np.uint8)), "more than"),
], ids=lambda value: value if isinstance(value, str) else "npz")  # named by the words, not the bytes
def test_a_bad_npz_is_refused_in_plain_words_and_changes_nothing(tmp_path, data, words):
    with pytest.raises(CollectionError, match=words):
        import_npz("imported", data, tmp_path)
    assert list_collections(tmp_path) == []
    assert not (tmp_path / "imported").exists()
    import os

    assert not os.path.exists("/tmp/denoiser-collection-pwned")


def test_an_array_header_claiming_a_huge_shape_is_refused_before_numpy_reserves_it():
    archive = zipfile.ZipFile(io.BytesIO(npz()))
    header = archive.read("x_train.npy")
    # a longer shape in the same header length: seven of its padding spaces make room
    huge = header.replace(b"(2, 28, 28)", b"(99999999, 28, 28)").replace(b" " * 7 + b"\n", b"\n", 1)
    assert len(huge) == len(header)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name in archive.namelist():
            out.writestr(name, huge if name == "x_train.npy" else archive.read(name))
    with pytest.raises(CollectionError, match="more than"):
        read_npz(buffer.getvalue())


def test_other_handwriting_offers_collections_with_digits_then_the_uci_digits(tmp_path):
    from denoiser.teaching.handwriting import other_handwriting, split_held_out

    add_digit(open_collection("7B", tmp_path), np.pad(np.full((20, 4), 255, np.uint8), ((4, 4), (12, 12))), 1)
    open_collection("Empty", tmp_path)
    sets = other_handwriting(tmp_path)
    assert list(sets) == ["class: 7B", "UCI optical digits"]  # an empty collection is no set
    assert sets["class: 7B"]().y_test.tolist() == [1] and len(sets["UCI optical digits"]().x_test) == 1797
    train, held = split_held_out(1797)
    assert (len(train), len(held)) == (1198, 599) and not set(train) & set(held)
    assert split_held_out(1797)[1].tolist() == held.tolist()  # the same split every time
    assert [len(part) for part in split_held_out(1)] == [1, 0]  # one digit: nothing to hold out
    assert [len(part) for part in split_held_out(2)] == [1, 1]
