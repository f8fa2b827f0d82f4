"""A trained model's weights carried into another: the same model rebuilt, a U-Net grown without
losing its training, and the encoder and decoder halves of a bottleneck model.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from denoiser.models.build import build_model
from denoiser.models.config import ModelConfig


def rebuild(model: keras.Model, config: ModelConfig, compile: bool = True) -> keras.Model:
    """A new ``config`` model holding ``model``'s weights, built under the current dtype policy.

    ``config`` must describe ``model``'s architecture (weights are copied in order). Used to
    train a float32 model in mixed precision and to save the result as float32 again.
    """
    new = build_model(config, compile=compile)
    new.set_weights(model.get_weights())
    return new


def grow(model: keras.Model, config: ModelConfig) -> keras.Model:
    """A bigger ``config`` model that starts out computing what ``model`` computes.

    Three ways to grow a trained U-Net without losing its training:

    - add whole-digit context: the new ``context_merge`` convolution starts as the
      identity on the bottleneck and zero on the context maps;
    - widen it (more ``filters``): each layer's old weights land on its old
      channels, the new channels start from fresh random weights, and every
      weight from a new channel into an old one starts at zero. The old
      channels (and so the output) are unchanged until training puts the new
      ones to use;
    - deepen it (more ``blocks``): each new residual block's last convolution
      starts at zero, so the block passes its input through unchanged;
    - add ``clip_flags``: the weights from the two new input maps start at zero.

    Weights are matched by layer name; layers the old model lacks keep their
    fresh initial weights.
    """
    new = build_model(config)
    old = {layer.name: layer for layer in model.layers if layer.weights}
    had_flags = any(layer.name.startswith("clipped_") for layer in model.layers)
    positions = _old_channel_positions(new, old, new_flags=config.clip_flags and not had_flags)
    for layer in new.layers:
        if layer.name in old:
            layer.set_weights(_embed(layer, old[layer.name], positions[layer.name]))
    if config.context and "context_merge" not in old:
        merge = new.get_layer("context_merge")
        kernel, bias = (np.zeros_like(w) for w in merge.get_weights())
        channels = kernel.shape[-1]  # the bottleneck's channels come first in the concatenation
        kernel[1, 1, :channels, :] = np.eye(channels, dtype=kernel.dtype)
        merge.set_weights([kernel, bias])
    for layer in new.layers:
        if layer.name.startswith("res") and layer.name.endswith("_b") and layer.name not in old:
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    return new


def _inputs_of(node_config) -> list[str]:
    """Names of the layers feeding one layer, in order, from a functional model's config."""
    if isinstance(node_config, dict):
        history = node_config.get("config", {}).get("keras_history")
        if isinstance(history, (list, tuple)) and history:
            return [history[0]]
        return [name for value in node_config.values() for name in _inputs_of(value)]
    if isinstance(node_config, (list, tuple)):
        return [name for value in node_config for name in _inputs_of(value)]
    return []


def _old_channel_positions(new: keras.Model, old: dict, new_flags: bool = False
                           ) -> dict[str, list[int]]:
    """For each layer of ``new``, where the old model's input channels sit in its input.

    Walks the graph once: a weighted layer's old outputs are its first channels;
    pooling and activations keep positions; a concatenation offsets each part by
    the new widths before it; a flatten repeats the positions per pixel. With
    ``new_flags``, the clip-flag maps are new: none of their channels is old.
    """
    out: dict[str, list[int]] = {}  # layer name -> old channel positions in its output
    inputs: dict[str, list[int]] = {}
    first_part: dict[str, list[int]] = {}  # concatenation -> positions in its first part
    for spec in new.get_config()["layers"]:
        name, kind = spec["name"], spec["class_name"]
        layer = new.get_layer(name)
        width = layer.output.shape[-1]
        sources = _inputs_of(spec["inbound_nodes"])
        if not sources:
            out[name] = list(range(width))
            continue
        if kind == "Concatenate":
            merged, offset = [], 0
            for src in sources:
                merged += [offset + p for p in out[src]]
                offset += new.get_layer(src).output.shape[-1]
            incoming, first_part[name] = merged, out[sources[0]]
        else:
            incoming = out[sources[0]]
        inputs[name] = incoming
        if name in old:
            out[name] = list(range(old[name].output.shape[-1]))
        elif name == "context_merge":  # a new merge starts as the identity on the bottleneck
            out[name] = first_part[sources[0]]
        elif new_flags and name.startswith("clipped_"):  # new clip flags: nothing of the old model
            out[name] = []
        elif layer.weights:  # a new layer: none of its output comes from the old model
            out[name] = list(range(width))
        elif kind == "Flatten":
            channels = new.get_layer(sources[0]).output.shape[-1]
            pixels = width // channels
            out[name] = [i * channels + p for i in range(pixels) for p in incoming]
        elif kind == "Reshape":
            before = new.get_layer(sources[0]).output.shape[-1]
            if len(incoming) != before:
                raise ValueError(f"cannot widen through {name}: a reshape of a widened tensor")
            out[name] = list(range(width))
        else:
            out[name] = incoming
    return inputs


def _embed(layer, old_layer, incoming: list[int]) -> list[np.ndarray]:
    """``layer``'s weights with ``old_layer``'s written onto the old channels."""
    kernel, *rest = (w.copy() for w in layer.get_weights())
    old_kernel, *old_rest = old_layer.get_weights()
    transposed = isinstance(layer, layers.Conv2DTranspose)  # kernel is (h, w, out, in)
    if transposed:
        kernel, old_kernel = np.swapaxes(kernel, -1, -2), np.swapaxes(old_kernel, -1, -2)
    if old_kernel.shape[:-2] != kernel.shape[:-2] or old_kernel.shape[-2] != len(incoming):
        raise ValueError(f"layer {layer.name}: old weights {old_kernel.shape} do not fit {kernel.shape}")
    n_out = old_kernel.shape[-1]
    kernel[..., :n_out] = 0.0  # nothing new flows into an old channel ...
    kernel[..., incoming, :n_out] = old_kernel  # ... which computes what it did
    if transposed:
        kernel = np.swapaxes(kernel, -1, -2)
    for w, old_w in zip(rest, old_rest):
        w[:n_out] = old_w
    return [kernel, *rest]


def encoder_of(model: keras.Model) -> keras.Model | None:
    """The encoder (input → layer named ``code``) of a model, or None if it has no bottleneck."""
    try:
        code = model.get_layer("code")
    except ValueError:
        return None
    return keras.Model(model.inputs, code.output, name=f"{model.name}_encoder")


def decoder_of(model: keras.Model) -> keras.Model | None:
    """The decoder (code → image) of a bottleneck model, sharing its layers; None without a code.

    The layers after ``code`` are applied in order, which holds for the
    chain-shaped ``dense`` and ``conv`` models.
    """
    names = [layer.name for layer in model.layers]
    if "code" not in names:
        return None
    code = model.get_layer("code")
    x = inputs = keras.Input(shape=code.output.shape[1:], name="code_in")
    for layer in model.layers[names.index("code") + 1 :]:
        x = layer(x)
    return keras.Model(inputs, x, name=f"{model.name}_decoder")
