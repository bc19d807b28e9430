"""Keys that are not strings: numbers (N) and binaries (B) as document ids, parents and pointers.

- ``store``: a store keyed by a number (``store_no``, N: the document id is the number's canonical
  text). Its region is a join whose pointing attribute is a number (``region_no`` N, an index keyed
  by it). Its sales are children keyed under it (``sales`` has the key ``(store_no N, sale_no N)``)
  and each sale joins its product through a binary pointer (``sku`` B). Its registers are children
  keyed by a binary (``serial`` B) whose parent attribute is a number that writers change (a
  register moves between stores). ``derive`` counts and sums over the children and their joins.
- ``product``: a product keyed by a binary (the document id is base64), with the sales whose binary
  ``sku`` names it (``sales`` is children of both aggregates, and the pointing table of a join).
"""

from decimal import Decimal

from dynafold import Aggregate, Children, Join, Model, Table
from dynafold.kinds import boolean, decimal, integer, keyword, keywords, text

regions = Table("regions", "region_no", types={"region_no": "N"})
stores = Table("stores", "store_no", types={"store_no": "N", "region_no": "N"}, indexes={"by_region": "region_no"})
sales = Table("sales", "store_no", "sale_no", types={"store_no": "N", "sale_no": "N", "sku": "B"},
              indexes={"by_sku": "sku"})
products = Table("products", "sku", types={"sku": "B"}, version="rev")
registers = Table("registers", "serial", types={"serial": "B", "store_no": "N"})


def derive_store(store) -> dict:
    units = 0
    revenue = Decimal(0)
    titles = set()
    for sale in store.sales:
        qty = sale.qty or 0
        units += qty
        if sale.product is not None:
            if sale.product.price is not None:
                revenue += sale.product.price * qty
            if sale.product.title:
                titles.add(sale.product.title)
    return {
        "sale_count": len(store.sales),
        "units": units,
        "revenue": revenue,
        "sold_titles": sorted(titles),
        "sale_numbers": [s.sale_no for s in store.sales],
        "register_count": len(store.registers),
        "open_registers": sum(1 for r in store.registers if r.open),
        "region_name": store.region.name if store.region else None,
        "region_no_seen": store.region.region_no if store.region else None,
    }


STORE = Aggregate(
    "store",
    root=stores,
    fields=dict(store_no=keyword, name=text, region_no=keyword),
    joins={"region": Join(regions, on="region_no", index="by_region", fields=dict(name=text, tax=decimal))},
    children={
        "sales": Children(sales, parent="store_no", fields=dict(sale_no=keyword, qty=integer),
                          joins={"product": Join(products, on="sku", index="by_sku",
                                                 fields=dict(title=text, price=decimal))}),
        "registers": Children(registers, parent="store_no", fields=dict(label=text, open=boolean)),
    },
    derive=derive_store,
    derived=dict(sale_count=integer, units=integer, revenue=decimal, sold_titles=keywords, sale_numbers=keywords,
                 register_count=integer, open_registers=integer, region_name=text, region_no_seen=keyword),
)

PRODUCT = Aggregate(
    "product",
    root=products,
    fields=dict(title=text, price=decimal),
    children={"sales": Children(sales, parent="sku", fields=dict(store_no=keyword, sale_no=keyword, qty=integer))},
)

MODEL = Model([STORE, PRODUCT])
