"""Single-table joins whose pointers hold the bare id: ``Join(..., prefix="PLAN#")``.

A model author's pointer ``plan_id = "basic"`` joined nothing, silently: the key is ``PLAN#basic``.
The join's prefix builds the key for the join read, and the fan-out, which starts from the joined
item's key, asks the index for the pointer without it. Both ways are checked here against moto, and
the harness checks a model of this shape (``tests/models/shapes_prefixed.py``) end to end.
"""

from __future__ import annotations

import re

import boto3
import pytest
from hypothesis import HealthCheck, settings

from dynafold import Aggregate, Entity, Join, Model, ModelError, Table, prefix
from dynafold.domain.source import SourceItem
from dynafold.kinds import decimal, keyword, text
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.aws.provision import create_tables
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores.memory import MemoryQuarantine, MemoryStore
from dynafold.testing import check_model
from tests.models import shapes_prefixed
from tests.support.records import record

app = Table("app", "PK", "SK", indexes={"by_plan": "plan_id"})
PLAN = Entity(app, PK=prefix("PLAN#"), SK="META")
plan_join = Join(PLAN, on="plan_id", index="by_plan", prefix="PLAN#", fields=dict(price=decimal))
MODEL = Model([Aggregate("account", Entity(app, SK="PROFILE"), fields=dict(name=text, plan_id=keyword),
                         joins={"plan": plan_join})])
JOIN = MODEL.aggregates["account"].join("plan")


def test_the_prefix_builds_the_joined_key_and_the_index_is_asked_for_the_bare_pointer():
    target = JOIN.target_of({"plan_id": "basic"})
    assert target == SourceItem.of("app", {"PK": "PLAN#basic", "SK": "META"})
    assert JOIN.query(target).key == (("plan_id", "basic"),)
    assert JOIN.pointer_to({"PK": "PLAN#basic", "SK": "META"}) == {"plan_id": "basic"}
    assert not JOIN.pointed_at(SourceItem.of("app", {"PK": "ACC#a1", "SK": "META"})), "no pointer names it"
    assert not JOIN.pointed_at(SourceItem.of("app", {"PK": "PLAN#", "SK": "META"})), "nothing after the prefix"


def item(keys: dict, **values) -> dict:
    return {**{k: {"S": v} for k, v in keys.items()}, **{k: ({"N": v} if k == "price" else {"S": v}) for k, v in values.items()}}


def test_a_bare_pointer_joins_its_item_and_the_items_change_fans_out_to_the_document(aws):
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_tables(client, MODEL)
    account_key, plan_key = {"PK": "ACC#a1", "SK": "PROFILE"}, {"PK": "PLAN#basic", "SK": "META"}
    client.put_item(TableName="app", Item=item(account_key, name="Ada", plan_id="basic"))
    client.put_item(TableName="app", Item=item(plan_key, price="5"))
    store = MemoryStore()
    projector = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: DynamoLookup(client, MODEL))
    account = item(account_key, name="Ada", plan_id="basic")
    projector.project([record("app", {k: {"S": v} for k, v in account_key.items()}, account, seq=1)])
    assert store.get("account", "ACC#a1") == {"name": "Ada", "plan_id": "basic", "plan": {"price": 5}}

    client.put_item(TableName="app", Item=item(plan_key, price="7"))
    report = projector.project([record("app", {k: {"S": v} for k, v in plan_key.items()}, item(plan_key, price="7"),
                                       item(plan_key, price="5"), seq=2, created=1_790_000_001)])
    assert report.failed_from is None
    assert store.get("account", "ACC#a1")["plan"] == {"price": 7}, "the fan-out found the account by 'basic'"


def test_a_single_table_model_with_prefixed_joins_converges():
    check_model(shapes_prefixed.MODEL, settings=settings(max_examples=60, stateful_step_count=30, deadline=None,
                                                         suppress_health_check=list(HealthCheck)))


@pytest.mark.parametrize("join, complaint", [
    (lambda: Join(Table("plans", "plan_no", types={"plan_no": "N"}), on="plan_id", index="by_plan", prefix="P",
                  fields={}), "keys 'plan_no' as N; only an S key can have a prefix"),
    (lambda: Join(PLAN, on="plan_id", index="by_plan", prefix="", fields={}), "must be a non-empty string"),
    (lambda: Join(PLAN, on="plan_id", index="by_plan", prefix={"SK": "X#"}, fields={}),
     "prefix for 'SK', which no pointing attribute fills"),
    (lambda: Join(Table("pairs", "a", "b"), on={"x": "a", "y": "b"}, index="by_plan", prefix="P#", fields={}),
     "give {target key attribute: prefix}"),
    (lambda: Join(PLAN, on="plan_id", index="by_plan", prefix=7, fields={}), "must be a string or a mapping"),
])
def test_a_prefix_that_cannot_work_is_refused_when_the_model_loads(join, complaint):
    with pytest.raises(ModelError, match=re.escape(complaint)):
        Aggregate("account", Entity(app, SK="PROFILE"), fields=dict(plan_id=keyword), joins={"plan": join()})
