"""The HTTP routes the app serves beside its pages (Starlette, no Streamlit)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from lib.exports import export_routes
from lib.oauth.routes import oauth_routes
from lib.webhooks import WEBHOOK_RUNTIME, stripe_webhook_route


def build_routes() -> list[BaseRoute]:
    """Every custom route of the app; `st.App` mounts them next to Streamlit's own."""
    webhook = stripe_webhook_route(
        on_stored=WEBHOOK_RUNTIME.wake, rejections=WEBHOOK_RUNTIME.rejections
    )
    return [*oauth_routes(), *export_routes(), webhook]
