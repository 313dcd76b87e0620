"""Workflow files: the shipped definitions, every problem with its file and JSON path, the
`python -m lib.workflows check` command, and templates that never send a blank."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lib.config import PROJECT_ROOT
from lib.events import catalogued_event
from lib.workflows.loader import (
    WorkflowDefinitionError,
    load_workflow_folder,
    parse_workflow_text,
)
from lib.workflows.templates import TemplateSyntaxError, parse_template, render

SHIPPED = PROJECT_ROOT / "workflows"


def _check(*paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lib.workflows", "check", *paths],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _problems(data: dict[str, object]) -> list[str]:
    with pytest.raises(WorkflowDefinitionError) as caught:
        parse_workflow_text(json.dumps(data), "wf.json")
    return str(caught.value).splitlines()


def _minimal(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "version": 1,
        "name": "Tell sales",
        "trigger": {"event": "stripe.payment.received"},
        "steps": [{"id": "slack", "action": "slack.post_message", "fields": {"text": "{id}"}}],
    }
    return {**base, **changes}


def test_the_shipped_workflows_are_the_issues_four_and_all_valid() -> None:
    loaded = {result.workflow_id: result for result in load_workflow_folder(SHIPPED)}
    assert set(loaded) == {
        "payment-onboarding-jira",
        "onboarding-issue-slack",
        "failed-payment-sms",
        "subscription-win-back",
    }
    assert all(result.error is None for result in loaded.values())
    sms = loaded["failed-payment-sms"].definition
    assert sms is not None and sms.limit is not None
    assert (sms.trigger.event, sms.limit.per, sms.limit.hours) == (
        "stripe.payment.failed",
        "customer",
        24,
    )
    jira = loaded["payment-onboarding-jira"].definition
    assert jira is not None
    assert jira.steps[0].fields["summary"] == "Onboard new customer: {customer_email}"


def test_check_command_passes_the_shipped_files_and_fails_a_broken_one(tmp_path: Path) -> None:
    result = _check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   " in result.stdout and "failed-payment-sms.json" in result.stdout
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(_minimal(trigger={"event": "stripe.payment.selected"})))
    result = _check(str(broken))
    assert result.returncode == 1
    assert f"{broken}: trigger.event: matches no server event" in result.stdout


def test_every_problem_names_its_json_path() -> None:
    steps = [
        {
            "id": "a",
            "action": "slack.post_message",
            "fields": {"text": "{jira.issue.key} {", "colour": "red"},
            "publishes": "twilio.sms.sent",
        },
        {"id": "a", "action": "twilio.send_sms", "fields": {"to": "{a.message.ts}"}},
    ]
    problems = _problems(_minimal(steps=steps))
    assert problems == [
        "wf.json: steps[0].fields.text: a lone '{' at character 18: write a placeholder such as "
        "{customer_email}, or double the brace for a literal one",
        "wf.json: steps[0].fields.colour: unknown field 'colour'; allowed: text, channel",
        "wf.json: steps[0].publishes: slack.post_message publishes slack.message.posted",
        "wf.json: steps[1].id: step id 'a' is used twice",
        "wf.json: steps[1].fields: twilio.send_sms needs the field 'body'",
    ]


def test_a_placeholder_must_name_a_trigger_value_or_an_earlier_output() -> None:
    steps = [
        {"id": "slack", "action": "slack.post_message", "fields": {"text": "{jira.issue.key}"}},
        {"id": "jira", "action": "jira.create_issue", "fields": {"summary": "{customer_email}"}},
    ]
    (problem,) = _problems(_minimal(steps=steps))
    assert problem.startswith(
        "wf.json: steps[0].fields.text: {jira.issue.key} is neither a value of the trigger event "
        "nor an output of an earlier step"
    )


def test_unknown_keys_conditions_and_actions_are_refused_with_allowed_values() -> None:
    data = _minimal(trigger={"event": "stripe.payment.received", "condition": "amount >"})
    data["steps"] = [{"id": "x", "action": "jira.make"}]
    data["colour"] = "red"
    problems = _problems(data)
    assert any(p.startswith("wf.json: trigger.condition: invalid condition") for p in problems)
    assert any("steps[0].action: unknown action 'jira.make'; allowed:" in p for p in problems)
    assert any("colour: unknown key 'colour'; allowed: version, name" in p for p in problems)


def test_hostile_json_is_bounded_before_conversion() -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        parse_workflow_text('{"version": 1, "name": "a", "name": "b"}', "dup.json")
    assert "duplicate key 'name'" in str(caught.value)
    with pytest.raises(WorkflowDefinitionError) as caught:
        parse_workflow_text("[" * 10_000 + "]" * 10_000, "deep.json")
    assert "deep.json" in str(caught.value) and "nest" in str(caught.value)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_non_json_number_constant_is_refused_like_in_a_widget_file(constant: str) -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        parse_workflow_text(f'{{"version": {constant}}}', "nan.json")
    assert str(caught.value) == f"nan.json: invalid JSON: {constant} is not allowed in JSON"


def test_a_missing_value_is_reported_never_rendered_blank() -> None:
    template = parse_template("Text {customer_phone}: {link.url} {{literal}}")
    filled = render(
        template, {"customer_phone": "+15550100", "link.url": "https://x.test/p"}, frozenset()
    )
    assert filled.text == "Text +15550100: https://x.test/p {literal}"
    blank = render(template, {"customer_phone": "  ", "link.url": None}, frozenset())
    assert blank.text is None
    assert blank.missing == ("customer_phone", "link.url")
    dry = render(template, {"customer_phone": "+1"}, frozenset({"link.url"}))
    assert dry.text == "Text +1: {link.url} {literal}"
    with pytest.raises(TemplateSyntaxError):
        parse_template("a } b")


def test_the_events_steps_publish_are_catalogued_server_events() -> None:
    for name in ("jira.issue.created", "slack.message.posted", "twilio.sms.sent"):
        event = catalogued_event(name)
        assert event is not None and event.kind == "server event"
        assert {"workflow", "run", "stripe_event_id", "dry_run"} <= set(event.fields)
    failed = catalogued_event("workflow.run.failed")
    assert failed is not None and failed.kind == "server event"


def test_pages_show_phone_numbers_and_emails_partly_masked() -> None:
    from lib.workflows.masking import mask_text, mask_values

    assert mask_values({"to": "5550100123", "body": "hi jenny@example.com"}) == {
        "to": "5••••••123",
        "body": "hi j•••@example.com",
    }
    assert mask_text("call +1 555 0100 123") == "call +1•••••••123"
