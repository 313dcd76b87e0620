"""The browser's cookies as a page sees them; tests replace `read_cookie` (AppTest has none)."""

from __future__ import annotations

import streamlit as st


def read_cookie(name: str) -> str | None:
    """The value of cookie `name` that this session's browser sent, or None."""
    return st.context.cookies.get(name) or None
