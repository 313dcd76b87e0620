"""Checks that span several parts of a widget definition, each with the JSON path it concerns.

`WidgetDefinition` runs them when it is built; each problem is a (location, message) pair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lib.events.catalogue import catalogued_event, events_matching
from lib.providers.registry import ADAPTERS
from lib.widgets.introspection import Location

if TYPE_CHECKING:
    from lib.widgets.schema import (
        DataSourceSpec,
        DisplaySpec,
        StatSpec,
        SubscriptionSpec,
        TransformSpec,
        WidgetDefinition,
    )


def cross_field_problems(definition: WidgetDefinition) -> list[tuple[Location, str]]:
    """Checks that span several parts of a definition, each with the path it concerns."""
    return [
        *_data_source_problems(definition.data_source),
        *_paging_problems(definition),
        *_filter_problems(definition.transform),
        *_display_problems(definition.display),
        *_subscription_problems(definition.subscriptions),
        *_server_event_source_problems(definition),
        *_output_key_problems(definition),
        *_event_field_problems(definition),
    ]


def _data_source_problems(source: DataSourceSpec) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    base: Location = ("dataSource",)
    if source.type == "api" and source.endpoint is None:
        problems.append(
            (
                (*base, "endpoint"),
                "required field missing: an api data source needs an endpoint such as '/charges'",
            )
        )
    if source.type == "static" and source.data is None:
        problems.append(
            ((*base, "data"), "required field missing: a static data source needs data")
        )
    if source.type != "api":
        unused = {"endpoint": source.endpoint, "paginate": source.paginate, "params": source.params}
        for key, value in unused.items():
            if value:
                problems.append(((*base, key), f"only an api data source uses {key}; remove it"))
    if source.type != "static" and source.data is not None:
        problems.append(((*base, "data"), "only a static data source uses data; remove it"))
    return problems


def _paging_problems(definition: WidgetDefinition) -> list[tuple[Location, str]]:
    adapter = ADAPTERS[definition.provider]
    if definition.data_source.paginate is None or adapter.pages_lists:
        return []
    paging = ", ".join(cls.label for cls in ADAPTERS.values() if cls.pages_lists)
    return [
        (
            ("dataSource", "paginate"),
            f"{adapter.label} lists are not read page by page (only {paging}); remove paginate",
        )
    ]


def _filter_problems(transform: TransformSpec) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    for index, rule in enumerate(transform.filter):
        location: Location = ("transform", "filter", index, "value")
        if rule.operator == "in" and not isinstance(rule.value, list):
            problems.append(
                (location, 'operator \'in\' needs a list value, e.g. ["succeeded", "pending"]')
            )
        elif rule.operator != "in" and isinstance(rule.value, list):
            problems.append((location, f"operator {rule.operator!r} takes one value, not a list"))
        elif rule.operator == "startsWith" and not isinstance(rule.value, str):
            problems.append((location, "operator 'startsWith' needs text"))
        elif rule.operator in (">", "<", ">=", "<=", "contains") and (
            rule.value is None or isinstance(rule.value, bool)
        ):
            problems.append((location, f"operator {rule.operator!r} needs text or a number"))
    return problems


def _display_problems(display: DisplaySpec) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    seen: set[str] = set()
    for index, spec in enumerate(display.fields):
        location: Location = ("display", "fields", index)
        if spec.key in seen:
            problems.append(((*location, "key"), f"duplicate field key {spec.key!r}"))
        seen.add(spec.key)
        if spec.link_text is not None and spec.type != "link":
            problems.append(((*location, "linkText"), "only a link field uses linkText; remove it"))
        if spec.icons and spec.type != "icon":
            problems.append(((*location, "icons"), "only an icon field uses icons; remove it"))
    if display.view == "stat" and display.stat is None:
        problems.append((("display", "stat"), "required field missing: the stat view needs a stat"))
    field_keys = [spec.key for spec in display.fields]
    for index, key in enumerate(display.summary_fields):
        if key not in field_keys:
            problems.append(
                (
                    ("display", "summaryFields", index),
                    f"unknown field {key!r}: list it in display.fields; available: "
                    + ", ".join(field_keys),
                )
            )
    if display.view != "stat" and not display.fields:
        problems.append(
            (("display", "fields"), f"the {display.view} view needs at least one field")
        )
    if display.stat is not None and display.stat.aggregate != "count":
        problems.extend(_money_stat_problems(display, display.stat))
    stat = display.stat
    if stat is not None and stat.minus is not None and stat.aggregate == "count":
        problems.append((("display", "stat", "minus"), "a count has nothing to subtract"))
    return problems


def _money_stat_problems(display: DisplaySpec, stat: StatSpec) -> list[tuple[Location, str]]:
    spec = display.field_named(stat.field)
    if spec is None:
        return [
            (
                ("display", "stat", "field"),
                f"list {stat.field!r} in display.fields so its {stat.aggregate} can be formatted",
            )
        ]
    if spec.format == "currency" and stat.group_by != spec.currency_field:
        return [
            (
                ("display", "stat", "groupBy"),
                f"amounts in different currencies are never added: a {stat.aggregate} of "
                f"{stat.field!r} must group by {spec.currency_field!r}",
            )
        ]
    return []


def _subscription_problems(subscriptions: list[SubscriptionSpec]) -> list[tuple[Location, str]]:
    problems: list[tuple[Location, str]] = []
    for index, subscription in enumerate(subscriptions):
        location: Location = ("subscriptions", index, "filterBy")
        if subscription.action in ("filter", "highlight") and subscription.filter_by is None:
            problems.append(
                (
                    location,
                    f"required field missing: a {subscription.action} subscription needs filterBy",
                )
            )
        if subscription.action == "refresh" and subscription.filter_by is not None:
            problems.append((location, "a refresh subscription does not use filterBy; remove it"))
    return problems


def _server_event_source_problems(definition: WidgetDefinition) -> list[tuple[Location, str]]:
    # The subscriptions' patterns say which stored events a server-events widget lists.
    if definition.data_source.type != "server-events" or definition.subscriptions:
        return []
    message = (
        "required field missing: a server-events data source lists the stored events its "
        "subscriptions match; add one such as {'pattern': 'jira.*', 'action': 'refresh'}"
    )
    return [(("subscriptions",), message)]


def _output_key_problems(definition: WidgetDefinition) -> list[tuple[Location, str]]:
    outputs = definition.transform.output_keys
    if outputs is None:
        return []
    available = ", ".join(outputs)
    problems: list[tuple[Location, str]] = []

    def require(location: Location, key: str | None, role: str = "field") -> None:
        if key is not None and key not in outputs:
            problems.append(
                (
                    location,
                    f"unknown {role} {key!r}: transform.mapItem does not produce it; "
                    f"available: {available}",
                )
            )

    transform, display = definition.transform, definition.display
    for index, rule in enumerate(transform.filter):
        require(("transform", "filter", index, "field"), rule.field)
    if transform.sort is not None:
        require(("transform", "sort", "field"), transform.sort.field)
    for index, spec in enumerate(display.fields):
        location: Location = ("display", "fields", index)
        require((*location, "key"), spec.key)
        if spec.format == "currency":
            require((*location, "currencyField"), spec.currency_field, "currency field")
        if spec.format == "interval":
            require((*location, "countField"), spec.count_field, "count field")
        for rule_index, rule in enumerate(spec.style):
            for name in rule.parsed_condition.fields:
                if name not in outputs and name.split(".")[0] not in outputs:
                    require((*location, "style", rule_index, "condition"), name)
    if display.stat is not None:
        require(("display", "stat", "field"), display.stat.field)
        require(("display", "stat", "groupBy"), display.stat.group_by)
        require(("display", "stat", "minus"), display.stat.minus)
    if definition.events is not None and definition.events.on_item_click is not None:
        for index, key in enumerate(definition.events.on_item_click.payload):
            require(("events", "onItemClick", "payload", index), key)
    for index, subscription in enumerate(definition.subscriptions):
        if subscription.required and subscription.action != "filter":
            problems.append(
                (("subscriptions", index, "required"), "only a filter subscription can be required")
            )
        if subscription.filter_by is not None:
            require(
                ("subscriptions", index, "filterBy", "widgetField"),
                subscription.filter_by.widget_field,
            )
    return problems


def _event_field_problems(definition: WidgetDefinition) -> list[tuple[Location, str]]:
    """Payload fields that the catalogue does not list for the events concerned."""
    problems: list[tuple[Location, str]] = []
    click = definition.events.on_item_click if definition.events is not None else None
    published = catalogued_event(click.event_name) if click is not None else None
    if click is not None and published is not None:
        for index, key in enumerate(click.payload):
            if key not in published.fields:
                problems.append(
                    (
                        ("events", "onItemClick", "payload", index),
                        f"{published.name} does not carry {key!r}; "
                        f"its fields: {', '.join(published.fields)}",
                    )
                )
    for index, subscription in enumerate(definition.subscriptions):
        if subscription.filter_by is None:
            continue
        carried = dict.fromkeys(
            field for event in events_matching(subscription.pattern) for field in event.fields
        )
        event_field = subscription.filter_by.event_field
        if event_field.split(".")[0] not in carried:
            problems.append(
                (
                    ("subscriptions", index, "filterBy", "eventField"),
                    f"unknown event field {event_field!r}: events matching "
                    f"{subscription.pattern!r} carry {', '.join(carried)}",
                )
            )
    return problems
