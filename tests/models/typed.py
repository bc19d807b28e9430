"""A user's views module as a strictly typed project writes it, against the public API only.

``tests/test_packaging.py`` runs ``mypy --strict`` on this file against the installed wheel: nothing
may come back from dynafold's side (an untyped function, a missing ``py.typed``, ``Any`` where a user
reads the model). It is also a model the harness can check.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping, assert_type

from dynafold import Aggregate, Children, Entity, Join, Model, ModelError, Table, Translator, prefix
from dynafold.kinds import boolean, datetime, decimal, integer, keyword, keywords, object_, objects, text
from dynafold.testing import assert_fold_converges, check_model, check_threads

app = Table("app", "PK", "SK", indexes={"by_product": "product_ref"})
products = Table("products", "product_id", version="rev")

ORDER = dict(SK=keyword, status=keyword, amount=decimal, product_ref=keyword, placed_at=datetime)


def derive_account(account: Any) -> dict[str, Any]:
    orders = sorted(account.orders, key=lambda order: order.SK)
    amounts: list[Decimal] = [order.amount for order in orders if order.amount is not None]
    return {
        "orders": [{"SK": order.SK, "product": order.product.title if order.product else None} for order in orders],
        "order_count": len(orders),
        "order_total": sum(amounts, Decimal(0)),
        "statuses": sorted({order.status for order in orders if order.status}),
        "vip": len(orders) > 2,
        "last": {"SK": orders[-1].SK} if orders else None,
    }


ACCOUNT = Aggregate(
    "account",
    root=Entity(app, SK="PROFILE"),
    fields=dict(PK=keyword, name=text),
    children={
        "orders": Children(Entity(app, SK=prefix("ORDER#")), parent="PK", fields=ORDER,
                           joins={"product": Join(products, on="product_ref", index="by_product",
                                                  fields=dict(title=text))}),
    },
    derive=derive_account,
    derived=dict(orders=objects(SK=keyword, product=text), order_count=integer, order_total=decimal,
                 statuses=keywords, vip=boolean, last=object_(SK=keyword)),
)

MODEL = Model([ACCOUNT])

assert_type(MODEL.aggregates, Mapping[str, Aggregate])
assert_type(MODEL.tables, Mapping[str, Table])
assert_type(MODEL.aggregate("account").name, str)
assert_type(ACCOUNT.version, int)
HATCHES: list[Translator] = []
FAILURE: type[Exception] = ModelError


def test_my_views_converge() -> None:
    check_model(MODEL, steps=10)
    check_threads(MODEL, examples=1)
    assert_fold_converges(ACCOUNT, [])
