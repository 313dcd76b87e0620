"""The rows a `server-events` widget transforms: one per stored server event, newest first."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

SERVER_EVENT_ROWS = 50
"""How many stored events a server-events widget reads at most."""


def server_event_row(
    name: str, payload: Mapping[str, Any], received_at: datetime
) -> dict[str, Any]:
    """One event as a row: `name`, `received` (Unix seconds, like Stripe's `created`) and the
    event's `payload`, read by mapItem paths such as `payload.key`."""
    return {"name": name, "received": int(received_at.timestamp()), "payload": dict(payload)}


def storage_problem_text() -> str:
    """What a server-events widget says when stored events cannot be read."""
    return "Stored events cannot be read right now; this widget will try again."
