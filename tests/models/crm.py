"""A CRM model of another shape: items that move between documents, joins on a versioned table,
joins on children, and two aggregates drawing on the same tables.

- ``user``: a user (root) with their plan (a join on ``plans``, which has a version attribute),
  their devices (children keyed by their own id: ``user_id`` can change, so a device moves from
  one user's document to another's) each showing its device model (a join on a child), and their
  addresses. No ``derive``: the default document shows children and joins as objects.
- ``plan``: a plan with its subscribers, the users whose ``plan_id`` names it (users move between
  plans). The ``users`` table is at once a root, a child and a pointing table; ``plans`` at once a
  root and a joined table: a join read for ``user`` must never land in a ``plan`` document.
"""

from dynafold import Aggregate, Children, Join, Model, Table
from dynafold.kinds import boolean, decimal, integer, keyword, text

users = Table("users", "user_id", version="version", indexes={"by_plan": "plan_id"})
plans = Table("plans", "plan_id", version="version")
devices = Table("devices", "device_id", indexes={"by_model": "model_id"})
device_models = Table("device_models", "model_id")
addresses = Table("addresses", "user_id", "address_id")

USER = Aggregate(
    "user",
    root=users,
    fields=dict(user_id=keyword, name=text, email=text, plan_id=keyword),
    joins={"plan": Join(plans, on="plan_id", index="by_plan", fields=dict(name=text, price=decimal))},
    children={
        "devices": Children(devices, parent="user_id", fields=dict(device_id=keyword, label=text, model_id=keyword),
                            joins={"model": Join(device_models, on="model_id", index="by_model",
                                                 fields=dict(vendor=keyword, year=integer))}),
        "addresses": Children(addresses, parent="user_id", fields=dict(address_id=keyword, city=text, primary=boolean)),
    },
)

PLAN = Aggregate(
    "plan",
    root=plans,
    fields=dict(plan_id=keyword, name=text, price=decimal),
    children={"subscribers": Children(users, parent="plan_id", fields=dict(user_id=keyword, name=text))},
    derive=lambda plan: {
        "subscriber_count": len(plan.subscribers),
        "subscriber_names": sorted(s.name for s in plan.subscribers if s.name),
    },
    derived=dict(subscriber_count=integer, subscriber_names=text),
)

MODEL = Model([USER, PLAN])
