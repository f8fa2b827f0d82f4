"""The class's own digits in the app: students add the digit they drew or photographed to the
collection the teacher opened; the teacher (``?teacher`` and the teacher code) opens, looks at,
prunes, closes, exports, imports and deletes collections. The work is
:mod:`denoiser.teaching.collection`'s.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from denoiser.results.grid import enlarge
from denoiser.teaching.collection import (
    MAX_PER_SESSION,
    CollectionError,
    add_digit,
    close_collection,
    delete_collection,
    export_npz,
    import_npz,
    list_collections,
    open_collection,
    remove_digit,
)
from denoiser.teaching.gallery import GalleryError, check_code
from ui.alt_text import described_image
from ui.sharing import code_guard, session_tag, teacher_code


def digits_word(n: int) -> str:
    return f"{n} digit" + ("" if n == 1 else "s")


#: The button that adds a student's digit to the open collection.
ADD = "Add to the class's digits"
#: What a student reads before adding a digit: what is kept, and what is not.
CONSENT = ("Only the 28×28 picture and the digit you name are kept — no name, no session, no time "
           "— for your class to look at and train on. The teacher can remove any digit.")


def offer_to_class(digit: np.ndarray) -> None:
    """Under a drawn or uploaded digit: add it to the class's open collection, labelled by the
    student. Nothing is shown while no collection is open."""
    collections = [c for c in list_collections() if c.open]
    if not collections:
        return
    state = st.session_state
    with st.container(key="add-to-class"):
        row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
        if len(collections) > 1:
            name = row.selectbox("Collection", [c.name for c in collections], key="class_collection",
                                 help="The collections your teacher has opened.")
            collection = next(c for c in collections if c.name == name)
        else:
            collection = collections[0]
        added = state.setdefault("class_added", [])
        labels = state.setdefault("class_added_labels", [])
        guided = bool(state.get("class_guided"))
        asked = next_to_draw(labels) if guided else None
        if guided and asked is None:
            return  # the round is done: guided_prompt says so
        if guided:
            label = asked
            st.caption(f"Adds it as a **{asked}**, the digit the round asked for.")
        else:
            label = row.selectbox("Which digit?", list(range(10)), index=None, key="class_label",
                                  placeholder="0–9", width=130,
                                  help="The digit you meant to draw: the class's models learn from it.")
        fingerprint = hashlib.sha256(digit.tobytes()).hexdigest()
        press = row.button(ADD, icon=":material/add:", disabled=label is None,
                           help=f"Add this digit to “{collection.name}” (up to {MAX_PER_SESSION} each).")
        st.caption(CONSENT)
        if not press:
            return
        if fingerprint in added:
            st.info("This drawing is in the class's digits already: draw another.")
        elif len(added) >= MAX_PER_SESSION:
            st.warning(f"You have added {MAX_PER_SESSION} digits, as many as one person may.")
        else:
            try:
                total = add_digit(collection, digit, label)
            except CollectionError as err:
                st.error(f"Not added: {err}.")
            else:
                added.append(fingerprint)
                labels.append(label)
                st.success(f"Added as a {label}: “{collection.name}” now holds {digits_word(total)}."
                           + (" Clear the drawing for the next one." if guided else ""))


def guided_prompt():
    """Above the canvas while a collection is open: the guided round's switch, and a place for
    the digit it asks for next; None when there is no round. Fill it with :func:`ask_next` once
    the page has added this run's digit, so it asks for the next one."""
    if not any(c.open for c in list_collections()):
        return None
    guided = st.toggle("Guided round: 0 to 9", key="class_guided",
                       help="The app asks you for each digit in turn, for the class's digits.")
    place = st.empty() if guided else None
    st.space("small")  # room for the canvas's toolbar, which floats above it
    return place


def ask_next(place) -> None:
    """The guided round's request ("Draw a 3"), or its thanks once 0–9 are all drawn."""
    asked = next_to_draw(st.session_state.get("class_added_labels", []))
    if asked is None:
        place.success("You have drawn every digit from 0 to 9 for the class — thank you! "
                      "Turn the round off to add more.")
    else:
        place.markdown(f"#### Draw a {asked}")


def next_to_draw(labels: list[int]) -> int | None:
    """The guided round's next digit: the first of 0–9 this session has not added yet."""
    return next((d for d in range(10) if d not in labels), None)


def _teacher_ok(code: str) -> bool:
    """Whether ``code`` is the teacher code (through the server's guard); says why not."""
    try:
        check_code(code, teacher_code(), guard=code_guard(), who=session_tag())
    except GalleryError as err:
        st.error(f"Not done: {err}.")
        return False
    return True


def _by_digit(x: np.ndarray, y: np.ndarray) -> None:
    """The collection as rows of digits 0–9, each with its count."""
    for d in range(10):
        picks = np.flatnonzero(y == d)
        if not len(picks):
            continue
        row = np.concatenate([x[i] for i in picks[:16]], axis=1).astype(np.float32) / 255
        described_image(f"class-digit-{d}", enlarge(row, 2),
                        f"{len(picks)} drawings of the digit {d} by the class",
                        caption=f"{d}: {len(picks)}" + (" (the first 16)" if len(picks) > 16 else ""),
                        output_format="PNG")


def class_digits_panel() -> None:
    """The teacher's controls for the class's digits (a page opened with ``?teacher``)."""
    if not st.session_state.get("teacher_tools"):
        return
    with st.expander("The class's digits (teachers)", icon=":material/draw:"):
        if teacher_code() is None:
            st.caption("Collections are off here: set `teacher_code` in `.streamlit/secrets.toml`.")
            return
        st.caption("Open a collection and every student's Draw and Upload offer “Add it to the class's "
                   "digits”. " + CONSENT)
        code = st.text_input("Teacher code", type="password", key="class_code",
                             help="The code set in this app's secrets; every change below needs it.")
        row = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
        name = row.text_input("New collection", key="class_new_name", max_chars=60,
                              placeholder="Class 7B, Tuesday", help="A name the class will recognise.")
        opened = row.button("Open", help="Start collecting: students can add digits from now on.")
        if opened and _teacher_ok(code):
            try:
                st.success(f"“{open_collection(name).name}” is open: students can add their digits.")
            except CollectionError as err:
                st.error(f"Not opened: {err}.")
        collections = list_collections()
        if collections:
            pick = st.selectbox("Collection", [c.name for c in collections], key="class_pick",
                                help="A collection kept on this server.")
            collection = next(c for c in collections if c.name == pick)
            x, y = collection.digits()
            st.markdown(f"**{collection.name}** — {digits_word(len(x))}, "
                        f"{'open: students are adding' if collection.open else 'closed'}.")
            _by_digit(x, y)
            tools = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
            number = tools.number_input("Digit number", 1, max(1, len(x)), key="class_remove_number",
                                        help="Its place in the order added (1 = the first).", width=160)
            if tools.button("Remove it", disabled=not len(x),
                            help="Take that one digit out of the collection.") and _teacher_ok(code):
                try:
                    left = remove_digit(collection, int(number) - 1)
                    st.success(f"Removed digit number {int(number)}: {left} left.")
                except CollectionError as err:
                    st.error(f"Not removed: {err}.")
            if tools.button("Reopen" if not collection.open else "Close",
                            help="Let students add again." if not collection.open
                            else "Stop students adding (the digits stay).") and _teacher_ok(code):
                (open_collection(collection.name) if not collection.open else close_collection(collection))
                st.rerun()
            delete = tools.button("Delete", help="Remove the collection and every digit in it.")
            if delete and _teacher_ok(code):
                delete_collection(collection)
                st.rerun()
            tools.download_button("Export (.npz)", lambda c=collection: export_npz(c),
                                  file_name=f"{collection.folder.name}.npz", mime="application/octet-stream",
                                  on_click="ignore", icon=":material/download:",
                                  help="Keras' MNIST layout (x_train, y_train …): keep it for next term.")
        upload = st.file_uploader("Import a collection (.npz)", type=["npz"], key="class_import",
                                  max_upload_size=8,
                                  help="A file exported here, or any .npz in Keras' MNIST layout.")
        take = upload is not None and st.button("Import", help="Add it as a closed collection.")
        if take and _teacher_ok(code):
            try:
                done = import_npz(upload.name.removesuffix(".npz")[:60], upload.getvalue())
            except CollectionError as err:
                st.error(f"Not imported: {err}.")
            else:
                st.success(f"Imported “{done.name}”: {digits_word(len(done.digits()[0]))}.")
