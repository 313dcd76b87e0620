"""Stripe webhooks: verified, stored once, processed after the 200; Events API catch-up."""

from lib.webhooks.admission import MAX_BODY_BYTES, BodyBudget
from lib.webhooks.events_store import (
    PollCursor,
    ServerEvent,
    latest_server_event_id,
    list_server_events,
    load_cursor,
    publish_server_event,
    rejection_counts,
    server_events_matching,
)
from lib.webhooks.housekeeping import Housekeeping
from lib.webhooks.mapping import MESH_NAMES, MeshEvent, mesh_name_for, to_mesh_event
from lib.webhooks.poller import PeriodicPoller, PollResult, app_account, catch_up_events, poll_once
from lib.webhooks.receiver import WEBHOOK_PATH, stripe_webhook_route
from lib.webhooks.rejection_counter import RejectionCounter
from lib.webhooks.runtime import WEBHOOK_RUNTIME, WebhookRuntime, webhook_lifespan
from lib.webhooks.verify import RejectionReason, VerifiedEvent, WebhookRejected, verify_delivery
from lib.webhooks.worker import DEFAULT_REACTIONS, Reaction, WebhookWorker

__all__ = [
    "DEFAULT_REACTIONS",
    "MAX_BODY_BYTES",
    "MESH_NAMES",
    "WEBHOOK_PATH",
    "WEBHOOK_RUNTIME",
    "BodyBudget",
    "Housekeeping",
    "MeshEvent",
    "PeriodicPoller",
    "PollCursor",
    "PollResult",
    "Reaction",
    "RejectionCounter",
    "RejectionReason",
    "ServerEvent",
    "VerifiedEvent",
    "WebhookRejected",
    "WebhookRuntime",
    "WebhookWorker",
    "app_account",
    "catch_up_events",
    "latest_server_event_id",
    "list_server_events",
    "load_cursor",
    "mesh_name_for",
    "poll_once",
    "publish_server_event",
    "rejection_counts",
    "server_events_matching",
    "stripe_webhook_route",
    "to_mesh_event",
    "verify_delivery",
    "webhook_lifespan",
]
