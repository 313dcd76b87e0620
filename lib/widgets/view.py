"""A widget as it will be shown, without Streamlit: the compiled stage between a validated
definition and a renderer. The dashboard, `python -m lib.widgets preview` and the Charges page
all draw what `build_widget_view` (and, for the Charges table, `rows_view`) produce."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from lib.providers.registry import provider_label
from lib.providers.types import ApiResponse
from lib.widgets.customer_names import customer_names, named_customer_fields
from lib.widgets.enum_words import enum_words
from lib.widgets.formatting import StatValue, compute_stat, stat_left_out_note
from lib.widgets.interaction_inputs import ActiveFilter, InteractionInputs
from lib.widgets.problems import ViewProblem, api_problem
from lib.widgets.rows import NO_INTERACTIONS, Cell, RowsView, rows_view
from lib.widgets.schema import (
    DisplaySpec,
    FieldSpec,
    ItemClickSpec,
    ViewKind,
    WidgetDefinition,
)
from lib.widgets.transform import apply_transform

ACTION_LABEL = "View"
"""The label of a row's action button (action files name no label of their own)."""
FILTERED_EMPTY_STATE = "Nothing to show for this selection."
# Descriptions written as an instruction to the engine ("Display recent payments...").
_INSTRUCTION_VERBS = ("display ", "displays ", "show ", "shows ", "list ", "lists ")


@dataclass(frozen=True)
class FilterChip:
    """An active filter as its chip reads ("Customer: Harper Ramirez"); clearing the chip
    clears `active`."""

    active: ActiveFilter
    text: str


@dataclass(frozen=True)
class RowAction:
    """A button on each row: pressing it publishes `event_name` with the row's payload."""

    label: str
    event_name: str


@dataclass(frozen=True)
class WidgetView:
    """Everything a renderer draws for one widget, in drawing order: filter chips, then a
    problem or the empty state, or else the summary, the stat figures and the rows."""

    title: str
    description: str
    kind: ViewKind
    chips: tuple[FilterChip, ...] = ()
    actions: tuple[RowAction, ...] = ()
    event_source: str | None = None
    """The source of the events the actions publish; None means the widget's own id."""
    problem: ViewProblem | None = None
    empty_state: str | None = None
    summary: tuple[Cell, ...] = ()
    """Fields shown once, from the first row (summaryFields)."""
    stats: tuple[StatValue, ...] = ()
    """Grouped figures name their group as people read it: "USD", "Past due"."""
    stat_caption: str = ""
    """The grouped figures' heading; empty when it would repeat the title."""
    stat_note: str = ""
    rows: RowsView | None = None
    total_rows: int = 0
    """Rows after filters, before `maxRows` (stats count all of them)."""


def build_widget_view(
    definition: WidgetDefinition,
    answer: ApiResponse[Any] | ViewProblem | None,
    now: datetime,
    inputs: InteractionInputs = NO_INTERACTIONS,
    timezone: str = "UTC",
) -> WidgetView:
    """The widget `definition` showing `answer` (the response, a problem found before any
    request, or None when nothing was fetched) at `now`, after the interactions `inputs`.

    Dates are written in `timezone`. A failed response becomes its problem; no rows (or a
    required filter still unset) become the empty state; stats count every row, while at most
    `layout.maxRows` rows are listed, without the summary fields. A bare customer reference
    shows the customer's name (`lib.widgets.customer_names`), and so does a filter chip.
    """
    display = definition.display
    click = _on_item_click(definition)
    view = WidgetView(
        title=definition.name,
        description=user_description(definition.description),
        kind=display.view,
        chips=tuple(filter_chip(active, display, {}) for active in inputs.filters),
        actions=row_actions(definition),
        event_source=click.source if click is not None else None,
    )
    if isinstance(answer, ViewProblem):
        return replace(view, problem=answer)
    if isinstance(answer, ApiResponse) and not answer.success:
        return replace(view, problem=api_problem(answer.error, provider_label(definition.provider)))
    if inputs.waiting or answer is None:
        return replace(view, empty_state=display.layout.empty_state)
    named_fields = named_customer_fields(definition)
    names = customer_names(answer.data, definition) if named_fields or inputs.filters else {}
    view = replace(view, chips=tuple(filter_chip(a, display, names) for a in inputs.filters))
    transformed = apply_transform(answer.data, definition.transform, now)
    frame = inputs.narrow(transformed).reset_index(drop=True)
    if frame.empty:
        empty = FILTERED_EMPTY_STATE if inputs.filters else display.layout.empty_state
        return replace(view, empty_state=empty)
    shown_as = dict.fromkeys(named_fields, names)
    summary = [spec for spec in display.fields if spec.key in display.summary_fields]
    summary_display = _with_fields(display, summary, view="card")
    stats = compute_stat(frame, display)
    first = rows_view(frame.head(1), summary_display, now, timezone, shown_as=shown_as)[0]
    view = replace(
        view,
        summary=first.cells,
        stats=tuple(replace(figure, group=_group_text(figure, display)) for figure in stats),
        stat_caption=_stat_caption(stats, view.title),
        stat_note=stat_left_out_note(frame, display),
        total_rows=len(frame),
    )
    if display.view == "stat":
        return view
    row_fields = [spec for spec in display.fields if spec.key not in display.summary_fields]
    row_display = _with_fields(display, row_fields, view=display.view)
    if display.layout.max_rows is not None:
        frame = frame.head(display.layout.max_rows)
    keys = payload_keys(definition) if view.actions else None
    rows = rows_view(frame, row_display, now, timezone, inputs, keys, shown_as)
    return replace(view, rows=rows)


def user_description(description: str) -> str:
    """The description as it speaks to the person: one written as an instruction to the
    engine ("Display recent successful payments") reads as what the widget shows."""
    for verb in _INSTRUCTION_VERBS:
        if description.lower().startswith(verb) and len(description) > len(verb):
            rest = description[len(verb) :].lstrip()
            return rest[:1].upper() + rest[1:]
    return description


def filter_chip(active: ActiveFilter, display: DisplaySpec, names: dict[str, str]) -> FilterChip:
    """What the chip of `active` says: the customer's name when `names` knows the value (a
    customer id), else the field's label and the value."""
    if isinstance(active.value, str) and active.value in names:
        return FilterChip(active, f"Customer: {names[active.value]}")
    spec = display.field_named(active.field)
    label = spec.label if spec is not None else enum_words(active.field)
    value = "none" if active.value is None else str(active.value)
    return FilterChip(active, f"{label}: {value}")


def _group_text(figure: StatValue, display: DisplaySpec) -> str | None:
    if figure.group is None:
        return None
    stat = display.stat
    spec = display.field_named(stat.field) if stat is not None else None
    by_currency = (
        stat is not None
        and spec is not None
        and spec.format == "currency"
        and stat.group_by == spec.currency_field
    )
    return figure.group.upper() if by_currency else enum_words(figure.group)


def _stat_caption(stats: list[StatValue], title: str) -> str:
    if not stats or stats[0].group is None:
        return ""
    label = stats[0].label
    return "" if label.strip().casefold() == title.strip().casefold() else label


def row_actions(definition: WidgetDefinition) -> tuple[RowAction, ...]:
    """The buttons on each row: one per `display.actions` entry, publishing
    `{provider}.{event}`; without actions, `events.onItemClick` alone gives one."""
    if definition.display.actions:
        return tuple(
            RowAction(ACTION_LABEL, f"{definition.provider}.{action.event}")
            for action in definition.display.actions
        )
    click = _on_item_click(definition)
    return () if click is None else (RowAction(ACTION_LABEL, click.event_name),)


def payload_keys(definition: WidgetDefinition) -> tuple[str, ...]:
    """The row fields an action publishes: `events.onItemClick.payload`, else the fields shown."""
    click = _on_item_click(definition)
    if click is not None:
        return tuple(click.payload)
    return tuple(spec.key for spec in definition.display.fields)


def _on_item_click(definition: WidgetDefinition) -> ItemClickSpec | None:
    return definition.events.on_item_click if definition.events is not None else None


def _with_fields(display: DisplaySpec, fields: list[FieldSpec], view: ViewKind) -> DisplaySpec:
    return display.model_copy(update={"fields": fields, "view": view})
