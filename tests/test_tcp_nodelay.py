"""TCP_NODELAY on listening sockets: connections accepted the way `streamlit run` accepts them
(asyncio over a socket bound with protocol 0) send small responses at once, and nothing else
the process holds is touched."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from lib.tcp_nodelay import (
    open_descriptors,
    set_nodelay_on_listening_sockets,
    with_nodelay_listeners,
)


def nodelay(sock: socket.socket) -> bool:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@pytest.fixture
def streamlit_like_listener() -> Iterator[socket.socket]:
    """A listening socket bound as Streamlit 1.67's `_bind_socket` binds it: protocol 0."""
    listener = socket.socket(family=socket.AF_INET)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    yield listener
    listener.close()


async def accepted_by_asyncio(listener: socket.socket) -> bool:
    """Whether the connection an asyncio server (uvicorn's way) accepts on `listener` has
    TCP_NODELAY, as the server's transport sees it."""
    accepted: asyncio.Queue[asyncio.BaseTransport] = asyncio.Queue()

    class Keep(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.put_nowait(transport)

    server = await asyncio.get_running_loop().create_server(Keep, sock=listener)
    _reader, writer = await asyncio.open_connection(*listener.getsockname()[:2])
    transport = await asyncio.wait_for(accepted.get(), 10)
    result = nodelay(transport.get_extra_info("socket"))
    writer.close()
    transport.close()
    server.close()
    return result


def test_asyncio_leaves_nagle_on_for_a_protocol_0_listener(
    streamlit_like_listener: socket.socket,
) -> None:
    # The cause: when this starts failing, asyncio or Streamlit set the option themselves and
    # lib/tcp_nodelay.py can go.
    assert streamlit_like_listener.proto == 0
    assert asyncio.run(accepted_by_asyncio(streamlit_like_listener)) is False


def test_connections_accepted_after_the_fix_send_at_once(
    streamlit_like_listener: socket.socket,
) -> None:
    assert set_nodelay_on_listening_sockets() >= 1

    assert asyncio.run(accepted_by_asyncio(streamlit_like_listener)) is True


def test_only_listening_tcp_sockets_change_and_every_descriptor_stays_open(
    streamlit_like_listener: socket.socket, tmp_path: Path
) -> None:
    peer = socket.create_connection(streamlit_like_listener.getsockname())
    connected, _address = streamlit_like_listener.accept()
    datagram = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    local = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    local.bind(str(tmp_path / "unix.sock"))
    local.listen()
    file = (tmp_path / "f.txt").open("w")
    read_end, write_end = os.pipe()
    held = [peer, connected, datagram, local]
    try:
        before = open_descriptors()

        changed = set_nodelay_on_listening_sockets(
            [*before, 10_000]  # one closed descriptor, skipped
        )

        assert changed == 1
        assert nodelay(streamlit_like_listener)
        assert not nodelay(peer) and not nodelay(connected)
        assert open_descriptors() == before
        file.write("still open")
        assert os.write(write_end, b"x") == 1
        peer.sendall(b"ping")
        assert connected.recv(4) == b"ping"
    finally:
        for sock in held:
            sock.close()
        file.close()
        os.close(read_end)
        os.close(write_end)


def test_the_lifespan_sets_the_option_then_runs_the_app_lifespan_with_its_state(
    streamlit_like_listener: socket.socket,
) -> None:
    seen: list[str] = []

    @asynccontextmanager
    async def inner(app: Any) -> AsyncIterator[dict[str, str]]:
        seen.append(f"start {app} nodelay={nodelay(streamlit_like_listener)}")
        yield {"state": "kept"}
        seen.append("stop")

    async def serve() -> Any:
        async with with_nodelay_listeners(inner)("the app") as state:
            seen.append("serving")
            return state

    assert asyncio.run(serve()) == {"state": "kept"}
    assert seen == ["start the app nodelay=True", "serving", "stop"]
