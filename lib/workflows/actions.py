"""The actions a workflow step can take: what each needs, what it outputs, what it publishes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lib.events.catalogue import JIRA_ISSUE_CREATED, SLACK_MESSAGE_POSTED, TWILIO_SMS_SENT

ActionName = Literal[
    "jira.create_issue", "slack.post_message", "twilio.send_sms", "stripe.payment_page"
]
ProviderOfAction = Literal["jira", "slack", "twilio", "stripe"]


@dataclass(frozen=True)
class ActionSpec:
    """One kind of step."""

    name: ActionName
    provider: ProviderOfAction
    required_fields: tuple[str, ...]
    optional_fields: tuple[str, ...]
    outputs: tuple[str, ...]
    """What later steps can use as `{step_id.output}`."""
    publishes: str | None
    """The event this action may publish after it succeeds."""
    sends_to_people: bool
    """A message a person reads: never repeated when its outcome is unknown."""

    @property
    def fields(self) -> tuple[str, ...]:
        return (*self.required_fields, *self.optional_fields)


ACTIONS: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            name="jira.create_issue",
            provider="jira",
            required_fields=("summary",),
            optional_fields=("description", "issue_type"),
            outputs=("issue.key", "issue.url", "issue.id"),
            publishes=JIRA_ISSUE_CREATED.name,
            sends_to_people=False,
        ),
        ActionSpec(
            name="slack.post_message",
            provider="slack",
            required_fields=("text",),
            optional_fields=("channel",),
            outputs=("message.ts", "message.channel"),
            publishes=SLACK_MESSAGE_POSTED.name,
            sends_to_people=True,
        ),
        ActionSpec(
            name="twilio.send_sms",
            provider="twilio",
            required_fields=("to", "body"),
            optional_fields=(),
            outputs=("message.sid", "message.status"),
            publishes=TWILIO_SMS_SENT.name,
            sends_to_people=True,
        ),
        ActionSpec(
            name="stripe.payment_page",
            provider="stripe",
            required_fields=(),
            optional_fields=(),
            outputs=("url",),
            publishes=None,
            sends_to_people=False,
        ),
    )
}
