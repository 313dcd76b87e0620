"""The server's end of a test's TCP connection, read from the server process itself (Linux).

`pidfd_getfd(2)` (Linux 5.6+) copies a descriptor out of another process we may trace, such as
the app a test started: the copy shares the socket, so its options are the server's.

    with server_end(app.process.pid, client) as accepted:
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.ci import missing_requirement

PIDFD_GETFD = 438  # the same number on every architecture Linux added it to


def copy_descriptor(pid: int, descriptor: int) -> int:
    """A descriptor in this process for `pid`'s `descriptor`; OSError when not allowed."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        copied = int(libc.syscall(PIDFD_GETFD, pidfd, descriptor, 0))
    finally:
        os.close(pidfd)
    if copied < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return copied


@contextlib.contextmanager
def server_end(pid: int, client: socket.socket) -> Iterator[socket.socket]:
    """The socket process `pid` accepted for `client` (a copy, closed after the block).

    Skips the test (fails it under CI=true) where descriptors cannot be copied; raises
    AssertionError when `pid` holds no socket connected to `client`.
    """
    if not sys.platform.startswith("linux") or not hasattr(os, "pidfd_open"):
        missing_requirement("reading a server's socket options needs Linux's pidfd_getfd")
    wanted = client.getsockname()
    for name in os.listdir(Path("/proc") / str(pid) / "fd"):
        try:
            copied = copy_descriptor(pid, int(name))
        except OSError as exc:
            if exc.errno in (1, 38):  # EPERM, ENOSYS: not on this machine
                missing_requirement(f"pidfd_getfd refused here: {exc.strerror}")
            continue  # closed since it was listed
        try:
            sock = socket.socket(fileno=copied)
        except OSError:  # not a socket
            os.close(copied)
            continue
        if _peer(sock) == wanted:
            with sock:
                yield sock
            return
        sock.close()
    raise AssertionError(f"process {pid} holds no connection from {wanted}")


def _peer(sock: socket.socket) -> object:
    try:
        return sock.getpeername()
    except OSError:  # a listening or unconnected socket
        return None
