"""The Denoise picture: a comparison drawn as one PNG with its words, and a store of pictures.

:func:`draw_picture` turns a :class:`~denoiser.results.compare.Comparison` into what a page or the CLI
shows: the grid as PNG, its rows' means, its scores as CSV and its description for a screen
reader. :class:`Scene` is what one such picture is made of (digits, models, noise, style): the
Denoise page and ``python -m denoiser show`` draw it at an amount, and the page draws it at the
slider's other amounts too. :class:`PictureStore` keeps those pictures, shared by a server's
sessions (``ui.instant_slider`` hands them to the browser).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from denoiser.digits.noise import add_noise
from denoiser.results.compare import Comparison, compare, compare_amounts, describe, scores_csv
from denoiser.results.grid import COLUMNS_UP_TO, digit_grid, png_bytes

#: Rows drawn side by side (a column per row) up to this many rows, unless ``wide``.
COLUMN_ROWS = 4


class Picture(NamedTuple):
    """The result grid at one amount, as the page shows it."""

    labels: list[str]  # the rows'
    means: list[dict]  # each row's mean PSNR and SSIM
    png: bytes
    width: int
    columns: bool  # rows drawn side by side
    csv: str = ""  # every row's scores for every digit (denoiser.results.compare.scores_csv)
    alt: str = ""  # what the picture shows, for a screen reader (denoiser.results.compare.describe)


class PictureStore:
    """Pictures at every amount, shared by the server's sessions, the last ``size`` sets used.

    Test digits are the same for every session at the same sample, class and count (a class
    pressing New sample walks the same seeds), so a set drawn for one student serves the next.
    A key names the models drawn with by their :attr:`~denoiser.models.runtime.Denoiser.serial`, which no
    later model reuses, so the store keeps no model alive: a session's upload goes with the
    session, only its pictures stay until they are the oldest. One session at a time draws a
    set (:meth:`claim`): when a class opens the page together, the first draws it and the others
    wait a little for it (:meth:`wait`) or find it on their next rerun, instead of all drawing
    the same pictures at once.
    """

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, dict[float, Picture]] = OrderedDict()
        self._drawing: set[Hashable] = set()
        self._lock = threading.Lock()
        self._news = threading.Condition(self._lock)  # a set put, or a claim released

    def claim(self, key: Hashable) -> bool:
        """Whether the caller is to draw the set for ``key``: False when it is here already or
        another caller is drawing it. A claim ends with :meth:`put` or :meth:`release`."""
        with self._lock:
            if key in self._entries or key in self._drawing:
                return False
            self._drawing.add(key)
            return True

    def release(self, key: Hashable) -> None:
        """End a claim without a set (the drawing failed): another caller may claim it."""
        with self._lock:
            self._drawing.discard(key)
            self._news.notify_all()

    def wait(self, key: Hashable, timeout: float) -> dict[float, Picture] | None:
        """The set for ``key`` once the caller drawing it has put it, waiting at most ``timeout``
        seconds; None when it is not here by then (or its drawing failed)."""
        with self._news:
            self._news.wait_for(lambda: key in self._entries or key not in self._drawing, timeout)
        return self.get(key)

    def get(self, key: Hashable) -> dict[float, Picture] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: Hashable, pictures: dict[float, Picture]) -> None:
        with self._lock:
            self._drawing.discard(key)
            self._entries[key] = pictures
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
            self._news.notify_all()


def draw_picture(result: Comparison, noise: str, amount: float, *, scale: int = 4, font_size: int = 13,
                 wide: bool = False) -> Picture:
    """``result`` as the picture a page shows, with its means, scores and description.

    A few digits (up to :data:`~denoiser.results.grid.COLUMNS_UP_TO`) are drawn with the rows side by
    side, so the denoised digit sits beside the noisy one: when there are at most
    :data:`COLUMN_ROWS` rows, or whatever their number with ``wide`` (a projector, whose screen
    is wider than tall). A column's heading is then its model's name alone (the description
    spells out "Denoised by").
    """
    digits = len(result.rows[-1][1]) if result.rows else 0
    columns = digits <= COLUMNS_UP_TO and (wide or len(result.rows) <= COLUMN_ROWS)
    rows = result.rows
    if columns:
        rows = [(label.removeprefix("Denoised by "), images, captions) for label, images, captions in rows]
    grid = digit_grid(rows, columns=columns, scale=scale, font_size=font_size)
    return Picture(result.labels, result.means, png_bytes(grid), grid.shape[1], columns,
                   scores_csv(result, noise, amount), describe(result, noise, amount))


@dataclass(frozen=True, eq=False)
class Scene:
    """What one Denoise picture is drawn from: clean digits and their labels, the denoisers
    (name → function, each with a ``version`` that changes when the model behind a name does),
    filters, the difference row, the noise kind and seed, and the drawing's style."""

    clean: np.ndarray
    labels: Sequence[str]
    denoisers: dict[str, Callable[[np.ndarray], np.ndarray]]
    noise: str
    seed: int = 0
    filters: Sequence[str] = ()
    show_diff: bool = False
    scale: int = 4
    font_size: int = 13
    wide: bool = False
    versions: Sequence[object] = field(default=())

    def key(self) -> tuple:
        """The same for two scenes that draw the same pictures (a :class:`PictureStore` key)."""
        return (hash(self.clean.tobytes()), tuple(self.labels), tuple(self.denoisers), tuple(self.versions),
                tuple(self.filters), self.show_diff, self.noise, self.seed, self.scale, self.font_size,
                self.wide)

    def _draw(self, result: Comparison, amount: float) -> Picture:
        return draw_picture(result, self.noise, amount, scale=self.scale, font_size=self.font_size,
                            wide=self.wide)

    def at(self, amount: float) -> Picture:
        """The picture at noise ``amount``: the digits made noisy, denoised, measured and drawn."""
        noisy = add_noise(self.clean, self.noise, amount, seed=self.seed)
        return self._draw(compare(self.clean, self.labels, noisy, self.denoisers, self.filters,
                                  self.show_diff), amount)

    def at_each(self, amounts: Sequence[float]) -> dict[float, Picture]:
        """The pictures at each of ``amounts`` (one model call for all of them)."""
        results = compare_amounts(self.clean, self.labels, self.noise, list(amounts), self.seed,
                                  self.denoisers, self.filters, self.show_diff)
        return {amount: self._draw(result, amount) for amount, result in zip(amounts, results)}

    def fill(self, store: PictureStore, amounts: Sequence[float], drawn: dict[float, Picture]
             ) -> dict[float, Picture] | None:
        """Draw the scene at the ``amounts`` not in ``drawn`` and keep them all in ``store``; None
        (nothing drawn) while another session draws the same scene (:meth:`PictureStore.claim`)."""
        key = self.key()
        if not store.claim(key):
            return None
        try:
            pictures = {**self.at_each([a for a in amounts if a not in drawn]), **drawn}
        except BaseException:
            store.release(key)  # another session may draw them
            raise
        store.put(key, pictures)
        return pictures
