"""The test OpenID provider (tests/oidc/, the `oidc-provider` npm package) and Streamlit's own
`st.login` / `st.logout` against it: a small probe script, not the product, served by `streamlit
run` and driven through Debian's Chromium. The provider's pages and Streamlit's callback are real;
nothing of Streamlit or Authlib is mocked."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from lib.config import PROJECT_ROOT
from tests.app_process import AppProcess
from tests.browser_support import saved_on_failure
from tests.oidc_browser import confirm_sign_out_at_provider, sign_in_at_provider
from tests.oidc_provider import (
    ADMIN_EMAIL,
    OUTSIDER_EMAIL,
    UNVERIFIED_EMAIL,
    VIEWER_EMAIL,
    OidcProvider,
    app_redirect_uri,
    id_token_claims,
    write_streamlit_secrets,
)

PROBE_APP = PROJECT_ROOT / "tests" / "oidc_probe_app.py"


def test_provider_serves_discovery_for_its_loopback_http_issuer(
    oidc_provider: OidcProvider,
) -> None:
    metadata = httpx.get(oidc_provider.server_metadata_url, timeout=5).json()

    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", oidc_provider.issuer)
    assert metadata["issuer"] == oidc_provider.issuer
    assert metadata["authorization_endpoint"] == f"{oidc_provider.issuer}/auth"
    assert metadata["end_session_endpoint"] == f"{oidc_provider.issuer}/session/end"
    # st.login uses PKCE S256 when the provider offers it.
    assert "S256" in metadata["code_challenge_methods_supported"]


@pytest.mark.parametrize(
    ("email", "verified"),
    [
        pytest.param(ADMIN_EMAIL, True, id="admin"),
        pytest.param(VIEWER_EMAIL, True, id="viewer"),
        pytest.param(OUTSIDER_EMAIL, True, id="outsider"),
        pytest.param(UNVERIFIED_EMAIL, False, id="unverified"),
    ],
)
def test_provider_signs_each_user_in_with_email_claims_in_the_id_token(
    oidc_provider: OidcProvider, oidc_app_port: int, email: str, verified: bool
) -> None:
    claims = id_token_claims(oidc_provider, email, app_redirect_uri(oidc_app_port))

    assert claims["iss"] == oidc_provider.issuer
    assert claims["aud"] == oidc_provider.client_id
    assert claims["sub"] == oidc_provider.users[email].sub
    assert claims["sub"] != email
    assert claims["email"] == email
    assert claims["email_verified"] is verified
    assert claims["name"] == oidc_provider.users[email].name


def test_provider_takes_st_login_requests_and_refuses_a_redirect_uri_it_was_not_given(
    oidc_provider: OidcProvider, oidc_app_port: int
) -> None:
    def authorize(redirect_uri: str) -> httpx.Response:
        query = {
            "client_id": oidc_provider.client_id,
            "response_type": "code",
            # What st.login sends by default: Google's account chooser prompt.
            "scope": "openid email profile",
            "prompt": "select_account",
            "redirect_uri": redirect_uri,
            "state": "s",
            "nonce": "n",
        }
        return httpx.get(f"{oidc_provider.issuer}/auth", params=query, timeout=5)

    allowed = authorize(app_redirect_uri(oidc_app_port))
    refused = authorize(app_redirect_uri(oidc_app_port + 1))

    assert allowed.status_code == 303
    assert allowed.headers["location"].startswith("/interaction/")
    assert refused.status_code == 400
    assert "invalid_redirect_uri" in refused.text


def test_auth_block_has_what_st_login_requires(oidc_provider: OidcProvider, tmp_path: Path) -> None:
    path = write_streamlit_secrets(tmp_path, oidc_provider, app_redirect_uri(8501))

    secrets = tomllib.loads(path.read_text(encoding="utf-8"))

    assert path == tmp_path / ".streamlit" / "secrets.toml"
    assert set(secrets) == {"auth"}
    assert secrets["auth"]["redirect_uri"] == "http://127.0.0.1:8501/oauth2callback"
    assert secrets["auth"]["client_id"] == oidc_provider.client_id
    assert secrets["auth"]["client_secret"] == oidc_provider.client_secret
    assert secrets["auth"]["server_metadata_url"] == oidc_provider.server_metadata_url
    assert len(secrets["auth"]["cookie_secret"]) >= 32


@pytest.fixture
def probe_app(
    oidc_provider: OidcProvider, oidc_app_port: int, tmp_path: Path
) -> Iterator[AppProcess]:
    """The probe script served on `oidc_app_port`, reading only the secrets written for it: they
    are not where Streamlit looks by default, as for the product's app run from the repository."""
    secrets_file = write_streamlit_secrets(
        tmp_path / "elsewhere", oidc_provider, app_redirect_uri(oidc_app_port)
    )
    app = AppProcess(
        {},
        tmp_path,
        script=PROBE_APP,
        cwd=tmp_path,
        port=oidc_app_port,
        options=["--secrets.files", str(secrets_file)],
    )
    try:
        yield app
    finally:
        app.stop()


@pytest.mark.browser
def test_st_login_signs_in_through_the_provider_and_st_logout_signs_out(
    browser_page: Page, probe_app: AppProcess, oidc_provider: OidcProvider
) -> None:
    page = browser_page
    with saved_on_failure(page, "oidc-sign-in"):
        page.goto(probe_app.url)
        page.get_by_text("Not signed in").wait_for()

        page.get_by_role("button", name="Sign in").click()
        sign_in_at_provider(page, oidc_provider, VIEWER_EMAIL)
        page.get_by_text(f"Signed in as {VIEWER_EMAIL}").wait_for()
        assert page.url.startswith(probe_app.url)

        page.get_by_role("button", name="Sign out").click()
        confirm_sign_out_at_provider(page, oidc_provider)
        page.get_by_text("Not signed in").wait_for()
        assert page.url.startswith(probe_app.url)
        assert VIEWER_EMAIL not in page.content()

        # Signed out at the provider too: the next sign-in may be someone else.
        page.get_by_role("button", name="Sign in").click()
        sign_in_at_provider(page, oidc_provider, ADMIN_EMAIL)
        page.get_by_text(f"Signed in as {ADMIN_EMAIL}").wait_for()
        assert VIEWER_EMAIL not in page.content()
