"""Customers shown by name rather than `cus_...`.

A Stripe widget that shows a bare customer reference (the seed's Recent Payments maps
`customer: "customer"` and shows it) asks Stripe to expand that reference in the same request
(`expand[]=data.customer`), so it works for any account, synced or not, and for the demo, at no
extra request. The transform already reduces an expanded object to its id, so the row's value,
what its actions publish and what filters compare stay the id; only the text shown becomes the
customer's name, else their email. A widget that expands the customer itself (the Customer
widget) maps the fields it wants and is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.widgets.field_paths import value_at
from lib.widgets.schema import DataSourceSpec, WidgetDefinition

CUSTOMER_FIELD = "customer"
LIST_PATH = "data"
# Stripe lists whose items carry an expandable `customer` reference.
LISTS_WITH_CUSTOMERS = frozenset(
    {
        "/charges",
        "/checkout/sessions",
        "/invoices",
        "/payment_intents",
        "/setup_intents",
        "/subscriptions",
    }
)
CUSTOMER_EXPANSION = f"{LIST_PATH}.{CUSTOMER_FIELD}"
MAX_NAME_CHARS = 256
"""Stripe's own limit for a customer's name; anything longer (from elsewhere) is cut."""


def named_customer_fields(definition: WidgetDefinition) -> tuple[str, ...]:
    """The shown fields that hold a bare customer reference the engine shows by name: mapped
    straight from the items' `customer` of a Stripe list the definition does not expand itself."""
    source = definition.data_source
    transform = definition.transform
    if (
        definition.provider != "stripe"
        or source.type != "api"
        or source.endpoint not in LISTS_WITH_CUSTOMERS
        or transform.path != LIST_PATH
        or transform.map_item is None
        or CUSTOMER_EXPANSION in _expansions(source)
    ):
        return ()
    shown = {spec.key for spec in definition.display.fields if spec.type == "text"}
    return tuple(
        key
        for key, path in transform.map_item.items()
        if path == CUSTOMER_FIELD and key in shown and not _formatted(definition, key)
    )


def source_with_customer_names(definition: WidgetDefinition) -> DataSourceSpec:
    """The data source to request: the definition's own, expanding the customer when a field
    shows it by name (`named_customer_fields`)."""
    source = definition.data_source
    if not named_customer_fields(definition):
        return source
    params = {**source.params, "expand": [*_expansions(source), CUSTOMER_EXPANSION]}
    return source.model_copy(update={"params": params})


def customer_names(response: Any, definition: WidgetDefinition) -> dict[str, str]:
    """Customer id -> name (else email) of every expanded customer among the response's items
    (before the transform's filters, so a chip can name a customer whose rows are filtered out).
    """
    if definition.transform.path != LIST_PATH:
        return {}
    items = value_at(response, LIST_PATH)
    if not isinstance(items, list):
        return {}
    names: dict[str, str] = {}
    for item in items:
        customer = item.get(CUSTOMER_FIELD) if isinstance(item, Mapping) else None
        if isinstance(customer, Mapping) and isinstance(customer.get("id"), str):
            name = display_name(customer)
            if name is not None:
                names[customer["id"]] = name
    return names


def display_name(customer: Mapping[str, Any]) -> str | None:
    """A customer's name, else email (at most MAX_NAME_CHARS characters); None without either."""
    for key in ("name", "email"):
        value = customer.get(key)
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 1] + "…"
    return None


def _expansions(source: DataSourceSpec) -> list[str]:
    value = source.params.get("expand")
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _formatted(definition: WidgetDefinition, key: str) -> bool:
    spec = definition.display.field_named(key)
    return spec is not None and spec.format is not None
