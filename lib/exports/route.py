"""`GET /api/exports/charges.csv`: the charges a signed export link names, streamed as CSV
straight from the database (memory bounded, the first bytes at once)."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from lib.accounts import resolve_stripe_account
from lib.auth import WORKSPACE_USER_ID, admit, sign_in_settings
from lib.config import Settings, get_settings, read_auth_section
from lib.exports.link import (
    EXPORT_ROUTE_PATH,
    LINK_PARAM,
    ExportGrant,
    export_signing_key,
    read_export_link,
)
from lib.finance import AmountError, charges_csv_chunks
from lib.store import CredentialsStore, EncryptionKeyError, get_engine, load_secret_box

EXPORTS_AT_ONCE = 2
"""Exports one app process streams at the same time; each holds a database connection."""
RETRY_AFTER_SECONDS = 30
INVALID_LINK = (
    "This export link is not valid or has expired. Open the Charges page again and use its "
    "Export button."
)
NOT_ALLOWED = "You may no longer export from this dashboard."
OTHER_ACCOUNT = (
    "This export link is for a Stripe account this dashboard no longer shows. Open the "
    "Charges page again and use its Export button."
)
BUSY = "Other exports are running. Try again in a minute."
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
_export_slots = threading.BoundedSemaphore(EXPORTS_AT_ONCE)


def export_charges_csv(request: Request) -> Response:
    """200 with the link's charges as a CSV attachment, streamed; 403 (plain text) for a
    missing, altered or expired link, a user no longer allowed in, or an account no longer
    shown; 400 for filters that cannot apply; 503 with Retry-After while EXPORTS_AT_ONCE
    exports are running."""
    settings = get_settings()
    try:
        signing_key = export_signing_key(settings)
    except EncryptionKeyError:
        return _plain(INVALID_LINK, 403)
    grant = read_export_link(signing_key, request.query_params.get(LINK_PARAM))
    if grant is None:
        return _plain(INVALID_LINK, 403)
    if not _still_allowed(grant, settings):
        return _plain(NOT_ALLOWED, 403)
    if not _account_still_shown(grant, settings):
        return _plain(OTHER_ACCOUNT, 403)
    try:
        grant.filters.amount_bounds()
    except AmountError as error:
        return _plain(f"These filters cannot be exported: {error}.", 400)
    if not _export_slots.acquire(blocking=False):
        return _plain(BUSY, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})
    chunks = charges_csv_chunks(get_engine(), grant.account_key, grant.filters, grant.now)
    stamp = grant.now.strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": f'attachment; filename="charges-{stamp}.csv"', **_NO_STORE}
    return StreamingResponse(
        _SlotHolding(chunks), media_type="text/csv; charset=utf-8", headers=headers
    )


def _still_allowed(grant: ExportGrant, settings: Settings) -> bool:
    """Whether the link's user may still read the dashboard under the current settings: with
    sign-in, an address the allow-list admits (someone removed since cannot use an old link);
    in local mode everyone who can open the page may export."""
    if sign_in_settings(read_auth_section()) is None:
        return True
    return grant.user is not None and admit({"email": grant.user}, settings).role is not None


def _account_still_shown(grant: ExportGrant, settings: Settings) -> bool:
    """Whether the link's account is the one the pages show now (not disconnected since, not
    waiting for a reconnect)."""
    try:
        box, _origin = load_secret_box(settings)
    except EncryptionKeyError:
        return False
    store = CredentialsStore(get_engine(), box)
    account = resolve_stripe_account(settings, WORKSPACE_USER_ID, store)
    return account.key == grant.account_key and not account.needs_reconnect


class _SlotHolding(Iterator[bytes]):
    """`chunks` while holding one of the export slots, given back once: at the end, on an
    error, or when the download is dropped (even before its first chunk, when a generator's
    `finally` would never run)."""

    def __init__(self, chunks: Generator[bytes]) -> None:
        self._chunks = chunks
        self._held = True

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._held:
            self._held = False
            self._chunks.close()
            _export_slots.release()

    def __del__(self) -> None:
        self.close()


def _plain(text: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return PlainTextResponse(
        text + "\n", status_code=status, headers={**_NO_STORE, **(headers or {})}
    )


def export_routes() -> list[BaseRoute]:
    """The export routes the app serves."""
    return [Route(EXPORT_ROUTE_PATH, export_charges_csv, methods=["GET"])]
