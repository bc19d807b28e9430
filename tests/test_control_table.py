"""The DynamoDB control table (moto): quarantine entries whole, however large, and checkpoints."""

from __future__ import annotations

import json

from dynafold.projector.control.quarantine_entry import QuarantineEntry, raw_json
from dynafold.projector.stores import open_checkpoints, open_quarantine
from dynafold.projector.stores.dynamodb import control_table_definition


def test_quarantine_keeps_even_a_record_larger_than_a_dynamodb_item(dynamodb):
    dynamodb.create_table(**control_table_definition("dynafold-control"))
    quarantine = open_quarantine("dynamodb://dynafold-control")
    import random

    rng = random.Random(3)
    noise = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(800_000))
    raw = {"eventID": "e1", "dynamodb": {"NewImage": {"blob": {"S": noise}}}}
    big = QuarantineEntry("orders", "100", "e1", "record orders, eventID e1, seq 100: too big", raw_json(raw))
    small = QuarantineEntry("customers", "7", "e2", "reason", raw_json({"x": 1}))
    quarantine.put([big, small])
    quarantine.put([big])
    assert [e.id for e in quarantine.list()] == ["customers/7", "orders/100"]
    assert [e.id for e in quarantine.list("orders")] == ["orders/100"]
    restored = quarantine.get("orders/100")
    assert json.loads(restored.raw) == raw and restored.reason == big.reason
    assert quarantine.drop("orders/100") and not quarantine.drop("orders/100")
    assert quarantine.get("orders/100") is None
    leftovers = dynamodb.scan(TableName="dynafold-control")["Items"]
    assert all(item["pk"]["S"] != "quarantine-part" for item in leftovers)


def test_checkpoints_in_the_control_table(dynamodb):
    dynamodb.create_table(**control_table_definition("dynafold-control"))
    checkpoints = open_checkpoints("dynamodb://dynafold-control")
    checkpoints.put("replay/customer_v1/orders/0of4", "a")
    checkpoints.put("replay/customer_v1/orders/1of4", "b")
    checkpoints.put("stream/orders/shard-1", "c")
    assert checkpoints.get("replay/customer_v1/orders/1of4") == "b"
    assert checkpoints.items("replay/") == [("replay/customer_v1/orders/0of4", "a"), ("replay/customer_v1/orders/1of4", "b")]
    assert [key for key, _ in checkpoints.items()] == ["replay/customer_v1/orders/0of4", "replay/customer_v1/orders/1of4",
                                                       "stream/orders/shard-1"]
    checkpoints.delete_prefix("replay/customer_v1/")
    assert checkpoints.get("replay/customer_v1/orders/0of4") is None
    assert checkpoints.get("stream/orders/shard-1") == "c"
