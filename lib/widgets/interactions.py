"""A widget on the event bus: publishing row selections, and filter/highlight/refresh on events.

The state lives in a plain mutable mapping (the session state in the app, a dict in tests),
so this module needs no Streamlit and handlers work from any publisher.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lib.events import Event, EventBus, pattern_matches
from lib.widgets.field_paths import value_at
from lib.widgets.interaction_inputs import (
    ActiveFilter,
    InteractionInputs,
    json_value,
    row_identity,
    row_payload,
)
from lib.widgets.schema import SubscriptionSpec, WidgetDefinition


@dataclass
class WidgetEventState:
    filters: dict[int, Any] = field(default_factory=dict)
    highlights: dict[int, Any] = field(default_factory=dict)
    refreshes: int = 0
    published: str | None = None
    published_events: tuple[str, ...] = ()


# Which stored server events change what a data source returns (mesh names, lib/webhooks/mapping).
SERVER_EVENT_PATTERNS = {
    "/charges": "stripe.payment.*",
    "/refunds": "stripe.payment.*",
    "/subscriptions": "stripe.subscription.*",
    "/invoices": "stripe.invoice.*",
    "/customers": "stripe.event.customer.*",
}


class WidgetInteractions:
    """What one widget does on the bus during a page run."""

    def __init__(
        self,
        widget_id: str,
        definition: WidgetDefinition,
        bus: EventBus,
        session: MutableMapping[str, Any],
    ) -> None:
        self.widget_id = widget_id
        self.definition = definition
        self.bus = bus
        key = f"_widget_events:{widget_id}"
        if not isinstance(session.get(key), WidgetEventState):
            session[key] = WidgetEventState()
        self.state: WidgetEventState = session[key]

    @property
    def subscriber_id(self) -> str:
        return self.widget_id

    @property
    def selectable(self) -> bool:
        events = self.definition.events
        return events is not None and events.on_item_click is not None

    def subscribe(self) -> None:
        """(Re)subscribe every subscription of the definition; the bus replaces old handlers."""
        for index, spec in enumerate(self.definition.subscriptions):
            self.bus.subscribe(spec.pattern, self._handler(index, spec), self.subscriber_id)

    def _handler(self, index: int, spec: SubscriptionSpec) -> Any:
        state = self.state

        def handle(event: Event) -> None:
            if spec.action == "refresh":
                state.refreshes += 1
                return
            assert spec.filter_by is not None
            value = json_value(value_at(event.payload, spec.filter_by.event_field))
            target = state.filters if spec.action == "filter" else state.highlights
            target[index] = value

        return handle

    def active_filters(self) -> list[ActiveFilter]:
        found: list[ActiveFilter] = []
        for index, value in sorted(self.state.filters.items()):
            spec = self.definition.subscriptions[index]
            assert spec.filter_by is not None
            found.append(ActiveFilter(index, spec.filter_by.widget_field, value))
        return found

    def clear_filter(self, index: int) -> None:
        self.state.filters.pop(index, None)

    def waiting_for_selection(self) -> bool:
        """True while a subscription marked `required` has not received its event yet."""
        return any(
            spec.action == "filter" and spec.required and index not in self.state.filters
            for index, spec in enumerate(self.definition.subscriptions)
        )

    def query_params(self) -> dict[str, Any]:
        """API parameters set by active filters whose filterBy names a `queryParam`."""
        params: dict[str, Any] = {}
        for active in self.active_filters():
            spec = self.definition.subscriptions[active.index]
            if (
                spec.filter_by is not None
                and spec.filter_by.query_param
                and active.value is not None
            ):
                params[spec.filter_by.query_param] = active.value
        return params

    def server_refresh_patterns(self) -> list[str]:
        """Server events after which the widget refetches: its data source's resource events
        (Recent Payments on `stripe.payment.*`) and its `refresh` subscriptions."""
        patterns = [s.pattern for s in self.definition.subscriptions if s.action == "refresh"]
        endpoint = self.definition.data_source.endpoint or ""
        resource = "/" + endpoint.strip("/").split("/")[0]
        if resource in SERVER_EVENT_PATTERNS:
            patterns.insert(0, SERVER_EVENT_PATTERNS[resource])
        return patterns

    def refresh_count(self) -> int:
        return self.state.refreshes

    def inputs(self) -> InteractionInputs:
        """Filters, highlights and the selected row as plain values, for building a view."""
        highlights: list[tuple[str, Any]] = []
        for index, value in self.state.highlights.items():
            spec = self.definition.subscriptions[index]
            assert spec.filter_by is not None
            highlights.append((spec.filter_by.widget_field, value))
        return InteractionInputs(
            filters=tuple(self.active_filters()),
            waiting=self.waiting_for_selection(),
            highlights=tuple(highlights),
            published=self.state.published,
        )

    def narrow(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Only the rows whose field equals each active filter's value."""
        return self.inputs().narrow(frame)

    def highlighted(self, frame: pd.DataFrame) -> pd.Series:
        """Rows to mark: the row this widget last published, and `highlight` matches."""
        return self.inputs().highlighted(frame)

    def event_payloads(self) -> list[dict[str, Any]]:
        """Event-driven widgets: payloads of matching logged events, newest first."""
        patterns = [spec.pattern for spec in self.definition.subscriptions]
        entries = [
            entry
            for entry in self.bus.log()
            if any(pattern_matches(pattern, entry.event.name) for pattern in patterns)
        ]
        return [dict(entry.event.payload) for entry in reversed(entries)]

    def publish_selection(self, row: pd.Series) -> bool:
        """Publish onItemClick for a newly selected row; False when it was already published."""
        events = self.definition.events
        if events is None or events.on_item_click is None:
            return False
        click = events.on_item_click
        payload = row_payload(row, click.payload)
        identity = row_identity(row, payload)
        return self.publish_row((click.event_name,), payload, identity, click.source)

    def publish_row(
        self,
        event_names: tuple[str, ...],
        payload: dict[str, Any],
        identity: str,
        source: str | None,
    ) -> bool:
        """Publish each of `event_names` for the row `identity`, which becomes the selected row;
        False when that row last published the same events (a table selection persists across
        reruns, and pressing a button twice sends once)."""
        if (identity, event_names) == (self.state.published, self.state.published_events):
            return False
        self.state.published, self.state.published_events = identity, event_names
        for name in event_names:
            self.bus.publish(name, payload, source or self.widget_id)
        return True
