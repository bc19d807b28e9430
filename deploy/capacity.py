"""How long a rebuild of a large table takes through the generated state machine, and what it costs.

A plain model of the pipeline ``replay --rebuild`` runs in AWS: a
Distributed Map of segment workers (the replay function, one Lambda
invocation after another per segment, each reading its next 1 MB page
while it writes the last) scanning DynamoDB and writing to the domain.

- A segment's worker spends its CPU on a page, then waits while the
  domain indexes it: its pace is ``1 / (worker CPU + domain CPU)`` per
  item, or its scan's, whichever is slower (the scan is read ahead, so it
  overlaps). Part of the domain's work (refreshes, merges) does run beside
  the worker, so this errs low: on 100,000 items here, in two runs, the
  scan phase ran at 1.04-1.22x what it predicts with 1, 2 and 4 segments;
  taking the slower of the two instead (full overlap) erred high by up to
  1.30x.
- All segments together are limited by the table's read units (a replay's
  scan is strongly consistent: one unit per 4 KB) and by the domain's
  vCPUs, each item indexed once per copy (primary and replicas).

The two CPU figures depend on the model and scale with the item's size
(linear, from the size they were measured at); ``benchmarks.rebuild``
measures them with one segment (the defaults are the sample model's, on
the development machine: an x86-64 laptop-class core; a Lambda vCPU or a
domain's is not the same core, so measure in your own account before
trusting an hour). Every figure can be given instead, so a user can redo
the plan with their own numbers (``dynafold plan-rebuild``).

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
READ_UNIT_BYTES = 4096  # one strongly consistent read unit


@attrs.frozen
class Measured:
    """What one item of a given model costs (``benchmarks.rebuild``, one segment), at ``item_bytes``."""

    cpu_us_per_item: float = 150.0  # the segment worker's CPU, user + system
    domain_cpu_us_per_item: float = 86.0  # the OpenSearch node's CPU, one copy of each document
    sent_bytes_per_read_byte: float = 3.4  # request bytes to the domain per byte scanned
    item_bytes: float = 234.0  # the average item size these were measured at (the 1:1 refill's bytes per item)

    def scaled(self, item_bytes: float) -> "Measured":
        """The same model's figures for items of ``item_bytes`` (CPU grows with the bytes handled)."""
        factor = item_bytes / self.item_bytes
        return attrs.evolve(self, cpu_us_per_item=self.cpu_us_per_item * factor,
                            domain_cpu_us_per_item=self.domain_cpu_us_per_item * factor, item_bytes=item_bytes)


@attrs.frozen
class Limits:
    """The ceilings the plan respects; each can be raised by a quota request or a bigger domain."""

    scan_mb_per_s_per_segment: float = 8.0  # one segment's sequential 1 MB pages
    table_read_units_per_s: float = 40_000  # DynamoDB on-demand's default per-table maximum
    data_nodes: int = 3
    vcpus_per_node: int = 2  # e.g. r6g.large.search
    replicas: int = 1  # each document is indexed on its primary and on every replica
    max_concurrency: int = 10_000  # child executions of a Distributed Map


def segment_rate(measured: Measured, limits: Limits, item_bytes: float, cpu_share: float = 1.0) -> float:
    """Items per second one segment worker reaches on its own (``cpu_share`` of a vCPU)."""
    per_item = measured.scaled(item_bytes)
    by_work = 1e6 / (per_item.cpu_us_per_item / cpu_share + per_item.domain_cpu_us_per_item)
    return min(by_work, limits.scan_mb_per_s_per_segment * 2**20 / item_bytes)


@attrs.frozen
class Prices:
    read_request_unit: float = 0.125 / 1e6  # on-demand, per RRU: a strongly consistent Scan uses one per 4 KB of items it returns
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
    sent_bytes: float

    @property
    def total_cost(self) -> float:
        return self.read_cost + self.lambda_cost + self.steps_cost


def plan(items: int, item_bytes: float, *, segments: Optional[int] = None, memory_mb: int = 3008,
         arch: str = "arm64", measured: Measured = Measured(), limits: Limits = Limits(),
         prices: Prices = Prices()) -> Plan:
    """The rebuild of ``items`` items of ``item_bytes`` bytes on average; ``segments`` None picks the
    fewest that reach the slowest shared limit (the table's reads or the domain's vCPUs)."""
    if items <= 0 or item_bytes <= 0:
        raise ValueError("items and item bytes must be positive")
    cpu_share = min(1.0, memory_mb / LAMBDA_MB_PER_VCPU)  # one Python process uses at most one vCPU
    per_item = measured.scaled(item_bytes)
    one = segment_rate(measured, limits, item_bytes, cpu_share)
    shared = {
        "the table's read limit": limits.table_read_units_per_s * READ_UNIT_BYTES / item_bytes,
        "the domain's vCPUs": limits.data_nodes * limits.vcpus_per_node * 1e6
                              / (per_item.domain_cpu_us_per_item * (1 + limits.replicas)),
    }
    if segments is None:
        segments = max(1, min(limits.max_concurrency, math.ceil(min(shared.values()) / one)))
    rates = {**shared, "the segments' own pace": segments * one}  # a tie names the shared limit
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
        read_cost=read_bytes / READ_UNIT_BYTES * prices.read_request_unit,
        export_cost=read_bytes / GB * prices.export_per_gb,
        lambda_cost=gb_s * (prices.lambda_gb_s_arm64 if arch == "arm64" else prices.lambda_gb_s_x86_64)
        + steps * prices.lambda_request,
        steps_cost=(steps * 3 + segments * 4) * prices.state_transition,
        sent_bytes=read_bytes * measured.sent_bytes_per_read_byte,
    )
