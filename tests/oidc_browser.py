"""Playwright steps on the test OpenID provider's own pages (its dev-mode login form and its
sign-out confirmation), for browser tests of `st.login` / `st.logout`."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from tests.oidc_provider import OidcProvider

# The dev-mode form accepts any password; the account is chosen by the login field alone.
DEV_PASSWORD = "any-password"


def sign_in_at_provider(page: Page, provider: OidcProvider, email: str) -> None:
    """Wait for `provider`'s login form, sign in as the user with `email` (typing its account id,
    its `sub`, as the form wants) and submit; the provider then redirects the browser back to the
    app."""
    page.wait_for_url(re.compile(rf"^{re.escape(provider.issuer)}/interaction/"))
    page.locator('input[name="login"]').fill(provider.users[email].sub)
    page.locator('input[name="password"]').fill(DEV_PASSWORD)
    page.get_by_role("button", name="Sign-in").click()


def confirm_sign_out_at_provider(page: Page, provider: OidcProvider) -> None:
    """Wait for `provider`'s "sign out?" page (where `st.logout()` sends the browser) and confirm;
    the provider then redirects the browser back to the app."""
    page.wait_for_url(re.compile(rf"^{re.escape(provider.issuer)}/session/end"))
    page.get_by_role("button", name="Yes, sign me out").click()
