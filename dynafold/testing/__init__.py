"""The checks dynafold ships for its users' own models and stores (needs the ``testing`` extra:
``pip install 'dynafold[testing]'``; without it, importing this package says so).

- ``check_model(model)``: the promise, as a hypothesis state machine over the
  model's own tables in moto: generated writes, Lambda-like delivery,
  racing projectors, replays; every document must equal what the final
  tables imply.
- ``check_threads(model)``: the same under real threads.
- ``assert_fold_converges(aggregate, events)``: the fold law for a
  ``derive`` (no moto needed).
- ``dynafold.testing.store_contract``: the store contract as pytest cases,
  for authors of another ``DocumentStore``.
"""

from dynafold.projector.errors import require_extra

require_extra("dynafold.testing", "testing", ("hypothesis", "moto"))

from dynafold.domain.fold_law import FoldLawViolation, assert_fold_converges  # noqa: E402
from dynafold.testing.harness import check_model
from dynafold.testing.threads import check_threads

__all__ = ["FoldLawViolation", "assert_fold_converges", "check_model", "check_threads"]
