"""A widget's rows as people read them: display text, badge colours, link targets, which rows
are marked, and what each row's actions publish. Stored column by column, because a table can
hold many rows; a `RowView` is made when a row is read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

import pandas as pd

from lib.widgets.column_widths import ColumnWidth, column_width
from lib.widgets.enum_words import enum_words_series
from lib.widgets.formatting import badge_colors, format_rows
from lib.widgets.interaction_inputs import (
    InteractionInputs,
    json_column,
    payload_columns,
    row_identities,
)
from lib.widgets.schema import BadgeColor, DisplaySpec, FieldSpec
from lib.widgets.table import TableValues, table_values

CellKind = Literal["text", "money", "badge", "link"]
NO_INTERACTIONS = InteractionInputs()


class Cell(NamedTuple):
    """One field of one row as people read it."""

    key: str
    label: str
    kind: CellKind
    text: str
    """The display text: money in the row's currency, dates, badge text, a link's text."""
    badge: BadgeColor | None = None
    target: str | None = None
    """What a link field holds (its URL, not yet checked to be http(s))."""


@dataclass(frozen=True)
class ColumnView:
    """One field's cells, top to bottom."""

    field: FieldSpec
    kind: CellKind
    texts: tuple[str, ...]
    badges: tuple[BadgeColor, ...] = ()
    """A badge field's colour per row."""
    targets: tuple[str | None, ...] = ()
    """A link field's value per row."""
    width: ColumnWidth | None = None
    """How wide a table draws the column, from its format and what it shows."""

    def cell(self, position: int) -> Cell:
        """The cell of row `position`."""
        return Cell(
            self.field.key,
            self.field.label,
            self.kind,
            self.texts[position],
            self.badges[position] if self.badges else None,
            self.targets[position] if self.targets else None,
        )


@dataclass(frozen=True)
class RowView:
    """One row: its cells in field order, whether it is marked, and what its actions send."""

    position: int
    cells: tuple[Cell, ...]
    highlighted: bool
    selected: bool
    """The row this widget last published."""
    payload: Mapping[str, Any]
    identity: str


@dataclass(frozen=True)
class RowsView:
    """The rows a list, table or card shows (iterate or index it for `RowView`s), and for a
    table the values it sorts by."""

    columns: tuple[ColumnView, ...]
    highlighted: tuple[bool, ...]
    identities: tuple[str, ...]
    """What tells the rows apart when they are published ("" when they have no actions)."""
    payloads: Mapping[str, tuple[Any, ...]]
    """The payload of the rows' actions, column by column."""
    selected: int | None = None
    height: Literal["fixed", "auto"] | int = "auto"
    table: TableValues | None = None

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        return tuple(column.field for column in self.columns)

    def __len__(self) -> int:
        return len(self.highlighted)

    def __getitem__(self, position: int) -> RowView:
        if not 0 <= position < len(self):
            raise IndexError(position)
        return RowView(
            position,
            tuple(column.cell(position) for column in self.columns),
            self.highlighted[position],
            position == self.selected,
            MappingProxyType({key: values[position] for key, values in self.payloads.items()}),
            self.identities[position],
        )

    def __iter__(self) -> Iterator[RowView]:
        return (self[position] for position in range(len(self)))


def rows_view(
    frame: pd.DataFrame,
    display: DisplaySpec,
    now: datetime,
    timezone: str = "UTC",
    inputs: InteractionInputs = NO_INTERACTIONS,
    payload_keys: tuple[str, ...] | None = None,
    shown_as: Mapping[str, Mapping[str, str]] | None = None,
) -> RowsView:
    """The rows of `frame` as `display` shows them (dates in `timezone`, relative to `now`),
    marked per `inputs`. With `payload_keys` the rows can be published: each carries those
    fields and an identity, and the one `inputs` says was published is selected. A table view
    also gets the values it sorts by and each column's width.

    `shown_as` maps a field key to the text shown for some of its values (a customer's name
    for its id); payloads, identities and marks keep the values themselves. Badges show
    Stripe's enum values as words ("Past due")."""
    frame = frame.reset_index(drop=True)
    shown = _shown_frame(frame, shown_as or {})
    texts = format_rows(shown, display, now, timezone)
    columns = tuple(_column(frame, texts[spec.key], spec) for spec in display.fields)
    payloads = payload_columns(frame, payload_keys or ())
    identities = row_identities(frame, payloads) if payload_keys is not None else [""] * len(frame)
    published = inputs.published
    table = None
    if display.view == "table":
        values, money = table_values(shown, display)
        for column in columns:
            if column.kind == "badge" or column.field.type == "icon":
                values[column.field.key] = list(column.texts)
        table = TableValues(values, tuple(money))
    return RowsView(
        columns=columns,
        highlighted=tuple(inputs.highlighted(frame).tolist()),
        identities=tuple(identities),
        payloads=MappingProxyType(payloads),
        selected=identities.index(published)
        if payload_keys is not None and published in identities
        else None,
        height=display.layout.height,
        table=table,
    )


def _shown_frame(frame: pd.DataFrame, shown_as: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    replaced = {
        key: frame[key].map(lambda value, names=names: names.get(value, value), na_action="ignore")
        for key, names in shown_as.items()
        if names and key in frame.columns
    }
    return frame.assign(**replaced) if replaced else frame


def _column(frame: pd.DataFrame, texts: pd.Series, spec: FieldSpec) -> ColumnView:
    kind = _kind(spec)
    if kind == "badge":
        texts = enum_words_series(texts)
    shown = tuple(texts.tolist())
    width = column_width(spec, kind, texts)
    if kind == "badge":
        colors = tuple(badge_colors(frame, spec).tolist())
        return ColumnView(spec, kind, shown, badges=colors, width=width)
    if kind == "link":
        values = json_column(frame[spec.key]) if spec.key in frame else [None] * len(frame)
        targets = tuple(None if value is None else str(value) for value in values)
        return ColumnView(spec, kind, shown, targets=targets, width=width)
    return ColumnView(spec, kind, shown, width=width)


def _kind(spec: FieldSpec) -> CellKind:
    if spec.type == "badge":
        return "badge"
    if spec.format == "currency":
        return "money"
    return "link" if spec.type == "link" else "text"
