"""Widget files: the seed loads, and every kind of mistake is reported with file, path and fix."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lib.config import PROJECT_ROOT
from lib.widgets import (
    WidgetDefinition,
    WidgetDefinitionError,
    load_widget_file,
    load_widget_folder,
    resolve_time_tokens,
)

WIDGETS = PROJECT_ROOT / "widgets"
# The JSON of the seed guide's "Step 5", kept verbatim: the shipped file must stay loadable as is.
SEED_WIDGET = Path(__file__).parent / "fixtures" / "seed-stripe-payments.json"


def _seed() -> dict[str, Any]:
    return json.loads((WIDGETS / "stripe-payments.json").read_text())


def _problems(tmp_path: Path, definition: Any, name: str = "x.json") -> list[str]:
    file = tmp_path / name
    file.write_text(definition if isinstance(definition, str) else json.dumps(definition))
    with pytest.raises(WidgetDefinitionError) as caught:
        load_widget_file(file)
    prefix = f"{file}: "
    lines = str(caught.value).splitlines()
    assert all(line.startswith(prefix) for line in lines)
    return [line.removeprefix(prefix) for line in lines]


def test_seed_definition_loads_unchanged() -> None:
    definition = load_widget_file(WIDGETS / "stripe-payments.json")
    assert definition.type == "stripe-payments"
    assert definition.data_source.endpoint == "/charges"
    assert definition.data_source.refresh_interval == 30000
    assert definition.transform.output_keys == (
        *("id", "amount", "currency", "customer"),
        *("status", "created", "description", "receipt_url"),
    )
    assert [field.key for field in definition.display.fields] == [
        *("amount", "customer", "description", "status", "created"),
    ]
    assert definition.display.fields[3].style[0].color == "green"
    assert definition.display.actions[0].event == "payment.selected"
    assert definition.events is not None and definition.events.on_item_click is not None
    assert definition.events.on_item_click.event_name == "stripe.payment.selected"


def test_shipped_file_is_the_seed_guides_json() -> None:
    assert _seed() == json.loads(SEED_WIDGET.read_text())


def test_seed_guides_json_loads_as_it_is() -> None:
    definition = load_widget_file(SEED_WIDGET)
    assert definition.model_dump(exclude_unset=True) == json.loads(SEED_WIDGET.read_text())


@pytest.mark.parametrize(
    "name", ["stripe-payments", "failed-payments", "revenue-today", "customer", "subscriptions"]
)
def test_shipped_definitions_load(name: str) -> None:
    definition = load_widget_file(WIDGETS / f"{name}.json")
    assert definition.type == name


def test_definition_round_trips_with_json_keys() -> None:
    definition = load_widget_file(WIDGETS / "stripe-payments.json")
    dumped = definition.model_dump(exclude_unset=True)
    assert dumped == _seed()
    assert WidgetDefinition.model_validate(dumped) == definition


def _edit(change: Any) -> dict[str, Any]:
    definition = copy.deepcopy(_seed())
    change(definition)
    return definition


ALLOWED_FIELD_KEYS = "key, label, type, format, currencyField, countField, style, linkText, icons"
CASES: list[tuple[str, Any, str]] = [
    (
        "unknown key",
        lambda d: d["display"]["fields"][1].update(colour="red"),
        f"display.fields[1].colour: unknown key 'colour'; allowed: {ALLOWED_FIELD_KEYS}",
    ),
    (
        "unknown top-level key",
        lambda d: d.update(refresh=5),
        "refresh: unknown key 'refresh'; allowed: type, version, name, description, provider, "
        "dataSource, transform, display, events, subscriptions, position",
    ),
    (
        "unknown operator",
        lambda d: d["transform"]["filter"][0].update(operator="=~"),
        "transform.filter[0].operator: unknown operator '=~'; "
        "allowed: ==, !=, >, <, >=, <=, contains, in, startsWith",
    ),
    (
        "unknown view",
        lambda d: d["display"].update(view="grid"),
        "display.view: unknown view 'grid'; allowed: list, table, card, stat",
    ),
    (
        "unknown field type",
        lambda d: d["display"]["fields"][0].update(type="money"),
        "display.fields[0].type: unknown field type 'money'; "
        "allowed: text, number, date, badge, link, icon",
    ),
    (
        "unknown format",
        lambda d: d["display"]["fields"][2].update(format="curency"),
        "display.fields[2].format: unknown format 'curency'; "
        "allowed: currency, relative-time, short-date, datetime, percent, number, interval",
    ),
    (
        "unknown provider",
        lambda d: d.update(provider="paypal"),
        "provider: unknown provider 'paypal'; "
        "allowed: github, jira, linear, slack, calendar, stripe, twilio",
    ),
    (
        "missing required field",
        lambda d: d.pop("name"),
        "name: required field missing",
    ),
    (
        "missing nested required field",
        lambda d: d["display"]["fields"][0].pop("label"),
        "display.fields[0].label: required field missing",
    ),
    (
        "wrong type",
        lambda d: d.update(version="1"),
        'version: expected a whole number, got "1"',
    ),
    (
        "refresh too often",
        lambda d: d["dataSource"].update(refreshInterval=500),
        "dataSource.refreshInterval: must be at least 1000, got 500",
    ),
    (
        "bad condition",
        lambda d: d["display"]["fields"][3]["style"][0].update(condition="status = 'succeeded'"),
        "display.fields[3].style[0].condition: invalid condition \"status = 'succeeded'\": "
        "unexpected '=', did you mean '===' or '=='? at character 8",
    ),
    (
        "condition naming a field mapItem does not produce",
        lambda d: d["display"]["fields"][3]["style"][0].update(condition="state === 'ok'"),
        "display.fields[3].style[0].condition: unknown field 'state': transform.mapItem does not "
        "produce it; available: id, amount, currency, customer, status, created, description, "
        "receipt_url",
    ),
    (
        "unknown style class",
        lambda d: d["display"]["fields"][3]["style"][0].update(className="shiny"),
        "display.fields[3].style[0].className: unknown style 'shiny'; use a colour (green, red, "
        "orange, blue, violet, gray) or Tailwind classes such as 'bg-green-100 text-green-800' "
        "in: green, emerald, lime, teal, red, rose, pink, yellow, amber, orange, blue, sky, cyan, "
        "indigo, purple, violet, fuchsia, gray, grey, slate, zinc, neutral, stone",
    ),
    (
        "bad pattern",
        lambda d: d["subscriptions"].append({"pattern": "stripe.**", "action": "refresh"}),
        "subscriptions[0].pattern: invalid pattern 'stripe.**': segment 2 ('**') must be '*' "
        "or letters, digits, '_' or '-'",
    ),
    (
        "bad event name",
        lambda d: d["events"]["onItemClick"].update(eventName="stripe payment"),
        "events.onItemClick.eventName: invalid event name 'stripe payment': use dot-separated "
        "words of letters, digits, '_' or '-'",
    ),
    (
        "field key not produced by mapItem",
        lambda d: d["display"]["fields"][1].update(key="customer_email"),
        "display.fields[1].key: unknown field 'customer_email': transform.mapItem does not "
        "produce it; available: id, amount, currency, customer, status, created, description, "
        "receipt_url",
    ),
    (
        "sort field not produced by mapItem",
        lambda d: d["transform"]["sort"].update(field="date"),
        "transform.sort.field: unknown field 'date': transform.mapItem does not produce it; "
        "available: id, amount, currency, customer, status, created, description, receipt_url",
    ),
    (
        "currency format without its currency field",
        lambda d: (
            d["transform"]["mapItem"].pop("currency"),
            d["events"]["onItemClick"]["payload"].remove("currency"),
        ),
        "display.fields[0].currencyField: unknown currency field 'currency': transform.mapItem "
        "does not produce it; available: id, amount, customer, status, created, description, "
        "receipt_url",
    ),
    (
        "api source without endpoint",
        lambda d: d["dataSource"].pop("endpoint"),
        "dataSource.endpoint: required field missing: an api data source needs an endpoint "
        "such as '/charges'",
    ),
    (
        "endpoint with /v1",
        lambda d: d["dataSource"].update(endpoint="/v1/charges"),
        "dataSource.endpoint: invalid endpoint '/v1/charges': the provider's base URL already "
        "ends in /v1; use '/charges'",
    ),
    (
        "absolute endpoint",
        lambda d: d["dataSource"].update(endpoint="https://evil.example/charges"),
        "dataSource.endpoint: invalid endpoint 'https://evil.example/charges': use a path such "
        "as '/charges'",
    ),
    (
        "bad time token",
        lambda d: d["dataSource"]["params"].update({"created[gte]": "@now-2w"}),
        "dataSource.params['created[gte]']: invalid time token '@now-2w'; use @now, @today, or "
        "@now-<number><m|h|d> such as @now-24h, @now-7d, @now-30m",
    ),
    (
        "in without a list",
        lambda d: d["transform"]["filter"][0].update(operator="in"),
        "transform.filter[0].value: operator 'in' needs a list value, e.g. "
        '["succeeded", "pending"]',
    ),
    (
        "filter subscription without filterBy",
        lambda d: d["subscriptions"].append({"pattern": "stripe.*", "action": "filter"}),
        "subscriptions[0].filterBy: required field missing: a filter subscription needs filterBy",
    ),
    (
        "subscription to a misspelt event",
        lambda d: d["subscriptions"].append(
            {"pattern": "stripe.payment.selcted", "action": "refresh"}
        ),
        "subscriptions[0].pattern: pattern 'stripe.payment.selcted' matches no catalogued event "
        "(did you mean 'stripe.payment.selected'?); UI events: stripe.payment.selected, "
        "stripe.subscription.selected; server events: stripe.payment.received, "
        "stripe.payment.failed, stripe.payment.refunded, stripe.subscription.created, "
        "stripe.subscription.updated, stripe.subscription.deleted, "
        "stripe.invoice.payment_failed, stripe.account.deauthorized, jira.issue.created, "
        "slack.message.posted, twilio.sms.sent, workflow.run.failed, stripe.event.*",
    ),
    (
        "click publishing a server event",
        lambda d: d["events"]["onItemClick"].update(eventName="stripe.payment.received"),
        "events.onItemClick.eventName: 'stripe.payment.received' is a server event (made from "
        "Stripe's charge.succeeded); a widget publishes a UI event: stripe.payment.selected, "
        "stripe.subscription.selected",
    ),
    (
        "click publishing a misspelt event",
        lambda d: d["events"]["onItemClick"].update(eventName="stripe.payment.selcted"),
        "events.onItemClick.eventName: unknown event 'stripe.payment.selcted' (did you mean "
        "'stripe.payment.selected'?); a widget publishes a UI event: stripe.payment.selected, "
        "stripe.subscription.selected",
    ),
    (
        "click payload field the event does not carry",
        lambda d: d["events"]["onItemClick"]["payload"].append("description"),
        "events.onItemClick.payload[5]: stripe.payment.selected does not carry 'description'; "
        "its fields: id, amount, currency, customer, status, failure_code",
    ),
    (
        "filterBy on a field the events do not carry",
        lambda d: d["subscriptions"].append(
            {
                "pattern": "stripe.payment.selected",
                "action": "highlight",
                "filterBy": {"eventField": "email", "widgetField": "customer"},
            }
        ),
        "subscriptions[0].filterBy.eventField: unknown event field 'email': events matching "
        "'stripe.payment.selected' carry id, amount, currency, customer, status, failure_code",
    ),
    (
        "paginate on a provider that does not page",
        lambda d: (
            d.update(provider="github"),
            d["dataSource"].update(paginate={"maxItems": 100}),
        ),
        "dataSource.paginate: GitHub lists are not read page by page (only Stripe); "
        "remove paginate",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_each_mistake_is_reported_with_its_path(tmp_path: Path, change: Any, expected: str) -> None:
    assert _problems(tmp_path, _edit(change)) == [expected]


def _stat_definition(stat: dict[str, Any]) -> dict[str, Any]:
    definition = json.loads((WIDGETS / "revenue-today.json").read_text())
    definition["display"]["stat"] = stat
    return definition


def test_money_stat_must_group_by_currency(tmp_path: Path) -> None:
    definition = _stat_definition({"field": "amount", "aggregate": "sum", "label": "Revenue"})
    assert _problems(tmp_path, definition) == [
        "display.stat.groupBy: amounts in different currencies are never added: a sum of "
        "'amount' must group by 'currency'"
    ]
    wrong_group = _stat_definition(
        {"field": "amount", "aggregate": "max", "groupBy": "status", "label": "Largest"}
    )
    assert _problems(tmp_path, wrong_group) == [
        "display.stat.groupBy: amounts in different currencies are never added: a max of "
        "'amount' must group by 'currency'"
    ]


def test_counting_needs_no_currency_grouping(tmp_path: Path) -> None:
    file = tmp_path / "count.json"
    stat = {"field": "id", "aggregate": "count", "label": "Charges"}
    file.write_text(json.dumps(_stat_definition(stat)))
    assert load_widget_file(file).display.stat is not None


def test_every_problem_is_listed_one_per_line(tmp_path: Path) -> None:
    def break_three_things(d: dict[str, Any]) -> None:
        d["display"]["view"] = "grid"
        d["display"]["fields"][2]["format"] = "curency"
        d.pop("provider")

    assert _problems(tmp_path, _edit(break_three_things)) == [
        "provider: required field missing",
        "display.view: unknown view 'grid'; allowed: list, table, card, stat",
        "display.fields[2].format: unknown format 'curency'; "
        "allowed: currency, relative-time, short-date, datetime, percent, number, interval",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{\n  "type": "x",\n  "version": 1\n  "name": "y"\n}',
            "invalid JSON at line 4 column 3: Expecting ',' delimiter",
        ),
        ('{"type": "x", "type": "y"}', "invalid JSON: duplicate key 'type'"),
        ('{"version": NaN}', "invalid JSON: NaN is not allowed in JSON"),
        ("[1, 2]", "expected a JSON object at the top level"),
    ],
)
def test_unreadable_json_is_reported(tmp_path: Path, text: str, expected: str) -> None:
    assert _problems(tmp_path, text) == [expected]


def test_folder_loading_isolates_broken_files(tmp_path: Path) -> None:
    (tmp_path / "b-seed.json").write_text(json.dumps(_seed()))
    (tmp_path / "a-broken.json").write_text("{")
    (tmp_path / "c-binary.json").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "notes.txt").write_text("not a widget")
    results = load_widget_folder(tmp_path)
    assert [result.widget_id for result in results] == ["a-broken", "b-seed", "c-binary"]
    broken, seed, binary = results
    assert broken.definition is None and broken.error is not None
    assert "invalid JSON at line 1 column 2" in str(broken.error)
    assert seed.error is None and seed.definition is not None
    assert binary.error is not None
    assert str(binary.error) == f"{tmp_path / 'c-binary.json'}: cannot read file: not UTF-8 text"


def test_time_tokens_resolve_to_unix_seconds() -> None:
    now = datetime(2026, 11, 27, 13, 5, 30, tzinfo=UTC)
    stamp = int(now.timestamp())
    params = {
        "created[gte]": "@today",
        "a": "@now",
        "b": ["@now-24h", "@now-7d", "@now-30m", "@today-1d"],
        "limit": 20,
        "name": "@home",
    }
    assert resolve_time_tokens(params, now) == {
        "created[gte]": int(datetime(2026, 11, 27, tzinfo=UTC).timestamp()),
        "a": stamp,
        "b": [
            stamp - 86400,
            stamp - 7 * 86400,
            stamp - 1800,
            stamp - 13 * 3600 - 5 * 60 - 30 - 86400,
        ],
        "limit": 20,
        "name": "@home",
    }
