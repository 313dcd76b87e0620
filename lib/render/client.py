"""Where this session's browser connects from; tests replace these functions (AppTest has no
browser connection, so `st.context` cannot say)."""

from __future__ import annotations

import streamlit as st

from lib.auth.local_mode import PROXY_HEADERS

LOOPBACK = "127.0.0.1"


def client_address() -> str | None:
    """The browser's IP address as the server saw it (uvicorn applies X-Forwarded-For from a
    trusted proxy); None when unknown. Streamlit reports a browser on loopback as None, which
    is 127.0.0.1 here."""
    address = st.context.ip_address
    if address is None:
        return LOOPBACK
    return address if isinstance(address, str) else None


def proxy_headers() -> list[tuple[str, str]]:
    """The proxy headers (X-Forwarded-For, X-Real-IP, Forwarded) of the session's first
    request, every occurrence."""
    headers = st.context.headers
    return [
        (name, value)
        for name in PROXY_HEADERS
        for value in headers.get_all(name)
        if isinstance(value, str)
    ]
