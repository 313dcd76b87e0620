"""The webhook endpoint under abuse, over real sockets (uvicorn on loopback): bodies that stall,
more bodies in flight than the budget holds, and a flood of them while Stripe delivers."""

from __future__ import annotations

import http.client
import logging
import select
import socket
import time
from collections import Counter
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lib.store.tables import webhook_events
from lib.webhooks import WEBHOOK_PATH, BodyBudget
from lib.webhooks.admission import MIB
from tests.asgi_server import ServedApp
from tests.test_webhook_receiver import SECRET, Receiver, signed, stripe_event
from tests.test_webhook_worker import wait_until


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def send_head(served: ServedApp, declared: int | None, first_bytes: bytes = b"") -> socket.socket:
    """A connection that sent a POST's headers (with `declared` as Content-Length, or chunked
    when None) and `first_bytes` of its body, and then stalls."""
    connection = served.connect()
    length = "Transfer-Encoding: chunked" if declared is None else f"Content-Length: {declared}"
    head = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Stripe-Signature: t=1,v1=00\r\n{length}\r\n\r\n"
    )
    connection.sendall(head.encode() + first_bytes)
    return connection


def read_answer(connection: socket.socket) -> Answer:
    response = http.client.HTTPResponse(connection)
    response.begin()
    answer = Answer(
        response.status, {name.lower(): value for name, value in response.getheaders()}, b""
    )
    body = response.read()
    connection.close()
    return Answer(answer.status, answer.headers, body)


def deliver(served: ServedApp, body: str) -> int:
    """Stripe's delivery of `body`, signed, on its own connection: the status answered."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    connection.request("POST", WEBHOOK_PATH, body=body.encode(), headers=signed(body))
    status = connection.getresponse().status
    connection.close()
    return status


def stored_ids(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        query = sa.select(webhook_events.c.event_id).order_by(webhook_events.c.id)
        return list(connection.execute(query).scalars())


def serve(engine: Engine, **route_options: object) -> tuple[Receiver, ServedApp]:
    receiver = Receiver(lambda: engine, [SECRET], **route_options)
    return receiver, ServedApp(receiver.client.app)


def test_a_body_that_stalls_is_refused_with_408_after_the_deadline(sqlite_engine: Engine) -> None:
    receiver, served = serve(sqlite_engine, body_timeout_seconds=0.5)
    with served:
        stalled = send_head(served, 1000, b'{"id": "evt_')

        answer = read_answer(stalled)

    assert answer.status == 408
    assert answer.headers["connection"] == "close"
    assert b'"error":"body_timeout"' in answer.body
    assert receiver.refusals() == {"body_timeout": 1}


def test_a_client_that_hangs_up_mid_body_is_counted_not_logged_as_a_server_error(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    receiver, served = serve(sqlite_engine, budget=BodyBudget(2 * MIB), body_timeout_seconds=1)
    with served:
        send_head(served, MIB, b"x" * 1000).close()
        wait_until(lambda: receiver.refusals() == {"client_disconnected": 1})
        # Its charge went back to the budget: another large body is admitted (and times out).
        next_one = read_answer(send_head(served, MIB, b"x" * 1000))

    assert next_one.status == 408
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_bodies_beyond_the_budget_get_503_with_retry_after_and_small_ones_still_fit(
    sqlite_engine: Engine,
) -> None:
    receiver, served = serve(sqlite_engine, budget=BodyBudget(2 * MIB), body_timeout_seconds=3)
    with served:
        holding = send_head(served, MIB, b"x" * 1000)
        refused = read_answer(send_head(served, MIB))
        small = stripe_event("evt_small_during_hold")
        small_status = deliver(served, small)
        timed_out = read_answer(holding)
        big = stripe_event("evt_big_after", description="y" * (MIB - 1000))
        big_status = deliver(served, big)

    assert refused.status == 503
    assert refused.headers["retry-after"] == "3"
    assert refused.headers["connection"] == "close"
    assert b'"error":"server_busy"' in refused.body
    assert small_status == 200
    assert timed_out.status == 408
    assert big_status == 200
    assert stored_ids(sqlite_engine) == ["evt_small_during_hold", "evt_big_after"]
    assert receiver.refusals() == {"server_busy": 1, "body_timeout": 1}


def test_a_body_of_undeclared_length_is_charged_as_the_largest(sqlite_engine: Engine) -> None:
    receiver, served = serve(sqlite_engine, budget=BodyBudget(2 * MIB), body_timeout_seconds=2)
    with served:
        holding = send_head(served, None, b'5\r\n{"id"\r\n')
        refused = read_answer(send_head(served, None))
        read_answer(holding)

    assert refused.status == 503
    assert receiver.refusals() == {"server_busy": 1, "body_timeout": 1}


def test_a_signed_delivery_during_a_flood_of_stalled_bodies_is_stored(
    sqlite_engine: Engine,
) -> None:
    flood_size = 24
    _, served = serve(sqlite_engine, budget=BodyBudget(16 * MIB), body_timeout_seconds=5)
    with served:
        flood = [send_head(served, MIB, b"x" * 65536) for _ in range(flood_size)]
        # The budget's large share holds 12 bodies of 1 MiB: the others are answered at once.
        answered_at_once = _readable(flood, count=flood_size - 12)
        body = stripe_event("evt_during_flood")
        status = deliver(served, body)
        answers = Counter(read_answer(connection).status for connection in flood)

    assert len(answered_at_once) == flood_size - 12
    assert status == 200
    assert stored_ids(sqlite_engine) == ["evt_during_flood"]
    assert answers == {503: flood_size - 12, 408: 12}


def _readable(connections: list[socket.socket], count: int) -> list[socket.socket]:
    """Wait (10 s at most) until `count` of `connections` have something to read."""
    deadline = time.monotonic() + 10
    ready: list[socket.socket] = []
    while len(ready) < count and time.monotonic() < deadline:
        ready, _, _ = select.select(connections, [], [], 0.05)
    return ready
