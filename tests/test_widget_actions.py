"""`display.actions` on the dashboard: a button on each row that publishes
`{provider}.{event}` with the row's payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.events import EventBus
from lib.render.session import _BUS_KEY
from lib.widgets.interactions import WidgetInteractions
from lib.widgets.loader import parse_widget_data
from tests.apptest_support import run_app

ACTIONS_WIDGET = {
    "type": "flag-payments",
    "version": 1,
    "name": "Payments to check",
    "provider": "stripe",
    "dataSource": {
        "type": "static",
        "data": [
            {"id": "ch_1", "amount": 1999, "currency": "usd", "status": "succeeded"},
            {"id": "ch_2", "amount": 500, "currency": "jpy", "status": "succeeded"},
        ],
    },
    "transform": {"mapItem": {"id": "id", "amount": "amount", "currency": "currency"}},
    "display": {
        "view": "list",
        "fields": [
            {"key": "id", "label": "Charge"},
            {"key": "amount", "label": "Amount", "type": "number", "format": "currency"},
        ],
        "actions": [{"trigger": "click", "event": "payment.selected"}],
    },
}


def test_an_action_without_on_item_click_is_a_button_that_publishes_its_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "flags.json").write_text(json.dumps(ACTIONS_WIDGET), encoding="utf-8")
    monkeypatch.setenv("WIDGETS_DIR", str(tmp_path))
    app = run_app()

    button = app.button(key="widget-flags-rows-1")
    assert button.label == "View"
    button.click().run()

    assert not app.exception
    bus: EventBus = app.session_state[_BUS_KEY]
    [entry] = bus.log()
    assert (entry.event.name, entry.event.source) == ("stripe.payment.selected", "flags")
    assert entry.event.payload == {"id": "ch_2", "amount": 500}


def test_a_rows_actions_publish_once_until_another_row_or_action_is_chosen() -> None:
    bus = EventBus()
    definition = parse_widget_data(ACTIONS_WIDGET)
    interactions = WidgetInteractions("flags", definition, bus, {})
    both = ("stripe.payment.selected", "stripe.payment.flagged")

    assert interactions.publish_row(both, {"id": "ch_1"}, "ch_1", None)
    # A table selection is still there on the next rerun: nothing is sent again.
    assert not interactions.publish_row(both, {"id": "ch_1"}, "ch_1", None)
    assert interactions.publish_row(both[:1], {"id": "ch_1"}, "ch_1", None)
    assert interactions.publish_row(both[:1], {"id": "ch_2"}, "ch_2", None)

    assert [(entry.event.name, entry.event.payload["id"]) for entry in bus.log()] == [
        ("stripe.payment.selected", "ch_1"),
        ("stripe.payment.flagged", "ch_1"),
        ("stripe.payment.selected", "ch_1"),
        ("stripe.payment.selected", "ch_2"),
    ]
    assert interactions.inputs().published == "ch_2"
