"""The catalogue of mesh events: every name, who publishes it, and its payload fields.

UI events are published in a browser session (a widget's row click, the Charges page); server
events are made from stored Stripe events by `lib.webhooks.mapping`. A pattern such as
`stripe.payment.*` reaches both kinds, so the catalogue keeps them apart: widget files are
checked against it, and the Event Debugger says which kind each event is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lib.events.bus import EventOrigin
from lib.events.patterns import pattern_matches, patterns_overlap

UNMAPPED_STRIPE_PREFIX = "stripe.event"
"""Stripe event types with no name of their own arrive as `stripe.event.<type>`."""
STRIPE_PAYLOAD_FIELDS: tuple[str, ...] = (
    "id",
    "amount",
    "currency",
    "customer",
    "status",
    "stripe_event_id",
    "type",
)
"""What every server event carries (null when the Stripe object has no such field)."""


@dataclass(frozen=True)
class CataloguedEvent:
    """One event name on the mesh, or a family of names when `name` is a pattern."""

    name: str
    origin: EventOrigin
    description: str
    fields: tuple[str, ...]
    """The payload fields an event of this name carries; publishers send no others."""
    stripe_type: str | None = None
    """The Stripe event type a server event is made from."""

    @property
    def kind(self) -> str:
        """The kind as people read it: 'UI event' or 'server event'."""
        return "UI event" if self.origin == "browser" else "server event"

    def covers(self, name: str) -> bool:
        """True when `name` is this event (or belongs to this family)."""
        return pattern_matches(self.name, name)

    def payload(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` as this event's payload, in catalogue order.

        Raises ValueError naming any field the catalogue does not list for this event.
        """
        unknown = [key for key in values if key not in self.fields]
        if unknown:
            raise ValueError(
                f"{self.name} carries {', '.join(self.fields)}; not {', '.join(unknown)}"
            )
        return {key: values[key] for key in self.fields if key in values}


def _server(name: str, stripe_type: str, *extra: str) -> CataloguedEvent:
    return CataloguedEvent(
        name=name,
        origin="server",
        description=f"made from Stripe's {stripe_type}",
        fields=(*STRIPE_PAYLOAD_FIELDS, *extra),
        stripe_type=stripe_type,
    )


PAYMENT_SELECTED = CataloguedEvent(
    name="stripe.payment.selected",
    origin="browser",
    description="a payment chosen in a widget or on the Charges page",
    fields=("id", "amount", "currency", "customer", "status", "failure_code"),
)
SUBSCRIPTION_SELECTED = CataloguedEvent(
    name="stripe.subscription.selected",
    origin="browser",
    description="a subscription chosen in a widget",
    fields=("id", "customer", "status"),
)
WORKFLOW_EVENT_FIELDS: tuple[str, ...] = ("workflow", "run", "stripe_event_id", "dry_run")
"""What every event a workflow step publishes carries: the workflow, its run, the Stripe event
that started the run, and whether the step was a dry run (nothing sent)."""


def _workflow(name: str, description: str, *extra: str) -> CataloguedEvent:
    return CataloguedEvent(
        name=name, origin="server", description=description, fields=(*extra, *WORKFLOW_EVENT_FIELDS)
    )


JIRA_ISSUE_CREATED = _workflow(
    "jira.issue.created", "a workflow created a Jira issue", "key", "url", "customer"
)
SLACK_MESSAGE_POSTED = _workflow(
    "slack.message.posted", "a workflow posted a Slack message", "channel", "ts"
)
TWILIO_SMS_SENT = _workflow(
    "twilio.sms.sent", "a workflow sent an SMS through Twilio", "sid", "to", "customer"
)
WORKFLOW_RUN_FAILED = _workflow(
    "workflow.run.failed", "a workflow run failed or gave up", "status", "step", "error"
)
WORKFLOW_EVENTS: tuple[CataloguedEvent, ...] = (
    JIRA_ISSUE_CREATED,
    SLACK_MESSAGE_POSTED,
    TWILIO_SMS_SENT,
    WORKFLOW_RUN_FAILED,
)
ACCOUNT_DEAUTHORIZED = _server(
    "stripe.account.deauthorized", "account.application.deauthorized", "application"
)
UI_EVENTS: tuple[CataloguedEvent, ...] = (PAYMENT_SELECTED, SUBSCRIPTION_SELECTED)
SERVER_EVENTS: tuple[CataloguedEvent, ...] = (
    _server("stripe.payment.received", "charge.succeeded"),
    _server("stripe.payment.failed", "charge.failed"),
    _server("stripe.payment.refunded", "charge.refunded", "amount_refunded"),
    _server("stripe.subscription.created", "customer.subscription.created"),
    _server("stripe.subscription.updated", "customer.subscription.updated"),
    _server("stripe.subscription.deleted", "customer.subscription.deleted"),
    _server("stripe.invoice.payment_failed", "invoice.payment_failed"),
    ACCOUNT_DEAUTHORIZED,
    *WORKFLOW_EVENTS,
    CataloguedEvent(
        name=f"{UNMAPPED_STRIPE_PREFIX}.*",
        origin="server",
        description="a Stripe event type with no name of its own",
        fields=STRIPE_PAYLOAD_FIELDS,
    ),
)
CATALOGUE: tuple[CataloguedEvent, ...] = (*UI_EVENTS, *SERVER_EVENTS)


def catalogued_event(name: str) -> CataloguedEvent | None:
    """The catalogue's entry for an event name (an exact name before a family), or None."""
    exact = next((event for event in CATALOGUE if event.name == name), None)
    return exact or next((event for event in CATALOGUE if event.covers(name)), None)


def events_matching(pattern: str) -> tuple[CataloguedEvent, ...]:
    """The catalogued events (and families) some name matching `pattern` belongs to.

    Raises InvalidPatternError when `pattern` is malformed.
    """
    return tuple(event for event in CATALOGUE if patterns_overlap(pattern, event.name))


def catalogue_label(name: str) -> str:
    """What the catalogue says an event name is, in one line for people."""
    event = catalogued_event(name)
    if event is None:
        return "not in the event catalogue"
    return f"{event.kind}: {event.description}"
