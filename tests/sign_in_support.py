"""Sign-in for tests: an `[auth]` table in a secrets.toml of the test's own, the identities
AppTest hands to `st.user`, and the audit log as rows."""

from __future__ import annotations

from pathlib import Path

import pytest

import lib.config
from lib.auth import AuditEntry, AuditFilters, AuditLog
from lib.store import get_engine

COOKIE_SECRET = "test-cookie-secret-0123456789abcdef"
ADMIN = "ann@example.com"
VIEWER = "bob@example.com"
OUTSIDER = "eve@elsewhere.example"
AUTH_TABLE = f"""
[auth]
redirect_uri = "http://localhost:8501/oauth2callback"
cookie_secret = "{COOKIE_SECRET}"

[auth.google]
client_id = "dashboard-client"
client_secret = "dashboard-client-secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
"""


def configure_sign_in(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Sign-in on (an `[auth]` table in secrets.toml), ann an admin, example.com allowed."""
    secrets = folder / "secrets.toml"
    secrets.write_text(AUTH_TABLE)
    monkeypatch.setattr(lib.config, "secrets_files", lambda: [secrets])
    monkeypatch.setenv("ADMIN_EMAILS", ADMIN)
    monkeypatch.setenv("ALLOWED_EMAIL_DOMAINS", "example.com")
    lib.config.get_settings.cache_clear()


def signed_in(email: str, **claims: object) -> dict[str, object]:
    """What `st.user` holds for `email` after the provider's sign-in."""
    return {"is_logged_in": True, "email": email, "email_verified": True, **claims}


SIGNED_OUT: dict[str, object] = {"is_logged_in": False}


def audit_rows() -> list[AuditEntry]:
    """Every audit log entry, newest first."""
    return AuditLog(get_engine()).entries(AuditFilters(), limit=1000)
