"""TCP_NODELAY on the app's listening sockets, so small HTTP responses leave at once.

Why: `streamlit run` (1.67) binds its listening socket itself with `socket.socket(family)`,
whose protocol number is 0, and hands it to uvicorn. asyncio sets TCP_NODELAY only on accepted
sockets whose protocol is `IPPROTO_TCP`, so every connection the app accepts keeps Nagle's
algorithm: uvicorn writes a response's head and body separately, and the body waits for the
client's delayed ACK, about 40 ms per small response (a webhook's 200, the OAuth redirect).
Measured with `bench/bench_webhooks.py`: the same code answered less than half as many
webhooks per second under `streamlit run` as under `uvicorn app:app` (see `bench/README.md`).

How: once at start-up, from the app's lifespan, which uvicorn runs after Streamlit has bound
its socket and before the server accepts connections, set TCP_NODELAY on every listening TCP
socket of this process. Linux, macOS and the BSDs copy the option to each connection the socket
accepts, so it covers every route: custom ones, static files and the websocket. Under `uvicorn
app:app` nothing is listening yet at that moment and nothing needs doing (uvicorn's own sockets
are `IPPROTO_TCP`); `uvicorn --workers` binds before the lifespan with protocol 0 too, and is
covered the same way. Where open descriptors cannot be listed (Windows), nothing changes.

Delete this module and its use in `app.py` once Streamlit sets the option itself (the upstream
report and the one-line fix are in `bench/README.md`).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)
# Where the process's open descriptors are listed: Linux, then macOS and the BSDs.
DESCRIPTOR_FOLDERS = (Path("/proc/self/fd"), Path("/dev/fd"))

Lifespan = Callable[[Any], AbstractAsyncContextManager[Any]]


def open_descriptors() -> list[int]:
    """This process's open file descriptors, or none where they cannot be listed."""
    for folder in DESCRIPTOR_FOLDERS:
        try:
            return sorted(int(name) for name in os.listdir(folder) if name.isdigit())
        except OSError:
            continue
    return []


def set_nodelay_on_listening_sockets(descriptors: Iterable[int] | None = None) -> int:
    """Set TCP_NODELAY on every listening TCP socket among `descriptors` (default: all of this
    process's); how many. Other descriptors are left alone and stay open."""
    changed = 0
    for descriptor in open_descriptors() if descriptors is None else descriptors:
        try:
            # Wraps the descriptor without a copy; detach() below keeps it open.
            sock = socket.socket(fileno=descriptor)
        except OSError:  # not a socket, or closed since it was listed
            continue
        try:
            if _is_listening_tcp(sock):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                changed += 1
        except OSError:
            continue
        finally:
            sock.detach()
    return changed


def _is_listening_tcp(sock: socket.socket) -> bool:
    accepting = getattr(socket, "SO_ACCEPTCONN", None)
    return (
        accepting is not None
        and sock.family in (socket.AF_INET, socket.AF_INET6)
        and sock.type == socket.SOCK_STREAM
        and sock.getsockopt(socket.SOL_SOCKET, accepting) != 0
    )


def with_nodelay_listeners(inner: Lifespan) -> Lifespan:
    """`inner` (an `st.App(lifespan=...)`), first setting TCP_NODELAY on the listening sockets."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        changed = set_nodelay_on_listening_sockets()
        _log.debug("TCP_NODELAY set on %d listening socket(s)", changed)
        async with inner(app) as state:
            yield state

    return lifespan
