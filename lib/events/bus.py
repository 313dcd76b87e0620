"""In-process event bus: widgets publish named events and subscribe to patterns of names."""

from __future__ import annotations

import copy
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, get_args

from lib.events.patterns import pattern_matches, validate_event_name, validate_pattern

EventOrigin = Literal["browser", "server"]

_ORIGINS: frozenset[str] = frozenset(get_args(EventOrigin))
# Unix seconds as a float resolve to about 0.24 µs today, so a 1 µs step is always representable.
_TIMESTAMP_STEP = 1e-6

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One published event; `payload` is the bus's own copy, taken at publish time."""

    id: str
    name: str
    payload: dict[str, Any]
    source: str
    timestamp: float
    origin: EventOrigin

    def to_dict(self) -> dict[str, Any]:
        """Plain dict `{id, name, payload, source, timestamp, origin}` with a copied payload."""
        return asdict(self)


EventHandler = Callable[[Event], object]


@dataclass(frozen=True)
class HandlerError:
    """A handler that raised while an event was delivered: exception type name and message only."""

    subscriber_id: str
    error_type: str
    message: str


@dataclass(frozen=True, kw_only=True)
class LogEntry:
    """What happened to one published event.

    `delivered_to` lists each subscriber whose handler returned normally (once per subscriber);
    `held` means safe mode kept it from everyone; `cascade_blocked` means it was published
    deeper than the bus's `max_depth` and delivered to nobody; `depth` is 0 for a publish made
    outside any handler; `replay_of` is the id of the originally published event for a replay.
    """

    event: Event
    delivered_to: tuple[str, ...] = ()
    held: bool = False
    errors: tuple[HandlerError, ...] = ()
    cascade_blocked: bool = False
    depth: int = 0
    replay_of: str | None = None


@dataclass(frozen=True)
class SubscriptionInfo:
    """A live subscription as listed by `EventBus.subscriptions()`."""

    subscriber_id: str
    pattern: str
    id: str


@dataclass(frozen=True)
class Subscription:
    """Handle returned by `EventBus.subscribe`."""

    subscriber_id: str
    pattern: str
    id: str
    _bus: EventBus = field(repr=False, compare=False)

    def unsubscribe(self) -> None:
        """Remove this subscription; calling it again, or after `unsubscribe_all`, does nothing."""
        self._bus._remove_subscription(self.id)


@dataclass(frozen=True)
class _Registration:
    id: str
    subscriber_id: str
    pattern: str
    handler: EventHandler


class EventBus:
    """Publish/subscribe with a bounded log, replay, safe mode and a cascade depth limit.

    Safe to share between threads. Handlers run on the publishing thread, outside the lock,
    in subscription order; a handler that raises is recorded on the log entry and does not
    stop delivery to the others.
    """

    def __init__(self, max_log: int = 500, max_depth: int = 5) -> None:
        if max_log < 1:
            raise ValueError(f"max_log must be at least 1, got {max_log}")
        if max_depth < 0:
            raise ValueError(f"max_depth must be 0 or more, got {max_depth}")
        self._max_log = max_log
        self._max_depth = max_depth
        # Re-entrant because handlers publish and subscribe while an outer call is in progress.
        self._lock = threading.RLock()
        # Keyed by (subscriber_id, pattern) so a Streamlit rerun replaces rather than duplicates.
        self._registrations: dict[tuple[str, str], _Registration] = {}
        self._log: OrderedDict[str, LogEntry] = OrderedDict()
        self._safe_mode = False
        self._last_timestamp = 0.0
        # Per thread, the depth of the event whose handlers are running (absent when none).
        self._delivering = threading.local()

    @property
    def max_log(self) -> int:
        """How many log entries are kept; older ones are dropped first."""
        return self._max_log

    @property
    def max_depth(self) -> int:
        """Deepest nesting of publishes from handlers that is still delivered."""
        return self._max_depth

    @property
    def safe_mode(self) -> bool:
        """When True, published events are logged as held and delivered to nobody."""
        with self._lock:
            return self._safe_mode

    @safe_mode.setter
    def safe_mode(self, enabled: bool) -> None:
        with self._lock:
            self._safe_mode = bool(enabled)

    def subscribe(self, pattern: str, handler: EventHandler, subscriber_id: str) -> Subscription:
        """Call `handler(event)` for every later event whose name matches `pattern`.

        Raises InvalidPatternError (with the reason) for a malformed pattern. Subscribing again
        with the same `subscriber_id` and `pattern` replaces the handler, keeping the
        subscription's id and its place in the delivery order.
        """
        validate_pattern(pattern)
        if not callable(handler):
            raise TypeError(f"handler for {pattern!r} must be callable")
        key = (subscriber_id, pattern)
        with self._lock:
            existing = self._registrations.get(key)
            registration_id = existing.id if existing else f"sub_local_{uuid.uuid4().hex}"
            self._registrations[key] = _Registration(
                registration_id, subscriber_id, pattern, handler
            )
        return Subscription(subscriber_id, pattern, registration_id, self)

    def unsubscribe_all(self, subscriber_id: str) -> None:
        """Remove every subscription of `subscriber_id`."""
        with self._lock:
            for key in [key for key in self._registrations if key[0] == subscriber_id]:
                del self._registrations[key]

    def subscriptions(self) -> list[SubscriptionInfo]:
        """Live subscriptions in delivery order."""
        with self._lock:
            return [
                SubscriptionInfo(r.subscriber_id, r.pattern, r.id)
                for r in self._registrations.values()
            ]

    def subscriptions_by_subscriber(self) -> dict[str, list[str]]:
        """Patterns per subscriber id, each list in subscription order."""
        grouped: dict[str, list[str]] = {}
        for info in self.subscriptions():
            grouped.setdefault(info.subscriber_id, []).append(info.pattern)
        return grouped

    def publish(
        self,
        name: str,
        payload: Mapping[str, Any],
        source: str,
        *,
        origin: EventOrigin = "browser",
    ) -> LogEntry:
        """Log an event and deliver it to every matching subscription; return its final log entry.

        Raises InvalidEventNameError for a malformed name. The payload is deep-copied, so later
        changes by the publisher do not alter the log. Nothing is delivered in safe mode
        (`held`) or when the publish is nested deeper than `max_depth` (`cascade_blocked`).
        """
        validate_event_name(name)
        return self._publish(name, payload, source, origin, replay_of=None)

    def replay(
        self, pattern: str | None = None, event_ids: list[str] | None = None
    ) -> list[LogEntry]:
        """Re-deliver logged events to the current subscribers, oldest first.

        Selects log entries whose name matches `pattern` and whose id is in `event_ids` (either
        filter may be omitted; unknown ids are skipped). Each replay is a new event with a new
        id and timestamp, the same name, payload, source and origin, and `replay_of` set to the
        originally published event's id. Returns the new log entries.
        """
        if pattern is not None:
            validate_pattern(pattern)
        wanted = None if event_ids is None else set(event_ids)
        with self._lock:
            originals = [
                entry
                for entry in self._log.values()
                if (wanted is None or entry.event.id in wanted)
                and _selects(entry, pattern, None, None)
            ]
        return [
            self._publish(
                entry.event.name,
                entry.event.payload,
                entry.event.source,
                entry.event.origin,
                replay_of=entry.replay_of or entry.event.id,
            )
            for entry in originals
        ]

    def log(
        self, pattern: str | None = None, source: str | None = None, origin: str | None = None
    ) -> list[LogEntry]:
        """Logged entries in publish order (oldest first), narrowed by any filters given.

        `pattern` matches event names like a subscription (InvalidPatternError if malformed);
        `source` and `origin` must be equal.
        """
        if pattern is not None:
            validate_pattern(pattern)
        with self._lock:
            entries = list(self._log.values())
        return [entry for entry in entries if _selects(entry, pattern, source, origin)]

    def entry(self, event_id: str) -> LogEntry | None:
        """The log entry of `event_id`, or None once it has been dropped or cleared."""
        with self._lock:
            return self._log.get(event_id)

    def clear(self) -> None:
        """Empty the log; subscriptions and safe mode are kept."""
        with self._lock:
            self._log.clear()

    def _remove_subscription(self, registration_id: str) -> None:
        with self._lock:
            for key, registration in self._registrations.items():
                if registration.id == registration_id:
                    del self._registrations[key]
                    return

    def _publish(
        self,
        name: str,
        payload: Mapping[str, Any],
        source: str,
        origin: EventOrigin,
        *,
        replay_of: str | None,
    ) -> LogEntry:
        if origin not in _ORIGINS:
            raise ValueError(f"origin must be one of {sorted(_ORIGINS)}, got {origin!r}")
        own_payload = copy.deepcopy(dict(payload))
        parent_depth: int | None = getattr(self._delivering, "depth", None)
        depth = 0 if parent_depth is None else parent_depth + 1
        with self._lock:
            event = Event(
                id=f"evt_local_{uuid.uuid4().hex}",
                name=name,
                payload=own_payload,
                source=source,
                timestamp=self._next_timestamp(),
                origin=origin,
            )
            blocked = depth > self._max_depth
            held = not blocked and self._safe_mode
            entry = LogEntry(
                event=event,
                held=held,
                cascade_blocked=blocked,
                depth=depth,
                replay_of=replay_of,
            )
            self._append(entry)
            if blocked or held:
                return entry
            targets = [
                (r.subscriber_id, r.handler)
                for r in self._registrations.values()
                if pattern_matches(r.pattern, name)
            ]
        return self._deliver(entry, targets, parent_depth)

    def _deliver(
        self,
        entry: LogEntry,
        targets: list[tuple[str, EventHandler]],
        parent_depth: int | None,
    ) -> LogEntry:
        delivered: list[str] = []
        errors: list[HandlerError] = []
        self._delivering.depth = entry.depth
        try:
            for subscriber_id, handler in targets:
                try:
                    handler(entry.event)
                except Exception as exc:
                    errors.append(HandlerError(subscriber_id, type(exc).__name__, str(exc)))
                    _logger.warning(
                        "handler of %r failed on %s", subscriber_id, entry.event.name, exc_info=True
                    )
                else:
                    if subscriber_id not in delivered:
                        delivered.append(subscriber_id)
        finally:
            # Also runs when a handler raises BaseException (st.rerun), so depth never leaks.
            self._delivering.depth = parent_depth
            finished = replace(entry, delivered_to=tuple(delivered), errors=tuple(errors))
            with self._lock:
                if self._log.get(entry.event.id) is entry:
                    self._log[entry.event.id] = finished
        return finished

    def _append(self, entry: LogEntry) -> None:
        self._log[entry.event.id] = entry
        while len(self._log) > self._max_log:
            self._log.popitem(last=False)

    def _next_timestamp(self) -> float:
        # Strictly increasing in publish order even if two publishes share a clock tick.
        self._last_timestamp = max(time.time(), self._last_timestamp + _TIMESTAMP_STEP)
        return self._last_timestamp


def _selects(entry: LogEntry, pattern: str | None, source: str | None, origin: str | None) -> bool:
    event = entry.event
    return (
        (pattern is None or pattern_matches(pattern, event.name))
        and (source is None or event.source == source)
        and (origin is None or event.origin == origin)
    )
