"""Lambda-shaped stream records built by hand, for tests that need exact control."""

from __future__ import annotations

from typing import Any, Optional

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/2026-11-01T00:00:00.000"


def record(
    table: str,
    keys: dict,
    new: Optional[dict] = None,
    old: Optional[dict] = None,
    *,
    seq: int = 1,
    created: float = 1_790_000_000,
    event: Optional[str] = None,
    ttl: bool = False,
) -> dict[str, Any]:
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": created,
        "Keys": keys,
        "SequenceNumber": str(100000000000000000000 + seq),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        stream["NewImage"] = new
    if old is not None:
        stream["OldImage"] = old
    name = event or ("REMOVE" if new is None else "MODIFY" if old is not None else "INSERT")
    raw = {
        "eventID": f"ev-{table}-{seq}",
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": stream,
        "eventSourceARN": ARN.format(table=table),
    }
    if ttl:
        raw["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return raw


def order(customer_id: str, order_id: str, *, status="paid", total="10.00", seq=1, created=1_790_000_000, placed_at="2026-11-01T10:00:00Z", remove=False) -> dict:
    keys = {"customer_id": {"S": customer_id}, "order_id": {"S": order_id}}
    image = {**keys, "status": {"S": status}, "total": {"N": total}, "currency": {"S": "EUR"}, "placed_at": {"S": placed_at}}
    if remove:
        return record("orders", keys, None, image, seq=seq, created=created)
    return record("orders", keys, image, seq=seq, created=created)


def customer(customer_id: str, *, version: int = 1, name="Ada", seq=1, created=1_790_000_000, remove=False, ttl=False) -> dict:
    keys = {"customer_id": {"S": customer_id}}
    image = {
        **keys, "name": {"S": name}, "email": {"S": f"{customer_id}@example.com"}, "country": {"S": "NL"},
        "marketing_opt_in": {"BOOL": True}, "password_hash": {"S": "pbkdf2$do-not-leak"}, "version": {"N": str(version)},
    }
    if remove:
        return record("customers", keys, None, image, seq=seq, created=created, ttl=ttl)
    return record("customers", keys, image, seq=seq, created=created)


def lesson(lesson_id: str, song_id: Optional[str], *, old_song: Optional[str] = None, title="Chords", seq=1,
           created=1_790_000_000, remove=False) -> dict:
    """A lesson pointing at ``song_id``; ``old_song`` makes it a MODIFY whose old image pointed there."""
    keys = {"lesson_id": {"S": lesson_id}}
    image = {**keys, "title": {"S": title}, "level": {"S": "beginner"}, "instrument": {"S": "guitar"}}
    if song_id is not None:
        image["song_id"] = {"S": song_id}
    if remove:
        return record("lessons", keys, None, image, seq=seq, created=created)
    old = None if old_song is None else {**image, "song_id": {"S": old_song}}
    return record("lessons", keys, image, old, seq=seq, created=created)
