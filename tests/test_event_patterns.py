"""Event names and subscription patterns: which names a widget's pattern reaches."""

import pytest

from lib.events import (
    InvalidEventNameError,
    InvalidPatternError,
    pattern_matches,
    validate_event_name,
    validate_pattern,
)


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("stripe.payment.selected", "stripe.payment.selected", True),
        ("stripe.payment.selected", "stripe.payment.refunded", False),
        ("stripe.payment.selected", "stripe.payment.selected.extra", False),
        ("stripe.payment", "stripe.payment.selected", False),
        ("*", "stripe", True),
        ("*", "stripe.payment.selected", True),
        ("stripe.*", "stripe.payment", True),
        ("stripe.*", "stripe.payment.selected", True),
        ("stripe.*", "stripe.customer.subscription.updated", True),
        ("stripe.*", "stripe", False),
        ("stripe.*", "jira.issue.created", False),
        ("stripe.*", "stripex.payment", False),
        ("stripe.*.failed", "stripe.payment.failed", True),
        ("stripe.*.failed", "stripe.invoice.failed", True),
        ("stripe.*.failed", "stripe.payment.card.failed", False),
        ("stripe.*.failed", "stripe.failed", False),
        ("stripe.*.failed", "stripe.payment.succeeded", False),
        ("*.selected", "table.selected", True),
        ("*.selected", "stripe.payment.selected", False),
    ],
)
def test_pattern_forms_match_the_names_they_promise(pattern: str, name: str, expected: bool):
    assert pattern_matches(pattern, name) is expected


@pytest.mark.parametrize(
    ("pattern", "quoted_in_message"),
    [
        ("", "empty pattern"),
        ("stripe..payment", "segment 2"),
        ("stripe.pay*", "'pay*'"),
        ("stripe.payment selected", "'payment selected'"),
        ("stripe.**", "'**'"),
        (".stripe", "segment 1"),
    ],
)
def test_malformed_patterns_are_rejected_with_the_reason(pattern: str, quoted_in_message: str):
    with pytest.raises(InvalidPatternError, match=quoted_in_message.replace("*", r"\*")):
        validate_pattern(pattern)


@pytest.mark.parametrize("name", ["stripe", "stripe.payment.selected", "widget-1.row_clicked"])
def test_dot_separated_event_names_are_accepted(name: str):
    validate_event_name(name)


@pytest.mark.parametrize("name", ["", "stripe.*", "stripe..payment", "stripe.payment.", "a b"])
def test_malformed_event_names_are_rejected_with_the_rule(name: str):
    with pytest.raises(InvalidEventNameError, match="dot-separated words"):
        validate_event_name(name)
