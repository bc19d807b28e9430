"""Lambda-shaped stream records of the sample tables, and the workload the projector cases deliver.

Customers with orders, in stream order, built by hand so every case sees
the same records: some customers change twice and one is removed. The
records are what Lambda hands the projector (``Keys``, ``NewImage`` or
``OldImage``, sequence numbers, ``eventSourceARN``).
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any, Optional

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/{}/stream/2026-01-01T00:00:00.000"


def _ddb(value: Any) -> dict:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, Decimal)):
        return {"N": str(value)}
    if value is None:
        return {"NULL": True}
    raise TypeError(type(value).__name__)


def stream_record(table: str, seq: int, keys: dict, image: Optional[dict]) -> dict:
    """One Lambda stream record: an INSERT/MODIFY with ``image``, or a REMOVE when ``image`` is None."""
    stream = {
        "ApproximateCreationDateTime": T0 + seq,
        "Keys": {k: _ddb(v) for k, v in keys.items()},
        "SequenceNumber": f"{seq:021d}",
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if image is None:
        stream["OldImage"] = {k: _ddb(v) for k, v in keys.items()}
        if table == "customers":
            stream["OldImage"]["version"] = _ddb(seq)
    else:
        stream["NewImage"] = {k: _ddb(v) for k, v in {**keys, **image}.items()}
    return {
        "eventID": f"{table}-{seq}",
        "eventName": "REMOVE" if image is None else "INSERT",
        "eventSource": "aws:dynamodb",
        "eventSourceARN": ARN.format(table),
        "awsRegion": "us-east-1",
        "dynamodb": stream,
    }


def customer_record(seq: int, cid: str, name: str) -> dict:
    image = {"name": name, "email": f"{cid}@example.com", "country": "NL", "marketing_opt_in": True, "version": seq}
    return stream_record("customers", seq, {"customer_id": cid}, image)


def order_record(seq: int, cid: str, oid: str, total: Decimal, status: str = "paid") -> dict:
    image = {"status": status, "total": total, "currency": "EUR", "placed_at": f"2026-02-{seq % 28 + 1:02d}T10:00:00Z"}
    return stream_record("orders", seq, {"customer_id": cid, "order_id": oid}, image)


def workload(customers: int = 12, orders: int = 3, seed: int = 1) -> list[dict]:
    """Customers with orders, some changed twice, one removed: in stream order."""
    rng = random.Random(seed)
    records, seq = [], 1
    for c in range(customers):
        records.append(customer_record(seq, f"c{c:03d}", f"Customer {c} {rng.choice(['Ada', 'Grace', 'Alan'])}"))
        seq += 1
        for o in range(orders):
            records.append(order_record(seq, f"c{c:03d}", f"o{o}", Decimal(rng.randrange(1, 99999)) / 100))
            seq += 1
    records.append(customer_record(seq, "c001", "Renamed Customer"))
    records.append(stream_record("customers", seq + 1, {"customer_id": "c002"}, None))
    return records
