"""Malformed and hostile stream records, each with the reason it must be quarantined for.

Every entry is ``(name, record, reason)``: ``reason`` is a fragment the
quarantine entry's error must contain. The records start from valid ones
(``tests.support.records``) and break exactly one thing.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from tests.support.records import ARN, customer, lesson, order

_SEQ = iter(range(900, 2000))


def _order() -> dict:
    return order("c-bad", f"o{next(_SEQ)}", seq=next(_SEQ))


def _customer() -> dict:
    return customer("c-bad", seq=next(_SEQ))


def _moved_lesson() -> dict:
    return lesson("l-bad", "s2", old_song="s1", seq=next(_SEQ))


def broken(base: Callable[[], dict], change: Callable[[dict], Any]) -> dict:
    raw = copy.deepcopy(base())
    change(raw)
    return raw


def _deep(levels: int) -> dict:
    value: dict = {"S": "x"}
    for _ in range(levels):
        value = {"M": {"a": value}}
    return value


def _set(path: list, value: Any) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        target = raw
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
    return change


def _delete(path: list) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        target = raw
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]
    return change


NEW = ["dynamodb", "NewImage"]
SECRET = "do-not-leak"  # in every customer's undeclared password_hash (tests.support.records)


def _all(*changes: Callable[[dict], None]) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        for one in changes:
            one(raw)
    return change

CORPUS: list[tuple[str, Any, str]] = [
    ("string instead of a record", "INSERT c1", "record is not an object"),
    ("list instead of a record", [1, 2, 3], "record is not an object"),
    ("missing dynamodb", broken(_order, _delete(["dynamodb"])), "no 'dynamodb' object"),
    ("dynamodb is a string", broken(_order, _set(["dynamodb"], "x")), "no 'dynamodb' object"),
    ("missing eventName", broken(_order, _delete(["eventName"])), "unknown eventName"),
    ("unknown eventName", broken(_order, _set(["eventName"], "UPSERT")), "unknown eventName 'UPSERT'"),
    ("eventName is a number", broken(_order, _set(["eventName"], 7)), "unknown eventName"),
    ("missing eventSourceARN", broken(_order, _delete(["eventSourceARN"])), "eventSourceARN is missing"),
    ("Kinesis ARN", broken(_order, _set(["eventSourceARN"], "arn:aws:kinesis:us-east-1:1:stream/x")), "not a DynamoDB stream ARN"),
    ("unknown table ARN", broken(_order, _set(["eventSourceARN"], ARN.format(table="invoices"))), "table 'invoices' is not part of the model"),
    ("escape sequences in the ARN", broken(_order, _set(["eventSourceARN"], ARN.format(table="orders\x1b]0;owned\x07"))),
     "is not part of the model"),
    ("missing SequenceNumber", broken(_order, _delete(["dynamodb", "SequenceNumber"])), "SequenceNumber must be a string of digits"),
    ("SequenceNumber not digits", broken(_order, _set(["dynamodb", "SequenceNumber"], "12ab")), "SequenceNumber must be a string of digits"),
    ("SequenceNumber of 200 characters", broken(_order, _set(["dynamodb", "SequenceNumber"], "9" * 199 + "x")),
     "SequenceNumber must be a string of digits"),
    ("missing creation time", broken(_order, _delete(["dynamodb", "ApproximateCreationDateTime"])), "ApproximateCreationDateTime"),
    ("creation time garbage", broken(_order, _set(["dynamodb", "ApproximateCreationDateTime"], "yesterday")), "ApproximateCreationDateTime"),
    ("negative creation time", broken(_order, _set(["dynamodb", "ApproximateCreationDateTime"], -5)), "not a plausible time"),
    ("creation time in milliseconds", broken(_order, _set(["dynamodb", "ApproximateCreationDateTime"], 1_790_000_000_000)),
     "milliseconds"),
    ("creation time 1e308", broken(_order, _set(["dynamodb", "ApproximateCreationDateTime"], 1e308)), "not a plausible time"),
    ("creation time 1e5000", broken(_order, _set(["dynamodb", "ApproximateCreationDateTime"], "1e5000")), "not a plausible time"),
    ("creation time of 5000 digits", broken(_order, _set(["dynamodb", "ApproximateCreationDateTime"], "9" * 5000)),
     "not a plausible time"),
    ("missing Keys", broken(_order, _delete(["dynamodb", "Keys"])), "item must be an object"),
    ("Keys lacks range key", broken(_order, _delete(["dynamodb", "Keys", "order_id"])), "lacks key attribute 'order_id'"),
    ("key of the wrong type", broken(_order, _set(["dynamodb", "Keys", "order_id"], {"N": "1"})), "key attribute 'order_id' must be S"),
    ("INSERT without NewImage", broken(_order, _delete(NEW)), "without NewImage"),
    ("MODIFY of a joining item without OldImage", broken(_moved_lesson, _delete(["dynamodb", "OldImage"])),
     "MODIFY without OldImage on table 'lessons'"),
    ("REMOVE of a joining item without OldImage", broken(lambda: lesson("l-bad", "s1", remove=True, seq=next(_SEQ)),
                                                         _delete(["dynamodb", "OldImage"])), "REMOVE without OldImage"),
    ("empty string key", broken(_order, _set(["dynamodb", "Keys", "order_id"], {"S": ""})), "key attribute 'order_id' is empty"),
    ("Arabic-Indic digits", broken(_order, _set(NEW + ["total"], {"N": "\u0661\u0662\u0663"})), "N value is not a number"),
    ("NewImage key differs from Keys", broken(_order, _set(NEW + ["order_id"], {"S": "elsewhere"})), "NewImage key differs from Keys"),
    ("NewImage is a list", broken(_order, _set(NEW, [1])), "NewImage: item must be an object"),
    ("two type keys", broken(_order, _set(NEW + ["status"], {"S": "paid", "N": "1"})), "exactly one type key"),
    ("unknown type", broken(_order, _set(NEW + ["status"], {"STRING": "paid"})), "unknown attribute type 'STRING'"),
    ("NaN", broken(_order, _set(NEW + ["total"], {"N": "NaN"})), "NewImage.total: N value is not a number"),
    ("Infinity", broken(_order, _set(NEW + ["total"], {"N": "Infinity"})), "N value is not a number"),
    ("out of range", broken(_order, _set(NEW + ["total"], {"N": "1e999"})), "outside DynamoDB's range"),
    ("39 digits", broken(_order, _set(NEW + ["total"], {"N": "1" * 39})), "more than 38 significant digits"),
    ("N as a JSON number", broken(_order, _set(NEW + ["total"], {"N": 10.5})), "N value must be a string"),
    ("invalid base64", broken(_order, _set(NEW + ["blob"], {"B": "***"})), "B value is not valid base64"),
    ("lone surrogate", broken(_order, _set(NEW + ["currency"], {"S": "EU\ud800"})), "not valid UTF-8"),
    ("lone surrogate in a name", broken(_order, _set(NEW + ["\udc80"], {"S": "x"})), "not valid UTF-8"),
    ("nesting 40 deep", broken(_order, _set(NEW + ["items"], _deep(40))), "nesting deeper than 32 levels"),
    ("nesting 500 deep in a declared attribute", broken(_customer, _set(NEW + ["name"], _deep(500))),
     "NewImage.name.<key>.<key>"),
    ("nesting 500 deep in an undeclared attribute", broken(_order, _set(NEW + ["items"], _deep(500))),
     "nesting deeper than 32 levels"),
    ("a malformed key of an undeclared map", broken(_customer, _set(NEW + ["api_tokens"], {"M": {f"tok_live_{SECRET}": {"N": "1x"}}})),
     "NewImage.<undeclared>.<key>: N value is not a number"),
    ("image over 400 KB", broken(_order, _set(NEW + ["notes"], {"S": "x" * 410_000})), "larger than DynamoDB's 400 KB limit"),
    ("empty string set", broken(_order, _set(NEW + ["tags"], {"SS": []})), "non-empty list"),
    ("duplicate set members", broken(_order, _set(NEW + ["tags"], {"SS": ["a", "a"]})), "contains duplicates"),
    ("BOOL as a string", broken(_customer, _set(NEW + ["marketing_opt_in"], {"BOOL": "yes"})), "BOOL value must be true or false"),
    ("NULL false", broken(_order, _set(NEW + ["currency"], {"NULL": False})), "NULL value must be true"),
    ("status as a list", broken(_order, _set(NEW + ["status"], {"L": [{"S": "paid"}]})), "attribute 'status' must be S|N, not L"),
    ("song pointer as a number", broken(lambda: lesson("l-bad", "s1", seq=next(_SEQ)), _set(NEW + ["song_id"], {"N": "7"})),
     "attribute 'song_id' must be S: it points at table 'songs'"),
    ("total as a string", broken(_order, _set(NEW + ["total"], {"S": "ten"})), "attribute 'total' must be N, not S"),
    ("opt-in as a string", broken(_customer, _set(NEW + ["marketing_opt_in"], {"S": "true"})), "attribute 'marketing_opt_in' must be BOOL, not S"),
    ("customer name as a map", broken(_customer, _set(NEW + ["name"], {"M": {}})), "attribute 'name' must be S, not M"),
    ("a secret in a malformed undeclared attribute", broken(_customer, _set(NEW + ["password_hash"], {"S": f"pbkdf2${SECRET}", "N": "1"})),
     "exactly one type key"),
    ("a secret in an image that is a list", broken(_customer, _set(NEW, [{"password_hash": {"S": f"pbkdf2${SECRET}"}}])),
     "NewImage: item must be an object"),
    ("a secret in a record of an unknown table", broken(_customer, _set(["eventSourceARN"], ARN.format(table="accounts"))),
     "table 'accounts' is not part of the model"),
    ("a secret in an unknown field", broken(_customer, _all(_set(["debug"], {"password_hash": f"pbkdf2${SECRET}"}),
                                                            _set(["eventName"], "UPSERT"))), "unknown eventName"),
    ("a secret in the old image of a broken record", broken(_customer, _all(_set(["dynamodb", "OldImage"], {
        "customer_id": {"S": "c-bad"}, "password_hash": {"S": f"old-{SECRET}"}}), _set(NEW + ["name"], {"N": "1"}))),
     "attribute 'name' must be S, not N"),
    ("a record that is a string holding a secret", f"INSERT customers password_hash={SECRET}", "record is not an object"),
]
