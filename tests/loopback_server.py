"""A scripted HTTP server on 127.0.0.1 for tests: queue replies per path, read back requests.

    with LoopbackServer() as server:
        server.queue("/v1/account", Reply(json={"id": "acct_1"}))
        server.on("/v1/charges", lambda request: Reply(json={"data": []}))
        ...  # point the code under test at server.url
        assert server.requests[0].headers["Authorization"] == "Bearer sk_test_..."

Queued replies are used first, in order; then the path's handler, if any; then the handler
given to `otherwise`, if any (a stand-in that answers every path). A request with nothing
scripted gets 501 and is listed in `server.unscripted`; a handler that raises gives
500 and its exception is listed in `server.handler_errors`.
"""

from __future__ import annotations

import json as jsonlib
import socket
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import httpx


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: httpx.Headers
    body: bytes

    def param(self, name: str) -> str | None:
        """The first query value for `name`, or None."""
        return next((value for key, value in self.query if key == name), None)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return jsonlib.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        """The body parsed as `application/x-www-form-urlencoded` pairs, in order."""
        return parse_qsl(self.body.decode(), keep_blank_values=True)


@dataclass(frozen=True)
class Reply:
    """A scripted response: `json` (serialised) or raw `body`, with status and headers."""

    status: int = 200
    json: Any = None
    body: bytes | str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is not None:
            body = self.body.encode() if isinstance(self.body, str) else self.body
        elif self.json is not None:
            body = jsonlib.dumps(self.json).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = b""
        return body, headers


Handler = Callable[[RecordedRequest], Reply]
_Route = tuple[str | None, str]


class LoopbackServer:
    """A threaded HTTP/1.1 server on a free 127.0.0.1 port; start on construction."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: defaultdict[_Route, deque[Reply]] = defaultdict(deque)
        self._handlers: dict[_Route, Handler] = {}
        self._fallback: Handler | None = None
        self._requests: list[RecordedRequest] = []
        self.unscripted: list[RecordedRequest] = []
        self.handler_errors: list[Exception] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # Idle keep-alive connections must not hold up shutdown.
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`, no trailing slash."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The requests received for `path`, in arrival order."""
        return [request for request in self.requests if request.path == path]

    def queue(self, path: str, *replies: Reply, method: str | None = None) -> None:
        """Answer the next requests to `path` (and `method`, if given) with `replies`, in order."""
        with self._lock:
            self._queued[(method, path)].extend(replies)

    def on(self, path: str, handler: Handler, *, method: str | None = None) -> None:
        """Answer every request to `path` that no queued reply covers with `handler(request)`."""
        with self._lock:
            self._handlers[(method, path)] = handler

    def otherwise(self, handler: Handler) -> None:
        """Answer every request that no queued reply or path handler covers with `handler`."""
        with self._lock:
            self._fallback = handler

    def close(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _answer(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            for route in ((request.method, request.path), (None, request.path)):
                if self._queued[route]:
                    return self._queued[route].popleft()
            handler = (
                self._handlers.get((request.method, request.path))
                or self._handlers.get((None, request.path))
                or self._fallback
            )
            if handler is None:
                self.unscripted.append(request)
                return Reply(status=501, body=f"nothing scripted for {request.path}")
        return handler(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class ScriptedHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            timeout = 5

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qsl(parts.query, keep_blank_values=True),
                    headers=httpx.Headers(list(self.headers.items())),
                    body=self.rfile.read(length) if length else b"",
                )
                try:
                    reply = server._answer(request)
                except Exception as exc:  # a broken handler must show up in the test, not hang it
                    server.handler_errors.append(exc)
                    reply = Reply(status=500, body=f"handler failed: {exc!r}")
                body, headers = reply.encoded()
                self.send_response(reply.status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                try:
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up (a timeout test); nothing is left to answer.
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return

        return ScriptedHandler


def unused_url() -> str:
    """An `http://127.0.0.1:<port>` URL where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
