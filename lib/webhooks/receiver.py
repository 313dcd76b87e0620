"""`POST /api/webhooks/stripe`: verify, store once, answer; reactions run later in the worker.

Answers 200 `{"received": true}` only after the row is committed (a redelivery adds
`"duplicate": true`), 400 with a short reason for a refused delivery, 408 for a body not
received in time, 503 when storage is unavailable, no secret is configured or too many bodies
are in flight (Stripe retries), never a 500 with a traceback. admission.py says how bodies in
flight are bounded.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lib.config import get_settings
from lib.store import get_engine
from lib.webhooks.admission import MIB, BodyBudget, read_body
from lib.webhooks.event_writer import EventWriter
from lib.webhooks.events_store import new_event
from lib.webhooks.rejection_counter import RejectionCounter
from lib.webhooks.verify import RejectionReason, VerifiedEvent, WebhookRejected, verify_delivery

WEBHOOK_PATH = "/api/webhooks/stripe"
# Checking a typical event takes well under a millisecond, less than a thread hop; a large
# body is checked in a thread so it cannot stall the event loop every browser session shares.
INLINE_VERIFY_BYTES = 64 * 1024
_log = logging.getLogger(__name__)


def configured_secrets() -> list[str]:
    """The webhook signing secrets from the settings (STRIPE_WEBHOOK_SECRET, comma-separated)."""
    return get_settings().webhook_secrets


def stripe_webhook_route(
    *,
    engine: Callable[[], Engine] = get_engine,
    secrets: Callable[[], Sequence[str]] = configured_secrets,
    on_stored: Callable[[], None] = lambda: None,
    rejections: RejectionCounter | None = None,
    budget: BodyBudget | None = None,
    body_timeout_seconds: float | None = None,
) -> Route:
    """The Starlette route for Stripe's webhook deliveries.

    `secrets` is read per request and `engine` per write, so settings changes apply at
    once; `on_stored` runs after a new event is committed (it wakes the worker). Refusals
    are counted in `rejections`. `budget` and `body_timeout_seconds` default to the settings
    WEBHOOK_BODIES_IN_FLIGHT_MB and WEBHOOK_BODY_TIMEOUT_SECONDS.
    """
    settings = get_settings()
    budget = budget or BodyBudget(settings.webhook_bodies_in_flight_mb * MIB)
    timeout = (
        settings.webhook_body_timeout_seconds
        if body_timeout_seconds is None
        else body_timeout_seconds
    )
    counter = rejections or RejectionCounter(engine)
    refusal_headers = _refusal_headers(math.ceil(timeout))
    writer = EventWriter(engine)

    async def receive_stripe_webhook(request: Request) -> Response:
        try:
            async with budget.admitted(request) as charge:
                body = await read_body(request, charge, timeout)
                verified = await _verify(body, request.headers.get("stripe-signature"), secrets())
                return await _store(writer, verified, on_stored)
        except WebhookRejected as rejected:
            counter.add(rejected.reason)
            return JSONResponse(
                {"error": rejected.reason, "message": str(rejected)},
                status_code=REFUSAL_STATUS.get(rejected.reason, 400),
                headers=refusal_headers.get(rejected.reason),
            )

    return Route(WEBHOOK_PATH, receive_stripe_webhook, methods=["POST"])


REFUSAL_STATUS: dict[RejectionReason, int] = {
    "no_secret_configured": 503,
    "server_busy": 503,
    "body_timeout": 408,
}


def _refusal_headers(retry_after_seconds: int) -> dict[RejectionReason, dict[str, str]]:
    # The body was not read to its end: closing is the only way to stop receiving it.
    unread = {"Connection": "close"}
    return {
        "server_busy": {**unread, "Retry-After": str(retry_after_seconds)},
        "body_timeout": unread,
        "body_too_large": unread,
        "client_disconnected": unread,
    }


async def _verify(body: bytes, header: str | None, accepted: Sequence[str]) -> VerifiedEvent:
    if len(body) > INLINE_VERIFY_BYTES:
        return await run_in_threadpool(verify_delivery, body, header, accepted)
    return verify_delivery(body, header, accepted)


async def _store(
    writer: EventWriter, verified: VerifiedEvent, on_stored: Callable[[], None]
) -> Response:
    try:
        stored = await writer.store(new_event(verified.event, verified.raw, "webhook"))
    except SQLAlchemyError as exc:  # storage down: Stripe retries a 503
        _log.error("stripe webhook not stored: %s", type(exc).__name__)
        return JSONResponse({"error": "storage_unavailable"}, status_code=503)
    except Exception as exc:  # a 503 keeps the event at Stripe, which retries it
        _log.error("stripe webhook failed: %s", type(exc).__name__)
        return JSONResponse({"error": "not_stored"}, status_code=503)
    if stored:
        on_stored()
        return JSONResponse({"received": True})
    return JSONResponse({"received": True, "duplicate": True})
