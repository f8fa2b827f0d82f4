"""The class gallery: models a teacher publishes on this server, for every session to use.

A gallery is a model directory like ``pretrained/`` (``.keras`` + ``.onnx`` files and a
manifest), so its models load with :func:`denoiser.models.shipped.load_pretrained` and are checked
the same way. Publishing needs the teacher code (the app reads it from its secrets); without a
code set, nobody can publish and every session sees only the shipped models and its own runs.
The name a teacher types is only a manifest key, checked; files are named by their checksum.

Every change happens under the folder's lock (:func:`denoiser.models.files.manifest_lock`), so
replicas sharing one gallery folder never lose a publish, and the cap is checked under it. A
:class:`CodeGuard` slows and locks out wrong teacher codes, per session and per server.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

from denoiser.models.files import (
    MANIFEST,
    ModelFileError,
    manifest_lock,
    read_manifest,
    register,
    save_bytes,
    unregister,
)

log = logging.getLogger(__name__)

#: Environment variable naming the gallery's directory.
GALLERY_VAR = "DENOISER_GALLERY"
#: Models a gallery holds at most; publishing more asks the teacher to remove one first.
MAX_MODELS = 12
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,31}")


def gallery_dir(directory: str | Path | None = None) -> Path:
    """``directory``, else ``$DENOISER_GALLERY``, else ``~/.local/share/denoiser/gallery``."""
    if directory or os.environ.get(GALLERY_VAR):
        return Path(directory or os.environ[GALLERY_VAR])
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "denoiser" / "gallery"


class GalleryError(ValueError):
    """Publishing was refused: wrong or missing teacher code, a bad name, or a full gallery."""


#: What a person is told when no teacher code is set, and when the code given is not it.
OFF = "publishing is off on this server: set teacher_code in the app's secrets"
WRONG = "that is not the teacher code"


def _is_code(given: str | None, expected: str) -> bool:
    """Whether ``given`` is the code (compared in constant time)."""
    return bool(given) and hmac.compare_digest(given.encode(), str(expected).encode())


class CodeGuard:
    """Wrong teacher codes, slowed and locked out: per session and for the whole server.

    After each wrong code a session waits twice as long as before (1 s, 2 s, 4 s … at most
    ``most_wait``) before its next try is even compared; ``per_session`` wrong codes within
    ``window`` seconds lock that session out for ``lockout`` seconds, and ``per_server`` wrong
    codes from all sessions within ``window`` lock every session out (a class cannot guess by
    opening new tabs). Each wrong code is logged, without what was typed.

    Parameters
    ----------
    clock : callable
        Seconds (tests inject one).
    """

    def __init__(self, per_session: int = 5, per_server: int = 30, window: float = 900.0,
                 lockout: float = 900.0, most_wait: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_session, self.per_server = per_session, per_server
        self.window, self.lockout, self.most_wait, self.clock = window, lockout, most_wait, clock
        self._lock = threading.Lock()
        self._failures: dict[str, list[float]] = {}  # session -> times of its wrong codes
        self._server: list[float] = []
        self._locked: dict[str, float] = {}  # session ("" = the server) -> locked until

    def check(self, given: str | None, expected: str | None, who: str) -> None:
        """Refuse (:class:`GalleryError`) unless a code is set, ``who`` may try now, and ``given``
        is the code; count a wrong one."""
        if not expected:
            raise GalleryError(OFF)
        with self._lock:
            now = self.clock()
            self._server = [t for t in self._server if now - t < self.window]
            mine = [t for t in self._failures.get(who, []) if now - t < self.window]
            for whom, words in (("", "on this server"), (who, "from this page")):
                until = self._locked.get(whom, 0.0)
                if until > now:
                    raise GalleryError(f"too many wrong codes {words}: the teacher tools are locked for "
                                       f"{math.ceil((until - now) / 60)} more minute(s)")
            if mine:
                ready = mine[-1] + min(2.0 ** (len(mine) - 1), self.most_wait)
                if ready > now:
                    raise GalleryError(f"wait {math.ceil(ready - now)} s before trying the code again")
            if _is_code(given, expected):
                self._failures.pop(who, None)
                return
            mine.append(now)
            self._failures[who] = mine
            self._server.append(now)
            log.warning("wrong teacher code from session %s (%d from it, %d on this server in %.0f min)",
                        who[:8] or "?", len(mine), len(self._server), self.window / 60)
            if len(mine) >= self.per_session:
                self._locked[who] = now + self.lockout
                log.warning("teacher tools locked for session %s after %d wrong codes", who[:8], len(mine))
            if len(self._server) >= self.per_server:
                self._locked[""] = now + self.lockout
                log.warning("teacher tools locked on this server after %d wrong codes", len(self._server))
        raise GalleryError(WRONG)


def check_code(given: str | None, expected: str | None, guard: CodeGuard | None = None,
               who: str = "") -> None:
    """Refuse unless a teacher code is set and ``given`` equals it (compared in constant time);
    through ``guard`` when given (the app's server-wide :class:`CodeGuard`)."""
    if guard is not None:
        guard.check(given, expected, who)
    elif not expected:
        raise GalleryError(OFF)
    elif not _is_code(given, expected):
        raise GalleryError(WRONG)


def check_name(name: str, taken: list[str] | tuple[str, ...] = ()) -> str:
    """A gallery name, stripped; refused when empty, odd or already a shipped model's name."""
    name = (name or "").strip()
    if not NAME.fullmatch(name):
        raise GalleryError("a name is 1–32 letters, digits, spaces, dots, dashes or underscores, "
                           "starting with a letter or digit")
    if name in taken:
        raise GalleryError(f"{name!r} is already a model's name here: choose another")
    return name


def gallery_version(directory: str | Path | None = None) -> int | None:
    """A number that changes whenever the gallery does (its manifest's modification time in ns;
    None when there is no gallery): one ``stat``, cheap enough for every rerun of a page."""
    try:
        return (gallery_dir(directory) / MANIFEST).stat().st_mtime_ns
    except OSError:
        return None


def gallery_names(directory: str | Path | None = None) -> list[str]:
    """The published models' names, oldest first (empty when there is no gallery yet)."""
    try:
        return list(read_manifest(gallery_dir(directory))["models"])
    except ModelFileError:
        return []


def _remove_unused(folder: Path, entry: dict) -> None:
    """Delete an entry's files unless another entry of the manifest uses them (under the lock)."""
    still = {f for e in read_manifest(folder)["models"].values() for f in (e.get("file"), e.get("onnx"))}
    for file in (entry.get("file"), entry.get("onnx")):
        if isinstance(file, str) and Path(file).name == file and file not in still:
            (folder / file).unlink(missing_ok=True)


def publish(name: str, keras_bytes: bytes, onnx_bytes: bytes, *, description: str, config: dict,
            code: str | None, expected_code: str | None, taken: tuple[str, ...] = (),
            directory: str | Path | None = None, max_models: int = MAX_MODELS,
            guard: CodeGuard | None = None, who: str = "") -> str:
    """Add a model to the gallery (files written atomically, then its manifest entry).

    Publishing again under a published name replaces that model (its old files go). Returns the
    checked name. The cap is checked and the files written under the folder's lock.

    Raises
    ------
    GalleryError
        Wrong code, no code set, a bad or taken name, or a full gallery.
    """
    check_code(code, expected_code, guard, who)
    name = check_name(name, taken)
    folder = gallery_dir(directory)
    digest = hashlib.sha256(keras_bytes).hexdigest()
    stem = f"m-{digest[:16]}"
    with manifest_lock(folder):
        models = read_manifest(folder)["models"]
        if name not in models and len(models) >= max_models:
            raise GalleryError(f"the gallery holds {max_models} models, its most: remove one first")
        old = models.get(name)
        save_bytes(keras_bytes, folder / f"{stem}.keras")
        save_bytes(onnx_bytes, folder / f"{stem}.onnx")
        register(name, {"file": f"{stem}.keras", "sha256": digest, "onnx": f"{stem}.onnx",
                        "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
                        "description": f"class gallery: {description}"[:300], "config": config}, folder)
        if isinstance(old, dict):
            _remove_unused(folder, old)
    return name


def unpublish(name: str, *, code: str | None, expected_code: str | None,
              directory: str | Path | None = None, guard: CodeGuard | None = None, who: str = "") -> None:
    """Remove a model from the gallery (its files stay only if another entry uses them)."""
    check_code(code, expected_code, guard, who)
    folder = gallery_dir(directory)
    with manifest_lock(folder):
        entry = unregister(name, folder)
        if entry is None:
            raise GalleryError(f"no model named {name[:40]!r} in the gallery")
        _remove_unused(folder, entry)
