"""Signed, short-lived links to the streamed CSV export of the charges explorer.

`GET /api/exports/charges.csv` is a plain Starlette route: it runs outside any Streamlit
session, so it cannot see who is signed in or which filters are on screen. The Charges page,
where both are known, puts them in the link instead: the account, the filters (in their URL
form, `lib.finance.filter_link`), the moment "last 30 days" was counted from and the signed-in
address (none in local mode), signed with a key derived from the app's encryption key for this
one purpose (itsdangerous), valid for LINK_TTL_SECONDS. The link carries no secret; anything
unsigned, altered, expired or malformed reads as None.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer

from lib.config import Settings
from lib.finance import ChargeFilters, from_query_params, to_query_params
from lib.store import load_secret_box

EXPORT_ROUTE_PATH = "/api/exports/charges.csv"
LINK_PARAM = "link"
LINK_TTL_SECONDS = 15 * 60
LINK_REFRESH_SECONDS = 5 * 60
"""How often an open Charges page renews its link, well inside LINK_TTL_SECONDS."""
MAX_LINK_LENGTH = 4096
MAX_ACCOUNT_KEY_LENGTH = 200
_PURPOSE = "stripe-dashboard:charges-csv-export"
_LATEST_MOMENT = 4_102_444_800  # 2100-01-01, as far as the filters' dates reach


@dataclass(frozen=True)
class ExportGrant:
    """What one export link allows: these filters on this account, counted from `now`, for
    `user` (the signed-in address; None in local mode)."""

    account_key: str
    filters: ChargeFilters
    now: datetime
    user: str | None


def export_signing_key(settings: Settings) -> bytes:
    """The key export links are signed with, derived from the app's encryption key (shared by
    every app process, so a link works whichever process answers). Raises EncryptionKeyError
    when the key is unusable."""
    box, _origin = load_secret_box(settings)
    return box.signing_key(_PURPOSE)


def issue_export_link(signing_key: bytes, grant: ExportGrant) -> str:
    """The value of the route's `link` query parameter for `grant`."""
    payload = {
        "account": grant.account_key,
        "filters": to_query_params(grant.filters.with_changes(page=1)),
        "now": int(grant.now.timestamp()),
        "user": grant.user,
    }
    return _serializer(signing_key).dumps(payload)


def read_export_link(
    signing_key: bytes, link: str | None, max_age: int = LINK_TTL_SECONDS
) -> ExportGrant | None:
    """The grant a valid, unexpired link carries; None for anything else (missing, too long,
    forged, expired, malformed)."""
    if not link or len(link) > MAX_LINK_LENGTH:
        return None
    try:
        payload = _serializer(signing_key).loads(link, max_age=max_age)
    except BadData:
        return None
    return _grant(payload) if isinstance(payload, dict) else None


def _grant(payload: dict[str, Any]) -> ExportGrant | None:
    account, params = payload.get("account"), payload.get("filters")
    now, user = payload.get("now"), payload.get("user")
    if not isinstance(account, str) or not 0 < len(account) <= MAX_ACCOUNT_KEY_LENGTH:
        return None
    if not isinstance(params, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in params.items()
    ):
        return None
    if type(now) is not int or not 0 <= now < _LATEST_MOMENT:
        return None
    if user is not None and not isinstance(user, str):
        return None
    parsed = from_query_params(params)
    if parsed.ignored:
        return None
    return ExportGrant(account, parsed.filters, datetime.fromtimestamp(now, UTC), user)


def _serializer(signing_key: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_key, salt=_PURPOSE)
