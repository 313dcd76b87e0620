"""Who may start Stripe Connect, and whose answer the Credentials page accepts: the start route
refuses non-admins (a viewer's or a forged ticket with sign-in, a remote client without), and
a state started by one admin cannot be finished by another user."""

from __future__ import annotations

from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

import lib.config
import lib.render.cookies
from lib.auth import issue_ticket
from lib.config import PROJECT_ROOT
from lib.http_routes import build_routes
from lib.oauth import STATE_COOKIE
from lib.store import get_engine
from lib.store.tables import oauth_states
from tests.apptest_support import unescape
from tests.credentials_support import (
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    app_credentials_store,
    offer_stripe_connect,
)
from tests.loopback_server import LoopbackServer, Reply
from tests.sign_in_support import (
    ADMIN,
    COOKIE_SECRET,
    VIEWER,
    audit_rows,
    configure_sign_in,
    signed_in,
)

START = "/api/auth/stripe"
LOOPBACK = ("127.0.0.1", 50000)
REMOTE = ("203.0.113.9", 50000)
OTHER_ADMIN = "carol@example.com"
TOKEN_ANSWER = {
    "access_token": ACCESS_TOKEN,
    "refresh_token": REFRESH_TOKEN,
    "stripe_user_id": "acct_1Dashboard",
    "scope": "read_write",
    "livemode": False,
    "token_type": "bearer",
}


@pytest.fixture
def stripe_fake(stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:
    """connect.stripe.com and api.stripe.com on loopback, with OAuth configured to use them."""
    offer_stripe_connect(monkeypatch)
    return stripe_fake


@pytest.fixture
def sign_in_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stripe_fake: LoopbackServer
) -> None:
    configure_sign_in(monkeypatch, tmp_path)
    monkeypatch.setenv("ADMIN_EMAILS", f"{ADMIN},{OTHER_ADMIN}")
    lib.config.get_settings.cache_clear()


def start(client: tuple[str, int] = LOOPBACK, **params: str) -> httpx.Response:
    app = TestClient(Starlette(routes=build_routes()), client=client)
    return app.get(START, params=params, follow_redirects=False)


def stored_states() -> list[str]:
    with get_engine().connect() as connection:
        return list(connection.execute(sa.select(oauth_states.c.user_id)).scalars())


def assert_refused(response: httpx.Response, actor: str, client: str) -> None:
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert "set-cookie" not in response.headers
    assert stored_states() == []
    [entry] = audit_rows()
    assert (entry.actor, entry.client_address, entry.action, entry.result) == (
        actor,
        client,
        "credentials.connect_start",
        "refused",
    )


def test_local_mode_starts_for_this_computer_only(stripe_fake: LoopbackServer) -> None:
    assert start(LOOPBACK).status_code == 302

    refused = start(REMOTE)

    assert refused.json()["message"].startswith("Changes can only be made from the computer")
    assert refused.status_code == 403
    assert [(e.actor, e.result) for e in audit_rows()] == [
        ("remote visitor", "refused"),
        ("local visitor", "succeeded"),
    ]


def test_a_proxy_on_this_computer_does_not_make_its_visitors_local(
    stripe_fake: LoopbackServer,
) -> None:
    app = TestClient(Starlette(routes=build_routes()), client=LOOPBACK)

    response = app.get(START, headers={"X-Real-IP": "203.0.113.9"}, follow_redirects=False)

    assert_refused(response, "remote visitor", "127.0.0.1")


def test_allow_remote_admin_lets_remote_clients_start(
    stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOW_REMOTE_ADMIN", "true")
    lib.config.get_settings.cache_clear()

    assert start(REMOTE).status_code == 302
    assert stored_states() == ["browser"]


@pytest.mark.parametrize(
    ("ticket", "actor"),
    [
        (None, "unknown (no valid sign-in ticket)"),
        ("forged.ticket.value", "unknown (no valid sign-in ticket)"),
        ("viewer", VIEWER),
        ("other secret", "unknown (no valid sign-in ticket)"),
    ],
)
def test_with_sign_in_the_start_route_refuses_all_but_an_admins_ticket(
    sign_in_on: None, ticket: str | None, actor: str
) -> None:
    value = {
        "viewer": issue_ticket(SecretStr(COOKIE_SECRET), VIEWER),
        "other secret": issue_ticket(SecretStr("some-other-secret-0123456789"), ADMIN),
    }.get(ticket or "", ticket)
    params = {} if value is None else {"ticket": value}

    response = start(LOOPBACK, **params)

    assert response.json()["message"].startswith("Only admins can do this")
    assert_refused(response, actor, "127.0.0.1")


def test_an_admins_ticket_starts_a_flow_bound_to_that_admin(sign_in_on: None) -> None:
    response = start(REMOTE, ticket=issue_ticket(SecretStr(COOKIE_SECRET), ADMIN))

    assert response.status_code == 302
    assert SimpleCookie(response.headers["set-cookie"])[STATE_COOKIE].value
    assert stored_states() == [ADMIN]
    assert [(e.actor, e.action, e.result) for e in audit_rows()] == [
        (ADMIN, "credentials.connect_start", "succeeded")
    ]


def test_the_credentials_page_gives_its_admin_a_link_that_the_route_accepts(
    sign_in_on: None,
) -> None:
    page = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "credentials.py"), default_timeout=60)
    page.user = signed_in(ADMIN)
    page.run()
    [link] = [button.proto.url for button in page.get("link_button")]
    path, query = link.split("?", 1)

    assert path.endswith(START)
    response = TestClient(Starlette(routes=build_routes()), client=LOOPBACK).get(
        START + "?" + query, follow_redirects=False
    )
    assert response.status_code == 302
    assert stored_states() == [ADMIN]


def finish_as(
    user: str, state: str, cookie: str | None, monkeypatch: pytest.MonkeyPatch
) -> AppTest:
    monkeypatch.setattr(lib.render.cookies, "read_cookie", lambda name: cookie)
    page = AppTest.from_file(str(PROJECT_ROOT / "app_pages" / "credentials.py"), default_timeout=60)
    page.user = signed_in(user)
    page.query_params["code"] = "ac_from_stripe"
    page.query_params["state"] = state
    return page.run()


def started_by_admin() -> str:
    response = start(LOOPBACK, ticket=issue_ticket(SecretStr(COOKIE_SECRET), ADMIN))
    return response.cookies[STATE_COOKIE]


def test_an_answer_finished_by_another_user_is_refused_and_nothing_is_saved(
    sign_in_on: None, stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    stripe_fake.on("/oauth/token", lambda request: Reply(json=TOKEN_ANSWER))
    state = started_by_admin()

    page = finish_as(OTHER_ADMIN, state, state, monkeypatch)

    assert not page.exception
    [flash] = [unescape(error.value) for error in page.error]
    assert "belongs to a connection another person started" in flash
    assert "Nothing was saved" in flash
    assert stripe_fake.requests_to("/oauth/token") == []
    assert app_credentials_store().get("local", "stripe") is None
    assert [(e.actor, e.action, e.result) for e in audit_rows()] == [
        (OTHER_ADMIN, "credentials.connect_finish", "failed"),
        (ADMIN, "credentials.connect_start", "succeeded"),
    ]


def test_the_admin_who_started_finishes_and_is_named_as_who_connected(
    sign_in_on: None, stripe_fake: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    stripe_fake.queue("/oauth/token", Reply(json=TOKEN_ANSWER))
    stripe_fake.queue(
        "/v1/account", Reply(json={"id": "acct_1Dashboard", "settings": {"dashboard": {}}})
    )
    state = started_by_admin()

    page = finish_as(ADMIN, state, state, monkeypatch)

    assert not page.exception
    stored = app_credentials_store().get("local", "stripe")
    assert stored is not None and stored.info.connected_by == ADMIN
    assert [(e.action, e.result, e.account) for e in audit_rows()] == [
        ("credentials.connect_finish", "succeeded", "Stripe acct_1Dashboard"),
        ("credentials.connect_start", "succeeded", "stripe"),
    ]
