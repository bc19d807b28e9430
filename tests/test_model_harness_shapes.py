"""The model harness (``testkit.check_model``) on models of shapes the four of
``test_model_harness.py`` do not have.

- numbers and binaries as keys: a root keyed by a number, children whose parent attribute is a
  number, joins whose pointing attribute is a number or a binary, a root keyed by a binary
  (``tests/models/shapes_numeric.py``);
- composite ids: a root with a hash and a range key, children with two parent attributes, a join
  ``on`` a composite key, joins onto entities (pinned by the sort key, or by a non-key attribute)
  (``tests/models/shapes_composite.py``);
- one table in many roles: children in one aggregate and a join target in another, three joins
  onto one table from different roles, a join from a child to the root table of another aggregate,
  a table joined onto itself, and ``derive`` aggregating over children and joins
  (``tests/models/shapes_roles.py``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from dynafold.testing import check_model
from tests.models import shapes_composite, shapes_numeric, shapes_roles

# As in test_model_harness.py: about half a second per example.
EXAMPLES = {"thorough": 2_000}.get(os.environ.get("HYPOTHESIS_PROFILE", "ci"), 60)
HARNESS = settings(max_examples=EXAMPLES, stateful_step_count=30, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# What these models found, each fixed with a test of its own: a join pointer of type N or B read back
# from a store's JSON (``test_batch``), and, in the test kit, moto's binary stream keys and parallel
# scans of binary keys (``test_dynamodb_local``).


def test_numeric_and_binary_keys_converge():
    check_model(shapes_numeric.MODEL, settings=HARNESS)


def test_composite_ids_composite_joins_and_entity_joins_converge():
    check_model(shapes_composite.MODEL, settings=HARNESS)


def test_one_table_in_many_roles_converges():
    check_model(shapes_roles.MODEL, settings=HARNESS)
