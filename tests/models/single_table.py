"""A single-table design: accounts, their orders and their notes in one table, told apart by key
prefix and by a type attribute, with a join from each order to a product in a table of its own.

The account item is ``pk=ACCOUNT#a1, sk=PROFILE``; its orders ``sk=ORDER#…`` in the same
partition; notes are the items whose ``kind`` attribute says ``note`` (writers may change it, so
an item can stop being a note). Documents are keyed by ``pk``.
"""

from decimal import Decimal

from dynafold import Aggregate, Children, Entity, Join, Model, Table, prefix
from dynafold.kinds import decimal, integer, keyword, objects, text

app = Table("app", "pk", "sk", indexes={"by_product": "product_ref"})
products = Table("products", "product_id", version="rev")

ORDER = dict(sk=keyword, status=keyword, amount=decimal, product_ref=keyword)


def derive_account(account) -> dict:
    orders = sorted(account.orders, key=lambda o: o.sk)
    amounts = [o.amount for o in orders if o.amount is not None and o.status != "void"]
    return {
        "orders": [{**{name: o[name] for name in ORDER}, "product": o.product.title if o.product else None}
                   for o in orders],
        "open_orders": sum(1 for o in orders if o.status == "open"),
        "order_total": sum(amounts, Decimal(0)),
        "notes": " | ".join(n.body or "" for n in account.notes),
    }


ACCOUNT = Aggregate(
    "account",
    root=Entity(app, sk="PROFILE"),
    fields=dict(pk=keyword, name=text, tier=keyword),
    children={
        "orders": Children(Entity(app, sk=prefix("ORDER#")), parent="pk", fields=ORDER,
                           joins={"product": Join(products, on="product_ref", index="by_product",
                                                  fields=dict(title=text))}),
        "notes": Children(Entity(app, kind="note"), parent="pk", fields=dict(sk=keyword, body=text)),
    },
    derive=derive_account,
    derived=dict(orders=objects(**ORDER, product=text), open_orders=integer, order_total=decimal, notes=text),
)

MODEL = Model([ACCOUNT])
