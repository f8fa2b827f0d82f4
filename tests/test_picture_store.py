"""The server's store of pictures at every amount (ui.instant_slider.PictureStore)."""

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
