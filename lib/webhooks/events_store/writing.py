"""What every writer of the webhook tables shares: the provider key and the write lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection, Engine

PROVIDER = "stripe"

# SQLite admits one writer at a time and makes the others poll with growing sleeps; this
# process's writers of these tables (receiver, worker, poller) queue on a lock instead.
_WRITE_LOCK = threading.Lock()


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction on `engine`, taken after this process's other writers have finished."""
    with _WRITE_LOCK, engine.begin() as connection:
        yield connection
