"""Admitting webhook bodies: a byte budget for bodies in flight, and a deadline to read one.

Without them, a connection that declares a 1 MiB body, sends almost all of it and stalls holds
that mebibyte (and the copies made while reading) for as long as it stays open; 300 of them
held about 390 MB. The design:

- A delivery is charged its declared `Content-Length` when its headers arrive, before any
  body byte is read, and refunded when its handler ends. A body without a declared length
  (chunked) is charged the maximum, `MAX_BODY_BYTES`. A declaration over the maximum is
  refused at once (400 `body_too_large`), a body that outgrows its declaration too.
- The charges in flight never exceed the budget (`WEBHOOK_BODIES_IN_FLIGHT_MB`, 16 by
  default). A delivery that does not fit is answered 503 with `Retry-After` and
  `Connection: close` without reading its body; Stripe retries it later.
- A quarter of the budget is a reserve only small bodies (up to `SMALL_BODY_BYTES`, 64 KiB)
  may use. Stripe's events are a few KB, so a flood of large stalled declarations can take at
  most three quarters and real deliveries still fit: 4 MiB is 64 small bodies at once.
- Every body must arrive within the deadline (`WEBHOOK_BODY_TIMEOUT_SECONDS`, 10 s by
  default), counted from the start of the request; a late one is refused with 408
  `body_timeout` and its charge returns to the budget.

So the memory for webhook bodies stays within a small multiple of the budget whatever
clients do. A reverse proxy with a body size and timeout limit in front is still advised:
this bounds memory, not connections.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.requests import ClientDisconnect, Request

from lib.webhooks.verify import WebhookRejected

MAX_BODY_BYTES = 1024 * 1024
SMALL_BODY_BYTES = 64 * 1024
MIB = 1024 * 1024


class BodyBudget:
    """Bytes of webhook bodies this process may hold at once, charged by declared length.

    Bodies over `SMALL_BODY_BYTES` may use three quarters of `total_bytes`; small bodies may
    use all of it. Safe to share between threads and event loops.
    """

    def __init__(self, total_bytes: int) -> None:
        if total_bytes < 2 * MAX_BODY_BYTES:
            raise ValueError("the budget must hold at least two maximum bodies")
        self.total_bytes = total_bytes
        self.large_limit_bytes = total_bytes * 3 // 4
        self._lock = threading.Lock()
        self._charged = 0
        self._charged_large = 0

    @property
    def charged_bytes(self) -> int:
        """Bytes currently charged to bodies in flight."""
        return self._charged

    def try_charge(self, size: int) -> bool:
        """Charge `size` bytes if they fit (large bodies within their share); False if not."""
        large = size > SMALL_BODY_BYTES
        with self._lock:
            if self._charged + size > self.total_bytes:
                return False
            if large and self._charged_large + size > self.large_limit_bytes:
                return False
            self._charged += size
            if large:
                self._charged_large += size
            return True

    def refund(self, size: int) -> None:
        """Return a charge made by `try_charge`."""
        with self._lock:
            self._charged -= size
            if size > SMALL_BODY_BYTES:
                self._charged_large -= size

    @asynccontextmanager
    async def admitted(self, request: Request) -> AsyncIterator[int]:
        """Charge `request`'s declared body for the duration of the block; yields the charge.

        Raises WebhookRejected: `body_too_large` for a declaration over the maximum (or an
        unreadable one), `server_busy` when it does not fit now.
        """
        size = declared_size(request)
        if not self.try_charge(size):
            raise WebhookRejected("server_busy")
        try:
            yield size
        finally:
            self.refund(size)


def declared_size(request: Request) -> int:
    """The body size `request` declares, or `MAX_BODY_BYTES` when it declares none.

    Raises WebhookRejected(`body_too_large`) for a declaration over the maximum or one that
    is not a plain decimal number (which the HTTP server would not frame either).
    """
    declared = request.headers.get("content-length")
    if declared is None:
        return MAX_BODY_BYTES
    # Bounded before int(): a 5,000-digit length must not reach the conversion.
    if not (declared.isascii() and declared.isdigit()) or len(declared) > 8:
        raise WebhookRejected("body_too_large")
    size = int(declared)
    if size > MAX_BODY_BYTES:
        raise WebhookRejected("body_too_large")
    return size


async def read_body(request: Request, limit: int, timeout_seconds: float) -> bytes:
    """The whole body of `request`, at most `limit` bytes, received within `timeout_seconds`.

    Raises WebhookRejected: `body_too_large` past `limit`, `body_timeout` past the deadline,
    `client_disconnected` when the client hung up first.
    """
    body = bytearray()
    try:
        async with asyncio.timeout(timeout_seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise WebhookRejected("body_too_large")
    except TimeoutError:
        raise WebhookRejected("body_timeout") from None
    except ClientDisconnect:  # an expected event under abuse, not a server error to log
        raise WebhookRejected("client_disconnected") from None
    return bytes(body)
