"""Where people and Stripe reach this app: APP_URL when it is set, else the address the browser
used, so the Stripe Connect redirect URI and the webhook endpoint name the real host instead of
`localhost:8501`. No Streamlit here: pages pass `st.context.url`, routes the request's URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from lib.safe_url import http_url

AddressSource = Literal["setting", "browser", "unknown"]
FALLBACK_BASE = "http://localhost:8501"


@dataclass(frozen=True)
class AppAddress:
    """The app's base URL (no trailing slash) and where it was learned."""

    base: str
    source: AddressSource

    def url(self, path: str) -> str:
        """The absolute URL of `path` ("/api/webhooks/stripe", "credentials") in this app."""
        return f"{self.base}/{path.lstrip('/')}"

    @property
    def note(self) -> str | None:
        """What a person should know about this address, or None when APP_URL set it."""
        if self.source == "browser":
            return (
                "Derived from the address in your browser; set APP_URL to the address people "
                "and Stripe use to reach this app to fix it."
            )
        if self.source == "unknown":
            return (
                "The address of this app is not known here, so this assumes "
                f"{FALLBACK_BASE}; set APP_URL to the address people and Stripe use to reach it."
            )
        return None


def app_address(app_url: str | None, browser_url: object, page_path: str = "") -> AppAddress:
    """The app's address: `app_url` (APP_URL) when set; else `browser_url` (what the browser
    shows, or the URL a request came in on) without query, fragment and the trailing
    `page_path`; else FALLBACK_BASE. A browser URL that is not a plain http(s) URL is ignored."""
    if app_url and app_url.strip():
        return AppAddress(app_url.strip().rstrip("/"), "setting")
    safe = http_url(browser_url)
    if safe is None:
        return AppAddress(FALLBACK_BASE, "unknown")
    parts = urlsplit(safe)
    path = parts.path.rstrip("/")
    page = page_path.strip("/")
    if page and path.endswith(f"/{page}"):
        path = path[: -len(page) - 1]
    return AppAddress(urlunsplit((parts.scheme, parts.netloc, path, "", "")), "browser")
