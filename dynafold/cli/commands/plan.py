"""``dynafold plan-rebuild``: the time and cost of a large rebuild, from the capacity model (``deploy/capacity``)."""

from __future__ import annotations

import json

import attrs

from dynafold.projector.errors import EXIT_OK


def plan_rebuild(args) -> int:
    from dynafold.deploy.capacity import Limits, Measured, plan

    measured = Measured(cpu_us_per_item=args.cpu_us_per_item, domain_cpu_us_per_item=args.domain_cpu_us_per_item,
                        sent_bytes_per_read_byte=args.sent_per_read_byte, item_bytes=args.measured_item_bytes)
    limits = Limits(scan_mb_per_s_per_segment=args.scan_mb_per_s, table_read_units_per_s=args.table_read_units,
                    data_nodes=args.data_nodes, vcpus_per_node=args.vcpus_per_node, replicas=args.replicas)
    found = plan(args.items, args.item_bytes, segments=args.segments, memory_mb=args.memory_mb, arch=args.arch,
                 measured=measured, limits=limits)
    if args.format == "json":
        print(json.dumps({**attrs.asdict(found), "total_cost": found.total_cost}, indent=2))
        return EXIT_OK
    gib = args.items * args.item_bytes / 2**30
    print(f"rebuild of {args.items:,} items of {args.item_bytes:,.0f} bytes ({gib:,.1f} GiB)")
    print(f"  segments: {found.segments:,} (one replay function each, {args.memory_mb} MB {args.arch})")
    print(f"  throughput: {found.items_per_s:,.0f} items/s ({found.segment_items_per_s:,.0f} per segment), "
          f"limited by {found.bottleneck}")
    print(f"  time: {_duration(found.seconds)} ({args.data_nodes} data nodes of {args.vcpus_per_node} vCPUs, "
          f"{args.replicas} replica(s); {found.sent_bytes / 2**30:,.0f} GiB sent to the domain)")
    print(f"  cost: DynamoDB reads ${found.read_cost:,.2f} (or an S3 export ${found.export_cost:,.2f}), "
          f"Lambda ${found.lambda_cost:,.2f}, Step Functions ${found.steps_cost:,.2f}: ${found.total_cost:,.2f} "
          "(the domain's own hours not included)")
    return EXIT_OK


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds / 3600:,.1f} h"
