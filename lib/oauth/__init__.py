"""Stripe Connect OAuth: the start route and the protocol steps the Credentials page uses."""

from lib.oauth.routes import oauth_routes, start_stripe_oauth
from lib.oauth.stripe_connect import (
    NOT_CONFIGURED,
    START_ROUTE_PATH,
    STATE_COOKIE,
    OAuthCallback,
    StripeConnectConfig,
    StripeConnectError,
    authorize_url,
    check_state,
    connect_config,
    deauthorize,
    error_message,
    exchange_code,
    parse_callback,
    redirect_uri,
    start_url,
)

__all__ = [
    "NOT_CONFIGURED",
    "START_ROUTE_PATH",
    "STATE_COOKIE",
    "OAuthCallback",
    "StripeConnectConfig",
    "StripeConnectError",
    "authorize_url",
    "check_state",
    "connect_config",
    "deauthorize",
    "error_message",
    "exchange_code",
    "oauth_routes",
    "parse_callback",
    "redirect_uri",
    "start_stripe_oauth",
    "start_url",
]
