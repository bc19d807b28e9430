"""The ``customer`` aggregate: a customer with their orders and subscriptions."""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Any, Iterable

from domain.aggregate import Aggregate, AggregateView, Field, FieldKind
from domain.events import DomainEvent

# Wide enough that any sum of DynamoDB numbers (38 digits, exponents -130..125) is exact.
EXACT = Context(prec=400, Emax=999_999, Emin=-999_999)

PAID = frozenset({"paid", "shipped"})


def route(event: DomainEvent) -> Iterable[str]:
    return (event.customer_id,)


def _order(data: dict) -> dict[str, Any]:
    return {name: data.get(name) for name in ("order_id", "status", "total", "currency", "placed_at")}


def derive(view: AggregateView) -> dict[str, Any]:
    customer = view.root.data
    orders = [_order(e.data) for e in view.live("orders")]
    orders.sort(key=lambda o: (o["placed_at"] or "", o["order_id"]), reverse=True)
    standing = [o for o in orders if o["status"] != "cancelled"]
    lifetime_value = Decimal(0)
    for order in orders:
        if order["status"] in PAID and order["total"] is not None:
            lifetime_value = EXACT.add(lifetime_value, order["total"])
    placed = [o["placed_at"] for o in standing if o["placed_at"] is not None]
    return {
        "customer_id": view.id,
        "name": customer.get("name"),
        "email": customer.get("email"),
        "country": customer.get("country"),
        "marketing_opt_in": customer.get("marketing_opt_in"),
        "orders": orders,
        "order_count": len(standing),
        "lifetime_value": lifetime_value,
        "last_order_at": max(placed) if placed else None,
        "active_plans": sorted(
            e.data["plan_id"] for e in view.live("subscriptions") if e.data.get("status") == "active"
        ),
    }


CUSTOMER = Aggregate(
    name="customer",
    version=1,
    root="customers",
    sources={
        "customers": frozenset({"customer_id", "name", "email", "country", "marketing_opt_in"}),
        "orders": frozenset({"customer_id", "order_id", "status", "total", "currency", "placed_at"}),
        "subscriptions": frozenset({"customer_id", "plan_id", "status", "started_at"}),
    },
    fields=(
        Field("customer_id", FieldKind.KEYWORD),
        Field("name", FieldKind.TEXT),
        Field("email", FieldKind.TEXT),
        Field("country", FieldKind.KEYWORD),
        Field("marketing_opt_in", FieldKind.BOOLEAN),
        Field(
            "orders",
            FieldKind.OBJECTS,
            (
                Field("order_id", FieldKind.KEYWORD),
                Field("status", FieldKind.KEYWORD),
                Field("total", FieldKind.DECIMAL),
                Field("currency", FieldKind.KEYWORD),
                Field("placed_at", FieldKind.DATETIME),
            ),
        ),
        Field("order_count", FieldKind.INTEGER),
        Field("lifetime_value", FieldKind.DECIMAL),
        Field("last_order_at", FieldKind.DATETIME),
        Field("active_plans", FieldKind.KEYWORDS),
    ),
    route=route,
    derive=derive,
)
