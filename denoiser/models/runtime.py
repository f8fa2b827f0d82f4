"""The runtime denoiser: a trained model that maps noisy digits to clean ones.

A model with an ONNX export denoises and encodes on ONNX Runtime (:mod:`denoiser.models.onnx_session`),
batches of any size, with no TensorFlow; the Keras model loads only when something needs it
(the latent space's decoder, or a model without an export).
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from denoiser.digits.arrays import as_digits
from denoiser.models.config import ModelConfig
from denoiser.models.onnx_session import OnnxDecoder, OnnxModel

if TYPE_CHECKING:
    import keras


_SERIALS = itertools.count(1)


class Denoiser:
    """A trained denoiser: ``denoise(images)`` maps noisy digits in [0, 1] to clean ones.

    Parameters
    ----------
    model : keras.Model, optional
        The Keras model; or give ``loader`` to load it on first use.
    name, description : str
    config : ModelConfig
    info : dict
        The model's manifest entry.
    batch_size : int
        Digits per Keras call on large batches (``benchmarks.bench_denoise`` compares it with one
        bare Keras call on 10,000 digits).
    loader : callable, optional
        Returns the Keras model; called once, when first needed.
    keras_source : bytes or str, optional
        The ``.keras`` file's bytes or path, for work that needs the Keras model in a fresh
        process (:meth:`decode` exports the decoder there).
    onnx : OnnxModel, optional
        The same model in ONNX Runtime; when given, it does the denoising and encoding — except
        batches of ``race_from`` digits or more when the Keras model is loaded anyway and a first
        timing on this CPU found Keras faster (oneDNN with AVX-512 can beat ONNX Runtime on large
        batches; on AVX2 ONNX Runtime wins).
    """

    race_from = 1024
    race_size = 512
    #: Seconds the decoder's export may take (a fresh interpreter importing TensorFlow).
    decoder_seconds = 180.0
    clock: Callable[[], float] = staticmethod(time.perf_counter)

    def __init__(self, model: keras.Model | None = None, name: str = "model",
                 config: ModelConfig | None = None, description: str = "", info: dict | None = None,
                 batch_size: int = 4096, *, loader: Callable[[], keras.Model] | None = None,
                 onnx: OnnxModel | None = None, keras_source: bytes | str | None = None) -> None:
        if model is None and loader is None:
            raise ValueError("Denoiser needs a model or a loader")
        self._model, self._loader, self.onnx = model, loader, onnx
        self.name, self.description = name, description
        self.config = config or ModelConfig()
        self.info = info or {}
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._compiled: dict[int, object] = {}
        self.large_batch_path: str | None = None  # "onnx" or "keras", once raced
        self.keras_source = keras_source
        self._onnx_decoder: OnnxDecoder | None = None
        #: A number no other Denoiser of this process has (unlike ``id()``, never reused), so a
        #: cache can name the model without keeping it alive.
        self.serial = next(_SERIALS)

    @property
    def model(self) -> keras.Model:
        """The Keras model (loaded on first use when opened lazily)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._loader()
        return self._model

    @functools.cached_property
    def encoder(self) -> keras.Model | None:
        """Image → code half of a bottleneck model (None for models without a code)."""
        from denoiser.models.surgery import encoder_of

        return encoder_of(self.model)

    @functools.cached_property
    def decoder(self) -> keras.Model | None:
        """Code → image half of a bottleneck model (None for models without a code)."""
        from denoiser.models.surgery import decoder_of

        return decoder_of(self.model)

    @property
    def has_code(self) -> bool:
        if self.onnx is not None:
            return self.onnx.has_code
        return self.encoder is not None

    def denoise(self, images: np.ndarray) -> np.ndarray:
        """Denoise one digit (28, 28) or a batch (N, 28, 28); returns float32 of the same shape in [0, 1]."""
        x = as_digits(images)
        single = x.ndim == 2
        batch = x[None] if single else x
        out = np.clip(self._forward(batch).reshape(batch.shape), 0.0, 1.0)
        return out[0] if single else out

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        if self.onnx is None:
            return self._run(self.model, batch)
        if len(batch) < self.race_from or self._model is None:  # never loads Keras for speed
            return self.onnx(batch)
        if self.large_batch_path is None:
            self.large_batch_path = self._race(batch[: self.race_size])
        return self.onnx(batch) if self.large_batch_path == "onnx" else self._run(self._model, batch)

    def _race(self, sample: np.ndarray) -> str:
        """Time ONNX Runtime and Keras once on ``sample`` (each after a warm-up call); the faster."""
        paths = {"onnx": self.onnx, "keras": lambda b: self._run(self._model, b)}
        seconds = {}
        for name, run in paths.items():
            run(sample)  # warm-up: Keras traces its function, ONNX Runtime sizes its buffers
            start = self.clock()
            run(sample)
            seconds[name] = self.clock() - start
        return min(seconds, key=seconds.get)

    def encode(self, images: np.ndarray) -> np.ndarray:
        """Codes of digits (N, 28, 28) as (N, D); ValueError for models without a bottleneck."""
        if not self.has_code:
            raise ValueError(f"model {self.name!r} ({self.config.architecture}) has no bottleneck code")
        x = as_digits(images)
        batch = x[None] if x.ndim == 2 else x
        if self.onnx is not None:
            return self.onnx.encode(batch)
        return self._run(self.encoder, batch).reshape(len(batch), -1)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Digits (N, 28, 28) in [0, 1] rebuilt from bottleneck codes (N, D).

        A model opened lazily with an ONNX export decodes on ONNX Runtime, so the caller never
        imports TensorFlow: the first call exports the decoder in a fresh process (a few
        seconds), later calls take milliseconds. Otherwise Keras' decoder runs here.

        Raises
        ------
        ValueError
            The model has no bottleneck, the codes do not fit it, or the decoder could not be
            exported.
        """
        if not self.has_code:
            raise ValueError(f"model {self.name!r} ({self.config.architecture}) has no bottleneck code")
        codes = np.asarray(codes, np.float32)
        if codes.ndim != 2 or not np.isfinite(codes).all():
            raise ValueError(f"codes must be a finite (N, D) array, got shape {codes.shape}")
        if self.onnx is not None and self.keras_source is not None and self._model is None:
            out = self._decoder_on_onnx()(codes)
        else:
            decoder = self.decoder  # as encode runs the encoder: one traced call, in batches
            out = self._run(decoder, codes.reshape((len(codes), *decoder.input_shape[1:])))
        return np.clip(out.reshape(-1, 28, 28), 0.0, 1.0).astype(np.float32)

    def _decoder_on_onnx(self) -> OnnxDecoder:
        from denoiser.fresh import call_in_fresh_process
        from denoiser.models.onnx_export import decoder_onnx_from_file

        with self._lock:
            if self._onnx_decoder is None:
                try:
                    data = call_in_fresh_process(decoder_onnx_from_file, self.keras_source,
                                                 timeout=self.decoder_seconds)
                    self._onnx_decoder = OnnxDecoder(data)
                except Exception as err:  # noqa: BLE001 - whatever failed there, said in one line
                    raise ValueError(f"the decoder of {self.name!r} could not be prepared "
                                     f"({type(err).__name__}: {err})") from None
        return self._onnx_decoder

    def _run(self, model: keras.Model, batch: np.ndarray) -> np.ndarray:
        call = self._compiled.get(id(model))
        if call is None:
            call = _compiled_call(model)
            self._compiled[id(model)] = call
        if len(batch) <= self.batch_size:
            return call(batch)
        return np.concatenate([call(batch[i : i + self.batch_size])
                               for i in range(0, len(batch), self.batch_size)])


def _compiled_call(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """``model``'s forward pass as a numpy function.

    On TensorFlow, one ``tf.function`` with an open batch dimension, traced once for every
    batch size; on Keras's other backends (JAX, PyTorch), ``predict_on_batch``.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return model.predict_on_batch
    import tensorflow as tf

    spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
    graph = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    return lambda x: graph(x).numpy()
