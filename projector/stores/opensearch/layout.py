"""Where an aggregate lives in the cluster, and how a document is laid out in its ``_source``.

Names
    One index per physical target, ``<prefix><target>`` (``customer_v1``),
    written through its own alias ``<prefix><target>.write``, made with the
    index and gone with it; the readers' alias ``<prefix><aggregate>``; the
    control index ``<prefix>dynafold_control``. The prefix lets several
    deployments share a cluster.

A document
    Its ``_source`` is what readers see: the visible body's declared fields
    (none for a tombstone) and nothing else. The engine's own object,
    ``dynafold: {id, visible, fold_state, numbers}``, is sent with it and kept
    out of the stored ``_source`` by the mapping (``_source.excludes``): ``id``
    and ``visible`` are indexed (the readers' alias filters on ``visible``),
    ``visible``, ``fold_state`` (the fold state as JSON text) and ``numbers``
    are stored fields, read back with ``stored_fields`` (``STORED``).

Exact numbers
    Excluding a field makes OpenSearch store ``_source`` re-serialized from
    its parsed form, where a fraction is a ``double``. A number that comes
    back with its own digits (``_kept_as_a_number``: every integer, and
    ``42.5``, the money amounts DynamoDB holds, which trims trailing zeros) is
    sent as a number. Any other (``42.50`` from a ``derive``, 38 digits, 1E-9)
    is sent as the string of its exact digits (numeric mappings take it), and
    its path goes into ``numbers``, so the engine reads it back as the very
    ``Decimal`` it was. Only such documents take the slow path.

The first layout
    Targets made before this layout (format 1) keep the engine's object in
    ``_source`` (``state`` as ``{"json": text}`` or an object). Both layouts
    are read; a write to an old target is refused by its mapping once, and
    from then on the store writes that target in its own layout
    (``TargetMappings``) until a rebuild makes a target from this one.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Mapping, Optional

import attrs
import orjson

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


VISIBLE_FIELD = f"{META}.visible"
STATE_FIELD = f"{META}.fold_state"  # not ``state``: a first-layout index maps that as an object, and
# asking an index for a stored field that is an object there fails the whole read
NUMBERS_FIELD = f"{META}.numbers"
STORED = [VISIBLE_FIELD, STATE_FIELD, NUMBERS_FIELD]
"""The ``stored_fields`` every read of documents asks for (a target of the first layout has none of them)."""
READER_STORED = [VISIBLE_FIELD, NUMBERS_FIELD]
"""What a reader's search asks for beside ``_source``: enough to restore exact numbers, not the fold state."""


FIRST_LAYOUT_META = {"properties": {"id": {"type": "keyword"}, "visible": {"type": "boolean"},
                                    "state": {"type": "object", "enabled": False}}}
"""How a target of the first layout maps the engine's object (``TargetMappings`` knows it by its lack of ``fold_state``)."""


class _NotKept(Exception):
    pass


def _kept_as_a_number(text: str) -> bool:
    """Whether OpenSearch's re-serialization gives back these very digits (``text``: a number's own).

    It reads a number as a ``long``, a big integer or a ``double`` and writes a double as Java's
    ``Double.toString`` does: the shortest digits that read back as that double, plainly written between
    0.001 and 10,000,000, in scientific notation outside. So an integer comes back as it went,
    and a fraction does when it has at most 15 significant digits (a double tells every such number apart,
    so no shorter digits name it), no trailing zero (``42.50`` would come back ``42.5``) and lies in that
    plain range. Only the string is looked at: this runs for every number of every write.
    """
    if "." not in text:
        return True
    unsigned = text[1:] if text[0] == "-" else text
    whole = unsigned.index(".")
    return (text[-1] != "0" and whole <= 7 and not unsigned.startswith("0.000")
            and len(unsigned.lstrip("0.").replace(".", "")) <= 15)


def _number_for_readers(value: Any) -> Any:
    """``codec``'s encoding, except that a number whose digits OpenSearch would change stops the fast path."""
    if type(value) is Decimal and value.is_finite():
        text = format(value, "f")
        if not _kept_as_a_number(text):
            raise _NotKept
        return orjson.Fragment(text)
    return codec.encode_default(value)


def source_text(write: DocumentWrite, *, first_layout: bool = False) -> str:
    """The ``_source`` a write sends, as JSON text: the body and the engine's object (see the module)."""
    if first_layout:
        return codec.dumps(_first_layout_source(write))
    body: Mapping[str, Any] = write.body if write.body is not None else {}
    meta: dict[str, Any] = {"id": write.key.id, "visible": write.body is not None,
                            "fold_state": codec.dumps(dump_state(write.state))}
    try:
        return orjson.dumps({**body, META: meta}, default=_number_for_readers).decode()
    except TypeError:  # a number OpenSearch would change, or one orjson cannot write: the careful path
        exact, numbers = _strings_for_numbers(body, ())
        if numbers:
            meta["numbers"] = [codec.dumps(path) for path in numbers]
        return codec.dumps({**exact, META: meta})


def _strings_for_numbers(value: Any, path: tuple) -> tuple[Any, list[tuple]]:
    """``value`` with every number OpenSearch would change made a string, and the paths of those strings."""
    if type(value) is Decimal and value.is_finite():
        text = format(value, "f")
        return (value, []) if _kept_as_a_number(text) else (text, [path])
    if isinstance(value, Mapping):
        out, found = {}, []
        for name, item in value.items():
            out[name], inner = _strings_for_numbers(item, path + (name,))
            found.extend(inner)
        return out, found
    if isinstance(value, (list, tuple)):
        items, found = [], []
        for index, item in enumerate(value):
            converted, inner = _strings_for_numbers(item, path + (index,))
            items.append(converted)
            found.extend(inner)
        return items, found
    return value, []


def _first_layout_source(write: DocumentWrite) -> dict[str, Any]:
    source: dict[str, Any] = dict(write.body) if write.body is not None else {}
    source[META] = {"id": write.key.id, "visible": write.body is not None, "state": pack_state(write.state)}
    return source


def body_of(source: Mapping[str, Any], numbers: Any = None) -> dict[str, Any]:
    """What a reader sees of a ``_source`` (everything but a first-layout document's engine object), with the
    numbers sent as strings (``numbers``, their paths) made ``Decimal`` again."""
    body = {name: value for name, value in source.items() if name != META}
    for text in numbers or ():
        _restore(body, codec.loads(text))
    return body


def _restore(value: Any, path: list) -> None:
    for step in path[:-1]:
        value = value[step]
    value[path[-1]] = Decimal(value[path[-1]])


def visible(hit: Mapping[str, Any]) -> bool:
    """Whether a ``_mget`` entry, ``get`` answer or search hit is a visible document (not a tombstone)."""
    stored = (hit.get("fields") or {}).get(VISIBLE_FIELD)
    if stored is not None:
        return stored == [True]
    return bool(((hit.get("_source") or {}).get(META) or {}).get("visible"))


def reader_body(hit: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """The body a hit shows a reader, or None for a tombstone."""
    if not visible(hit):
        return None
    return body_of(hit.get("_source") or {}, (hit.get("fields") or {}).get(NUMBERS_FIELD))


PACKED = "json"


def pack_state(state: AggregateState) -> dict[str, str]:
    """The fold state (``state_format``) as one JSON text inside the ``enabled: false`` object.

    The node stores both shapes alike, but skipping an object's tokens costs it about five times the
    server time of skipping one string of the same bytes (10,000 spread writes on OpenSearch 3.6.0:
    1.36 s against 0.20 s, ``benchmarks.stream``).
    """
    return {PACKED: codec.dumps(dump_state(state))}


def unpack_state(stored: Any) -> AggregateState:
    """The fold state as either layout holds it: the stored text, ``pack_state``'s object, or the object
    itself (format 1)."""
    if isinstance(stored, str):
        return load_state(codec.loads(stored))
    if isinstance(stored, Mapping) and isinstance(stored.get(PACKED), str) and len(stored) == 1:
        return load_state(codec.loads(stored[PACKED]))
    return load_state(stored)


def stored_document(key: DocKey, hit: Mapping[str, Any]) -> StoredDocument:
    """A ``_mget`` entry or a search hit (with ``seq_no_primary_term`` and ``STORED``) as the port's document."""
    state = (hit.get("fields") or {}).get(STATE_FIELD)
    stored = state[0] if state else ((hit.get("_source") or {}).get(META) or {}).get("state")
    return StoredDocument(key, (hit["_seq_no"], hit["_primary_term"]), unpack_state(stored), reader_body(hit))
