"""The 1:1 refill: what the cheapest thing that could fill an index from the same tables does.

``python -m benchmarks.refill --dynamodb URL --opensearch URL --tables a,b --segments N --index-prefix P``:
the same parallel scan as a replay (every table in ``segments`` segments,
``segments`` worker processes, DynamoDB's 1 MB pages), each page written as
one ``_bulk`` of ``index`` actions, one document per item (its key as the
id, its attributes as they come): no reads, no fold, no concurrency
control. To index no less and no more than a rebuild, each table's index
maps the attributes the sample model declares with the same kinds (text is
analysed, numbers are doubles, dates are dates) and keeps the rest in
``_source`` unindexed. The baseline of ``benchmarks.rebuild``.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor

import boto3
import orjson
from boto3.dynamodb.types import TypeDeserializer
from opensearchpy import OpenSearch

_deserialize = TypeDeserializer().deserialize


def _plain(value):
    return str(value) if hasattr(value, "as_tuple") else value


def copy_segment(dynamodb_url: str, opensearch_url: str, table: str, segment: int, segments: int, index: str) -> int:
    dynamodb = boto3.client("dynamodb", endpoint_url=dynamodb_url, region_name="us-east-1",
                            aws_access_key_id="bench", aws_secret_access_key="bench")
    client = OpenSearch(hosts=[opensearch_url], timeout=120)
    keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]]
    copied, start = 0, None
    while True:
        kwargs = {"TableName": table, "Segment": segment, "TotalSegments": segments}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = dynamodb.scan(**kwargs)
        lines = []
        for item in page.get("Items", []):
            doc = {name: _plain(_deserialize(value)) for name, value in item.items()}
            lines.append(orjson.dumps({"index": {"_index": index, "_id": "|".join(str(doc[k]) for k in keys)}}))
            lines.append(orjson.dumps(doc, default=str))
        if lines:
            response = client.bulk(body=b"\n".join(lines) + b"\n", params={"filter_path": "errors"})
            if response.get("errors"):
                raise RuntimeError(f"{table} segment {segment}: the bulk request had errors")
            copied += len(lines) // 2
        start = page.get("LastEvaluatedKey")
        if not start:
            return copied


def table_mapping(table: str) -> dict:
    """The index body for ``table``: its declared attributes as the sample model's kinds map them."""
    from dynafold.projector.stores.opensearch.mappings import field_mapping
    from dynafold.sample import MODEL

    kinds = {}
    for role in MODEL.plans[table].members:
        kinds.update(dict(role.fields))
    for join in MODEL.plans[table].joined:
        kinds.update(dict(join.fields))
    properties = {name: field_mapping(kind.field(name)) for name, kind in kinds.items()}
    return {"mappings": {"dynamic": False, "properties": properties}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dynamodb", required=True)
    parser.add_argument("--opensearch", required=True)
    parser.add_argument("--tables", required=True)
    parser.add_argument("--segments", type=int, required=True)
    parser.add_argument("--index-prefix", required=True)
    args = parser.parse_args(argv)
    tables = args.tables.split(",")
    admin = OpenSearch(hosts=[args.opensearch], timeout=120)
    for table in tables:
        admin.indices.create(index=f"{args.index_prefix}{table}", body=table_mapping(table))
    tasks = [(t, s) for t in tables for s in range(args.segments)]
    with ProcessPoolExecutor(args.segments) as pool:
        copied = sum(pool.map(copy_segment, *zip(*[(args.dynamodb, args.opensearch, t, s, args.segments,
                                                     f"{args.index_prefix}{t}") for t, s in tasks])))
    print(copied)
    return 0


if __name__ == "__main__":
    sys.exit(main())
