"""`POST /api/webhooks/stripe`: verify, store once, answer; reactions run later in the worker.

Answers 200 `{"received": true}` only after the row is committed (a redelivery adds
`"duplicate": true`), 400 with a short reason for a refused delivery, 503 when storage is
unavailable or no secret is configured (Stripe retries), never a 500 with a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lib.config import get_settings
from lib.store import get_engine
from lib.webhooks.events_store import EventWriter, new_event, record_rejection
from lib.webhooks.verify import WebhookRejected, verify_delivery

WEBHOOK_PATH = "/api/webhooks/stripe"
MAX_BODY_BYTES = 1024 * 1024
_log = logging.getLogger(__name__)


def configured_secrets() -> list[str]:
    """The webhook signing secrets from the settings (STRIPE_WEBHOOK_SECRET, comma-separated)."""
    return get_settings().webhook_secrets


def stripe_webhook_route(
    *,
    engine: Callable[[], Engine] = get_engine,
    secrets: Callable[[], Sequence[str]] = configured_secrets,
    on_stored: Callable[[], None] = lambda: None,
) -> Route:
    """The Starlette route for Stripe's webhook deliveries.

    `engine` and `secrets` are read per request; `on_stored` runs after a new event is
    committed (it wakes the worker).
    """

    writer = EventWriter(engine)

    async def receive_stripe_webhook(request: Request) -> Response:
        try:
            body = await _read_body(request)
            verified = verify_delivery(body, request.headers.get("stripe-signature"), secrets())
        except WebhookRejected as rejected:
            return await _refuse(engine, rejected)
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

    return Route(WEBHOOK_PATH, receive_stripe_webhook, methods=["POST"])


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise WebhookRejected("body_too_large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise WebhookRejected("body_too_large")
    return bytes(body)


async def _refuse(engine: Callable[[], Engine], rejected: WebhookRejected) -> Response:
    _log.warning("stripe webhook refused: %s", rejected.reason)
    await run_in_threadpool(_count_rejection, engine, rejected.reason)
    status = 503 if rejected.reason == "no_secret_configured" else 400
    return JSONResponse({"error": rejected.reason, "message": str(rejected)}, status_code=status)


def _count_rejection(engine: Callable[[], Engine], reason: str) -> None:
    try:
        record_rejection(engine(), reason)
    except Exception as exc:  # counting must not turn a 400 into an error
        _log.warning("stripe webhook rejection not counted: %s", type(exc).__name__)
