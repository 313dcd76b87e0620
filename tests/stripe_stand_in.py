"""A Stripe stand-in on loopback for tests of the served app: the demo account's answers
(`lib.demo`'s transport, the same data every page knows how to show) behind Stripe's own key
check, for the keys a test lets in and no others. Point the app at it with `STRIPE_API_BASE`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from lib.demo import DEMO_API_KEY, DemoStripeTransport
from tests.loopback_server import LoopbackServer, RecordedRequest, Reply

# Hop-by-hop and per-connection headers the stand-in does not pass on to the demo transport.
_NOT_FORWARDED = frozenset({"authorization", "host", "content-length", "connection"})


class StripeStandIn(LoopbackServer):
    """Answers every `/v1/...` request made with one of `accepted_keys` as the demo account does
    (with `account` as `GET /v1/account`), after `delay` seconds as a distant server would; any
    other key gets Stripe's 401."""

    def __init__(
        self, accepted_keys: Iterable[str], account: Mapping[str, Any], delay: float = 0.0
    ) -> None:
        super().__init__()
        self.delay = delay
        self.accepted_keys = frozenset(accepted_keys)
        self._account = dict(account)
        self._demo = DemoStripeTransport()
        self.otherwise(self._answer_as_stripe)

    @property
    def api_base(self) -> str:
        """The value for STRIPE_API_BASE."""
        return self.url + "/v1"

    def keys_used(self, path: str) -> set[str]:
        """The bearer keys of the requests received for `path`."""
        return {bearer_key(request) for request in self.requests_to(path)}

    def _answer_as_stripe(self, request: RecordedRequest) -> Reply:
        time.sleep(self.delay)
        if bearer_key(request) not in self.accepted_keys:
            error = {"type": "invalid_request_error", "message": "Invalid API Key provided"}
            return Reply(status=401, json={"error": error})
        if request.path == "/v1/account":
            return Reply(json=self._account)
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in _NOT_FORWARDED
        }
        forwarded = httpx.Request(
            request.method,
            "https://api.stripe.com" + request.path,
            params=request.query,
            headers={**headers, "Authorization": f"Bearer {DEMO_API_KEY}"},
            content=request.body,
        )
        answer = self._demo.handle_request(forwarded)
        answer.read()
        return Reply(
            status=answer.status_code,
            body=answer.content,
            headers={"Content-Type": "application/json"},
        )


def bearer_key(request: RecordedRequest) -> str:
    """The key a request authenticated with (`Authorization: Bearer <key>`), or ""."""
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""
