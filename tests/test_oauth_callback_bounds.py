"""The OAuth answer on the Credentials page's URL is bounded before it is used: anyone can write
that URL, so a code or state that is not a short token is treated as missing, and the error
description shown to the user is cut short and loses its control characters."""

from __future__ import annotations

from lib.oauth import OAuthCallback
from lib.oauth.stripe_connect import MAX_ERROR_DESCRIPTION, error_message, parse_callback


def test_a_stripe_answer_is_read_unchanged() -> None:
    params = {"code": "ac_Q5x9R2mN8kLpT3vW7yZ1bC4d", "state": "Zk3-q_9x" * 5 + "abc"}

    assert parse_callback(params) == OAuthCallback(code=params["code"], state=params["state"])
    denied = {"error": "access_denied", "error_description": "The user denied your request"}
    assert parse_callback(denied) == OAuthCallback(
        error="access_denied", error_description="The user denied your request"
    )


def test_a_code_or_state_that_is_not_a_short_token_counts_as_missing() -> None:
    for hostile in ("a" * 100_000, "ac_²", "ac_x)[y](https://evil.example)", "ac_\x00"):
        callback = parse_callback({"code": hostile, "state": hostile})
        assert callback == OAuthCallback(code=None, state=None)


def test_a_long_error_description_is_cut_and_loses_control_characters() -> None:
    callback = parse_callback(
        {"error": "access_denied", "error_description": "no\r\n# heading" + "x" * 100_000}
    )

    assert callback is not None and callback.error_description is not None
    assert callback.error_description.startswith("no# heading")
    assert callback.error_description.endswith("x…")
    assert len(callback.error_description) <= MAX_ERROR_DESCRIPTION + 1
    assert len(error_message("access_denied", callback.error_description)) < 500


def test_an_unreadable_error_code_is_still_a_refusal() -> None:
    callback = parse_callback({"error": "[evil](https://evil.example)" * 1_000})

    assert callback == OAuthCallback(error="unknown_error")
    assert "Stripe could not complete the connection." in error_message(callback.error or "", None)
