"""Event bus for widgets: publish named events, subscribe to name patterns, inspect the log;
the catalogue of the names there are and what their payloads carry."""

from lib.events.bus import (
    Event,
    EventBus,
    EventHandler,
    EventOrigin,
    HandlerError,
    LogEntry,
    Subscription,
    SubscriptionInfo,
)
from lib.events.catalogue import (
    CATALOGUE,
    SERVER_EVENTS,
    UI_EVENTS,
    WORKFLOW_EVENTS,
    CataloguedEvent,
    catalogue_label,
    catalogued_event,
    events_matching,
)
from lib.events.patterns import (
    InvalidEventNameError,
    InvalidPatternError,
    compile_pattern,
    pattern_matches,
    patterns_overlap,
    validate_event_name,
    validate_pattern,
)

__all__ = [
    "CATALOGUE",
    "SERVER_EVENTS",
    "UI_EVENTS",
    "WORKFLOW_EVENTS",
    "CataloguedEvent",
    "Event",
    "EventBus",
    "EventHandler",
    "EventOrigin",
    "HandlerError",
    "InvalidEventNameError",
    "InvalidPatternError",
    "LogEntry",
    "Subscription",
    "SubscriptionInfo",
    "catalogue_label",
    "catalogued_event",
    "compile_pattern",
    "events_matching",
    "pattern_matches",
    "patterns_overlap",
    "validate_event_name",
    "validate_pattern",
]
