"""Paging is something an adapter offers: Stripe follows its cursors, GitHub says it does not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from lib.providers.github import GitHubAdapter
from lib.providers.registry import ADAPTERS
from lib.providers.stripe import StripeAdapter
from lib.providers.types import ErrorCode, ProviderCredentials
from lib.widgets.fetch import fetch_source
from lib.widgets.schema import DataSourceSpec
from tests.loopback_server import LoopbackServer, Reply

STRIPE_KEY = ProviderCredentials(pat="sk_test_51HqLyjWDarjtT1zdp7dcXbUyQ4242")
GITHUB_TOKEN = ProviderCredentials(pat="ghp_16C7e42F292c6912E7710c838347Ae178B4a")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
PAGED = DataSourceSpec.model_validate(
    {"type": "api", "endpoint": "/items", "params": {"limit": 5}, "paginate": {"maxItems": 3}}
)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as running:
        yield running


def page(ids: list[str], has_more: bool) -> Reply:
    return Reply(json={"object": "list", "data": [{"id": i} for i in ids], "has_more": has_more})


def test_a_paged_stripe_source_follows_cursors_up_to_max_items(server: LoopbackServer) -> None:
    server.queue("/v1/items", page(["it_1", "it_2"], True), page(["it_3", "it_4"], True))

    with StripeAdapter(base_url=server.url + "/v1") as stripe:
        response = fetch_source(PAGED, stripe, STRIPE_KEY, NOW)

    assert response.success
    assert response.data == {
        "object": "list",
        "data": [{"id": "it_1"}, {"id": "it_2"}, {"id": "it_3"}],
        "has_more": False,
    }
    assert [request.param("starting_after") for request in server.requests] == [None, "it_2"]
    # The source's own `limit` gives way to the page size paging needs.
    assert [request.param("limit") for request in server.requests] == ["3", "3"]


def test_a_provider_that_does_not_page_says_so_and_sends_nothing(server: LoopbackServer) -> None:
    with GitHubAdapter(base_url=server.url) as github:
        listed = github.list_all(GITHUB_TOKEN, "/items", cap=3)
        response = fetch_source(PAGED, github, GITHUB_TOKEN, NOW)

    for result in (listed, response):
        assert not result.success and result.data is None
        assert result.error is not None and result.error.code is ErrorCode.INVALID_REQUEST
        assert result.error.message == (
            "GitHub lists cannot be read page by page here; ask for a single page instead."
        )
        assert result.error.details == {"unsupported": "paging"}
    assert server.requests == []


def test_only_adapters_that_override_list_all_claim_to_page() -> None:
    paging = {name for name, adapter in ADAPTERS.items() if adapter.pages_lists}
    assert paging == {"stripe"}
    for name, adapter in ADAPTERS.items():
        overrides = "list_all" in vars(adapter)
        assert overrides == adapter.pages_lists, name
