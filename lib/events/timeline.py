"""One timeline of a session's bus log and the server's stored events, newest first.

Plain Python: the Event Debugger renders it, tests build it from real log entries. Server
events are read through the `StoredEvent` protocol so this package stays independent of the
webhook store that provides them (`lib.webhooks.ServerEvent` satisfies it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from lib.events.bus import EventOrigin, LogEntry
from lib.events.catalogue import catalogue_label
from lib.events.patterns import pattern_matches, validate_pattern

SERVER_KEY_PREFIX = "server-"


class StoredEvent(Protocol):
    """A server-side event kept in the database (a webhook delivery or an Events API poll)."""

    @property
    def id(self) -> int: ...
    @property
    def stripe_event_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def source(self) -> str: ...
    @property
    def received_at(self) -> datetime: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...


@dataclass(frozen=True)
class TimelineItem:
    """One row of the timeline, whichever kind of event it came from.

    `key` is unique and stable across reruns. `at` is when the event happened (a stored
    Stripe event's `created`). `bus_event_id` is set for entries of the session's bus log,
    `server_event_id` and `stored_at` for stored server events; `channel` says how a stored
    event arrived ("webhook" or "poll").
    """

    key: str
    at: datetime
    name: str
    source: str
    origin: EventOrigin
    channel: str | None
    outcome: str
    delivered_to: tuple[str, ...]
    errors: tuple[str, ...]
    payload: dict[str, Any]
    replay_of: str | None = None
    bus_event_id: str | None = None
    server_event_id: int | None = None
    stored_at: datetime | None = None

    @property
    def origin_label(self) -> str:
        """The origin as shown: browser, server, or "server · webhook" / "server · poll"."""
        return self.origin if self.channel is None else f"{self.origin} · {self.channel}"

    @property
    def kind_label(self) -> str:
        """What the event catalogue says this name is, e.g. "UI event: a payment chosen..."."""
        return catalogue_label(self.name)


def build_timeline(
    entries: Iterable[LogEntry],
    server_events: Iterable[StoredEvent] = (),
    *,
    pattern: str | None = None,
    sources: Collection[str] | None = None,
    origin: EventOrigin | None = None,
) -> list[TimelineItem]:
    """Bus log entries and stored server events merged into one list, newest first.

    Narrowed to names matching `pattern` (InvalidPatternError when malformed), to any of
    `sources` when given and non-empty, and to one `origin`. Stored server events keep the
    source their events carry when published into a bus (`stripe-webhook`, `stripe-poll`).
    """
    if pattern is not None:
        validate_pattern(pattern)
    items = [item_from_entry(entry) for entry in entries]
    items += [item_from_server_event(event) for event in server_events]
    items.sort(key=lambda item: item.at, reverse=True)
    return [
        item
        for item in items
        if (pattern is None or pattern_matches(pattern, item.name))
        and (not sources or item.source in sources)
        and (origin is None or item.origin == origin)
    ]


def item_from_entry(entry: LogEntry) -> TimelineItem:
    """A bus log entry as a timeline row."""
    event = entry.event
    return TimelineItem(
        key=event.id,
        at=datetime.fromtimestamp(event.timestamp, UTC),
        name=event.name,
        source=event.source,
        origin=event.origin,
        channel=None,
        outcome=delivery_outcome(entry),
        delivered_to=entry.delivered_to,
        errors=tuple(f"{e.subscriber_id}: {e.error_type}: {e.message}" for e in entry.errors),
        payload=event.payload,
        replay_of=entry.replay_of,
        bus_event_id=event.id,
    )


def item_from_server_event(event: StoredEvent) -> TimelineItem:
    """A stored server event as a timeline row, at when it happened at Stripe (when it was
    stored if that is unknown); its outcome is the server's processing status."""
    stored_at = _utc(event.received_at)
    return TimelineItem(
        key=f"{SERVER_KEY_PREFIX}{event.id}",
        at=stored_at if event.created_at is None else _utc(event.created_at),
        name=event.name,
        source=f"stripe-{event.source}",
        origin="server",
        channel=event.source,
        outcome=f"stored: {event.status}",
        delivered_to=(),
        errors=() if not event.error else (event.error,),
        payload=event.payload,
        server_event_id=event.id,
        stored_at=stored_at,
    )


def _utc(at: datetime) -> datetime:
    # Naive datetimes from a store are UTC by this project's convention.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def delivery_outcome(entry: LogEntry) -> str:
    """What delivery did: held by safe mode, blocked by the cascade limit, or whom it reached."""
    if entry.held:
        return "held: safe mode"
    if entry.cascade_blocked:
        return "blocked: cascade limit"
    reached = len(entry.delivered_to)
    return f"reached {reached} subscriber{'' if reached == 1 else 's'}"


def timeline_sources(items: Iterable[TimelineItem]) -> list[str]:
    """The distinct sources of `items`, sorted, for a source filter's choices."""
    return sorted({item.source for item in items})
