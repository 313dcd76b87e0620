"""The app reads its settings from the secrets files Streamlit reads: an `[auth]` table that
`st.login` uses (given with `--secrets.files`, or in the working directory's `.streamlit/`) also
closes the OAuth start route, which cannot ask Streamlit who is signed in."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import lib.config
from lib.auth import AuditFilters, AuditLog
from lib.config import (
    PROJECT_ROOT,
    follow_streamlit_secrets_files,
    read_auth_section,
    secrets_files,
)
from lib.store import create_db_engine
from lib.store.db import SQLITE_FILE_NAME
from tests.app_process import AppProcess
from tests.sign_in_support import AUTH_TABLE

START = "/api/auth/stripe"


@pytest.fixture
def original_secrets_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real `secrets_files` (the test isolation replaces it), following nothing yet; any
    source a test sets is forgotten after it."""
    monkeypatch.setattr(lib.config, "secrets_files", secrets_files)
    monkeypatch.setattr(lib.config, "_streamlit_secrets_files", None)
    lib.config.get_settings.cache_clear()


def test_following_streamlit_reads_the_files_it_names_and_skips_folders(
    original_secrets_files: None, tmp_path: Path
) -> None:
    named = tmp_path / "deploy" / "secrets.toml"
    named.parent.mkdir()
    named.write_text('ADMIN_EMAILS = "ann@example.com"\n' + AUTH_TABLE)
    folder = tmp_path / "k8s-secrets"
    folder.mkdir()

    follow_streamlit_secrets_files(lambda: [str(folder), str(named)])

    auth = read_auth_section()
    assert auth is not None and auth["cookie_secret"].startswith("test-cookie-secret")
    assert lib.config.get_settings().admin_emails == ("ann@example.com",)


def app_environment(data_dir: Path) -> dict[str, str]:
    """Stripe Connect configured, nothing in the environment about sign-in."""
    return {
        "APP_DATA_DIR": str(data_dir),
        "DATABASE_URL": "",
        "STRIPE_CLIENT_ID": "ca_SecretsFilesPlatform0000000001",
        "STRIPE_SECRET_KEY": "sk_test_51SecretsFilesPlatformKey0001",
        "STRIPE_CONNECT_BASE": "http://127.0.0.1:9",
        "STRIPE_API_BASE": "http://127.0.0.1:9/v1",
        "EVENTS_POLL_ENABLED": "false",
        "ADMIN_EMAILS": "ann@example.com",
    }


@pytest.mark.parametrize("where", ["--secrets.files", "working directory"])
def test_an_auth_table_only_streamlit_was_told_about_closes_the_start_route(
    where: str, tmp_path: Path
) -> None:
    folder = tmp_path / "run"
    secrets = folder / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir(parents=True)
    secrets.write_text(AUTH_TABLE)
    data_dir = tmp_path / "data"
    if where == "--secrets.files":
        options = ["--secrets.files", str(secrets)]
        app = AppProcess(app_environment(data_dir), tmp_path, options=options)
    else:
        app = AppProcess(
            app_environment(data_dir), tmp_path, script=PROJECT_ROOT / "app.py", cwd=folder
        )
    try:
        # From this computer: in local mode that would be an admin.
        response = httpx.get(app.url + START, follow_redirects=False, timeout=10)
    finally:
        app.stop()

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    engine = create_db_engine(f"sqlite:///{data_dir / SQLITE_FILE_NAME}")
    try:
        [entry] = AuditLog(engine).entries(AuditFilters(), limit=10)
    finally:
        engine.dispose()
    assert (entry.action, entry.result, entry.actor_kind) == (
        "credentials.connect_start",
        "refused",
        "anonymous",
    )
