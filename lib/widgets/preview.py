"""A widget's rows as plain text, the way the dashboard would show them (for the CLI)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from lib.accounts import StripeAccount, demo_account, settings_account, stripe_adapter_for
from lib.config import Settings
from lib.widgets.fetch import fetch_source
from lib.widgets.formatting import compute_stat, format_rows, stat_left_out_note
from lib.widgets.schema import WidgetDefinition
from lib.widgets.transform import apply_transform


class PreviewError(Exception):
    """The widget's data could not be fetched; the message says why and what to do."""


def preview_account(settings: Settings) -> StripeAccount:
    """STRIPE_SECRET_KEY's account when configured, else the demo account."""
    return settings_account(settings) or demo_account()


def preview_text(
    definition: WidgetDefinition, account: StripeAccount, rows: int, now: datetime | None = None
) -> str:
    """Title, stat figures and the first `rows` rows as a text table with the field labels."""
    now = now or datetime.now(UTC)
    if definition.provider != "stripe":
        raise PreviewError(f"preview reads Stripe only; this widget reads {definition.provider}")
    response = fetch_source(
        definition.data_source, stripe_adapter_for(account), account.credentials, now
    )
    if not response.success or response.error is not None:
        message = response.error.message if response.error else "no data"
        raise PreviewError(message)
    frame = apply_transform(response.data, definition.transform, now)
    lines = [f"{definition.name} ({account.label})"]
    display = definition.display
    lines += [
        f"{figure.label}{f' {figure.group.upper()}' if figure.group else ''}: {figure.text}"
        for figure in compute_stat(frame, display)
    ]
    note = stat_left_out_note(frame, display)
    if note:
        lines.append(note)
    if display.view == "stat":
        return "\n".join(lines)
    if frame.empty:
        lines.append(display.layout.empty_state)
        return "\n".join(lines)
    text = format_rows(frame.head(rows), display, now)
    text.columns = pd.Index([spec.label for spec in display.fields])
    lines.append(text.to_string(index=False))
    lines.append(f"{min(rows, len(frame))} of {len(frame)} rows")
    return "\n".join(lines)
