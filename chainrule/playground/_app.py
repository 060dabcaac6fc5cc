"""The web application: one page, a JSON API over the sessions, and a server-sent event
stream per page (Starlette, the ``playground`` extra).

Every error a page can cause comes back as ``{"error": message}`` with status 400 (413 for a
too large upload), shown on the page; an unexpected one is 500 with the same shape, and the
server keeps running.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from ..errors import ChainruleError, ConfigError
from ..optional import require
from ..version import __version__
from . import _export
from ._config import options
from ._data import MAX_UPLOAD_BYTES, TooLarge
from ._session import FRAME_RATE, Session

#: Pages open at once; one more is refused with a message.
MAX_SESSIONS = 16
#: Seconds a session without a page stream is kept (a reload reconnects), then closed.
GRACE = 60.0
#: Seconds between keep-alive comments on an idle stream (a closed page is noticed by them).
HEARTBEAT = 1.0
#: The files the page is made of.
STATIC = {"index.html": "text/html; charset=utf-8", "playground.js": "text/javascript; charset=utf-8",
          "playground.css": "text/css; charset=utf-8"}
#: Host names a request may name (a web page elsewhere cannot reach the API by DNS rebinding).
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
_SID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class Sessions:
    """The open sessions by id, each with the number of its live streams."""

    def __init__(self, limit: int = MAX_SESSIONS, grace: float = GRACE) -> None:
        self.limit, self.grace = limit, grace
        self._items: dict[str, Session] = {}
        self._streams: dict[str, int] = {}
        self._left: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, sid: Any, create: bool = True) -> Session:
        """The session ``sid``, made when new (after dropping those left longer than ``grace``).

        Raises:
            ConfigError: a malformed id, too many sessions, or an unknown id with ``create`` off.
        """
        if not isinstance(sid, str) or not _SID.match(sid):
            raise ConfigError(f"Invalid session id: {sid!r} (expected 8 to 64 letters, digits, "
                              "'-' or '_'; the page makes one)")
        self.sweep()
        with self._lock:
            if sid in self._items:
                return self._items[sid]
            if not create:
                raise ConfigError(f"no session {sid!r}; reload the page")
            if len(self._items) >= self.limit:
                raise ConfigError(f"{len(self._items)} playground pages are open, the most this "
                                  "server keeps; close one and reload")
            self._left[sid] = time.monotonic()
            session = self._items[sid] = Session(sid)
        return session

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, sid: str) -> bool:
        return sid in self._items

    def attach(self, sid: str) -> None:
        with self._lock:
            self._streams[sid] = self._streams.get(sid, 0) + 1
            self._left.pop(sid, None)

    def detach(self, sid: str) -> None:
        """A page's stream ended (closed tab): its training pauses at once."""
        with self._lock:
            self._streams[sid] = self._streams.get(sid, 1) - 1
            last = self._streams[sid] <= 0
            if last:
                self._left[sid] = time.monotonic()
            session = self._items.get(sid)
        if last and session is not None:
            session.pause()

    def sweep(self) -> None:
        """Close the sessions whose page left more than ``grace`` seconds ago."""
        now = time.monotonic()
        with self._lock:
            gone = [s for s, t in self._left.items() if now - t > self.grace]
            closing = [self._items.pop(s) for s in gone if s in self._items]
            for s in gone:
                self._left.pop(s, None)
                self._streams.pop(s, None)
        for session in closing:
            session.close()

    def close(self) -> None:
        """Stop every session's training (the server is shutting down)."""
        with self._lock:
            closing = list(self._items.values())
            self._items.clear()
        for session in closing:
            session.close()


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


# NOTE: one closure holds the routes over one registry; each handler is a few lines of
# parsing and a session call, kept side by side so the API reads as one table.
def create_app(sessions: Sessions | None = None, allowed_hosts: tuple[str, ...] = LOCAL_HOSTS) -> Any:
    """The playground's Starlette application.

    Args:
        sessions: the session registry (default: a new one; ``app.state.sessions``).
        allowed_hosts: the host names requests may be addressed to (``("*",)``: any).

    Raises:
        MissingDependency: Starlette is not installed (``pip install 'chainrule[playground]'``).
    """
    what = "chainrule playground"
    apps = require("starlette.applications", "playground", what)
    responses = require("starlette.responses", "playground", what)
    routing = require("starlette.routing", "playground", what)
    middleware = require("starlette.middleware", "playground", what)
    trusted = require("starlette.middleware.trustedhost", "playground", what)
    concurrency = require("starlette.concurrency", "playground", what)
    sessions = Sessions() if sessions is None else sessions
    JSON, Response = responses.JSONResponse, responses.Response
    threadpool = concurrency.run_in_threadpool

    def guard(fn: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
        async def handler(request: Any) -> Any:
            try:
                return await fn(request)
            except ChainruleError as exc:
                return JSON({"error": str(exc)},
                            status_code=413 if isinstance(exc, TooLarge) else 400)
            except Exception as exc:  # noqa: BLE001 - the page shows it; the server goes on
                return JSON({"error": f"unexpected {type(exc).__name__}: {exc} (a bug in "
                                      "chainrule; please report it)"}, status_code=500)
        return handler

    def session_of(request: Any, create: bool = True) -> Session:
        return sessions.get(request.query_params.get("sid"), create)

    async def json_body(request: Any) -> Any:
        if "application/json" not in request.headers.get("content-type", ""):
            raise ConfigError("expected a JSON request (Content-Type: application/json)")
        try:
            return await request.json()
        except ValueError as exc:
            raise ConfigError(f"the request is not valid JSON ({exc})") from None

    async def page(request: Any) -> Any:
        return Response(_static("index.html"), media_type=STATIC["index.html"],
                        headers={"Cache-Control": "no-store"})

    async def static(request: Any) -> Any:
        name = request.path_params["name"]
        if name not in STATIC:
            return JSON({"error": f"no file {name!r}"}, status_code=404)
        return Response(_static(name), media_type=STATIC[name], headers={"Cache-Control": "no-store"})

    async def get_options(request: Any) -> Any:
        return JSON({**options(), "version": __version__, "frame_rate": FRAME_RATE,
                     "max_upload_bytes": MAX_UPLOAD_BYTES})

    async def state(request: Any) -> Any:
        session = await threadpool(session_of, request)
        return JSON(session.state())

    async def frame(request: Any) -> Any:
        session = await threadpool(session_of, request)
        return JSON(session.frame)

    async def configure(request: Any) -> Any:
        body = await json_body(request)
        session = await threadpool(session_of, request)
        await threadpool(session.configure, body)
        return JSON(session.state())

    async def control(request: Any) -> Any:
        body = await json_body(request)
        session = session_of(request, create=False)
        action = body.get("action") if isinstance(body, dict) else None
        await threadpool(session.control, action)
        return JSON({"action": action, "running": session.running})

    async def upload(request: Any) -> Any:
        name = request.headers.get("x-filename") or request.query_params.get("name")
        if not name:
            raise ConfigError("an upload names its file in the X-Filename header")
        declared = int(request.headers.get("content-length") or 0)
        if declared > MAX_UPLOAD_BYTES:
            raise TooLarge(f"{name}: {declared:,} bytes; the playground takes files of at "
                            f"most {MAX_UPLOAD_BYTES // 1024:,} KiB")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_UPLOAD_BYTES:
                raise TooLarge(f"{name}: more than {MAX_UPLOAD_BYTES:,} bytes; the playground "
                                f"takes files of at most {MAX_UPLOAD_BYTES // 1024:,} KiB")
        session = session_of(request, create=False)
        await threadpool(session.upload, bytes(body), name)
        return JSON(session.state())

    async def formulas(request: Any) -> Any:
        session = session_of(request, create=False)
        try:
            index = int(request.query_params.get("index", "0"))
        except ValueError:
            raise ConfigError(f"Invalid index: {request.query_params.get('index')!r} (expected "
                              "a whole number)") from None
        return JSON(await threadpool(_export.formulas, session, index))

    async def export_model(request: Any) -> Any:
        session = session_of(request, create=False)
        data = await threadpool(_export.model_file, session)
        return Response(data, media_type="application/octet-stream", headers={
            "Content-Disposition": f'attachment; filename="{_export.MODEL_FILE}"'})

    async def export_script(request: Any) -> Any:
        session = session_of(request, create=False)
        return Response(_export.script(session), media_type="text/x-python; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{_export.SCRIPT_FILE}"'})

    async def events(request: Any) -> Any:
        session = await threadpool(session_of, request)
        return responses.StreamingResponse(_stream(session, sessions, request),
                                           media_type="text/event-stream",
                                           headers={"Cache-Control": "no-store",
                                                    "X-Accel-Buffering": "no"})

    R = routing.Route
    app = apps.Starlette(routes=[
        R("/", guard(page)), R("/static/{name}", guard(static)),
        R("/favicon.ico", lambda request: Response(status_code=204)),
        R("/api/options", guard(get_options)), R("/api/state", guard(state)),
        R("/api/frame", guard(frame)), R("/api/events", guard(events)),
        R("/api/config", guard(configure), methods=["POST"]),
        R("/api/control", guard(control), methods=["POST"]),
        R("/api/upload", guard(upload), methods=["POST"]),
        R("/api/formulas", guard(formulas)),
        R("/api/export/model", guard(export_model)),
        R("/api/export/script", guard(export_script)),
    ], middleware=[middleware.Middleware(trusted.TrustedHostMiddleware,
                                         allowed_hosts=list(allowed_hosts))])
    app.state.sessions = sessions
    return app


def _event(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _stream(session: Session, sessions: Sessions, request: Any) -> Any:
    """Server-sent events: ``state`` when the data or network changes, ``frame`` at most
    :data:`FRAME_RATE` times a second, keep-alive comments; a closed page pauses training."""
    sessions.attach(session.sid)
    try:
        yield "retry: 2000\n\n"
        seen_data, seen, quiet = -1, -1, 0.0
        while True:
            if session.data_version != seen_data:
                seen_data = session.data_version
                yield _event("state", session.state())
            if session.version != seen:
                seen = session.version
                yield _event("frame", session.frame)
                quiet = 0.0
            elif quiet >= HEARTBEAT:
                yield ": ping\n\n"
                quiet = 0.0
            if await request.is_disconnected():
                break
            await asyncio.sleep(1 / FRAME_RATE)
            quiet += 1 / FRAME_RATE
    finally:
        sessions.detach(session.sid)
