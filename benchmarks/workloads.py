"""The benchmark workloads: order records as a DynamoDB stream delivers them to Lambda.

- ``spread``: 10,000 orders over 2,000 customers, so every batch of 1,000
  touches 1,000 different customers (the aggregate's worst case: no two
  records of a batch share a document);
- ``clustered``: 20,000 orders over 800 customers (25 each), arriving
  customer by customer (a customer's orders together, as an order import or
  a busy account produces them). It was 5,000 over 200: a run of 0.15 s,
  whose records/s ratio moved 17-21% between two runs of the benchmark.

Records carry whole-second ``ApproximateCreationDateTime`` values, several
records per second, as real streams do.
"""

from __future__ import annotations

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/2026-11-01T00:00:00.000"
T0 = 1_790_000_000


def order_record(i: int, customer: int, second: int) -> dict:
    keys = {"customer_id": {"S": f"c{customer:05d}"}, "order_id": {"S": f"o{i:06d}"}}
    image = {**keys, "status": {"S": "paid"}, "total": {"N": f"{i % 997}.25"}, "currency": {"S": "EUR"},
             "placed_at": {"S": "2026-11-01T10:00:00Z"},
             "items": {"L": [{"M": {"sku": {"S": f"sku-{i % 50}"}, "qty": {"N": "1"}}}]}}
    return {"eventID": f"e{i}", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "eventSourceARN": ARN.format(table="orders"),
            "dynamodb": {"ApproximateCreationDateTime": T0 + second, "Keys": keys, "NewImage": image,
                         "SequenceNumber": str(10**20 + i), "SizeBytes": 300, "StreamViewType": "NEW_AND_OLD_IMAGES"}}


def spread(orders: int = 10_000, customers: int = 2_000) -> list[dict]:
    return [order_record(i, i % customers, i // 50) for i in range(orders)]


def clustered(orders: int = 20_000, customers: int = 800) -> list[dict]:
    per = orders // customers
    return [order_record(i, i // per, i // 50) for i in range(orders)]


def modified(records: list[dict]) -> list[dict]:
    """The same records as MODIFYs carrying their old image (status placed -> paid), as most stream traffic is."""
    out = []
    for raw in records:
        raw = {**raw, "eventName": "MODIFY", "dynamodb": dict(raw["dynamodb"])}
        raw["dynamodb"]["OldImage"] = {**raw["dynamodb"]["NewImage"], "status": {"S": "placed"}}
        out.append(raw)
    return out


def batches(records: list[dict], size: int) -> list[list[dict]]:
    return [records[start:start + size] for start in range(0, len(records), size)]
