"""What the viewer's browser tells the page: the address it opened the app at and its time zone.

Both come from the client (`st.context`) and are checked by the Streamlit-free functions they
feed (`lib.app_address`, `lib.dates`), which fall back to safe defaults.
"""

from __future__ import annotations

from datetime import tzinfo

import streamlit as st

from lib.app_address import AppAddress, app_address
from lib.config import Settings
from lib.dates import viewer_zone
from lib.webhooks import WEBHOOK_PATH


def current_address(settings: Settings, page_path: str) -> AppAddress:
    """The app's address for the page at `page_path`: APP_URL, else the browser's address."""
    return app_address(settings.app_url, st.context.url, page_path)


def webhook_endpoint(address: AppAddress) -> str:
    """The URL to register in Stripe (Developers → Webhooks) for the app at `address`."""
    return address.url(WEBHOOK_PATH)


def viewer_time_zone() -> tzinfo:
    """The time zone of the viewer's browser, or UTC when it is not known."""
    return viewer_zone(st.context.timezone)
