"""A browserless Streamlit session: the page's side of Streamlit's websocket protocol, in Python.

A browser tab talks to ``streamlit run`` over one websocket (``/_stcore/stream``): it sends
``BackMsg`` protobufs (``rerun_script`` with the widgets' values) and receives ``ForwardMsg``
protobufs (``new_session``, ``delta`` elements, ``auto_rerun``, ``script_finished``…), then
fetches media (the result picture) over HTTP. :class:`Session` does the same with Streamlit's
own protobuf classes, so a load test can drive the real server with dozens of sessions and no
browser per student. It keeps what a page would show: every element by its place on the page,
the widgets by label (with the fragment each belongs to), and the fragments that rerun
themselves (``run_every``), which it reruns on their interval like the browser does.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from dataclasses import dataclass

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

#: Element kinds whose text a page shows (for :meth:`Session.texts`).
TEXT_KINDS = ("markdown", "alert", "heading", "text", "progress", "exception")
#: Widget kinds this client can set (the value's field in ``WidgetState``).
WIDGET_KINDS = ("slider", "button", "selectbox", "checkbox", "multiselect", "number_input",
                "select_slider", "radio", "text_input")
DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)


class ProtocolError(RuntimeError):
    """The server closed the session, ran into an error, or never finished a run in time."""


@dataclass
class Widget:
    id: str
    kind: str
    label: str
    fragment_id: str


class Session:
    """One simulated browser tab on a Streamlit server.

    Parameters
    ----------
    base_url : str
        ``http://host:port`` of the server.
    path : str
        The page's URL path (``""`` for the default page, ``"train"``…).
    timeout : float
        Seconds to wait for any one script run before giving up.
    """

    def __init__(self, base_url: str, path: str = "", timeout: float = 60.0, cookie: str = "") -> None:
        self.base_url, self.path, self.timeout = base_url.rstrip("/"), path.strip("/"), timeout
        self.elements: dict[tuple[int, ...], tuple[str, object]] = {}
        self.widgets: dict[str, Widget] = {}
        self.states: dict[str, WidgetState] = {}
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.page_hash = ""
        self.exceptions: list[str] = []
        self.drawn: list[str] = []  # labels of the widgets the last run (or fragment run) drew
        self.preloaded: set[str] = set()  # pictures fetched ahead, kept as a browser's cache keeps them
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._finished = asyncio.Event()
        self._status: int | None = None
        self._auto: dict[str, asyncio.Task] = {}
        self._announced: set[str] = set()
        self._closed = False
        self.cookie = cookie  # what a browser sends back: a proxy's sticky-session cookie

    # -- connection -------------------------------------------------------------------------------
    async def open(self) -> float:
        """Connect and run the page's script once; returns the ms the first run took."""
        ws_url = self.base_url.replace("http", "ws", 1) + "/_stcore/stream"
        # As a browser does, load the page over HTTP first and keep its cookies: behind a proxy
        # with sticky sessions (deploy/), they send the websocket and every picture to one replica.
        self.cookie = await asyncio.to_thread(self._first_cookies)
        headers = {"Cookie": self.cookie} if self.cookie else None
        self._ws = await websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None,
                                            open_timeout=self.timeout, additional_headers=headers)
        self._reader = asyncio.create_task(self._read())
        return await self.rerun(first=True)

    def _first_cookies(self) -> str:
        """The cookies after loading the page: the ones it had, updated by what the server sets."""
        jar = dict(part.split("=", 1) for part in self.cookie.split("; ") if "=" in part)
        with urllib.request.urlopen(self.request("/_stcore/health"), timeout=self.timeout) as response:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                jar[name.strip()] = value
        return "; ".join(f"{name}={value}" for name, value in jar.items())

    def request(self, url: str, data: bytes | None = None, headers: dict | None = None,
                method: str | None = None) -> urllib.request.Request:
        """An HTTP request to this tab's server, carrying its cookies (as the browser would)."""
        url = url if url.startswith("http") else self.base_url + url
        headers = {**({"Cookie": self.cookie} if self.cookie else {}), **(headers or {})}
        return urllib.request.Request(url, data=data, headers=headers, method=method)

    async def close(self) -> None:
        """Close the tab: the server sees the websocket end, as when a browser tab closes."""
        self._closed = True
        for task in self._auto.values():
            task.cancel()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()

    async def __aenter__(self) -> Session:
        await self.open()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- what the page shows ----------------------------------------------------------------------
    def texts(self) -> list[str]:
        """The text of every markdown, alert, heading and progress element on the page, in order."""
        out = []
        for _, (kind, proto) in sorted(self.elements.items()):
            if kind in TEXT_KINDS:
                out.append(getattr(proto, "body", "") or getattr(proto, "text", "")
                           or getattr(proto, "message", ""))
        return out

    def image_urls(self) -> list[str]:
        return [img.url for _, (kind, proto) in sorted(self.elements.items()) if kind == "imgs"
                for img in proto.imgs]

    def frame_urls(self) -> list[str]:
        """The pictures the page's components hand the browser to load ahead (the Denoise page's
        noise slider: one picture per amount, ``ui.instant_slider``)."""
        return [url for _, (kind, proto) in sorted(self.elements.items())
                if kind == "bidi_component" and proto.json
                for url in json.loads(proto.json).get("frames", {}).values()]

    def image_captions(self) -> list[str]:
        return [img.caption for _, (kind, proto) in sorted(self.elements.items()) if kind == "imgs"
                for img in proto.imgs]

    def widget(self, label: str) -> Widget:
        for w in self.widgets.values():
            if w.label == label:
                return w
        raise KeyError(f"no widget labelled {label!r} on the page (have: "
                       f"{sorted(w.label for w in self.widgets.values())})")

    # -- actions ----------------------------------------------------------------------------------
    async def set_value(self, label: str, value) -> float:
        """Set a widget (a slider's number, a selectbox's option…) and wait for the rerun; ms."""
        return await self.rerun(fragment_id=self.stage(label, value).fragment_id)

    def stage(self, label: str, value) -> Widget:
        """Set a widget's value without a rerun, as a form's widgets wait for its submit button."""
        w = self.widget(label)
        state = WidgetState(id=w.id)
        if w.kind == "slider":
            state.double_array_value.data[:] = [float(value)]
        elif w.kind in ("selectbox", "radio"):
            state.string_value = str(value)
        elif w.kind == "multiselect":
            state.string_array_value.data[:] = [str(v) for v in value]
        elif w.kind == "checkbox":
            state.bool_value = bool(value)
        elif w.kind == "number_input":
            state.double_value = float(value)
        else:
            raise ValueError(f"cannot set a {w.kind}")
        self.states[w.id] = state
        return w

    async def click(self, label: str) -> float:
        """Press a button (a form's submit button sends the form's widgets too); ms until done."""
        w = self.widget(label)
        trigger = WidgetState(id=w.id, trigger_value=True)
        return await self.rerun(fragment_id=w.fragment_id, extra=[trigger])

    async def fetch_images(self) -> int:
        """GET every picture on the page, and the pictures handed to it to load ahead that it has
        not loaded yet, as a browser does after an update; bytes received."""
        ahead = [u for u in dict.fromkeys(self.frame_urls()) if u not in self.preloaded]
        self.preloaded.update(ahead)
        urls = [u if u.startswith("http") else self.base_url + u for u in [*self.image_urls(), *ahead]]

        def get(url: str) -> int:
            with urllib.request.urlopen(self.request(url), timeout=self.timeout) as response:
                return len(response.read())

        sizes = await asyncio.gather(*(asyncio.to_thread(get, u) for u in urls))
        return sum(sizes)

    async def rerun(self, fragment_id: str = "", extra: list[WidgetState] = (), first: bool = False,
                    auto: bool = False) -> float:
        """Send ``rerun_script`` with the widgets' states and wait until that run finishes; ms."""
        self._finished.clear()
        self._status = None
        start = time.perf_counter()
        await self._ws.send(self._rerun_message(fragment_id, extra, first=first, auto=auto))
        while True:
            try:
                await asyncio.wait_for(self._finished.wait(), self.timeout)
            except TimeoutError:
                raise ProtocolError(f"no script run finished within {self.timeout:g} s") from None
            if self._closed:
                raise ProtocolError("the server closed the session")
            if self._status in DONE:
                return (time.perf_counter() - start) * 1000
            self._finished.clear()  # ended early because another rerun began: wait for that one

    def _rerun_message(self, fragment_id: str = "", extra: list[WidgetState] = (), first: bool = False,
                       auto: bool = False) -> bytes:
        """A ``rerun_script`` BackMsg, as the browser sends it: this page, every widget's state."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        state.page_script_hash = self.page_hash or self.pages.get(self.path, "")
        if first and self.path:
            state.page_name = self.path
        if fragment_id:
            state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        state.widget_states.widgets.extend([*self.states.values(), *extra])
        return msg.SerializeToString()

    # -- messages from the server -----------------------------------------------------------------
    async def _read(self) -> None:
        try:
            async for frame in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(frame)
                self._handle(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            self._closed = True
            self._finished.set()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":  # every run starts with one, a fragment's run too
            self.page_hash = msg.new_session.page_script_hash
            self._announced = set()
            self.drawn = []
        elif kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            what = element.WhichOneof("type")
            proto = getattr(element, what)
            self.elements[tuple(msg.metadata.delta_path)] = (what, proto)
            if what == "exception":
                self.exceptions.append(proto.message)
            if what in WIDGET_KINDS:
                self.widgets[proto.id] = Widget(proto.id, what, proto.label, msg.delta.fragment_id)
                self.drawn.append(proto.label)
        elif kind == "auto_rerun":
            fragment = msg.auto_rerun.fragment_id
            self._announced.add(fragment)
            if fragment in self._auto:
                self._auto[fragment].cancel()
            self._auto[fragment] = asyncio.get_running_loop().create_task(
                self._rerun_every(msg.auto_rerun.interval, fragment))
        elif kind == "stop_auto_rerun":
            for fragment in msg.stop_auto_rerun.fragment_ids:
                task = self._auto.pop(fragment, None)
                if task is not None:
                    task.cancel()
        elif kind == "script_finished":
            self._status = msg.script_finished
            if msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                # a whole page run: a self-refreshing fragment it did not draw again is gone
                for fragment in set(self._auto) - self._announced:
                    self._auto.pop(fragment).cancel()
            self._finished.set()

    async def _rerun_every(self, interval: float, fragment_id: str) -> None:
        """A ``run_every`` fragment: the browser asks for it again every ``interval`` seconds."""
        while not self._closed:
            await asyncio.sleep(interval)
            try:
                await self._ws.send(self._rerun_message(fragment_id, auto=True))
            except websockets.ConnectionClosed:
                return
