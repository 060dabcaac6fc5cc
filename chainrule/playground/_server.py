"""Running the application with uvicorn: in the foreground (``chainrule playground``) or in a
background thread (tests, notebooks)."""

from __future__ import annotations

import socket
import threading
import time
import webbrowser
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..optional import require
from ..validate import check_number
from ._app import LOCAL_HOSTS, create_app


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (0: a free port the system picks)."""
    check_number(port, "port", "chainrule playground", low=0, high=65535, integer=True)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(64)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def _server(host: str, sock: socket.socket) -> tuple[Any, Any]:
    uvicorn = require("uvicorn", "playground", "chainrule playground")
    hosts = LOCAL_HOSTS if host in LOCAL_HOSTS else ("*",)
    app = create_app(allowed_hosts=hosts)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2)
    return uvicorn.Server(config), app


def serve(host: str = "127.0.0.1", port: int = 0, open_browser: bool = True,
          announce: Any = print) -> None:
    """Serve the playground until interrupted (Ctrl-C).

    Args:
        host: the address to listen on (127.0.0.1: this machine only).
        port: the port; 0 picks a free one.
        open_browser: open the page in the default web browser once the server is up.
        announce: called with the line that gives the page's address.

    Raises:
        MissingDependency: Starlette or uvicorn is missing (the ``playground`` extra).
        OSError: the address cannot be bound (a port in use, say).
    """
    sock = _bind(host, port)
    url = _url(host, sock)
    server, app = _server(host, sock)
    announce(f"chainrule playground: {url}  (Ctrl-C stops it)")
    if open_browser:
        def wait_then_open() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started:
                webbrowser.open(url)
        threading.Thread(target=wait_then_open, daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        app.state.sessions.close()
        sock.close()


@contextmanager
def running(host: str = "127.0.0.1", port: int = 0) -> Iterator[tuple[str, Any]]:
    """The playground served from a background thread: yields ``(url, app)``; stops on exit.

    Raises:
        MissingDependency: Starlette or uvicorn is missing (the ``playground`` extra).
        TimeoutError: the server did not start within 30 seconds.
    """
    sock = _bind(host, port)
    server, app = _server(host, sock)
    server.install_signal_handlers = lambda: None  # the main thread keeps its own handlers
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="chainrule-playground")
    thread.start()
    try:
        end = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > end or not thread.is_alive():
                raise TimeoutError("the playground's server did not start within 30 s")
            time.sleep(0.02)
        yield _url(host, sock), app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.sessions.close()
        sock.close()
