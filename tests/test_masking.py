"""Secrets never readable in an error or a log line, wherever in the text they sit."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.providers.masking import install_log_redaction, mask_secret, redact_secrets

BODY = "51HqLyjWDarjtT1zdp7dcXbUy9999"
REFRESH = "rt_H6DG2dZH0vCHBwhFGMs8i7W1wVKBWXtUbjoxFAA9YlQn5JLD"
CODE = "ac_ImbyPiTaM9OPKLqwwsdd1IfyB2wSP4sR"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"x_sk_live_{BODY}", "x_sk_live_...9999"),
        (f"key%3Dsk_live_{BODY}%26next", "key%3Dsk_live_...9999%26next"),
        (f"SK_TEST_{BODY}", "SK_TEST_...9999"),
        (f"Sk_Live_{BODY}", "Sk_Live_...9999"),
        (f"abcrk_live_{BODY}", "abcrk_live_...9999"),
        (f"pk_live_{BODY}", "pk_live_...9999"),
        (f"WHSEC_{BODY}", "WHSEC_...9999"),
        (f"refresh_token={REFRESH}", "refresh_token=rt_...5JLD"),
        (f"refresh_token%3D{REFRESH}&x", "refresh_token%3Drt_...5JLD&x"),
        (f"token_{REFRESH}", "token_rt_...5JLD"),
        (f"token{REFRESH}", "tokenrt_...5JLD"),
        (f"RT_{REFRESH[3:]}", "RT_...5JLD"),
        (f"code%3D{CODE}", "code%3Dac_...P4sR"),
        (f"?code={CODE}&state=s", "?code=ac_...P4sR&state=s"),
        (f"Bearer sk_live_{BODY}", "Bearer ****"),
        ("ghp_aaaaaaaaaaaaaaaaaaaa1111", "ghp_...1111"),
        ("xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy", "xoxb-...bqgy"),
    ],
)
def test_every_key_and_token_shape_is_redacted(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected


@pytest.mark.parametrize(
    "prose",
    [
        "start_date must be before the end",
        "mac_address_of_the_reader_device is missing",
        "the Basic plan",
        "a chart_of_accounts_for_the_company",
    ],
)
def test_words_that_merely_contain_a_short_prefix_are_left_alone(prose: str) -> None:
    assert redact_secrets(prose) == prose


SECRETS = st.sampled_from(
    [
        f"sk_live_{BODY}",
        f"sk_test_{BODY}",
        f"SK_TEST_{BODY}",
        f"rk_live_{BODY}",
        f"whsec_{BODY}",
        REFRESH,
        CODE,
    ]
)
# Surroundings a secret meets in URLs, JSON, form bodies, headers and log lines.
SURROUNDINGS = st.text(
    alphabet=st.sampled_from(list("_=&?%3D2Cax:;,/\\'\"[]{}() \n\t-.")),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(secret=SECRETS, before=SURROUNDINGS, after=SURROUNDINGS, prefix=st.sampled_from(["", "x_"]))
def test_a_secret_is_redacted_whatever_surrounds_it(
    secret: str, before: str, after: str, prefix: str
) -> None:
    redacted = redact_secrets(prefix + before + secret + after)
    assert secret[-20:-4] not in redacted
    assert redacted.startswith(prefix + before) and redacted.endswith(after)


def test_mask_secret_keeps_a_prefix_in_any_case() -> None:
    assert mask_secret(f"SK_LIVE_{BODY}") == "SK_LIVE_...9999"
    assert mask_secret(REFRESH) == "rt_...5JLD"


@pytest.fixture
def redacting_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    original = logging.getLogRecordFactory()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tests.masking")
    logger.addHandler(handler)
    logger.propagate = False
    install_log_redaction()
    install_log_redaction()
    try:
        yield logger, stream
    finally:
        logging.setLogRecordFactory(original)
        logger.removeHandler(handler)


def test_log_lines_are_redacted_in_messages_arguments_and_tracebacks(
    redacting_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = redacting_log
    logger.warning(f"key in message x_sk_live_{BODY}")
    logger.warning("refresh failed for %s with %r", REFRESH, {"code": CODE})
    try:
        raise RuntimeError(f"Stripe said: Invalid API Key provided: SK_TEST_{BODY}")
    except RuntimeError:
        logger.exception("sync crashed")
    logger.warning("plain %s line %d", "ordinary", 3)

    written = stream.getvalue()
    assert BODY[:-4] not in written
    assert REFRESH[3:-4] not in written and CODE[3:-4] not in written
    assert "x_sk_live_...9999" in written and "SK_TEST_...9999" in written
    assert "Traceback (most recent call last)" in written
    assert "plain ordinary line 3" in written


def test_a_record_without_secrets_keeps_its_arguments(
    redacting_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, _stream = redacting_log
    record = logger.makeRecord(
        "tests.masking", logging.INFO, __file__, 1, '%s "%s %s"', ("1.2.3.4", "GET", "/"), None
    )
    assert record.args == ("1.2.3.4", "GET", "/")
