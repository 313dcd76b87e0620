"""Fetching a widget's data through its provider adapter (no Streamlit: the CLI uses it too)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lib.providers.base import ProviderAdapter
from lib.providers.types import ApiResponse, ProviderCredentials, RequestOptions
from lib.widgets.schema import DataSourceSpec
from lib.widgets.time_tokens import resolve_time_tokens


def request_params(
    source: DataSourceSpec, now: datetime, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The query (or body) of a data source: its params with time tokens resolved, plus `extra`."""
    params = dict(resolve_time_tokens(dict(source.params), now))
    params.update(extra or {})
    return params


def fetch_source(
    source: DataSourceSpec,
    adapter: ProviderAdapter,
    credentials: ProviderCredentials,
    now: datetime,
    extra_params: Mapping[str, Any] | None = None,
) -> ApiResponse[Any]:
    """The raw response a widget transforms: inline data, one API call, or every page.

    With `paginate`, the adapter reads the list page by page up to `maxItems` and it comes
    back as one Stripe-style list object, so the transform's `path: "data"` works unchanged;
    an adapter that does not page answers with an error saying so.
    """
    if source.type == "static":
        return ApiResponse(success=True, data=source.data)
    if source.endpoint is None:
        raise ValueError("an api data source needs an endpoint")
    params = request_params(source, now, extra_params)
    if source.paginate is not None:
        params.pop("limit", None)
        listed = adapter.list_all(
            credentials, source.endpoint, params, cap=source.paginate.max_items
        )
        data = {"object": "list", "data": listed.data or [], "has_more": False}
        return ApiResponse(
            success=listed.success,
            data=data if listed.success else None,
            error=listed.error,
            rate_limit=listed.rate_limit,
            status=listed.status,
            attempts=listed.attempts,
        )
    options = RequestOptions(
        endpoint=source.endpoint,
        method=source.method,
        params=params if source.method == "GET" else None,
        body=params if source.method != "GET" else None,
    )
    return adapter.request(credentials, options)
