"""Models beyond a session's own runs: uploaded ``.keras`` files and the class gallery.

An upload belongs to the session that made it; a gallery model is seen by every session of
this server, and only where a teacher code is set (a gallery folder left from another term on a
server without a code shows nothing). The teacher's tools (publish, remove) appear only on a page
opened with ``?teacher`` in its address (the README tells teachers), never in every student's
view; each code typed there goes through the server's :class:`~denoiser.teaching.gallery.CodeGuard`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from denoiser.models.files import ModelFileError
from denoiser.models.runtime import Denoiser
from denoiser.teaching.gallery import (
    CodeGuard,
    GalleryError,
    gallery_dir,
    gallery_names,
    gallery_version,
    publish,
    unpublish,
)

log = logging.getLogger(__name__)

#: Uploaded models a session keeps (the oldest goes first).
MAX_UPLOADS = 3
#: Where the teacher code may also come from (the app's secrets come first).
CODE_VAR = "DENOISER_TEACHER_CODE"


@dataclass
class Upload:
    """An uploaded model: what runs it, and the files it came as (for the gallery)."""

    model: Denoiser
    keras_bytes: bytes
    onnx_bytes: bytes


def teacher_code() -> str | None:
    """The teacher code: ``teacher_code`` in the app's secrets, else ``$DENOISER_TEACHER_CODE``."""
    try:
        code = st.secrets.get("teacher_code")
    except Exception:  # noqa: BLE001 - no secrets file at all: Streamlit raises its own error type
        code = None
    return str(code) if code else os.environ.get(CODE_VAR) or None


#: The query parameter that shows the teacher's tools (``/train?teacher``).
TEACHER_PARAM = "teacher"


def gallery_on() -> bool:
    """Whether this server shows a class gallery: only where a teacher code is set."""
    return teacher_code() is not None


def visible_gallery_names() -> list[str]:
    """The gallery's models for this server's model lists (none without a teacher code); the
    gallery's version is noted as seen, for :func:`gallery_changed`."""
    st.session_state["gallery_seen"] = gallery_version() if gallery_on() else None
    return gallery_names() if gallery_on() else []


def gallery_changed() -> bool:
    """Whether the class gallery changed since this session's model lists were drawn: a part of a
    page that reruns alone (a fragment) then reruns the whole page, so a model the teacher has
    just published appears in every open session at its next slider move or click."""
    if "gallery_seen" not in st.session_state:
        return False
    return (gallery_version() if gallery_on() else None) != st.session_state["gallery_seen"]


def remember_teacher_link() -> None:
    """A page opened with ``?teacher`` shows the teacher's tools for the rest of the session
    (the link's other parameters may be rewritten as the person works)."""
    if TEACHER_PARAM in st.query_params:
        st.session_state["teacher_tools"] = True


@st.cache_resource(show_spinner=False)
def code_guard() -> CodeGuard:
    """The server's one guard against guessed teacher codes."""
    return CodeGuard()


def session_tag() -> str:
    """A random tag for this browser session (the guard counts wrong codes by it; it names nobody)."""
    return st.session_state.setdefault("session_tag", uuid.uuid4().hex[:12])


def uploads() -> dict[str, Upload]:
    return st.session_state.setdefault("uploads", {})


def gallery_model(name: str) -> Denoiser:
    """A class gallery model, loaded once per process and again when it is published anew."""
    from denoiser.models.files import read_manifest
    from ui.loaders import directory_model

    folder = gallery_dir()
    entry = read_manifest(folder)["models"].get(name)
    if not isinstance(entry, dict):
        raise ModelFileError(f"{name!r} is no longer in the class gallery")
    return directory_model(name, str(folder), version=str(entry.get("sha256")))


def upload_control(place) -> None:
    """A file uploader for a ``.keras`` model; a checked file joins this session's models."""
    from denoiser.models.keras_check import MAX_MODEL_BYTES
    from denoiser.models.upload import open_upload, prepare_upload

    file = place.file_uploader(
        "Load a model (.keras)", type=["keras"], key="model_upload", max_upload_size=MAX_MODEL_BYTES // 2**20,
        help=f"A Keras 3 model file (e.g. a run downloaded from Train), up to "
             f"{MAX_MODEL_BYTES // 2**20} MB; checked like a shipped model, then added to the list.")
    if file is None:
        return
    data = file.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    seen = st.session_state.setdefault("upload_results", {})  # checked once per file, not per rerun
    if digest not in seen:
        with place, st.spinner("Checking the model…"):
            try:
                checked = prepare_upload(data)
            except ModelFileError as err:
                seen[digest] = f"Cannot use this model: {err}."
            except Exception:  # noqa: BLE001 - never parse the same file again on every rerun
                log.exception("checking an uploaded model failed")
                seen[digest] = "Cannot use this model: it could not be checked."
            else:
                stem = "".join(c for c in Path(file.name).stem if c.isalnum() or c in "-_.")[:24] or "model"
                name, n = stem, 1
                while name in uploads():
                    n += 1
                    name = f"{stem}-{n}"
                kept = uploads()
                kept[name] = Upload(open_upload(data, name, checked), data, checked.onnx)
                while len(kept) > MAX_UPLOADS:
                    kept.pop(next(iter(kept)))
                seen[digest] = ""
                st.session_state.requested_model = name  # show it at once
                st.rerun()
    if seen[digest]:
        place.error(seen[digest])


def publish_panel(candidates: dict[str, tuple[bytes | None, bytes | None, str, dict]],
                  taken: tuple[str, ...]) -> None:
    """The teacher's controls: publish one of ``candidates`` (name -> keras bytes, onnx bytes,
    description, config) to the class gallery, or remove a published model. Shown only on a page
    opened with ``?teacher``."""
    if not st.session_state.get("teacher_tools"):
        return
    with st.expander("Share with the class (teachers)", icon=":material/groups:"):
        code_set = teacher_code() is not None
        st.caption("A published model appears in every student's model list on this server. "
                   + ("Publishing needs the teacher code." if code_set else
                      "Publishing is off here: set `teacher_code` in `.streamlit/secrets.toml`."))
        if not code_set:
            return
        with st.form("publish", border=False):
            c1, c2, c3 = st.columns(3)
            pick = c1.selectbox("Model", list(candidates), key="publish_pick",
                                help="One of your runs, or a model you uploaded.")
            name = c2.text_input("Name in the gallery", key="publish_name", max_chars=32,
                                 help="What students will see: letters, digits, spaces, . - _")
            code = c3.text_input("Teacher code", type="password", key="publish_code",
                                 help="The code set in this app's secrets.")
            go = st.form_submit_button("Publish", help="Add the model to the class gallery.")
        if go and pick:
            keras_bytes, onnx_bytes, description, config = candidates[pick]
            try:
                if keras_bytes is None or onnx_bytes is None:
                    raise GalleryError("this model has no exported file to share")
                done = publish(name, keras_bytes, onnx_bytes, description=description, config=config,
                               code=code, expected_code=teacher_code(), taken=taken,
                               guard=code_guard(), who=session_tag())
            except (GalleryError, ModelFileError) as err:
                st.error(f"Not published: {err}.")
            else:
                st.success(f"Published as **{done}**: every session on this server can pick it now.")
        published = gallery_names()
        if published:
            c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
            gone = c1.selectbox("Published", published, key="unpublish_pick",
                                help="A model in the class gallery.")
            code = c2.text_input("Teacher code", type="password", key="unpublish_code",
                                 help="The code set in this app's secrets.")
            if c3.button("Remove", help="Take the model out of the gallery."):
                try:
                    unpublish(gone, code=code, expected_code=teacher_code(), guard=code_guard(),
                              who=session_tag())
                except GalleryError as err:
                    st.error(f"Not removed: {err}.")
                else:
                    st.success(f"Removed **{gone}** from the gallery.")
