"""Widget definitions: the JSON format (the seed guide's `stripe-payments.json`) as pydantic models.

Every key is camelCase as in the JSON, unknown keys are refused, closed sets name their allowed
values, and the checks that span several parts of a definition (a field key that mapItem does
not produce, a money total without a currency grouping...) run when the model is built, each
reported with the exact JSON path it concerns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import UnionType
from typing import Annotated, Any, Literal, NoReturn, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from lib.events.patterns import (
    InvalidEventNameError,
    InvalidPatternError,
    validate_event_name,
    validate_pattern,
)
from lib.providers.types import PROVIDERS, ProviderName
from lib.widgets.conditions import Condition, ConditionSyntaxError, parse_condition

T = TypeVar("T")

DataSourceKind = Literal["api", "static", "event-driven"]
HttpMethod = Literal["GET", "POST"]
FilterOperator = Literal["==", "!=", ">", "<", ">=", "<=", "contains", "in", "startsWith"]
SortDirection = Literal["asc", "desc"]
ViewKind = Literal["list", "table", "card", "stat"]
FieldType = Literal["text", "number", "date", "badge", "link", "icon"]
FieldFormat = Literal[
    "currency", "relative-time", "short-date", "datetime", "percent", "number", "interval"
]
Aggregate = Literal["sum", "count", "avg", "min", "max"]
SubscriptionAction = Literal["filter", "highlight", "refresh"]
BadgeColor = Literal["green", "red", "orange", "blue", "violet", "gray"]
Scalar = str | int | float | bool

BADGE_COLORS: tuple[BadgeColor, ...] = get_args(BadgeColor)
# Tailwind colour names (as the seed's className uses them) -> Streamlit's badge colours.
TAILWIND_COLORS: dict[str, BadgeColor] = {
    "green": "green",
    "emerald": "green",
    "lime": "green",
    "teal": "green",
    "red": "red",
    "rose": "red",
    "pink": "red",
    "yellow": "orange",
    "amber": "orange",
    "orange": "orange",
    "blue": "blue",
    "sky": "blue",
    "cyan": "blue",
    "indigo": "blue",
    "purple": "violet",
    "violet": "violet",
    "fuchsia": "violet",
    "gray": "gray",
    "grey": "gray",
    "slate": "gray",
    "zinc": "gray",
    "neutral": "gray",
    "stone": "gray",
}
_TAILWIND_CLASS = re.compile(r"(?:[a-z]+:)*(?:bg|text|border|ring)-([a-z]+)(?:-\d+)?")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9_$-]+")
_TIME_TOKEN = re.compile(r"@(now|today)(?:-(\d{1,6})([mhd]))?")
_TIME_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
# How far back a time token may reach; further would leave the range datetimes can hold.
MAX_TIME_TOKEN_DAYS = 36_500
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def _fail(kind: str, reason: str) -> NoReturn:
    # The reason goes in the context, so braces in user text are never read as a template.
    raise PydanticCustomError(kind, "{reason}", {"reason": reason})


def _one_of(what: str, choices: tuple[Any, ...]) -> BeforeValidator:
    allowed = ", ".join(str(choice) for choice in choices)

    def check(value: Any) -> Any:
        if not isinstance(value, str) or value not in choices:
            _fail("not_allowed", f"unknown {what} {value!r}; allowed: {allowed}")
        return value

    return BeforeValidator(check)


def _checked(check: Callable[[Any], None]) -> AfterValidator:
    def run(value: T) -> T:
        check(value)
        return value

    return AfterValidator(run)


def _slug(value: str) -> None:
    if not _SLUG.fullmatch(value):
        _fail(
            "slug",
            f"invalid type {value!r}: use lower-case words joined by '-', e.g. 'stripe-payments'",
        )


def _non_empty(value: str) -> None:
    if not value.strip():
        _fail("empty", "must not be empty")


def _dotted_path(value: str) -> None:
    if not all(_PATH_SEGMENT.fullmatch(segment) for segment in value.split(".")):
        _fail(
            "path",
            f"invalid path {value!r}: use names joined by '.', "
            "e.g. 'payment_method_details.card.brand'",
        )


def _endpoint(value: str) -> None:
    if not value.startswith("/") or value.startswith("//") or "://" in value:
        _fail("endpoint", f"invalid endpoint {value!r}: use a path such as '/charges'")
    if value == "/v1" or value.startswith("/v1/"):
        _fail(
            "endpoint",
            f"invalid endpoint {value!r}: the provider's base URL already ends in /v1; "
            f"use {value[3:] or '/'!r}",
        )
    if "?" in value or "#" in value or any(char.isspace() for char in value):
        _fail("endpoint", f"invalid endpoint {value!r}: put query parameters in dataSource.params")
    if ".." in value.split("/"):
        _fail("endpoint", f"invalid endpoint {value!r}: '..' is not allowed")


def _event_name(value: str) -> None:
    try:
        validate_event_name(value)
    except InvalidEventNameError as exc:
        _fail("event_name", str(exc))


def _pattern(value: str) -> None:
    try:
        validate_pattern(value)
    except InvalidPatternError as exc:
        _fail("pattern", str(exc))


def _condition(value: str) -> None:
    try:
        parse_condition(value)
    except ConditionSyntaxError as exc:
        _fail("condition", f"invalid condition {value!r}: {exc}")


def _style_class(value: str) -> None:
    if style_color(value) is None:
        _fail(
            "style",
            f"unknown style {value!r}; use a colour ({', '.join(BADGE_COLORS)}) or Tailwind "
            f"classes such as 'bg-green-100 text-green-800' in: {', '.join(TAILWIND_COLORS)}",
        )


def _time_tokens(value: Any) -> None:
    values = value if isinstance(value, list) else [value]
    for item in values:
        if not is_time_token_like(item):
            continue
        match = _TIME_TOKEN.fullmatch(item)
        if match is None:
            _fail(
                "time_token",
                f"invalid time token {item[:40]!r}; use @now, @today, or @now-<number><m|h|d> "
                "such as @now-24h, @now-7d, @now-30m",
            )
        if match.group(2) and int(match.group(2)) * _TIME_UNITS[match.group(3)] > timedelta(
            days=MAX_TIME_TOKEN_DAYS
        ):
            _fail(
                "time_token",
                f"time token {item!r} reaches back more than {MAX_TIME_TOKEN_DAYS:,} days "
                "(100 years); use a smaller number",
            )


def _json_scalars(value: Any, allow_null: bool) -> Any:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, list | dict) or (item is None and not allow_null):
            _fail("value", "expected text, a number, true/false or a list of those")
    _time_tokens(value)
    return value


def _height(value: Any) -> Any:
    if value in ("fixed", "auto") and isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    _fail("height", f"unknown height {value!r}; allowed: fixed, auto, or a number of pixels")


def is_time_token_like(value: Any) -> bool:
    """True for strings that are meant as time tokens (they start with '@now' or '@today')."""
    return isinstance(value, str) and value.startswith(("@now", "@today"))


def resolve_time_tokens(value: T, now: datetime) -> T:
    """Replace time tokens with unix seconds: '@now', '@today' (00:00 UTC), '@now-24h', '@now-7d'.

    Lists and dicts are resolved recursively; everything else is returned unchanged. A naive
    `now` is taken as UTC.
    """
    if isinstance(value, list):
        return [resolve_time_tokens(item, now) for item in value]  # type: ignore[return-value]
    if isinstance(value, dict):
        return {key: resolve_time_tokens(item, now) for key, item in value.items()}  # type: ignore[return-value]
    if not isinstance(value, str):
        return value
    match = _TIME_TOKEN.fullmatch(value)
    if match is None:
        return value
    moment = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    if match.group(1) == "today":
        moment = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if match.group(2):
        moment -= int(match.group(2)) * _TIME_UNITS[match.group(3)]
    return int(moment.timestamp())  # type: ignore[return-value]


def style_color(class_name: str) -> BadgeColor | None:
    """The Streamlit colour for a style's className ('bg-green-100 text-green-800' -> 'green')."""
    if class_name.strip() in BADGE_COLORS:
        return class_name.strip()  # type: ignore[return-value]
    for css_class in class_name.split():
        match = _TAILWIND_CLASS.fullmatch(css_class)
        if match and match.group(1) in TAILWIND_COLORS:
            return TAILWIND_COLORS[match.group(1)]
    return None


def format_path(location: tuple[str | int, ...]) -> str:
    """A JSON path as people read it: ('display', 'fields', 2) -> 'display.fields[2]'.

    Keys that are not plain names are quoted: ('dataSource', 'params', 'created[gte]') ->
    "dataSource.params['created[gte]']".
    """
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


Slug = Annotated[str, _checked(_slug)]
Text = Annotated[str, _checked(_non_empty)]
FieldPath = Annotated[str, _checked(_dotted_path)]
EventName = Annotated[str, _checked(_event_name)]
ParamValue = Annotated[
    Scalar | list[Scalar], BeforeValidator(lambda value: _json_scalars(value, allow_null=False))
]
FilterValue = Annotated[
    Scalar | list[Scalar | None] | None,
    BeforeValidator(lambda value: _json_scalars(value, allow_null=True)),
]


class WidgetSpecModel(BaseModel):
    """Common settings: camelCase keys only, nothing unknown, no type coercion, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        alias_generator=to_camel,
        serialize_by_alias=True,
    )


class PaginateSpec(WidgetSpecModel):
    """`dataSource.paginate`: follow list cursors until `maxItems` items have arrived."""

    max_items: int = Field(ge=1)
    """Fetch pages until this many items have arrived (or the list ends)."""


class DataSourceSpec(WidgetSpecModel):
    """`dataSource`: where the rows come from (an API endpoint, inline data, or events)."""

    type: Annotated[DataSourceKind, _one_of("data source type", get_args(DataSourceKind))]
    endpoint: Annotated[str, _checked(_endpoint)] | None = None
    """Relative to the provider's API base, which already ends in /v1: '/charges'."""
    method: Annotated[HttpMethod, _one_of("method", get_args(HttpMethod))] = "GET"
    params: dict[str, ParamValue] = Field(default_factory=dict)
    refresh_interval: int | None = Field(default=None, ge=1000)
    """Milliseconds between refreshes."""
    data: JsonValue = None
    """The inline payload of a static data source."""
    paginate: PaginateSpec | None = None


class FilterSpec(WidgetSpecModel):
    """One `transform.filter` rule: `field operator value`, on mapped output fields."""

    field: Text
    operator: Annotated[FilterOperator, _one_of("operator", get_args(FilterOperator))]
    value: FilterValue


class SortSpec(WidgetSpecModel):
    """`transform.sort`: one output field, ascending or descending; nulls always last."""

    field: Text
    direction: Annotated[SortDirection, _one_of("direction", get_args(SortDirection))] = "asc"


class TransformSpec(WidgetSpecModel):
    """`transform`: path, then mapItem, then filter, then sort."""

    path: FieldPath | None = None
    """Dotted path to the list inside the response; None means the response itself."""
    map_item: dict[str, FieldPath] | None = Field(default=None, min_length=1)
    """Output key -> dotted source path, in column order."""
    filter: list[FilterSpec] = Field(default_factory=list)
    sort: SortSpec | None = None

    @property
    def output_keys(self) -> tuple[str, ...] | None:
        """The columns the transform produces, when mapItem fixes them."""
        return None if self.map_item is None else tuple(self.map_item)


class LayoutSpec(WidgetSpecModel):
    """`display.layout`: height ('fixed', 'auto' or pixels) and the text shown with no rows."""

    height: Annotated[Literal["fixed", "auto"] | int, BeforeValidator(_height)] = "auto"
    empty_state: str = "Nothing to show"
    max_rows: int | None = Field(default=None, ge=1)
    """Show at most this many rows (stats still count every row)."""


class StyleRule(WidgetSpecModel):
    """One `style` entry: when `condition` holds for a row, use the colour of `className`."""

    condition: Annotated[str, _checked(_condition)]
    class_name: Annotated[str, _checked(_style_class)]

    @property
    def parsed_condition(self) -> Condition:
        """The condition, parsed (cached, and known to parse since the rule was validated)."""
        return parse_condition(self.condition)

    @property
    def color(self) -> BadgeColor:
        """The Streamlit colour name this rule's className stands for."""
        return style_color(self.class_name) or "gray"


class FieldSpec(WidgetSpecModel):
    """One `display.fields` entry: which output field, its label, type and format."""

    key: Text
    label: str
    type: Annotated[FieldType, _one_of("field type", get_args(FieldType))] = "text"
    format: Annotated[FieldFormat, _one_of("format", get_args(FieldFormat))] | None = None
    currency_field: Text = "currency"
    """The row field holding the ISO currency code, for the currency format."""
    count_field: Text = "interval_count"
    """The row field holding how many intervals a period spans, for the interval format."""
    style: list[StyleRule] = Field(default_factory=list)
    link_text: str | None = None
    icons: dict[str, str] = Field(default_factory=dict)


class ActionSpec(WidgetSpecModel):
    """One `display.actions` entry: a "View" button on each row (in a table, selecting the row)
    that publishes `{provider}.{event}` (the seed's `payment.selected` publishes
    `stripe.payment.selected`) with the row fields `events.onItemClick.payload` lists, or
    without onItemClick the fields shown; the source is onItemClick's, else the widget id."""

    trigger: Annotated[Literal["click"], _one_of("trigger", ("click",))]
    event: EventName


class StatSpec(WidgetSpecModel):
    """`display.stat`: one aggregate of a field, optionally one figure per group."""

    field: Text
    aggregate: Annotated[Aggregate, _one_of("aggregate", get_args(Aggregate))]
    group_by: str | None = None
    label: str


class DisplaySpec(WidgetSpecModel):
    """`display`: the view and the fields it shows."""

    view: Annotated[ViewKind, _one_of("view", get_args(ViewKind))]
    layout: LayoutSpec = Field(default_factory=LayoutSpec)
    fields: list[FieldSpec] = Field(default_factory=list)
    actions: list[ActionSpec] = Field(default_factory=list)
    stat: StatSpec | None = None
    """The stat view's figure; on other views, figures shown above the rows."""
    summary_fields: list[str] = Field(default_factory=list)
    """Field keys shown once, from the first row, as a card above the rows (e.g. a customer)."""

    def field_named(self, key: str) -> FieldSpec | None:
        """The display field with this key, if any."""
        return next((field for field in self.fields if field.key == key), None)


class ItemClickSpec(WidgetSpecModel):
    """`events.onItemClick`: the event published, with which row fields, when a row is clicked."""

    event_name: EventName
    payload: list[str] = Field(default_factory=list)
    """Row fields sent with the event."""
    source: str | None = None


class EventsSpec(WidgetSpecModel):
    """`events`: what the widget publishes."""

    on_item_click: ItemClickSpec | None = None


class FilterBySpec(WidgetSpecModel):
    """`filterBy`: which event payload field is matched against which row field."""

    event_field: FieldPath
    """Dotted path into the event payload."""
    widget_field: Text
    """The row field compared with it."""
    query_param: Text | None = None
    """Also send the event's value as this API parameter, so the provider narrows the list."""


class SubscriptionSpec(WidgetSpecModel):
    """One `subscriptions` entry: on events matching `pattern`, filter, highlight or refresh."""

    pattern: Annotated[str, _checked(_pattern)]
    action: Annotated[SubscriptionAction, _one_of("action", get_args(SubscriptionAction))]
    filter_by: FilterBySpec | None = None
    required: bool = False
    """A `filter` that must be set before the widget shows rows (it shows its emptyState)."""


class WidgetDefinition(WidgetSpecModel):
    """A whole widget file. Building one runs every check, including the cross-field ones."""

    type: Slug
    version: int = Field(ge=1)
    name: Text
    description: str = ""
    provider: Annotated[ProviderName, _one_of("provider", PROVIDERS)]
    data_source: DataSourceSpec
    transform: TransformSpec = Field(default_factory=TransformSpec)
    display: DisplaySpec
    events: EventsSpec | None = None
    subscriptions: list[SubscriptionSpec] = Field(default_factory=list)
    position: int = 100
    """Place on the dashboard: lower comes first; equal positions keep file-name order."""

    @model_validator(mode="after")
    def _consistent(self) -> WidgetDefinition:
        problems = cross_field_problems(self)
        if problems:
            summary = "; ".join(f"{format_path(loc)}: {message}" for loc, message in problems)
            raise PydanticCustomError(
                "widget_inconsistent", "{summary}", {"summary": summary, "problems": problems}
            )
        return self


Location = tuple[str | int, ...]


def cross_field_problems(definition: WidgetDefinition) -> list[tuple[Location, str]]:
    """Checks that span several parts of a definition, each with the path it concerns."""
    return [
        *_data_source_problems(definition.data_source),
        *_filter_problems(definition.transform),
        *_display_problems(definition.display),
        *_subscription_problems(definition.subscriptions),
        *_output_key_problems(definition),
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


def allowed_keys(location: Location) -> tuple[str, ...] | None:
    """The keys a definition accepts for the object at `location`, or None if it is not one."""
    annotation: Any = WidgetDefinition
    for part in location:
        annotation = _container_of(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next(
                (info for info in annotation.model_fields.values() if info.alias == part), None
            )
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) in (list, dict):
            annotation = get_args(annotation)[-1]
        else:
            return None
    annotation = _container_of(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return tuple(info.alias or name for name, info in annotation.model_fields.items())
    return None


def _container_of(annotation: Any) -> Any:
    # Optional[X] and Annotated[X, ...] stand for X when walking down a path.
    if get_origin(annotation) is Annotated:
        return _container_of(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        members = [member for member in get_args(annotation) if member is not type(None)]
        structured = [m for m in members if get_origin(m) in (list, dict) or isinstance(m, type)]
        return _container_of(structured[0] if structured else members[0])
    return annotation
