"""Test suites dynafold ships for its users: the model harness (``check_model``)."""

from testkit.harness import check_model
from testkit.threads import check_threads

__all__ = ["check_model", "check_threads"]
