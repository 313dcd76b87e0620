"""`GET /api/auth/stripe`: start Stripe Connect OAuth for an admin, with a state bound to this
browser (and, with sign-in, to the admin who clicked)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from lib.app_address import app_address
from lib.auth import (
    TICKET_PARAM,
    Actor,
    AdminAction,
    AuditLog,
    admit,
    anonymous_actor,
    authorize,
    local_actor,
    read_ticket,
    record_outcome,
    refusal_message,
    sign_in_settings,
    signed_in_actor,
)
from lib.config import Settings, get_settings, read_auth_section
from lib.oauth.stripe_connect import (
    NOT_CONFIGURED,
    START_ROUTE_PATH,
    STATE_COOKIE,
    STATE_TTL_SECONDS,
    authorize_url,
    connect_config,
)
from lib.store import OAuthStateStore, TooManyPendingStates, client_ref_for, get_engine

# Without sign-in nobody has a name: the state is bound to the browser by its cookie alone.
STATE_OWNER = "browser"
NO_TICKET = "unknown (no valid sign-in ticket)"
_NO_STORE = {"Cache-Control": "no-store"}


def start_stripe_oauth(request: Request) -> Response:
    """302 to Stripe's authorize page with a new single-use state, also set as an HttpOnly,
    SameSite=Lax cookie (Secure under https) for 10 minutes; 404 JSON when OAuth is not
    configured; 403 JSON (and an audit record) when the caller is not an admin; 429 JSON with
    Retry-After when this client has too many unfinished flows.

    Stripe sends the browser back to APP_URL's Credentials page, or without APP_URL to the
    Credentials page of the address this request came in on (the one the browser uses).

    The caller is an admin when, with sign-in, the link's `ticket` names an admin (see
    `lib.auth.start_ticket`), or, without sign-in, the request comes from this computer (or
    ALLOW_REMOTE_ADMIN=true). A client is its IP address as the server sees it: uvicorn takes
    it from X-Forwarded-For only when the proxy is listed in FORWARDED_ALLOW_IPS (default:
    this computer).
    """
    settings = get_settings()
    config = connect_config(settings)
    if config is None:
        return JSONResponse({"error": NOT_CONFIGURED}, status_code=404)
    address = request.client.host if request.client is not None else ""
    starter = _caller(request, address, settings)
    audit = AuditLog(get_engine())
    if not authorize(starter, AdminAction.CONNECT_START, audit, account="stripe"):
        body = {"error": "forbidden", "message": refusal_message(starter)}
        return JSONResponse(body, status_code=403, headers=_NO_STORE)
    try:
        state = OAuthStateStore(get_engine()).create(
            "stripe",
            starter.name if starter.kind == "user" else STATE_OWNER,
            ttl_seconds=STATE_TTL_SECONDS,
            client_ref=client_ref_for(address),
        )
    except TooManyPendingStates as busy:
        return JSONResponse(
            {"error": "too_many_pending", "message": str(busy)},
            status_code=429,
            headers={"Retry-After": str(busy.retry_after_seconds), **_NO_STORE},
        )
    record_outcome(
        starter,
        AdminAction.CONNECT_START,
        audit,
        ok=True,
        account="stripe",
        detail="Sent to Stripe to choose the account to connect.",
    )
    address = app_address(settings.app_url, str(request.base_url))
    response = RedirectResponse(authorize_url(config, state, address), status_code=302)
    response.headers.update(_NO_STORE)
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


def _caller(request: Request, address: str, settings: Settings) -> Actor:
    """Who asks: the admin a valid ticket names (with sign-in), else the client by address."""
    sign_in = sign_in_settings(read_auth_section())
    if sign_in is None:
        return local_actor(address or None, request.headers.items(), settings)
    email = None
    if sign_in.cookie_secret is not None:
        email = read_ticket(sign_in.cookie_secret, request.query_params.get(TICKET_PARAM))
    if email is None:
        return anonymous_actor(address, NO_TICKET)
    return signed_in_actor(admit({"email": email}, settings), address)


def oauth_routes() -> list[BaseRoute]:
    """The OAuth routes the app serves."""
    return [Route(START_ROUTE_PATH, start_stripe_oauth, methods=["GET"])]
