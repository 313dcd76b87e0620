"""The app's own address for Stripe: APP_URL when set, else the address in the browser."""

from __future__ import annotations

import pytest

from lib.app_address import FALLBACK_BASE, app_address


def test_app_url_wins_over_the_browser() -> None:
    address = app_address("https://pay.example.com/", "http://10.0.0.7:8501/credentials")

    assert (address.base, address.source, address.note) == (
        "https://pay.example.com",
        "setting",
        None,
    )


@pytest.mark.parametrize(
    ("browser", "page", "base"),
    [
        ("https://dash.example.com/credentials", "credentials", "https://dash.example.com"),
        ("http://10.0.0.7:8501/webhooks/?tab=1#x", "webhooks", "http://10.0.0.7:8501"),
        (
            "https://example.com/tools/pay/credentials",
            "credentials",
            "https://example.com/tools/pay",
        ),
        ("https://dash.example.com/", "credentials", "https://dash.example.com"),
    ],
)
def test_without_app_url_the_browsers_address_is_used_and_said(
    browser: str, page: str, base: str
) -> None:
    address = app_address(None, browser, page)

    assert (address.base, address.source) == (base, "browser")
    assert address.url("/api/webhooks/stripe") == f"{base}/api/webhooks/stripe"
    assert address.note is not None and "set APP_URL" in address.note


@pytest.mark.parametrize(
    "browser",
    [None, "", "javascript:alert(1)//credentials", "https://user:pw@evil.example/x", "x" * 5000],
)
def test_an_unusable_browser_address_is_not_used(browser: object) -> None:
    address = app_address(None, browser, "credentials")

    assert (address.base, address.source) == (FALLBACK_BASE, "unknown")
    assert address.note is not None and "set APP_URL" in address.note
