"""The fold state as every store keeps it: numbered, so the next change of format has a place to go.

Format 2 (written now)::

    {"format": 2, "slots": {"<slot key>": [<version>, <slice or null>, true if settled], ...}}

Format 1, written before the format had a number, is the slot map alone
(``AggregateState.to_json``); it has no ``format`` key and still loads.
A store that meets a format newer than this dynafold reads refuses to load
the document (``UnknownStateFormat``, a configuration error: an older
dynafold deployed beside a newer one) rather than overwrite what it cannot
read: the records wait and are redelivered.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from dynafold.domain.state import AggregateState
from dynafold.projector.errors import ConfigurationError

FORMAT = 2


class UnknownStateFormat(ConfigurationError):
    """A document's fold state was written by a newer dynafold."""


def dump_state(state: AggregateState) -> dict[str, Any]:
    return {"format": FORMAT, "slots": state.to_json()}


def load_state(stored: Optional[Mapping[str, Any]]) -> AggregateState:
    if not stored:
        return AggregateState()
    version = stored.get("format")
    if version is None:
        return AggregateState.from_json(stored)
    if version == FORMAT:
        return AggregateState.from_json(stored["slots"])
    raise UnknownStateFormat(f"a document's fold state has format {version!r}; this dynafold reads up to {FORMAT}: "
                             "upgrade every function and command that writes these views to the same version")
