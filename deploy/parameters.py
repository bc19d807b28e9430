"""``dynafold deploy parameters``: a stack's parameter values, read from the region's own tables.

The template is the same in every region; a stack differs only in these
values: the physical table names, each source table's stream ARN (a global
table has one stream per replica, so one stack per region reads its own
region's), the store URL and the domain. Each stream must be
``NEW_AND_OLD_IMAGES``: items move between documents, and only the old
image says which one they left; anything else is refused here, before a
deployment could silently leave items behind.
"""

from __future__ import annotations

from typing import Any

from dynafold.deploy.cfn import unique_ids
from dynafold.deploy.template import DeployError, source_tables
from dynafold.domain.model import Model
from dynafold.projector.table_names import TableNames


def stack_parameters(model: Model, client: Any, names: TableNames, store_url: str, domain_arn: str) -> dict[str, str]:
    """Parameter values for a stack of ``model`` in ``client``'s region."""
    ids = unique_ids(model.tables)
    values = {"StoreUrl": store_url, "OpenSearchDomainArn": domain_arn}
    for table in sorted(model.tables):
        values[f"{ids[table]}TableName"] = names.physical(table)
    for table in source_tables(model):
        physical = names.physical(table)
        description = client.describe_table(TableName=physical)["Table"]
        view = (description.get("StreamSpecification") or {}).get("StreamViewType")
        if not description.get("LatestStreamArn") or view != "NEW_AND_OLD_IMAGES":
            raise DeployError(f"table {physical!r} (the model's {table!r}) must have a NEW_AND_OLD_IMAGES stream "
                              f"(it has {view or 'none'}): the old image says which document an item left")
        values[f"{ids[table]}StreamArn"] = description["LatestStreamArn"]
    return values


def overrides(values: dict[str, str]) -> str:
    """One ``Key=Value`` per line, for ``sam deploy --parameter-overrides $(cat FILE)``."""
    for key, value in values.items():
        if any(c.isspace() for c in value):
            raise DeployError(f"parameter {key} holds whitespace, which --parameter-overrides cannot carry")
    return "".join(f"{key}={value}\n" for key, value in values.items())
