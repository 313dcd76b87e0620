"""The HTTP routes the app serves beside its pages (Starlette, no Streamlit)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from lib.oauth.routes import oauth_routes


def build_routes() -> list[BaseRoute]:
    """Every custom route of the app; `st.App` mounts them next to Streamlit's own."""
    return [*oauth_routes()]
