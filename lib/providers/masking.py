"""Keep secrets out of anything a person or a log can read: masked display and redaction."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from lib.providers.types import ApiError

# Longest first, so `xoxe.xoxp-` wins over `xoxe-` and `sk_test_` over nothing.
SECRET_PREFIXES: tuple[str, ...] = tuple(
    sorted(
        (
            "sk_test_",
            "sk_live_",
            "rk_test_",
            "rk_live_",
            "pk_test_",
            "pk_live_",
            "whsec_",
            "rt_",
            "ac_",
            "ghp_",
            "gho_",
            "ghu_",
            "ghs_",
            "ghr_",
            "github_pat_",
            "xoxb-",
            "xoxp-",
            "xoxa-",
            "xoxe.xoxp-",
            "xoxe-",
            "xapp-",
            "lin_api_",
            "lin_oauth_",
            "ATATT",
        ),
        key=len,
        reverse=True,
    )
)
# Below this many secret characters, even the last 4 would give away too much.
_MIN_SECRET_TO_SHOW_TAIL = 12
_MASK = "****"

# Stripe's prefixes are distinctive, so they match glued to anything ('x_sk_live_...',
# 'key%3Dsk_live_...') and in any case ('SK_TEST_...').
_STRIPE_KEY = re.compile(r"[srp]k_(?:test|live)_[A-Za-z0-9]+", re.IGNORECASE)
_STRIPE_WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+", re.IGNORECASE)
# Refresh tokens and authorization codes have short prefixes also found inside words
# ('start_', 'mac_'): they need a long body, and a digit in it when a letter comes just before.
_STRIPE_OAUTH_TOKEN = re.compile(
    r"(?:(?<![A-Za-z])|(?<=%[0-9A-Fa-f]{2}))(?:rt|ac)_[A-Za-z0-9]{16,}"
    r"|(?:rt|ac)_(?=[A-Za-z]*[0-9])[A-Za-z0-9]{16,}",
    re.IGNORECASE,
)
_TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = (
    _STRIPE_KEY,
    _STRIPE_WEBHOOK_SECRET,
    _STRIPE_OAUTH_TOKEN,
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]+"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]+"),
    re.compile(r"\bxox(?:e\.xoxp|[abpeors])-[A-Za-z0-9-]+"),
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),
    re.compile(r"\blin_(?:api|oauth)_[A-Za-z0-9]+"),
    re.compile(r"\bATATT[A-Za-z0-9_=-]+"),
)
# An auth scheme followed by a value with a digit in it: a credential, not prose ("Basic plan").
_AUTH_VALUE = re.compile(r"\b(Bearer|Basic)\s+(?=\S*\d)[A-Za-z0-9._~+/=-]{12,}", re.IGNORECASE)


def mask_secret(token: str) -> str:
    """A safe display form: known prefix, `...`, last 4 (`sk_test_...4242`).

    At most the last 4 characters of the secret part are shown, and none of them when the
    secret part is shorter than 12 characters (`sk_test_****`, or `****` with no known prefix).
    """
    if not token:
        return ""
    known = next((p for p in SECRET_PREFIXES if token.lower().startswith(p.lower())), "")
    prefix = token[: len(known)]
    secret = token[len(prefix) :]
    if len(secret) < _MIN_SECRET_TO_SHOW_TAIL:
        return prefix + _MASK
    return f"{prefix}...{secret[-4:]}"


def redact_secrets(text: str, known_secrets: Iterable[str] = ()) -> str:
    """`text` with every known secret and anything shaped like a key, token or auth value masked."""
    for secret in sorted((s for s in known_secrets if s), key=len, reverse=True):
        text = text.replace(secret, mask_secret(secret))
    text = _AUTH_VALUE.sub(lambda match: f"{match.group(1)} {_MASK}", text)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(lambda match: mask_secret(match.group(0)), text)
    return text


def redact_value(value: Any, known_secrets: Iterable[str] = ()) -> Any:
    """A copy of `value` (strings, lists, tuples, dicts, nested) with secrets redacted."""
    secrets = tuple(known_secrets)
    if isinstance(value, str):
        return redact_secrets(value, secrets)
    if isinstance(value, dict):
        return {key: redact_value(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(item, secrets) for item in value)
    return value


def scrub_error(error: ApiError, known_secrets: Iterable[str] = ()) -> ApiError:
    """`error` with secrets redacted from its message and details."""
    secrets = tuple(known_secrets)
    return dataclasses.replace(
        error,
        message=redact_secrets(error.message, secrets),
        details=redact_value(error.details, secrets),
    )


def redact_log_record(record: logging.LogRecord) -> None:
    """Redact secrets from a log record in place: its message, traceback and stack text.

    A record without a secret in its message keeps its msg and args (formatters such as
    uvicorn's read the args); one with a secret gets the redacted message and no args.
    """
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        # Arguments that do not fit the format: logging reports that itself at emit time.
        message = None
    redacted = None if message is None else redact_secrets(message)
    if redacted != message:
        record.msg, record.args = redacted, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_secrets(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_secrets(record.stack_info)


class _RedactingRecordFactory:
    """A log record factory that redacts every record it makes, whatever logger or handler."""

    def __init__(self, make_record: Callable[..., logging.LogRecord]) -> None:
        self.make_record = make_record

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.make_record(*args, **kwargs)
        redact_log_record(record)
        return record


def install_log_redaction() -> None:
    """Redact secrets from every log record created from now on, in this process; idempotent.

    A record factory rather than a handler filter: records reach handlers this code does not
    own (Streamlit's, uvicorn's, logging's last resort), and a filter sees only one of them.
    """
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(current))
