"""dynafold benchmarks: ``python -m benchmarks.run [--quick] [--real-node]``.

Every figure is printed next to its baseline measured in the same run, on
the same server and the same records:

1. stream batches against the managed pipeline's way of writing (Data
   Prepper style: one ``_bulk`` of versioned ``index`` actions, no reads),
   on osmem and, with ``--real-node``, a real OpenSearch node: records/s,
   client CPU per record, round trips per batch;
2. decode plus translate against boto3's ``TypeDeserializer`` on the same
   images;
3. with ``--real-node``, ``replay --rebuild`` from DynamoDB Local into the
   real node against the 1:1 refill of the same tables
   (``benchmarks.rebuild``: items/s, client and node CPU, requests and bytes
   per 1,000 items, peak memory, the capacity model's check);
4. a 50,000-document fan-out: time per 1,000 documents, bytes per request;
5. a hot aggregate: concurrent projectors on one document.

``--quick`` skips the real node and the rebuild.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import decode, fanout, hot, rebuild, stream  # noqa: E402
from dynafold.handlers.entry import tune_gc  # noqa: E402

GOALS = "goals: spread >= 1.5x, clustered >= 3x records/s; CPU <= 1.5x per record; round trips 1 when warm"


def table(title: str, rows: list[dict]) -> None:
    print(f"\n## {title}\n")
    headers = list(rows[0])
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in headers) + " |")


def servers(real_node: bool):
    """(name, store URL, stop) for osmem and, if asked, a real node."""
    from osmem_server import OsmemServer

    osmem = OsmemServer.start()
    yield "osmem", osmem.clone().url.replace("http://", "opensearch+http://"), osmem.close
    if real_node:
        from tests.servers import opensearch_node

        node = opensearch_node.start()
        print(f"(real node: OpenSearch {node.version} on Java {node.java}, healthy {node.started_s:.1f} s after launch)")
        yield f"OpenSearch {node.version}", node.store_url, node.stop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="no real node, no rebuild")
    parser.add_argument("--real-node", action="store_true", help="also a real OpenSearch node (as DYNAFOLD_REAL_NODES=1)")
    parser.add_argument("--rebuild-items", type=int, default=500_000, help="items the rebuild's tables hold, 0 "
                        "skips the rebuild (default: %(default)s)")
    parser.add_argument("--rebuild-segments", default="1,2,4", help="(default: %(default)s)")
    parser.add_argument("--rebuild-rounds", type=int, default=3, help="(default: %(default)s)")
    args = parser.parse_args()
    real = (args.real_node or os.environ.get("DYNAFOLD_REAL_NODES") == "1") and not args.quick
    tune_gc()  # what the Lambda handler does at cold start; the baseline runs in the same process
    rows, fan_outs = [], []
    for name, url, stop in servers(real):
        try:
            rows += stream.compare(url, name)
            fan_outs.append(fanout.measure(url, name))
        finally:
            stop()
    table(f"1. Stream batches of 1,000 against the managed pipeline's way of writing ({GOALS})", rows)
    table("2. Decode plus translate against TypeDeserializer on the same images (goal <= 1.5x)", decode.compare())
    if real and args.rebuild_items > 0:
        table(f"3. Rebuild of {args.rebuild_items:,} items from DynamoDB Local into the real node against the 1:1 "
              "refill (dynafold / refill; goal: items/s ratio >= 1)",
              rebuild.main_rows(args.rebuild_items, [int(n) for n in args.rebuild_segments.split(",")],
                                args.rebuild_rounds))
    table("4. A 50,000-document fan-out (one song record)", fan_outs)
    table("5. Hot aggregate (one customer, 8 concurrent projectors)", [hot.measure()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
