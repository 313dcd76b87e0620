"""Event bus for widgets: publish named events, subscribe to name patterns, inspect the log."""

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
from lib.events.patterns import (
    InvalidEventNameError,
    InvalidPatternError,
    compile_pattern,
    pattern_matches,
    validate_event_name,
    validate_pattern,
)

__all__ = [
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
    "compile_pattern",
    "pattern_matches",
    "validate_event_name",
    "validate_pattern",
]
