"""A single-table design whose join pointers hold the bare id, as single-table writers often store them.

Accounts (``SK=PROFILE``), their orders (``SK=ORDER#…``), products (``PK=PROD#<id>, SK=META``) and plans
(``PK=PLAN#<id>, SK=META``) share the table ``app``. An order says ``product_id = "p1"`` and an account
``plan_id = "basic"``; each join's ``prefix`` builds the key (``PROD#p1``), and a product's or a plan's
change reaches the documents through an index holding the bare ids.
"""

from dynafold import Aggregate, Children, Entity, Join, Model, Table, prefix
from dynafold.kinds import decimal, keyword, text

app = Table("app", "PK", "SK", indexes={"by_product": "product_id", "by_plan": "plan_id"})
PRODUCT = Entity(app, PK=prefix("PROD#"), SK="META")
PLAN = Entity(app, PK=prefix("PLAN#"), SK="META")

ACCOUNT = Aggregate(
    "account",
    root=Entity(app, SK="PROFILE"),
    fields=dict(PK=keyword, name=text, plan_id=keyword),
    joins={"plan": Join(PLAN, on="plan_id", index="by_plan", prefix="PLAN#", fields=dict(price=decimal))},
    children={
        "orders": Children(Entity(app, SK=prefix("ORDER#")), parent="PK",
                           fields=dict(SK=keyword, status=keyword, product_id=keyword),
                           joins={"product": Join(PRODUCT, on="product_id", index="by_product", prefix="PROD#",
                                                  fields=dict(title=text))}),
    },
)

MODEL = Model([ACCOUNT])
