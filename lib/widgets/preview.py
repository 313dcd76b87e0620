"""A widget's view as plain text, the way the dashboard would show it (for the CLI)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from lib.accounts import StripeAccount, demo_account, settings_account
from lib.config import Settings
from lib.widgets.customer_names import source_with_customer_names
from lib.widgets.schema import WidgetDefinition
from lib.widgets.sources import stripe_source
from lib.widgets.view import WidgetView, build_widget_view


class PreviewError(Exception):
    """The widget's data could not be fetched; the message says why and what to do."""


def preview_account(settings: Settings) -> StripeAccount:
    """STRIPE_SECRET_KEY's account when configured, else the demo account."""
    return settings_account(settings) or demo_account()


def preview_text(
    definition: WidgetDefinition, account: StripeAccount, rows: int, now: datetime | None = None
) -> str:
    """Title, summary, stat figures and the first `rows` rows as a text table with the field
    labels; raises PreviewError with the widget's problem when it has one."""
    now = now or datetime.now(UTC)
    if definition.provider != "stripe":
        raise PreviewError(f"preview reads Stripe only; this widget reads {definition.provider}")
    if definition.data_source.type in ("event-driven", "server-events"):
        raise PreviewError("preview reads API and inline data; this widget lists events")
    connection = stripe_source(account)
    response = connection.fetch(source_with_customer_names(definition), now)
    answer = response if response.success else connection.problem(response)
    view = build_widget_view(definition, answer, now)
    if view.problem is not None:
        raise PreviewError(view.problem.plain())
    return "\n".join([f"{definition.name} ({account.label})", *view_lines(view, rows)])


def view_lines(view: WidgetView, rows: int) -> list[str]:
    """The lines of a view below its title: summary, figures, then up to `rows` rows."""
    lines = [f"{cell.label}: {cell.text}" for cell in view.summary]
    lines += [
        f"{figure.label}{f' {figure.group}' if figure.group else ''}: {figure.text}"
        for figure in view.stats
    ]
    if view.stat_note:
        lines.append(view.stat_note)
    if view.empty_state is not None:
        lines.append(view.empty_state)
    if view.rows is None:
        return lines
    shown = min(rows, len(view.rows))
    columns = view.rows.columns
    table = pd.DataFrame({index: column.texts[:shown] for index, column in enumerate(columns)})
    table.columns = pd.Index([column.field.label for column in columns])
    lines.append(table.to_string(index=False))
    lines.append(f"{shown} of {view.total_rows} rows")
    return lines
