"""Workflow definitions (`workflows/*.json`) as pydantic models.

A definition names a trigger (a server event pattern and an optional condition in the widgets'
condition language), ordered steps (an action with templated fields) and what each step
publishes. Every reference is checked when the model is built: a placeholder names a trigger
value or an output of an earlier step, and a step publishes only its action's event.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from lib.events.catalogue import SERVER_EVENTS, events_matching
from lib.widgets.value_types import ConditionText, EventPattern, Slug, Text, one_of
from lib.workflows.actions import ACTIONS, ActionName
from lib.workflows.templates import TemplateSyntaxError, parse_template

ENRICHED_FIELDS: tuple[str, ...] = (
    "customer_email",
    "customer_phone",
    "customer_name",
    "invoice",
    "invoice_url",
)
"""Values read from the Stripe event's object (and the local copy of its customer), beyond the
mesh payload, for triggers on Stripe events."""
LimitKey = Literal["customer"]
MAX_STEPS = 20
MAX_FIELD_CHARS = 4000


class WorkflowSpecModel(BaseModel):
    """camelCase keys only, nothing unknown, no type coercion, immutable."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, alias_generator=to_camel, serialize_by_alias=True
    )


class TriggerSpec(WorkflowSpecModel):
    """`trigger`: which stored server events start a run."""

    event: EventPattern
    condition: ConditionText | None = None
    """Evaluated on the event's payload (amounts in minor units), e.g. `amount >= 1000`."""


class LimitSpec(WorkflowSpecModel):
    """`limit`: at most one run per `per` value within `hours` (the others are skipped)."""

    per: Annotated[LimitKey, one_of("limit key", get_args(LimitKey))]
    hours: int = Field(ge=1, le=24 * 365)


class StepSpec(WorkflowSpecModel):
    """One step: an action, its templated fields, and the event it publishes when done."""

    id: Slug
    action: Annotated[ActionName, one_of("action", tuple(ACTIONS))]
    fields: dict[str, Annotated[str, Field(max_length=MAX_FIELD_CHARS)]] = Field(
        default_factory=dict
    )
    publishes: str | None = None


class WorkflowDefinition(WorkflowSpecModel):
    """One `workflows/*.json` file."""

    version: Literal[1]
    name: Text
    description: str = ""
    trigger: TriggerSpec
    limit: LimitSpec | None = None
    steps: list[StepSpec] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _references(self) -> WorkflowDefinition:
        problems = definition_problems(self)
        if problems:
            raise PydanticCustomError(
                "workflow_inconsistent",
                "{summary}",
                {"summary": "; ".join(m for _, m in problems), "problems": problems},
            )
        return self

    def trigger_fields(self) -> tuple[str, ...]:
        """The names a template can use from the trigger event."""
        return trigger_fields(self.trigger.event)


def trigger_fields(pattern: str) -> tuple[str, ...]:
    """Payload fields of the server events `pattern` reaches, plus ENRICHED_FIELDS when it
    reaches an event made from Stripe's."""
    matching = [event for event in events_matching(pattern) if event.origin == "server"]
    names = [name for event in matching for name in event.fields]
    if any(event.stripe_type is not None for event in matching):
        names.extend(ENRICHED_FIELDS)
    return tuple(dict.fromkeys(names))


def definition_problems(
    definition: WorkflowDefinition,
) -> list[tuple[tuple[str | int, ...], str]]:
    """(JSON path, message) for each reference the definition gets wrong."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    servers = [
        event for event in events_matching(definition.trigger.event) if event in SERVER_EVENTS
    ]
    if not servers:
        names = ", ".join(event.name for event in SERVER_EVENTS)
        problems.append((("trigger", "event"), f"matches no server event; server events: {names}"))
    known = set(trigger_fields(definition.trigger.event))
    seen_ids: set[str] = set()
    for index, step in enumerate(definition.steps):
        where: tuple[str | int, ...] = ("steps", index)
        action = ACTIONS[step.action]
        if step.id in seen_ids:
            problems.append(((*where, "id"), f"step id {step.id!r} is used twice"))
        for name in action.required_fields:
            if name not in step.fields:
                problems.append(((*where, "fields"), f"{step.action} needs the field {name!r}"))
        for name, text in step.fields.items():
            if name not in action.fields:
                allowed = ", ".join(action.fields) or "none"
                problems.append(
                    ((*where, "fields", name), f"unknown field {name!r}; allowed: {allowed}")
                )
                continue
            try:
                template = parse_template(text)
            except TemplateSyntaxError as exc:
                problems.append(((*where, "fields", name), str(exc)))
                continue
            for placeholder in template.names:
                if placeholder not in known:
                    problems.append(
                        (
                            (*where, "fields", name),
                            f"{{{placeholder}}} is neither a value of the trigger event nor an "
                            f"output of an earlier step; known: {', '.join(sorted(known))}",
                        )
                    )
        if step.publishes is not None and step.publishes != action.publishes:
            can = action.publishes or "nothing"
            problems.append(((*where, "publishes"), f"{step.action} publishes {can}"))
        seen_ids.add(step.id)
        known.update(f"{step.id}.{output}" for output in action.outputs)
    return problems
