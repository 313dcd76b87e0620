"""Stored Stripe events: insert once, the processing queue, refusal counts, poll cursors, the
feed, retention.

Every stored event is a server event on the mesh: browser sessions read them through
`list_server_events` / `latest_server_event_id` and publish them into their own EventBus.
"""

from lib.webhooks.events_store.cursor import (
    PollCursor,
    load_cursor,
    record_poll_error,
    record_poll_success,
    store_polled_events,
)
from lib.webhooks.events_store.feed import (
    EventStatus,
    ServerEvent,
    latest_server_event_id,
    list_server_events,
    publish_server_event,
    server_events_matching,
)
from lib.webhooks.events_store.inserting import (
    EventSource,
    NewEvent,
    new_event,
    store_event,
    store_events,
)
from lib.webhooks.events_store.queue import ClaimedEvents, claim_pending, record_outcomes
from lib.webhooks.events_store.rejections import (
    purge_rejection_counts,
    record_rejection,
    record_rejections,
    rejection_counts,
)
from lib.webhooks.events_store.retention import purge_settled_events
from lib.webhooks.events_store.writing import PROVIDER

__all__ = [
    "PROVIDER",
    "ClaimedEvents",
    "EventSource",
    "EventStatus",
    "NewEvent",
    "PollCursor",
    "ServerEvent",
    "claim_pending",
    "latest_server_event_id",
    "list_server_events",
    "load_cursor",
    "new_event",
    "publish_server_event",
    "purge_rejection_counts",
    "purge_settled_events",
    "record_outcomes",
    "record_poll_error",
    "record_poll_success",
    "record_rejection",
    "record_rejections",
    "rejection_counts",
    "server_events_matching",
    "store_event",
    "store_events",
    "store_polled_events",
]
