"""Runs: started once per matching stored server event, executed step by step, resumed after
a crash from the last recorded step.

Each step's outcome is committed before the next step starts. A message to a person (Slack,
SMS) whose request may have left without its outcome being recorded is marked "outcome
unknown" and never sent again automatically; a Jira step first looks for the issue an earlier
attempt created (labelled with the run's event). Transient failures wait and retry with
backoff (Retry-After honoured); the last attempt dead-letters the run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from lib.config import Settings
from lib.events import catalogued_event, pattern_matches
from lib.events.catalogue import WORKFLOW_RUN_FAILED
from lib.providers.registry import provider_label
from lib.providers.types import RequestOptions
from lib.safe_url import http_url
from lib.webhooks.events_store import NewEvent, ServerEvent
from lib.widgets.conditions import parse_condition
from lib.workflows import store
from lib.workflows.actions import ACTIONS, ActionSpec
from lib.workflows.connections import Connection, StepConnections
from lib.workflows.context import event_context, plain_missing
from lib.workflows.masking import mask_phone
from lib.workflows.schema import StepSpec, WorkflowDefinition
from lib.workflows.sending import (
    Attempt,
    create_jira_issue,
    dedupe_label,
    post_slack_message,
    send_twilio_sms,
)
from lib.workflows.templates import parse_template, render

MAX_ATTEMPTS = 5
BASE_BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 300.0
_INVOICE_ID_CHARS = 64
_log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StartedRuns:
    matched: int
    created: int


class WorkflowEngine:
    """Starts runs for stored events and executes due runs, on one database."""

    def __init__(
        self,
        engine: Engine,
        definitions: Mapping[str, WorkflowDefinition],
        settings: Settings,
        *,
        owner: str,
        clock: Clock = utc_now,
        lease: timedelta = timedelta(seconds=120),
    ) -> None:
        self._engine = engine
        self._definitions = definitions
        self._settings = settings
        self._owner = owner
        self._clock = clock
        self._lease = lease
        self.published = 0
        """How many events this engine stored (the caller wakes the webhook worker)."""

    def start_runs(self, event: ServerEvent) -> StartedRuns:
        """One run per workflow whose trigger matches `event` (none again for a stored pair)."""
        matching = [
            (workflow_id, definition)
            for workflow_id, definition in self._definitions.items()
            if _triggers(definition, event)
        ]
        if not matching:
            return StartedRuns(0, 0)
        context = event_context(self._engine, event)
        live = store.live_switches(self._engine)
        upstream_dry = event.source == "workflow" and event.payload.get("dry_run") is True
        runs = [
            store.NewRun(
                workflow_id=workflow_id,
                trigger_event_id=event.stripe_event_id,
                trigger_name=event.name,
                dry_run=upstream_dry or not live.get(workflow_id, False),
                context=context,
            )
            for workflow_id, _definition in matching
        ]
        return StartedRuns(len(runs), store.create_runs(self._engine, runs, self._clock()))

    def process_due(self, limit: int = 50) -> int:
        """Claim due runs and execute each as far as it goes now; how many were worked on."""
        claimed = store.claim_due_runs(self._engine, self._owner, self._clock(), self._lease, limit)
        connections = StepConnections(self._engine, self._settings)
        try:
            for run in claimed:
                definition = self._definitions.get(run.workflow_id)
                if definition is None:
                    self._finish(run, "failed", "the workflow file is missing or invalid")
                    continue
                _RunExecution(self, run, definition, connections).execute()
        finally:
            connections.close()
        return len(claimed)

    # Used by _RunExecution.

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def settings(self) -> Settings:
        return self._settings

    def now(self) -> datetime:
        return self._clock()

    def renew(self, run: store.RunRecord) -> bool:
        return store.renew_lease(self._engine, run.id, self._owner, self._clock() + self._lease)

    def _finish(
        self, run: store.RunRecord, status: str, outcome: str, step: str | None = None
    ) -> None:
        now = self._clock()
        events = []
        if status in ("failed", "dead", "unknown"):
            payload = WORKFLOW_RUN_FAILED.payload(
                {
                    "status": status,
                    "step": step,
                    "error": outcome[:500],
                    "workflow": run.workflow_id,
                    "run": run.id,
                    "stripe_event_id": run.context.get("payload", {}).get("stripe_event_id"),
                    "dry_run": run.dry_run,
                }
            )
            event_id = f"wfrun_{run.id}_{status}_{int(now.timestamp() * 1000)}"
            events.append(published_event(event_id, WORKFLOW_RUN_FAILED.name, payload, now))
        values = {
            "status": status,
            "outcome": outcome,
            "finished_at": now,
            "updated_at": now,
            "lease_until": None,
            "lease_owner": None,
        }
        store.finish_run(self._engine, run.id, values, events)
        self.published += len(events)


class _RunExecution:
    """One claimed run, executed from its next step."""

    def __init__(
        self,
        engine: WorkflowEngine,
        run: store.RunRecord,
        definition: WorkflowDefinition,
        connections: StepConnections,
    ) -> None:
        self._owner = engine
        self._run = run
        self._definition = definition
        self._connections = connections
        self._values: dict[str, Any] = dict(run.context.get("values", {}))
        self._unknown: set[str] = set(run.context.get("unknown", []))
        self._dry_steps = 0

    def execute(self) -> None:
        run, definition = self._run, self._definition
        recorded = store.load_steps(self._owner.engine, run.id)
        if run.next_step == 0 and not recorded and not self._limit_allows():
            return
        for position in range(run.next_step, len(definition.steps)):
            if not self._owner.renew(run):
                return  # another process took the run over after our lease ran out
            if not self._step(position, definition.steps[position], recorded.get(position)):
                return
        outcome = "completed"
        if self._dry_steps:
            outcome = "dry run: nothing was sent (see each step)"
        self._owner._finish(run, "succeeded", outcome)

    def _limit_allows(self) -> bool:
        limit = self._definition.limit
        if limit is None:
            return True
        key = self._run.context.get("payload", {}).get(limit.per)
        if not isinstance(key, str) or not key:
            return True
        slot_key = f"{'dry:' if self._run.dry_run else ''}{key}"
        if store.take_limit(
            self._owner.engine,
            self._run.workflow_id,
            slot_key,
            self._run.id,
            self._owner.now(),
            limit.hours,
        ):
            return True
        self._owner._finish(
            self._run,
            "skipped",
            f"skipped: this {limit.per} already had a run of this workflow in the last "
            f"{limit.hours} hours",
        )
        return False

    def _step(self, position: int, step: StepSpec, prior: store.StepRecord | None) -> bool:
        """Run one step; True to go on to the next."""
        action = ACTIONS[step.action]
        now = self._owner.now()
        base = {"step_id": step.id, "action": step.action, "started_at": now}
        if prior is not None and prior.status == "sending" and action.sends_to_people:
            outcome = (
                f"outcome unknown: the {provider_label(action.provider)} request of step "
                f"'{step.id}' was sent but its outcome was not recorded (the app stopped). "
                "Check whether it arrived; Retry sends it again."
            )
            self._record(position, {**base, "status": "unknown", "error": outcome}, {})
            self._owner._finish(self._run, "unknown", outcome, step.id)
            return False
        filled = self._fields(step)
        if isinstance(filled, str):
            self._record(position, {**base, "status": "skipped", "error": filled}, {})
            self._owner._finish(self._run, "skipped", filled, step.id)
            return False
        fields, placeholders = filled
        if action.name == "stripe.payment_page":
            return self._settle(position, step, action, base, fields, self._payment_page())
        not_sent = self._not_sent_reason(action)
        if not_sent is None and placeholders:
            # A real message never carries a placeholder a dry-run step upstream left unfilled.
            names = ", ".join("{" + name + "}" for name in placeholders)
            not_sent = f"not sent: {names} came from a step that did not really run"
        if not_sent is not None:
            self._dry_steps += 1
            self._unknown.update(f"{step.id}.{output}" for output in action.outputs)
            values = {
                **base,
                "status": "dry_run",
                "request": fields,
                "response": {"not_sent": not_sent},
                "finished_at": now,
            }
            events = self._published(position, step, action, {}, dry_run=True)
            self._record(position, values, {"next_step": position + 1, "attempts": 0}, events)
            return True
        connection = self._connections.connection(action.provider)
        assert isinstance(connection, Connection)
        attempts = self._run.attempts + 1
        store.mark_sending(
            self._owner.engine, self._run.id, position, step.id, step.action, fields, attempts, now
        )
        return self._settle(
            position, step, action, base, fields, self._send(action, connection, fields)
        )

    def _settle(
        self,
        position: int,
        step: StepSpec,
        action: ActionSpec,
        base: dict[str, Any],
        fields: dict[str, str],
        attempt: Attempt,
    ) -> bool:
        now = self._owner.now()
        attempts = self._run.attempts + 1
        values = {
            **base,
            "request": fields,
            "response": attempt.response,
            "attempts": attempts,
            "finished_at": now,
        }
        if attempt.kind == "done":
            self._values.update(
                {f"{step.id}.{key}": value for key, value in attempt.outputs.items()}
            )
            events = self._published(position, step, action, attempt.outputs, dry_run=False)
            self._record(
                position,
                {**values, "status": "succeeded", "outputs": attempt.outputs, "error": None},
                {"next_step": position + 1, "attempts": 0},
                events,
            )
            self._run = _with(self._run, attempts=0)
            return True
        error = attempt.error or "the step failed"
        if attempt.kind == "retry" and attempts < MAX_ATTEMPTS:
            delay = _backoff(attempts, attempt.retry_after)
            self._record(
                position,
                {**values, "status": "waiting", "error": error},
                {
                    "status": "pending",
                    "attempts": attempts,
                    "next_attempt_at": now + timedelta(seconds=delay),
                    "lease_until": None,
                    "lease_owner": None,
                    "outcome": f"waiting {delay:.0f} s to retry: {error}",
                },
            )
            return False
        if attempt.kind == "retry":
            status, outcome = "dead", f"gave up after {attempts} attempts: {error}"
        elif attempt.kind == "unknown":
            status, outcome = "unknown", f"outcome unknown: {error}"
        else:
            status, outcome = "failed", error
        step_status = "unknown" if status == "unknown" else "failed"
        self._record(
            position, {**values, "status": step_status, "error": error}, {"attempts": attempts}
        )
        self._owner._finish(self._run, status, outcome, step.id)
        return False

    def _fields(self, step: StepSpec) -> tuple[dict[str, str], list[str]] | str:
        """The filled-in fields and the placeholders left in them (values a dry-run step
        upstream could not know), or why the step is skipped."""
        filled: dict[str, str] = {}
        left: list[str] = []
        unknown = frozenset(self._unknown)
        for name, text in step.fields.items():
            template = parse_template(text)
            rendered = render(template, self._values, unknown)
            if rendered.text is None:
                reasons = "; ".join(plain_missing(missing) for missing in rendered.missing)
                return f"skipped: {reasons}"
            filled[name] = rendered.text
            left.extend(n for n in template.names if n in unknown and self._values.get(n) is None)
        return filled, list(dict.fromkeys(left))

    def _not_sent_reason(self, action: ActionSpec) -> str | None:
        connection = self._connections.connection(action.provider)
        if isinstance(connection, str):
            return f"not sent: {connection}"
        if self._run.dry_run:
            return "not sent: real sends are off for this workflow (dry run)"
        return None

    def _send(self, action: ActionSpec, connection: Connection, fields: dict[str, str]) -> Attempt:
        settings = self._owner.settings
        if action.name == "jira.create_issue":
            label = dedupe_label(self._run.workflow_id, self._run.trigger_event_id)
            return create_jira_issue(connection, settings, fields, label)
        if action.name == "slack.post_message":
            return post_slack_message(connection, settings, fields)
        return send_twilio_sms(connection, settings, fields)

    def _payment_page(self) -> Attempt:
        """The invoice's hosted page, else WORKFLOW_PORTAL_RETURN_URL; read-only, so it also
        runs in dry runs."""
        url = self._values.get("invoice_url")
        source = "the invoice's payment page"
        invoice = self._values.get("invoice")
        if not url and isinstance(invoice, str) and invoice.startswith("in_"):
            url = self._read_invoice_page(invoice[:_INVOICE_ID_CHARS])
        if not url:
            url = http_url(self._owner.settings.workflow_portal_return_url)
            source = "WORKFLOW_PORTAL_RETURN_URL"
        if not url:
            source = "none: the payment has no invoice page and WORKFLOW_PORTAL_RETURN_URL is unset"
        return Attempt(kind="done", outputs={"url": url}, response={"link": source})

    def _read_invoice_page(self, invoice_id: str) -> str | None:
        account = self._connections.stripe_account()
        answer = self._connections.stripe_adapter(account).request(
            account.credentials, RequestOptions(endpoint=f"/invoices/{invoice_id}")
        )
        data = answer.data if answer.success and isinstance(answer.data, dict) else {}
        return http_url(data.get("hosted_invoice_url"))

    def _published(
        self,
        position: int,
        step: StepSpec,
        action: ActionSpec,
        outputs: Mapping[str, Any],
        *,
        dry_run: bool,
    ) -> list[NewEvent]:
        if step.publishes is None:
            return []
        catalogued = catalogued_event(step.publishes)
        assert catalogued is not None
        payload_values: dict[str, Any] = {
            "workflow": self._run.workflow_id,
            "run": self._run.id,
            "stripe_event_id": self._run.context.get("payload", {}).get("stripe_event_id"),
            "dry_run": dry_run,
        }
        customer = self._run.context.get("payload", {}).get("customer")
        if action.name == "jira.create_issue":
            payload_values.update(
                key=outputs.get("issue.key"), url=outputs.get("issue.url"), customer=customer
            )
        elif action.name == "slack.post_message":
            payload_values.update(
                channel=outputs.get("message.channel"), ts=outputs.get("message.ts")
            )
        elif action.name == "twilio.send_sms":
            phone = self._values.get("customer_phone")
            payload_values.update(
                sid=outputs.get("message.sid"),
                to=mask_phone(phone) if isinstance(phone, str) else None,
                customer=customer,
            )
        payload = catalogued.payload(payload_values)
        event_id = f"wfrun_{self._run.id}_{position}_{step.id}"
        self._owner.published += 1
        return [published_event(event_id, catalogued.name, payload, self._owner.now())]

    def _record(
        self,
        position: int,
        values: dict[str, Any],
        run_values: dict[str, Any],
        events: list[NewEvent] | None = None,
    ) -> None:
        run_values = {
            **run_values,
            "context": {
                **self._run.context,
                "values": self._values,
                "unknown": sorted(self._unknown),
            },
            "updated_at": self._owner.now(),
        }
        store.record_step(self._owner.engine, self._run, position, values, run_values, events or [])


def published_event(
    event_id: str, name: str, payload: Mapping[str, Any], now: datetime
) -> NewEvent:
    """A server event a workflow publishes, stored beside Stripe's (source `workflow`)."""
    return NewEvent(
        event_id=event_id,
        event_type=name,
        raw=json.dumps({"id": event_id, "type": name, "data": {"object": dict(payload)}}),
        source="workflow",
        mesh_name=name,
        mesh_payload=dict(payload),
        event_created=int(now.timestamp()),
        account_ref=None,
        livemode=None,
    )


def _triggers(definition: WorkflowDefinition, event: ServerEvent) -> bool:
    if not pattern_matches(definition.trigger.event, event.name):
        return False
    if definition.trigger.condition is None:
        return True
    return parse_condition(definition.trigger.condition).evaluate_row(event.payload)


def _backoff(failed_attempts: int, retry_after: float | None) -> float:
    delay = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2 ** (failed_attempts - 1))
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_BACKOFF_SECONDS * 12))
    return delay


def _with(run: store.RunRecord, **changes: Any) -> store.RunRecord:
    return replace(run, **changes)
