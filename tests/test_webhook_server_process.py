"""The webhook endpoint of the real app (`streamlit run app.py` in a subprocess) over HTTP on a
loopback port: deliveries, concurrent duplicates, and a SIGKILL right after the 200."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine, make_url

from lib.providers.types import ProviderCredentials
from lib.store import ConnectionInfo, CredentialsStore, SecretBox, create_db_engine, migrate
from lib.store.tables import user_credentials, webhook_events
from lib.webhooks import WEBHOOK_PATH
from tests.app_process import AppProcess
from tests.server_sockets import server_end
from tests.test_webhook_receiver import SECRET, signed, stripe_event
from tests.test_webhook_worker import wait_until

ENCRYPTION_KEY = Fernet.generate_key()
CLIENT_ID = "ca_ServedAppPlatform000000000001"


class WebhookApp(AppProcess):
    """The app with the tests' webhook secret, encryption key and Connect client id, on SQLite
    in `data_dir` unless `database_url`."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        env = {
            "APP_DATA_DIR": str(data_dir),
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "APP_ENCRYPTION_KEY": ENCRYPTION_KEY.decode(),
            "STRIPE_CLIENT_ID": CLIENT_ID,
        }
        if database_url is not None:
            env["DATABASE_URL"] = database_url
        super().__init__(env, data_dir)

    def post(self, body: str, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.url + WEBHOOK_PATH, content=body, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def running_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebhookApp, Engine]]:
    """One app on SQLite for the delivery tests, and an engine on its database."""
    data_dir = tmp_path_factory.mktemp("served-app")
    app = WebhookApp(data_dir)
    engine = create_db_engine(f"sqlite:///{data_dir / 'dashboard.db'}")
    yield app, engine
    app.stop()
    engine.dispose()


def rows(engine: Engine, event_id: str) -> list[sa.Row[object]]:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(webhook_events).where(webhook_events.c.event_id == event_id)
        ).all()


def test_a_signed_event_over_http_is_stored_and_then_processed(
    running_app: tuple[WebhookApp, Engine],
) -> None:
    app, engine = running_app
    body = stripe_event("evt_http_good")

    response = app.post(body, signed(body))

    assert response.status_code == 200
    assert response.json() == {"received": True}
    [row] = rows(engine, "evt_http_good")
    assert row.payload == body
    wait_until(lambda: rows(engine, "evt_http_good")[0].status == "processed")


def test_refusals_over_http_are_400s_without_a_traceback(
    running_app: tuple[WebhookApp, Engine],
) -> None:
    app, engine = running_app
    body = stripe_event("evt_http_bad")

    forged = app.post(body, signed(body, "whsec_forged"))
    unsigned = app.post(body, {})

    assert (forged.status_code, unsigned.status_code) == (400, 400)
    assert forged.json()["error"] == "bad_signature"
    assert unsigned.json()["error"] == "missing_signature"
    assert rows(engine, "evt_http_bad") == []


def test_twenty_concurrent_duplicates_over_http_store_one_row(
    running_app: tuple[WebhookApp, Engine],
) -> None:
    app, engine = running_app
    body = stripe_event("evt_http_race")
    headers = signed(body)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: app.post(body, headers), range(20)))

    assert [response.status_code for response in responses] == [200] * 20
    assert sum("duplicate" not in response.json() for response in responses) == 1
    assert len(rows(engine, "evt_http_race")) == 1


def keep_alive_exchange(app: WebhookApp, request: bytes) -> socket.socket:
    """A connection to `app` that has sent `request` and been answered 200, still open."""
    client = socket.create_connection(("127.0.0.1", app.port), timeout=10)
    client.sendall(request)
    assert client.recv(12) == b"HTTP/1.1 200"
    return client


def test_connections_the_app_accepts_send_small_responses_without_waiting_on_nagle(
    running_app: tuple[WebhookApp, Engine],
) -> None:
    # Under `streamlit run` a small response otherwise waits ~40 ms for the client's ACK.
    app, _engine = running_app
    body = stripe_event("evt_http_nodelay").encode()
    head = "".join(f"{name}: {value}\r\n" for name, value in signed(body.decode()).items())
    webhook = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    page = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    for request in (webhook, page):
        with (
            keep_alive_exchange(app, request) as client,
            server_end(app.process.pid, client) as accepted,
        ):
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def connect_stripe_account(engine: Engine, account_id: str) -> None:
    migrate(engine)
    CredentialsStore(engine, SecretBox([ENCRYPTION_KEY])).save(
        "local",
        "stripe",
        ProviderCredentials(pat="sk_test_" + "z" * 24, auth_method="oauth", account_id=account_id),
        ConnectionInfo(account_id=account_id, auth_method="oauth"),
    )


def connection_status(engine: Engine) -> str:
    with engine.connect() as connection:
        return connection.execute(sa.select(user_credentials.c.status)).scalar_one()


def test_an_event_acknowledged_just_before_a_kill_is_kept_and_processed_after_restart(
    db_url: str, tmp_path: Path
) -> None:
    postgres = make_url(db_url).get_backend_name() == "postgresql"
    engine = create_db_engine(db_url)
    connect_stripe_account(engine, "acct_killed")
    body = stripe_event(
        "evt_before_kill",
        "account.application.deauthorized",
        account="acct_killed",
        created=int(time.time()) + 1,
        data_object={"id": CLIENT_ID, "object": "application"},
    )
    # On PostgreSQL, hold the reaction back so the kill certainly lands before processing.
    blocker = _lock_credentials(db_url) if postgres else None
    try:
        app = WebhookApp(tmp_path, db_url)
        try:
            response = app.post(body, signed(body))
            app.kill()
        finally:
            app.stop()

        assert response.status_code == 200
        [row] = rows(engine, "evt_before_kill")
        if blocker is not None:
            assert row.status == "pending"
            assert connection_status(engine) == "connected"
    finally:
        # Released whatever happened: a lock left held blocks the schema's teardown for good.
        if blocker is not None:
            blocker.close()

    restarted = WebhookApp(tmp_path, db_url)
    try:
        wait_until(lambda: rows(engine, "evt_before_kill")[0].status == "processed", timeout=15)
    finally:
        restarted.stop()
    assert connection_status(engine) == "needs_reconnect"
    engine.dispose()


def _lock_credentials(db_url: str) -> psycopg.Connection[tuple[object, ...]]:
    url = make_url(db_url).set(drivername="postgresql")
    connection = psycopg.connect(url.render_as_string(hide_password=False))
    connection.execute("LOCK TABLE user_credentials IN EXCLUSIVE MODE")
    return connection
