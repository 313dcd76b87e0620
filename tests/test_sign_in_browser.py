"""Sign-in and roles in the real app: `streamlit run app.py` with an `[auth]` block pointing at
the test OpenID provider (tests/oidc/), driven through Debian's Chromium, reading a Stripe
stand-in on loopback. Nothing of Streamlit, Authlib or the app is mocked: the browser signs in
on the provider's own login form, and the audit log is read from the database the app writes.

An anonymous visitor (even on the first deep link after a start) gets only the sign-in page; a
viewer sees the data and no admin control, and crafted admin actions are refused and recorded;
an admin disconnects and reconnects Stripe and finds it in the audit log; signing out leads back
to the sign-in page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from playwright.sync_api import Page

from lib.auth import AuditEntry, AuditFilters, AuditLog
from lib.providers import ProviderCredentials
from lib.store import ConnectionInfo, CredentialsStore, SecretBox, create_db_engine, migrate
from lib.store.db import SQLITE_FILE_NAME
from tests.app_process import AppProcess
from tests.browser_support import saved_on_failure
from tests.oidc_browser import confirm_sign_out_at_provider, sign_in_at_provider
from tests.oidc_provider import (
    ADMIN_EMAIL,
    VIEWER_EMAIL,
    OidcProvider,
    app_redirect_uri,
    write_streamlit_secrets,
)
from tests.stripe_stand_in import StripeStandIn

pytestmark = pytest.mark.browser

ENCRYPTION_KEY = Fernet.generate_key()
STORED_KEY = "sk_test_51StoredSignInFlowKey0000000001"
PASTED_KEY = "sk_test_51PastedSignInFlowKey000000002"
PLATFORM_KEY = "sk_test_51PlatformSignInFlowKey00000003"
CLIENT_ID = "ca_SignInFlowPlatform000000000001"
ACCOUNT_ID = "acct_1SignInFlow"
ACCOUNT_NAME = "Rocket Rides Sign-in"
ACCOUNT = {"id": ACCOUNT_ID, "object": "account", "business_profile": {"name": ACCOUNT_NAME}}
SIGN_IN_WORDS = "Sign in with your company account to continue."
# What only a page with data has: navigation, the demo badge, widget cards, the account.
DATA_MARKERS = ("stSidebarNav", "st-key-widget-", "Demo data", ACCOUNT_NAME, ACCOUNT_ID)
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
REFUSED = "Only admins can do this, so nothing was changed. The attempt was recorded."
ADMIN_BUTTONS = ("Connect with Stripe", "Test", "Disconnect", "Test and save Stripe")


@dataclass(frozen=True)
class SignInApp:
    """The served app, the provider it signs in with, the Stripe stand-in it reads, and its
    database."""

    url: str
    provider: OidcProvider
    stripe: StripeStandIn
    database_url: str

    def audit(self) -> list[AuditEntry]:
        """Every row of the app's audit log, newest first."""
        engine = create_db_engine(self.database_url)
        try:
            return AuditLog(engine).entries(AuditFilters(), limit=1000)
        finally:
            engine.dispose()

    def stored_stripe_connection(self) -> ConnectionInfo | None:
        """What the app stores about its Stripe connection (decrypted), or None."""
        engine = create_db_engine(self.database_url)
        try:
            stored = CredentialsStore(engine, SecretBox([ENCRYPTION_KEY])).get("local", "stripe")
        finally:
            engine.dispose()
        return None if stored is None else stored.info


@pytest.fixture
def stripe_stand_in() -> Iterator[StripeStandIn]:
    server = StripeStandIn({STORED_KEY, PASTED_KEY, PLATFORM_KEY}, ACCOUNT)
    try:
        yield server
    finally:
        server.close()


def connect_stripe(database_url: str) -> None:
    """Store the workspace's Stripe connection (a pasted key), as an admin did before."""
    engine = create_db_engine(database_url)
    try:
        migrate(engine)
        CredentialsStore(engine, SecretBox([ENCRYPTION_KEY])).save(
            "local",
            "stripe",
            ProviderCredentials(pat=STORED_KEY),
            ConnectionInfo(
                masked_key="sk_test_...0001",
                account_id=ACCOUNT_ID,
                account_name=ACCOUNT_NAME,
                mode="test",
                connected_by=ADMIN_EMAIL,
            ),
        )
    finally:
        engine.dispose()


@pytest.fixture
def signed_in_app(
    browser_page: Page,
    oidc_provider: OidcProvider,
    oidc_app_port: int,
    stripe_stand_in: StripeStandIn,
    tmp_path: Path,
) -> Iterator[SignInApp]:
    """The app on `oidc_app_port`, freshly started, with sign-in through `oidc_provider` (the
    `[auth]` block in a secrets file given with `--secrets.files`, as a deployment may), admins
    and allowed domain in its environment, Stripe Connect configured, and its Stripe
    connection stored, all reading `stripe_stand_in`."""
    data_dir = tmp_path / "app-data"
    data_dir.mkdir()
    database_url = f"sqlite:///{data_dir / SQLITE_FILE_NAME}"
    connect_stripe(database_url)
    secrets_file = write_streamlit_secrets(
        tmp_path / "secrets", oidc_provider, app_redirect_uri(oidc_app_port)
    )
    env = {
        "APP_DATA_DIR": str(data_dir),
        "DATABASE_URL": "",
        "APP_ENCRYPTION_KEY": ENCRYPTION_KEY.decode(),
        "STRIPE_API_BASE": stripe_stand_in.api_base,
        "STRIPE_CONNECT_BASE": stripe_stand_in.url,
        "STRIPE_SECRET_KEY": PLATFORM_KEY,
        "STRIPE_CLIENT_ID": CLIENT_ID,
        "STRIPE_WEBHOOK_SECRET": "",
        "EVENTS_POLL_ENABLED": "false",
        "APP_URL": "",
        "ADMIN_EMAILS": ADMIN_EMAIL,
        "ALLOWED_EMAIL_DOMAINS": "example.com",
        "ALLOWED_EMAILS": "",
        "ALLOW_REMOTE_ADMIN": "false",
    }
    app = AppProcess(
        env, tmp_path, port=oidc_app_port, options=["--secrets.files", str(secrets_file)]
    )
    try:
        yield SignInApp(app.url, oidc_provider, stripe_stand_in, database_url)
    finally:
        app.stop()


def settled(page: Page) -> None:
    """Wait until the app's script run has finished, so everything it draws is in the DOM."""
    page.locator(IDLE).wait_for(state="attached")


def assert_sign_in_page_only(page: Page) -> None:
    """The page is the sign-in page with the provider's button, and nothing else."""
    page.get_by_text(SIGN_IN_WORDS).wait_for()
    settled(page)
    page.get_by_role("button", name="Sign in").wait_for()
    html = page.content()
    shown = [marker for marker in DATA_MARKERS if marker in html]
    assert shown == [], f"the sign-in page shows data: {shown}"
    text = page.locator("[data-testid='stMain']").inner_text()
    assert [line for line in text.splitlines() if line.strip()] == [
        "Payments dashboard",
        SIGN_IN_WORDS,
        "login",  # the button's Material icon, drawn as a ligature
        "Sign in",
    ], text


def sign_in(page: Page, app: SignInApp, email: str) -> None:
    page.get_by_role("button", name="Sign in").click()
    sign_in_at_provider(page, app.provider, email)
    page.get_by_text(f"Signed in as {email}").wait_for()
    assert page.url.startswith(app.url)


def sign_out(page: Page, app: SignInApp) -> None:
    page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    confirm_sign_out_at_provider(page, app.provider)
    assert_sign_in_page_only(page)
    assert page.url.startswith(app.url)


def open_page(page: Page, name: str) -> None:
    """Follow the sidebar's link to the page called `name` and wait for its title."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    page.get_by_role("heading", name=name, level=1).wait_for()
    settled(page)


def recent_payments_shown(page: Page) -> None:
    page.locator(".st-key-widget-stripe-payments-rows-0").wait_for()


def test_an_anonymous_visitor_gets_only_the_sign_in_page_from_the_first_deep_link_on(
    signed_in_app: SignInApp, browser_page: Page, request: pytest.FixtureRequest
) -> None:
    page = browser_page
    with saved_on_failure(page, request.node.name):
        # The first request after the start: Streamlit serves the page asked for at once.
        page.goto(signed_in_app.url + "/charges")
        assert_sign_in_page_only(page)

        page.goto(signed_in_app.url)
        assert_sign_in_page_only(page)

        page.goto(signed_in_app.url + "/credentials")
        assert_sign_in_page_only(page)

    assert signed_in_app.stripe.requests == [], "nothing was read from Stripe for nobody"


def test_a_viewer_sees_the_data_but_no_admin_control_and_crafted_admin_actions_are_refused(
    signed_in_app: SignInApp, browser_page: Page, request: pytest.FixtureRequest
) -> None:
    app, page = signed_in_app, browser_page
    with saved_on_failure(page, request.node.name):
        page.goto(app.url)
        sign_in(page, app, VIEWER_EMAIL)
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text(f"Signed in as {VIEWER_EMAIL} (viewer)").wait_for()
        recent_payments_shown(page)
        assert app.stripe.keys_used("/v1/charges") == {STORED_KEY}
        nav = page.get_by_test_id("stSidebarNav")
        assert nav.get_by_role("link", name="Audit log").count() == 0

        open_page(page, "Credentials")
        page.get_by_text("Only admins can connect, test or disconnect accounts.").wait_for()
        page.get_by_text(ACCOUNT_NAME).first.wait_for()
        main = page.get_by_test_id("stMain")
        for label in ADMIN_BUTTONS:
            controls = main.get_by_role("button", name=label, exact=True)
            links = main.get_by_role("link", name=label, exact=True)
            assert controls.count() + links.count() == 0, f"a viewer sees {label!r}"
        assert main.locator("input[type='password']").count() == 0

        # The OAuth start route, asked directly from the viewer's browser (with its cookies).
        started = page.request.get(app.url + "/api/auth/stripe", max_redirects=0)
        assert started.status == 403
        assert started.json()["error"] == "forbidden"

        # A Stripe Connect answer crafted into the viewer's URL.
        page.goto(app.url + "/credentials?code=ac_crafted&state=st_crafted")
        page.get_by_text(REFUSED).wait_for()
        settled(page)
        assert "code=" not in page.url

        sign_out(page, app)

    refused = [(row.action, row.actor) for row in app.audit() if row.result == "refused"]
    assert ("credentials.connect_start", "unknown (no valid sign-in ticket)") in refused
    assert ("credentials.connect_finish", VIEWER_EMAIL) in refused
    assert [row for row in app.audit() if row.result != "refused"] == []
    assert app.stripe.requests_to("/oauth/token") == []
    stored = app.stored_stripe_connection()
    assert stored is not None and stored.account_id == ACCOUNT_ID


def test_an_admin_disconnects_and_reconnects_stripe_and_finds_both_in_the_audit_log(
    signed_in_app: SignInApp, browser_page: Page, request: pytest.FixtureRequest
) -> None:
    app, page = signed_in_app, browser_page
    with saved_on_failure(page, request.node.name):
        page.goto(app.url)
        sign_in(page, app, ADMIN_EMAIL)
        page.get_by_test_id("stSidebar").get_by_text(
            f"Signed in as {ADMIN_EMAIL} (admin)"
        ).wait_for()
        recent_payments_shown(page)

        open_page(page, "Credentials")
        main = page.get_by_test_id("stMain")
        main.get_by_role("link", name="Connect with Stripe").wait_for()
        main.get_by_role("button", name="Disconnect", exact=True).click()
        confirmation = page.locator(".st-key-disconnect-confirmation-stripe")
        confirmation.get_by_role("button", name="Disconnect", exact=True).click()
        main.get_by_text("Disconnected Stripe; its credentials were deleted").wait_for()
        settled(page)
        assert app.stored_stripe_connection() is None

        main.get_by_label("Secret or restricted key").first.fill(PASTED_KEY)
        main.get_by_role("button", name="Test and save Stripe").click()
        main.get_by_text(f"Connected Stripe: {ACCOUNT_NAME} ({ACCOUNT_ID}, test mode).").wait_for()
        main.get_by_text(f"Connected by: {ADMIN_EMAIL}").wait_for()
        stored = app.stored_stripe_connection()
        assert stored is not None and stored.connected_by == ADMIN_EMAIL
        assert PASTED_KEY in app.stripe.keys_used("/v1/account")

        open_page(page, "Audit log")
        grid = page.get_by_test_id("stDataFrame").first
        for action in ("Disconnect", "Connect with a key"):
            row = grid.locator("tr", has_text=action).first
            row.wait_for(state="attached")
            assert ADMIN_EMAIL in row.inner_text()
        assert PASTED_KEY not in page.content()

        sign_out(page, app)
        page.goto(app.url + "/audit")
        assert_sign_in_page_only(page)

    done = [(row.action, row.result, row.actor) for row in app.audit()]
    assert ("credentials.disconnect", "succeeded", ADMIN_EMAIL) in done
    assert ("credentials.connect_key", "succeeded", ADMIN_EMAIL) in done
    assert ("audit.view", "succeeded", ADMIN_EMAIL) in done
    assert not any(re.search(r"sk_test_51\w{8,}", row.detail or "") for row in app.audit())
