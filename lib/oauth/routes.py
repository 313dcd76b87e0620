"""`GET /api/auth/stripe`: start Stripe Connect OAuth with a state bound to this browser."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from lib.app_address import app_address
from lib.config import get_settings
from lib.oauth.stripe_connect import (
    NOT_CONFIGURED,
    START_ROUTE_PATH,
    STATE_COOKIE,
    STATE_TTL_SECONDS,
    authorize_url,
    connect_config,
)
from lib.store import OAuthStateStore, TooManyPendingStates, client_ref_for, get_engine

# The route runs outside any Streamlit session, so it cannot know the signed-in user: the state
# is bound to the browser by its cookie, and the page saves for whoever is signed in there.
STATE_OWNER = "browser"


def start_stripe_oauth(request: Request) -> Response:
    """302 to Stripe's authorize page with a new single-use state, also set as an HttpOnly,
    SameSite=Lax cookie (Secure under https) for 10 minutes; 404 JSON when OAuth is not
    configured; 429 JSON with Retry-After when this client has too many unfinished flows.

    Stripe sends the browser back to APP_URL's Credentials page, or without APP_URL to the
    Credentials page of the address this request came in on (the one the browser uses).

    A client is its IP address as the server sees it: uvicorn takes it from X-Forwarded-For
    only when the proxy is listed in FORWARDED_ALLOW_IPS (default: this machine).
    """
    settings = get_settings()
    config = connect_config(settings)
    if config is None:
        return JSONResponse({"error": NOT_CONFIGURED}, status_code=404)
    address = request.client.host if request.client is not None else ""
    try:
        state = OAuthStateStore(get_engine()).create(
            "stripe",
            STATE_OWNER,
            ttl_seconds=STATE_TTL_SECONDS,
            client_ref=client_ref_for(address),
        )
    except TooManyPendingStates as busy:
        return JSONResponse(
            {"error": "too_many_pending", "message": str(busy)},
            status_code=429,
            headers={"Retry-After": str(busy.retry_after_seconds), "Cache-Control": "no-store"},
        )
    address = app_address(settings.app_url, str(request.base_url))
    response = RedirectResponse(authorize_url(config, state, address), status_code=302)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=STATE_TTL_SECONDS,
        path="/",
        secure=address.base.lower().startswith("https://"),
        httponly=True,
        samesite="lax",
    )
    return response


def oauth_routes() -> list[BaseRoute]:
    """The OAuth routes the app serves."""
    return [Route(START_ROUTE_PATH, start_stripe_oauth, methods=["GET"])]
