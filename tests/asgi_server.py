"""An ASGI app served by uvicorn (the server `streamlit run` uses) on a free loopback port, in a
thread: for tests that need real sockets, such as a body that stalls half way."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Self

import uvicorn

from tests.app_process import free_port

STARTUP_SECONDS = 10


class ServedApp:
    """`app` on `http://127.0.0.1:<port>` while the `with` block runs (HTTP/1.1 through h11)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            http="h11",
            lifespan="off",
            log_config=None,  # leave logging alone: tests read uvicorn's records via caplog
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self, timeout: float = 10) -> socket.socket:
        """A new TCP connection to the server (reads time out after `timeout` seconds)."""
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise AssertionError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(STARTUP_SECONDS)
