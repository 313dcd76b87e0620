"""Why a widget shows no rows, in plain words with what to do: an API error, a provider that is
not connected, a definition that cannot be used."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lib.providers.types import ApiError, ErrorAction, ErrorCode

Severity = Literal["info", "warning", "error"]
ADVICE = {
    ErrorAction.RETRY: "Try again in a moment; the widget retries on its next refresh.",
    ErrorAction.RECONNECT: "Reconnect {label} on the Credentials page.",
    ErrorAction.CONTACT_SUPPORT: "Check the widget definition or contact support.",
}


@dataclass(frozen=True)
class ViewProblem:
    """A problem a widget shows instead of its rows.

    `text` is the app's own words (no data in it). `detail` (said before the text, such as a
    provider's message) and `items` (listed after it, such as a file's problems) come from
    outside and must be shown literally. `link` labels a link to the Credentials page when the
    fix is there.
    """

    severity: Severity
    text: str
    detail: str = ""
    items: tuple[str, ...] = ()
    link: str | None = None

    def plain(self) -> str:
        """The problem as plain text (for a terminal): one line, then one line per item."""
        lines = [f"{self.detail} {self.text}" if self.detail else self.text, *self.items]
        return "\n".join(lines)


def api_problem(error: ApiError | None, label: str, credentials: str | None = None) -> ViewProblem:
    """What a failed request means for the person: a rejected key asks to reconnect, a rate
    limit to wait, anything else gives the provider's message and what to do.

    `label` names the provider ("Stripe"); `credentials` says whose credentials were rejected
    ("the key in STRIPE_SECRET_KEY"), by default the stored connection.
    """
    if error is None:
        return ViewProblem("error", "The data could not be loaded.")
    if error.code in (ErrorCode.UNAUTHORIZED, ErrorCode.INVALID_CREDENTIALS):
        whose = credentials or f"the stored {label} connection"
        return ViewProblem(
            "warning",
            f"{label} rejected {whose}. Reconnect {label} to see this widget.",
            link=f"Reconnect {label}",
        )
    advice = ADVICE[error.action].format(label=label)
    if error.code == ErrorCode.RATE_LIMITED:
        return ViewProblem("warning", f"{label} is rate limiting requests. {advice}")
    return ViewProblem("error", advice, detail=error.message)


def missing_connection_problem(label: str) -> ViewProblem:
    """A widget reading a provider the user has not connected."""
    return ViewProblem(
        "info",
        f"This widget reads {label}, and no {label} connection is stored. "
        f"Connect {label} on the Credentials page to see it.",
        link=f"Connect {label}",
    )


def unreadable_connection_problem(label: str) -> ViewProblem:
    """A stored connection that cannot be read (the store is down or the key is wrong)."""
    return ViewProblem(
        "warning",
        f"The stored {label} connection cannot be read, so this widget cannot load. "
        "See the Credentials page.",
        link="Credentials",
    )


def definition_problem(problems: list[str]) -> ViewProblem:
    """A widget file that cannot be used, with each of its problems (file and JSON path)."""
    return ViewProblem(
        "error",
        "This widget definition cannot be used:",
        items=tuple(problems) or ("unknown problem",),
    )
