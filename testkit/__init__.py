"""Test suites dynafold ships for its users: the model harness (``check_model``).

The store contract, for authors of other stores, is ``testkit.store_contract``
(imported on its own: it needs pytest, this package does not).
"""

from testkit.harness import check_model
from testkit.threads import check_threads

__all__ = ["check_model", "check_threads"]
