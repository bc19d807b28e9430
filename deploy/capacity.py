"""How long a rebuild of a large table takes through the generated state machine, and what it costs.

A plain model of the pipeline ``replay --rebuild`` runs in AWS: a
Distributed Map of segment workers (the replay function, one Lambda
invocation after another per segment, each reading its next 1 MB page
while it writes the last) scanning DynamoDB and writing to the domain.
Every segment is limited by the slower of its scan and its CPU; all of them
together by the table's read limit and the domain's indexing rate. The
figures that depend on the model (CPU per item, bytes sent per byte read)
are measured by ``benchmarks.rebuild``; the defaults are the sample model's
on the development machine, and every figure can be given instead, so a
user can redo the plan with their own numbers (``dynafold plan-rebuild``).

Prices are us-east-1's public on-demand prices (DynamoDB's after its
November 2024 reduction); give yours with the options. Nothing here calls
AWS.
"""

from __future__ import annotations

import math
from typing import Optional

import attrs

GB = 1024**3
LAMBDA_MB_PER_VCPU = 1769  # Lambda gives a function one vCPU at 1,769 MB
STEP_SECONDS = 900 - 20  # a replay step works until its 15-minute timeout minus DYNAFOLD_REPLAY_MARGIN_MS


@attrs.frozen
class Measured:
    """What one segment worker of a given model costs per item (``benchmarks.rebuild``, 1 segment)."""

    cpu_us_per_item: float = 180.0
    sent_bytes_per_read_byte: float = 2.6


@attrs.frozen
class Limits:
    """The ceilings the plan respects; each can be raised by a quota request or a bigger domain."""

    scan_mb_per_s_per_segment: float = 8.0  # one segment's sequential 1 MB pages
    table_read_units_per_s: float = 40_000  # DynamoDB on-demand's default per-table maximum
    indexing_mb_per_s_per_node: float = 15.0  # bulk bytes one data node takes in; measure yours
    data_nodes: int = 3
    max_concurrency: int = 10_000  # child executions of a Distributed Map


@attrs.frozen
class Prices:
    read_request_unit: float = 0.125 / 1e6  # on-demand, per RRU (two eventually consistent 4 KB reads)
    export_per_gb: float = 0.10  # a point-in-time export to S3, instead of scanning
    lambda_gb_s_arm64: float = 0.0000133334
    lambda_gb_s_x86_64: float = 0.0000166667
    lambda_request: float = 0.20 / 1e6
    state_transition: float = 0.025 / 1000  # Step Functions standard workflows


@attrs.frozen
class Plan:
    segments: int
    segment_items_per_s: float
    items_per_s: float
    bottleneck: str
    seconds: float
    read_cost: float
    export_cost: float
    lambda_cost: float
    steps_cost: float

    @property
    def total_cost(self) -> float:
        return self.read_cost + self.lambda_cost + self.steps_cost


def plan(items: int, item_bytes: float, *, segments: Optional[int] = None, memory_mb: int = 3008,
         arch: str = "arm64", measured: Measured = Measured(), limits: Limits = Limits(),
         prices: Prices = Prices()) -> Plan:
    """The rebuild of ``items`` items of ``item_bytes`` bytes on average; ``segments`` None picks the
    fewest that reach the slowest shared limit (the table's reads or the domain's indexing)."""
    if items <= 0 or item_bytes <= 0:
        raise ValueError("items and item bytes must be positive")
    cpu_share = min(1.0, memory_mb / LAMBDA_MB_PER_VCPU)  # one Python process uses at most one vCPU
    by_cpu = 1e6 / measured.cpu_us_per_item * cpu_share
    by_scan = limits.scan_mb_per_s_per_segment * 2**20 / item_bytes
    segment_rate = min(by_cpu, by_scan)
    shared = {
        "the table's read limit": limits.table_read_units_per_s * 8192 / item_bytes,
        "the domain's indexing rate": limits.indexing_mb_per_s_per_node * 2**20 * limits.data_nodes
                                      / (item_bytes * measured.sent_bytes_per_read_byte),
    }
    if segments is None:
        segments = max(1, min(limits.max_concurrency, math.ceil(min(shared.values()) / segment_rate)))
    rates = {("segment CPU" if by_cpu <= by_scan else "segment scan"): segments * segment_rate, **shared}
    bottleneck = min(rates, key=rates.get)
    rate = rates[bottleneck]
    seconds = items / rate
    read_bytes = items * item_bytes
    steps = segments * math.ceil(seconds / STEP_SECONDS)
    gb_s = segments * seconds * memory_mb / 1024
    return Plan(
        segments=segments,
        segment_items_per_s=rate / segments,
        items_per_s=rate,
        bottleneck=bottleneck,
        seconds=seconds,
        read_cost=read_bytes / 8192 * prices.read_request_unit,
        export_cost=read_bytes / GB * prices.export_per_gb,
        lambda_cost=gb_s * (prices.lambda_gb_s_arm64 if arch == "arm64" else prices.lambda_gb_s_x86_64)
        + steps * prices.lambda_request,
        steps_cost=(steps * 3 + segments * 4) * prices.state_transition,
    )
