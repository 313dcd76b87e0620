"""Who may sign in and with which role, local mode's loopback rule, the sign-in settings and
the start route's tickets: the rules without Streamlit."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

import lib.config
from lib.auth import (
    Refusal,
    Role,
    admit,
    is_local_client,
    issue_ticket,
    local_actor,
    read_ticket,
    sign_in_settings,
)
from lib.config import Settings, get_settings, read_auth_section


def settings(**values: str) -> Settings:
    return Settings(**values)  # type: ignore[arg-type]


COMPANY = {"allowed_email_domains": "example.com", "admin_emails": "ann@example.com"}


@pytest.mark.parametrize(
    ("claims", "role", "refusal"),
    [
        ({"email": "ann@example.com"}, Role.ADMIN, None),
        ({"email": "Ann@Example.COM", "email_verified": True}, Role.ADMIN, None),
        ({"email": "bob@example.com", "email_verified": "true"}, Role.VIEWER, None),
        ({"email": "bob@example.com", "email_verified": False}, None, Refusal.EMAIL_UNVERIFIED),
        ({"email": "bob@example.com", "email_verified": "false"}, None, Refusal.EMAIL_UNVERIFIED),
        ({"email": "bob@example.com", "email_verified": None}, None, Refusal.EMAIL_UNVERIFIED),
        ({"email": "eve@sub.example.com"}, None, Refusal.NOT_ALLOWED),
        ({"email": "eve@evilexample.com"}, None, Refusal.NOT_ALLOWED),
        ({"email": "eve@example.com.evil.test"}, None, Refusal.NOT_ALLOWED),
        ({"email": "ann@example.com@evil.test"}, None, Refusal.NO_EMAIL),
        ({"email": "ann@example.com\n"}, Role.ADMIN, None),
        ({"email": "ann\n@example.com"}, None, Refusal.NO_EMAIL),
        ({"email": "a" * 250 + "@example.com"}, None, Refusal.NO_EMAIL),
        ({"email": ["ann@example.com"]}, None, Refusal.NO_EMAIL),
        ({"name": "Ann"}, None, Refusal.NO_EMAIL),
    ],
)
def test_a_signed_in_identity_gets_its_role_or_a_refusal(
    claims: dict[str, object], role: Role | None, refusal: Refusal | None
) -> None:
    admission = admit(claims, settings(**COMPANY))

    assert (admission.role, admission.refusal) == (role, refusal)


def test_allowed_emails_let_in_single_addresses_of_other_domains() -> None:
    rules = settings(**COMPANY, allowed_emails="Carol@Partner.test, dave@partner.test")

    assert admit({"email": "carol@partner.test"}, rules).role is Role.VIEWER
    assert admit({"email": "dave@partner.test"}, rules).role is Role.VIEWER
    assert admit({"email": "erin@partner.test"}, rules).refusal is Refusal.NOT_ALLOWED


def test_without_an_allow_list_only_admins_get_in() -> None:
    rules = settings(admin_emails="ann@example.com")

    assert admit({"email": "ann@example.com"}, rules).role is Role.ADMIN
    assert admit({"email": "bob@example.com"}, rules).refusal is Refusal.NOT_ALLOWED
    assert admit({"email": "bob@gmail.com"}, settings()).refusal is Refusal.NOT_ALLOWED


def test_address_lists_come_comma_separated_from_the_environment_or_as_a_toml_list(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('ADMIN_EMAILS = ["Ann@Example.com", " cy@example.com "]\n')
    monkeypatch.setattr(lib.config, "secrets_files", lambda: [secrets])
    monkeypatch.setenv("ALLOWED_EMAIL_DOMAINS", " @Example.com, partner.test ,,")
    get_settings.cache_clear()

    loaded = get_settings()

    assert loaded.admin_emails == ("ann@example.com", "cy@example.com")
    assert loaded.allowed_email_domains == ("example.com", "partner.test")
    assert loaded.allowed_emails == ()
    assert loaded.allow_remote_admin is False


@pytest.mark.parametrize(
    ("peer", "headers", "local"),
    [
        ("127.0.0.1", [], True),
        ("127.8.9.10", [], True),
        ("::1", [], True),
        ("::ffff:127.0.0.1", [], True),
        ("192.168.1.20", [], False),
        ("203.0.113.9", [], False),
        ("::ffff:203.0.113.9", [], False),
        ("testclient", [], False),
        (None, [], False),
        ("", [], False),
        ("127.0.0.1", [("X-Real-IP", "203.0.113.9")], False),
        ("127.0.0.1", [("X-Forwarded-For", "127.0.0.1, 203.0.113.9")], False),
        ("127.0.0.1", [("Forwarded", 'for="[2001:db8::1]:4711";proto=https')], False),
        ("127.0.0.1", [("Forwarded", "for=127.0.0.1;proto=http")], True),
        ("127.0.0.1", [("X-Forwarded-For", "127.0.0.1"), ("X-Real-IP", "::1")], True),
        ("127.0.0.1", [("X-Forwarded-For", "unknown")], False),
        ("127.0.0.1", [("Forwarded", "proto=https")], False),
        ("127.0.0.1", [("X-Forwarded-For", "127.0.0.1," * 2000)], False),
        ("127.0.0.1", [("Accept", "text/html")], True),
    ],
)
def test_only_a_browser_on_this_computer_is_local(
    peer: str | None, headers: list[tuple[str, str]], local: bool
) -> None:
    assert is_local_client(peer, headers) is local


def test_local_mode_makes_this_computer_admin_and_remote_visitors_viewers() -> None:
    here = local_actor("127.0.0.1", [], settings())
    remote = local_actor("203.0.113.9", [], settings())
    trusted = local_actor("203.0.113.9", [], settings(allow_remote_admin="true"))

    assert (here.name, here.role, here.kind) == ("local visitor", Role.ADMIN, "local")
    assert (remote.name, remote.role, remote.address) == (
        "remote visitor",
        Role.VIEWER,
        "203.0.113.9",
    )
    assert trusted.role is Role.ADMIN


def test_sign_in_settings_name_the_providers_of_the_auth_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        'STRIPE_CLIENT_ID = "ca_x"\n[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n'
        'cookie_secret = "s3cret-s3cret"\nclient_id = "c"\nclient_secret = "x"\n'
        'server_metadata_url = "https://idp.example/.well-known/openid-configuration"\n'
        '[auth.okta]\nclient_id = "o"\n'
    )
    monkeypatch.setattr(lib.config, "secrets_files", lambda: [secrets])

    found = sign_in_settings(read_auth_section())

    assert found is not None
    assert found.providers == ("default", "okta")
    assert found.cookie_secret is not None
    assert found.cookie_secret.get_secret_value() == "s3cret-s3cret"
    assert "s3cret" not in repr(found)


def test_no_auth_table_is_local_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('STRIPE_SECRET_KEY = "sk_test_x"\nauth = "not a table"\n')
    monkeypatch.setattr(lib.config, "secrets_files", lambda: [secrets])

    assert sign_in_settings(read_auth_section()) is None


SECRET = SecretStr("test-cookie-secret-0123456789abcdef")


def test_a_ticket_names_its_admin_until_it_expires() -> None:
    ticket = issue_ticket(SECRET, "ann@example.com")

    assert read_ticket(SECRET, ticket) == "ann@example.com"
    assert read_ticket(SECRET, ticket, max_age=-1) is None


@pytest.mark.parametrize("case", ["other secret", "tampered", "missing", "garbage", "too long"])
def test_a_ticket_that_is_not_ours_names_nobody(case: str) -> None:
    ticket = issue_ticket(SECRET, "ann@example.com")
    candidate = {
        "other secret": issue_ticket(SecretStr("another-secret-0123456789"), "ann@example.com"),
        "tampered": ticket.replace(ticket.split(".")[0], "eyJlbWFpbCI6ImV2ZUBleGFtcGxlLmNvbSJ9"),
        "missing": None,
        "garbage": "not.a.ticket",
        "too long": ticket + "A" * 2000,
    }[case]

    assert read_ticket(SECRET, candidate) is None
