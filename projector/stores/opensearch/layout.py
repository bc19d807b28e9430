"""Where an aggregate lives in the cluster, and how a document is laid out in its ``_source``.

Names
    One index per physical target, ``<prefix><target>`` (``customer_v1``),
    written through its own alias ``<prefix><target>.write``, made with the
    index and gone with it; the readers' alias ``<prefix><aggregate>``; the
    control index ``<prefix>dynafold_control``. The prefix lets several
    deployments share a cluster.

A document
    Its visible body's declared fields at the top level (none for a tombstone
    document) plus ``dynafold: {id, visible, state}``. ``state`` is
    ``{"json": <the fold state as JSON text>}`` under a mapping with
    ``enabled: false`` (``pack_state`` says why a text), read back exactly:
    request and response bodies go through ``codec``, so a ``Decimal`` keeps
    every digit both ways.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

import attrs

from dynafold.domain.state import AggregateState
from dynafold.projector.errors import ConfigurationError
from dynafold.projector.stores import codec
from dynafold.projector.stores.base import DocKey, DocumentWrite, StoredDocument
from dynafold.projector.stores.opensearch.mappings import META
from dynafold.projector.stores.state_format import dump_state, load_state

CONTROL_INDEX = "dynafold_control"
WRITER_SUFFIX = ".write"
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,254}$")
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")


def check_prefix(prefix: str) -> None:
    """A prefix every index and alias name may start with (a ``ConfigurationError``, so exit 2, otherwise)."""
    if prefix and not _PREFIX.fullmatch(prefix):
        raise ConfigurationError(
            f"OpenSearch prefix {prefix!r} must be lower case letters, digits and . _ + - and not start with . _ + -"
        )


def _check_prefix(_: Any, __: Any, prefix: str) -> None:
    check_prefix(prefix)


@attrs.frozen
class Names:
    """The names of one deployment's indices and aliases."""

    prefix: str = attrs.field(default="", validator=_check_prefix)

    def index(self, target: str) -> str:
        name = self.prefix + target
        if not _INDEX_NAME.fullmatch(name):
            raise ValueError(f"target {target!r} does not make a valid OpenSearch index name ({name!r})")
        return name

    def alias(self, aggregate: str) -> str:
        return self.prefix + aggregate

    def writer(self, target: str) -> str:
        """The alias every write to ``target`` goes through (``require_alias``): it exists only with the index.
        Hidden, like the index, so a wildcard pattern (``<aggregate>*``) reaches documents through the
        readers' alias alone."""
        return self.index(target) + WRITER_SUFFIX

    def targets_of(self, aggregate: str) -> re.Pattern:
        """The index names an aggregate's targets may have (``customer_v1``, ``customer_v1_r1712345678``)."""
        return re.compile(re.escape(self.prefix + aggregate) + r"_v[0-9]+(?:_r[0-9]+)?")

    @property
    def control_index(self) -> str:
        return self.prefix + CONTROL_INDEX


def source_of(write: DocumentWrite) -> dict[str, Any]:
    """The ``_source`` a write sends: the body's fields and the engine's own ``dynafold`` object."""
    source: dict[str, Any] = dict(write.body) if write.body is not None else {}
    source[META] = {"id": write.key.id, "visible": write.body is not None, "state": pack_state(write.state)}
    return source


def body_of(source: Mapping[str, Any]) -> dict[str, Any]:
    """What a reader sees of a ``_source``: everything but the engine's object."""
    return {name: value for name, value in source.items() if name != META}


def visible(source: Mapping[str, Any]) -> bool:
    return bool((source.get(META) or {}).get("visible"))


PACKED = "json"


def pack_state(state: AggregateState) -> dict[str, str]:
    """The fold state (``state_format``) as one JSON text inside the ``enabled: false`` object.

    The node stores both shapes alike, but skipping an object's tokens costs it about five times the
    server time of skipping one string of the same bytes (10,000 spread writes on OpenSearch 3.6.0:
    1.36 s against 0.20 s, ``benchmarks.stream``).
    """
    return {PACKED: codec.dumps(dump_state(state))}


def unpack_state(stored: Any) -> AggregateState:
    """The fold state of ``pack_state``, or of a document written when it was an object (format 1)."""
    if isinstance(stored, Mapping) and isinstance(stored.get(PACKED), str) and len(stored) == 1:
        return load_state(codec.loads(stored[PACKED]))
    return load_state(stored)


def stored_document(key: DocKey, hit: Mapping[str, Any]) -> StoredDocument:
    """A ``_mget`` entry or a search hit (with ``seq_no_primary_term``) as the port's document."""
    source = hit.get("_source") or {}
    meta = source.get(META) or {}
    body: Optional[dict[str, Any]] = body_of(source) if meta.get("visible") else None
    return StoredDocument(key, (hit["_seq_no"], hit["_primary_term"]), unpack_state(meta.get("state")), body)
