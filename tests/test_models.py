import keras
import numpy as np
import pytest

from denoiser.models.build import ModelConfig, build_model, build_unet, unet_features
from denoiser.models.files import read_manifest
from denoiser.models.shipped import load_pretrained
from denoiser.models.surgery import encoder_of, grow


def dense_sizes(model):
    return [layer.units for layer in model.layers if hasattr(layer, "units")]


def test_tutorial_config_has_exactly_the_tutorials_layers():
    cfg = ModelConfig.tutorial()
    model = build_model(cfg)
    assert dense_sizes(model) == [32, 784]
    assert model.get_layer("code").activation.__name__ == "relu"
    assert model.get_layer("pixels").activation.__name__ == "sigmoid"
    assert model.count_params() == 784 * 32 + 32 + 32 * 784 + 784
    assert cfg.optimizer == "adadelta" and cfg.loss == "binary_crossentropy"
    assert model.optimizer.__class__.__name__ == "Adadelta"
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    assert not model.get_layer("pixels").bias.numpy().any()  # Keras's zero bias, as there


def test_convolutional_outputs_start_near_the_mean_pixel_not_mid_grey():
    rng = np.random.default_rng(0)
    noisy = rng.random((8, 28, 28)).astype("float32")
    for config in (ModelConfig("conv", filters=8), ModelConfig("unet", filters=8, context=16)):
        out = np.asarray(build_model(config).predict_on_batch(noisy))
        assert 0.03 < out.mean() < 0.3, config.architecture  # sigmoid(-2) = 0.12, not 0.5


def test_dense_encoder_shrinks_and_decoder_mirrors():
    model = build_model(ModelConfig("dense", code_size=16, layers=3, nodes=256))
    assert dense_sizes(model) == [256, 128, 16, 128, 256, 784]


def test_dense_layers_never_shrink_below_the_code():
    assert ModelConfig("dense", code_size=64, layers=4, nodes=100).dense_sizes() == [100, 64, 64, 64]


@pytest.mark.parametrize("cfg", [ModelConfig("dense"), ModelConfig("conv", filters=8),
                                 ModelConfig("unet", filters=4),
                                 ModelConfig("unet", filters=4, context=8)])
def test_every_architecture_maps_digits_to_digits(cfg):
    model = build_model(cfg)
    x = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    y = np.asarray(model.predict_on_batch(x))
    assert y.shape == (3, 28, 28)
    assert y.min() >= 0 and y.max() <= 1


def test_bottleneck_models_expose_their_encoder():
    dense = build_model(ModelConfig("dense", code_size=10))
    assert encoder_of(dense).output_shape == (None, 10)
    conv = build_model(ModelConfig("conv", filters=8))
    assert encoder_of(conv).output_shape == (None, 7, 7, 8)
    assert encoder_of(build_model(ModelConfig("unet", filters=4))) is None


@pytest.mark.parametrize("kwargs, match", [
    ({"architecture": "transformer"}, "dense, conv, unet"),
    ({"loss": "hinge"}, "binary_crossentropy, mse, psnr"),
    ({"optimizer": "rmsprop"}, "adam, adadelta, sgd"),
    ({"code_size": 0}, r"code_size must be in \[1, 784\]"),
    ({"layers": 50}, r"layers must be in \[1, 5\]"),
    ({"nodes": 2.5}, "whole number"),
    ({"learning_rate": 100.0}, r"learning_rate must be in"),
    ({"filters": "many"}, "must be a number"),
    ({"context": -1}, r"context must be in \[0, 1024\]"),
    ({"blocks": 5}, r"blocks must be in \[0, 4\]"),
    ({"clip_flags": "yes"}, "clip_flags must be true or false"),
    ({"architecture": "conv", "blocks": 2}, "architecture 'conv' does not read blocks=2"),
    ({"architecture": "dense", "filters": 8}, "architecture 'dense' does not read filters=8"),
    ({"context": 128, "clip_flags": True}, "architecture 'dense' does not read context=128, clip_flags=True"),
])
def test_absurd_hyperparameters_are_refused_with_the_valid_range(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kwargs)


def test_config_round_trips_through_dict():
    cfg = ModelConfig("unet", filters=12, loss="mse")
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown config keys: bogus"):
        ModelConfig.from_dict({**cfg.to_dict(), "bogus": 1})


def test_psnr_loss_is_minus_each_images_psnr():
    from denoiser.models.build import psnr_loss
    from denoiser.results.metrics import psnr

    rng = np.random.default_rng(0)
    clean = rng.random((5, 28, 28)).astype(np.float32)
    guess = np.clip(clean + rng.normal(0, 0.1, clean.shape), 0, 1).astype(np.float32)
    loss = np.asarray(psnr_loss(clean, guess))
    assert loss.shape == (5,)
    np.testing.assert_allclose(-loss, psnr(clean, guess), atol=0.01)  # 1e-5 floor: tiny offset


@pytest.mark.slow
def test_context_layer_sees_the_whole_digit():
    """With context, a pixel far from a change still reacts to it; without, a U-Net's reach is local."""
    x = np.zeros((2, 28, 28), np.float32)
    x[1, 0, 0] = 1.0  # the two inputs differ only in one corner pixel
    for context, far_apart in ((0, False), (8, True)):
        keras.utils.set_random_seed(0)
        y = np.asarray(build_model(ModelConfig("unet", filters=4, context=context)).predict_on_batch(x))
        assert (np.abs(y[0, 27, 27] - y[1, 27, 27]) > 0) == far_apart


@pytest.mark.slow
def test_grow_adds_context_without_changing_the_output():
    keras.utils.set_random_seed(0)
    small = build_model(ModelConfig("unet", filters=4))
    rng = np.random.default_rng(0)  # not a fresh model: random biases too
    small.set_weights([w + rng.normal(0, 0.02, w.shape).astype(np.float32) for w in small.get_weights()])
    grown = grow(small, ModelConfig("unet", filters=4, context=8))
    x = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    assert grown.get_layer("context").weights  # the new layer exists ...
    np.testing.assert_allclose(grown.predict_on_batch(x), small.predict_on_batch(x), atol=1e-6)
    loss_before = grown.evaluate(x, x, verbose=0)
    grown.fit(x, x, epochs=3, verbose=0)  # ... and trains
    assert grown.evaluate(x, x, verbose=0) < loss_before


@pytest.mark.slow
def test_grow_widens_a_unet_without_changing_the_output():
    keras.utils.set_random_seed(0)
    small = build_model(ModelConfig("unet", filters=4, context=8))
    rng = np.random.default_rng(1)
    small.set_weights([w + rng.normal(0, 0.05, w.shape).astype(np.float32) for w in small.get_weights()])
    wide = grow(small, ModelConfig("unet", filters=7, context=12))
    assert wide.get_layer("enc1_a").kernel.shape[-1] == 7 and wide.count_params() > 2 * small.count_params()
    x = np.random.default_rng(0).random((4, 28, 28)).astype(np.float32)
    before = np.asarray(small.predict_on_batch(x))
    assert before.std() > 1e-3  # a model whose output depends on its weights
    np.testing.assert_allclose(wide.predict_on_batch(x), before, atol=1e-5)
    # The old channels keep their weights; the new ones start random, not zero.
    np.testing.assert_array_equal(wide.get_layer("enc1_a").kernel.numpy()[..., :4],
                                  small.get_layer("enc1_a").kernel.numpy())
    assert np.abs(wide.get_layer("enc1_a").kernel.numpy()[..., 4:]).max() > 0
    loss_before = wide.evaluate(x, x, verbose=0)
    wide.fit(x, x, epochs=3, verbose=0)
    assert wide.evaluate(x, x, verbose=0) < loss_before
    assert np.abs(wide.get_layer("dec1_a").kernel.numpy()[:, :, 4:7, :4]).max() > 0  # new channels now count


def _weight_layout(model):
    return [(layer.name, [tuple(w.shape) for w in layer.weights]) for layer in model.layers if layer.weights]


@pytest.mark.slow
def test_unet_keeps_the_layer_names_of_the_shipped_models():
    # grow() and --init match weights by layer name: a renamed layer would silently start fresh.
    shipped = load_pretrained("unet-gaussian").model
    config = ModelConfig.from_dict(read_manifest()["models"]["unet-gaussian"]["config"])
    rebuilt = build_model(config, compile=False)
    assert _weight_layout(rebuilt) == _weight_layout(shipped)


@pytest.mark.slow
def test_two_unet_bodies_fit_in_one_model_under_different_prefixes():
    inputs = keras.Input((28, 28, 1))
    first = unet_features(inputs, 4, context=8)
    second = unet_features(keras.layers.Concatenate()([inputs, first]), 3, prefix="refine_")
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1)(second))
    names = [layer.name for layer in model.layers]
    assert len(names) == len(set(names))
    assert {"enc1_a", "refine_enc1_a", "context", "dec1_b", "refine_dec1_b"} <= set(names)
    assert "refine_context" not in names  # no context asked for the second body
    assert model.predict_on_batch(np.zeros((2, 28, 28, 1), np.float32)).shape == (2, 28, 28, 1)


def test_unet_stage_end_sees_each_stage_and_its_output_is_used():
    seen = []

    def stage_end(maps, side):
        seen.append((side, maps.shape[1], maps.shape[-1]))
        if side == 14:
            return keras.layers.Conv2D(maps.shape[-1], 1, name=f"extra_{side}")(maps)
        return maps

    config = ModelConfig("unet", filters=4, context=8, blocks=1)
    model = build_unet(config, stage_end=stage_end)
    assert seen == [(7, 7, 16), (14, 14, 8), (28, 28, 4)]
    plain = build_unet(config)
    assert model.count_params() == plain.count_params() + 8 * 8 + 8
    assert model.get_layer("up1").input is model.get_layer("extra_14").output  # used, not dropped
    assert model.predict_on_batch(np.zeros((2, 28, 28), np.float32)).shape == (2, 28, 28)


@pytest.mark.slow
def test_grow_deepens_a_unet_without_changing_the_output():
    keras.utils.set_random_seed(0)
    small = build_model(ModelConfig("unet", filters=4, context=8))
    rng = np.random.default_rng(2)
    small.set_weights([w + rng.normal(0, 0.05, w.shape).astype(np.float32) for w in small.get_weights()])
    deep = grow(small, ModelConfig("unet", filters=4, context=8, blocks=2))
    added = {layer.name for layer in deep.layers if layer.weights} - {
        layer.name for layer in small.layers if layer.weights}
    assert added == {f"res{level}_{i}_{ab}" for level in (1, 2, 4) for i in (0, 1) for ab in "ab"}
    assert deep.get_layer("res4_0_a").kernel.shape[-1] == 16  # a block keeps its scale's width
    x = np.random.default_rng(0).random((4, 28, 28)).astype(np.float32)
    before = np.asarray(small.predict_on_batch(x))
    assert before.std() > 1e-3
    np.testing.assert_allclose(deep.predict_on_batch(x), before, atol=1e-6)  # blocks start as identity
    assert np.abs(deep.get_layer("res1_0_a").kernel.numpy()).max() > 0  # only their last conv is zero
    loss_before = deep.evaluate(x, x, verbose=0)
    deep.fit(x, x, epochs=3, verbose=0)
    assert deep.evaluate(x, x, verbose=0) < loss_before
    assert np.abs(deep.get_layer("res1_0_b").kernel.numpy()).max() > 0  # the blocks now count


def test_clip_flags_mark_exactly_the_clipped_pixels():
    model = build_model(ModelConfig("unet", filters=4, clip_flags=True))
    maps = keras.Model(model.input, model.get_layer("noisy_and_clipped").output)
    x = np.random.default_rng(3).random((2, 28, 28)).astype(np.float32)
    x[0, :5], x[1, 10:] = 0.0, 1.0
    x[0, 5, :3] = [1e-3, 0.999, 0.5]  # near the ends, but not clipped
    out = np.asarray(maps.predict_on_batch(x))
    assert out.shape == (2, 28, 28, 3)
    np.testing.assert_array_equal(out[..., 0], x)
    np.testing.assert_array_equal(out[..., 1], (x == 0).astype(np.float32))
    np.testing.assert_array_equal(out[..., 2], (x == 1).astype(np.float32))


@pytest.mark.slow
def test_grow_adds_clip_flags_without_changing_the_output():
    keras.utils.set_random_seed(0)
    small = build_model(ModelConfig("unet", filters=4, context=8, blocks=1))
    rng = np.random.default_rng(4)
    small.set_weights([w + rng.normal(0, 0.05, w.shape).astype(np.float32) for w in small.get_weights()])
    flagged = grow(small, ModelConfig("unet", filters=4, context=8, blocks=1, clip_flags=True))
    assert flagged.get_layer("enc1_a").kernel.shape[-2] == 3  # noisy value + two flags
    x = np.clip(rng.normal(0.3, 0.5, (4, 28, 28)), 0, 1).astype(np.float32)
    before = np.asarray(small.predict_on_batch(x))
    np.testing.assert_allclose(flagged.predict_on_batch(x), before, atol=1e-6)  # flags start unused
    flagged.fit(x, np.clip(x, 0.2, 0.8), epochs=3, verbose=0)
    assert np.abs(flagged.get_layer("enc1_a").kernel.numpy()[:, :, 1:]).max() > 0  # now they count


@pytest.mark.slow
def test_grow_widens_a_unet_that_already_has_clip_flags():
    keras.utils.set_random_seed(0)
    small = build_model(ModelConfig("unet", filters=4, clip_flags=True))
    rng = np.random.default_rng(5)
    small.set_weights([w + rng.normal(0, 0.05, w.shape).astype(np.float32) for w in small.get_weights()])
    wide = grow(small, ModelConfig("unet", filters=6, clip_flags=True))
    x = np.clip(rng.normal(0.3, 0.5, (4, 28, 28)), 0, 1).astype(np.float32)
    np.testing.assert_allclose(wide.predict_on_batch(x), small.predict_on_batch(x), atol=1e-6)
