"""Widget definitions: the JSON format (the seed guide's `stripe-payments.json`) as pydantic models.

Every key is camelCase as in the JSON, unknown keys are refused, closed sets name their allowed
values (`value_types`), and the checks that span several parts of a definition (`checks`: a
field key that mapItem does not produce, a money total without a currency grouping...) run
when the model is built, each reported with the exact JSON path it concerns.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from lib.providers.types import PROVIDERS, ProviderName
from lib.widgets.checks import cross_field_problems
from lib.widgets.colors import BadgeColor, style_color
from lib.widgets.conditions import Condition, parse_condition
from lib.widgets.introspection import format_path
from lib.widgets.value_types import (
    ConditionText,
    Endpoint,
    EventName,
    EventPattern,
    FieldPath,
    FilterValue,
    Height,
    ParamValue,
    Slug,
    StyleClassName,
    Text,
    UiEventName,
    one_of,
)

DataSourceKind = Literal["api", "static", "event-driven", "server-events"]
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
    """`dataSource`: where the rows come from (an API endpoint, inline data, the session's
    events, or stored server events matching the widget's subscriptions: `server-events`)."""

    type: Annotated[DataSourceKind, one_of("data source type", get_args(DataSourceKind))]
    endpoint: Endpoint | None = None
    """Relative to the provider's API base, which already ends in /v1: '/charges'."""
    method: Annotated[HttpMethod, one_of("method", get_args(HttpMethod))] = "GET"
    params: dict[str, ParamValue] = Field(default_factory=dict)
    refresh_interval: int | None = Field(default=None, ge=1000)
    """Milliseconds between refreshes."""
    data: JsonValue = None
    """The inline payload of a static data source."""
    paginate: PaginateSpec | None = None


class FilterSpec(WidgetSpecModel):
    """One `transform.filter` rule: `field operator value`, on mapped output fields."""

    field: Text
    operator: Annotated[FilterOperator, one_of("operator", get_args(FilterOperator))]
    value: FilterValue


class SortSpec(WidgetSpecModel):
    """`transform.sort`: one output field, ascending or descending; nulls always last."""

    field: Text
    direction: Annotated[SortDirection, one_of("direction", get_args(SortDirection))] = "asc"


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
    """`display.layout`: height ('fixed', 'auto' or pixels: whole rows either way, a list's
    others under "Show more", a table's scrolling inside it) and the text shown with no rows."""

    height: Height = "auto"
    empty_state: str = "Nothing to show"
    max_rows: int | None = Field(default=None, ge=1)
    """Show at most this many rows (stats still count every row)."""


class StyleRule(WidgetSpecModel):
    """One `style` entry: when `condition` holds for a row, use the colour of `className`."""

    condition: ConditionText
    class_name: StyleClassName

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
    type: Annotated[FieldType, one_of("field type", get_args(FieldType))] = "text"
    format: Annotated[FieldFormat, one_of("format", get_args(FieldFormat))] | None = None
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

    trigger: Annotated[Literal["click"], one_of("trigger", ("click",))]
    event: EventName


class StatSpec(WidgetSpecModel):
    """`display.stat`: one aggregate of a field, optionally one figure per group."""

    field: Text
    aggregate: Annotated[Aggregate, one_of("aggregate", get_args(Aggregate))]
    group_by: str | None = None
    label: str
    minus: Text | None = None
    """A field taken from `field` row by row before aggregating, both whole numbers (minor
    units): `"field": "amount", "minus": "amount_refunded"` sums what was kept, net of refunds."""


class DisplaySpec(WidgetSpecModel):
    """`display`: the view and the fields it shows."""

    view: Annotated[ViewKind, one_of("view", get_args(ViewKind))]
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

    event_name: UiEventName
    """A UI event of the catalogue (`lib.events.catalogue`)."""
    payload: list[str] = Field(default_factory=list)
    """Row fields sent with the event; each one the catalogue lists for it."""
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

    pattern: EventPattern
    """Matches at least one event of the catalogue (`lib.events.catalogue`)."""
    action: Annotated[SubscriptionAction, one_of("action", get_args(SubscriptionAction))]
    filter_by: FilterBySpec | None = None
    required: bool = False
    """A `filter` that must be set before the widget shows rows (it shows its emptyState)."""


class WidgetDefinition(WidgetSpecModel):
    """A whole widget file. Building one runs every check, including the cross-field ones."""

    type: Slug
    version: int = Field(ge=1)
    name: Text
    description: str = ""
    provider: Annotated[ProviderName, one_of("provider", PROVIDERS)]
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
