"""Decode plus translate, against boto3's ``TypeDeserializer`` on exactly the same images.

Both sides turn the same typed images into Python values: the ``Keys``,
the ``NewImage`` and, where a record has one, the ``OldImage`` (dynafold
needs it to tell which documents an item left). dynafold also validates
what DynamoDB itself would refuse (types, 38 significant digits, ranges,
UTF-8, size, depth), checks the keys, orders the record and translates it
into domain events for every aggregate; the baseline only deserializes
(its ``TypeDeserializer`` does refuse numbers beyond its 38-digit context).

Two more columns say where dynafold's time goes: its validating decoder
alone on exactly the baseline's images (``decode_map``), and the whole
stream record made a ``SourceRecord`` (decoder, record checks, the frozen
values the fold takes), before translation.
"""

from __future__ import annotations

import statistics
import time

from boto3.dynamodb.types import TypeDeserializer

from benchmarks.pairs import ROUNDS, alternate
from benchmarks.pairs import spread as ratio_spread
from benchmarks.workloads import modified, spread
from dynafold.projector.intake.dynamodb_json import decode_map
from dynafold.projector.intake.records import decode_stream_record
from dynafold.sample import MODEL


class _NoLookup:
    def item(self, source):
        return None

    def items(self, sources):
        return {}

    def query(self, query):
        return []


def _baseline(records: list[dict]) -> float:
    deserializer = TypeDeserializer()
    started = time.perf_counter()
    for raw in records:
        stream = raw["dynamodb"]
        for image in ("Keys", "NewImage", "OldImage"):
            if image in stream:
                {k: deserializer.deserialize(v) for k, v in stream[image].items()}
    return time.perf_counter() - started


def _decoder_alone(records: list[dict]) -> float:
    started = time.perf_counter()
    for raw in records:
        stream = raw["dynamodb"]
        for image in ("Keys", "NewImage", "OldImage"):
            if image in stream:
                decode_map(stream[image])
    return time.perf_counter() - started


def _records(records: list[dict]) -> float:
    started = time.perf_counter()
    for raw in records:
        decode_stream_record(raw, MODEL)
    return time.perf_counter() - started


def _ours(records: list[dict]) -> float:
    lookup = _NoLookup()
    plan = MODEL.plan("orders")
    started = time.perf_counter()
    for raw in records:
        plan.translate(decode_stream_record(raw, MODEL), lookup)
    return time.perf_counter() - started


def compare(n: int = 20_000, rounds: int = ROUNDS) -> list[dict]:
    rows = []
    for label, records in (("INSERT", spread(n, 2_000)), ("MODIFY with old image", modified(spread(n, 2_000)))):
        pairs = alternate(lambda: _ours(records), lambda: _baseline(records), rounds)
        floor = statistics.median(t for _, t in pairs)
        decoder = statistics.median(_decoder_alone(records) for _ in range(rounds))
        decoded = statistics.median(_records(records) for _ in range(rounds))
        ours = statistics.median(o for o, _ in pairs)
        rows.append({"records": f"{n:,} order records ({label})", "TypeDeserializer µs/record": round(floor / n * 1e6, 1),
                     "dynafold decoder alone µs/record": f"{decoder / n * 1e6:.1f} ({decoder / floor:.2f}x)",
                     "dynafold SourceRecord µs/record": round(decoded / n * 1e6, 1),
                     "dynafold decode+translate µs/record": round(ours / n * 1e6, 1),
                     "ratio": ratio_spread(o / t for o, t in pairs), "goal": "<= 1.5"})
    return rows
