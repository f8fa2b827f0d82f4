"""The server's store of pictures at every amount, and the scenes it keeps (denoiser.results.pictures)."""

from denoiser.results.pictures import PictureStore


def test_one_caller_at_a_time_draws_a_set_and_everyone_then_finds_it():
    store = PictureStore()
    assert store.claim("digits") and not store.claim("digits")  # a second session waits for it
    assert store.get("digits") is None
    store.put("digits", {0.5: "picture"})
    assert store.get("digits") == {0.5: "picture"} and not store.claim("digits")  # here already


def test_a_failed_drawing_lets_another_caller_draw_the_set():
    store = PictureStore()
    assert store.claim("digits")
    store.release("digits")
    assert store.claim("digits")


def test_the_least_recently_used_set_goes_first():
    store = PictureStore(size=2)
    store.put("a", {0.0: "a"})
    store.put("b", {0.0: "b"})
    assert store.get("a")  # used: "b" is now the oldest
    store.put("c", {0.0: "c"})
    assert store.get("b") is None and store.get("a") and store.get("c")


def test_a_set_keeps_no_model_alive_and_a_later_model_never_takes_its_name():
    import gc
    import weakref

    import numpy as np

    from denoiser.models.runtime import Denoiser

    def make():
        return Denoiser(loader=lambda: None, name="upload")

    store, model = PictureStore(), make()
    key = (model.name, model.serial)
    store.put(key, {0.5: "picture"})
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None  # an ended session's upload is freed; its pictures stay
    later = [make() for _ in range(50)]
    assert all((m.name, m.serial) != key for m in later) and len({m.serial for m in later}) == 50
    assert np.all([store.get((m.name, m.serial)) is None for m in later])


def scene(**kwargs):
    import numpy as np

    from denoiser.results.pictures import Scene

    clean = np.random.default_rng(3).random((3, 28, 28)).astype(np.float32)
    fields = {"clean": clean, "labels": ["a", "b", "c"], "denoisers": {"blur": lambda x: x * 0.5 + 0.25},
              "noise": "gaussian", "seed": 4, "filters": ["median"], "versions": [1]}
    return Scene(**{**fields, **kwargs})


def test_a_scene_draws_the_same_picture_at_an_amount_alone_or_among_all_of_them():
    """The page shows the picture at the slider's amount at once and the other amounts after; the
    browser swaps between them, so each must be the picture drawn alone."""
    one, many = scene(), scene()
    assert one.key() == many.key()
    alone = one.at(0.4)
    among = many.at_each([0.1, 0.4, 0.9])
    assert set(among) == {0.1, 0.4, 0.9}
    assert among[0.4].png == alone.png and among[0.4].csv == alone.csv and among[0.4].alt == alone.alt
    assert among[0.1].png != alone.png


def test_a_scene_of_another_model_seed_or_view_is_another_key():
    base = scene().key()
    assert scene(versions=[2]).key() != base  # another model under the same name
    assert scene(seed=5).key() != base and scene(wide=True).key() != base and scene(scale=3).key() != base


def test_a_scene_fills_the_store_once_while_another_session_waits():
    store = PictureStore()
    first, second = scene(), scene()
    shown = first.at(0.5)
    assert store.claim(second.key())  # another session is drawing this scene
    assert first.fill(store, [0.0, 0.5, 1.0], {0.5: shown}) is None and store.get(first.key()) is None
    store.release(second.key())
    pictures = first.fill(store, [0.0, 0.5, 1.0], {0.5: shown})
    assert set(pictures) == {0.0, 0.5, 1.0} and pictures[0.5] is shown  # the one shown is not redrawn
    assert store.get(second.key()) is pictures


def test_a_scene_that_fails_to_draw_lets_another_session_try():
    import pytest

    store = PictureStore()

    def broken(x):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        scene(denoisers={"bad": broken}).fill(store, [0.0, 1.0], {})
    assert store.claim(scene(denoisers={"bad": broken}).key())


def test_a_session_waiting_for_another_s_set_gets_it_when_it_is_put_or_none_if_it_failed():
    """A class opening the page together: the second session waits for the set the first is
    drawing and has it the moment it is put (not at the end of its wait); if the drawing failed,
    it stops waiting at once; if the set is late, it gives up after its timeout."""
    import threading

    store = PictureStore()
    assert store.claim("digits")
    assert store.wait("digits", timeout=0.01) is None  # still being drawn: late
    got = []
    waiter = threading.Thread(target=lambda: got.append(store.wait("digits", timeout=120)))
    waiter.start()
    store.put("digits", {0.5: "picture"})
    waiter.join(30)  # far less than its 120 s: woken by the put
    assert not waiter.is_alive() and got == [{0.5: "picture"}]

    assert store.claim("letters")
    waiter = threading.Thread(target=lambda: got.append(store.wait("letters", timeout=120)))
    waiter.start()
    store.release("letters")  # the drawing failed
    waiter.join(30)
    assert not waiter.is_alive() and got[-1] is None
    assert store.wait("never claimed", timeout=120) is None  # nobody draws it: no wait at all
