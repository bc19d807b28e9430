"""TableOrEntity records: one decoded observation of one source item.

Stream records, scan rows, export lines and consistent reads all become the
same value, so one set of translators serves the live path and replay alike.
"""

from __future__ import annotations

import enum
from typing import Any, Mapping, Optional

import attrs

from dynafold.domain.source import SourceItem, SourceVersion


class Origin(enum.Enum):
    STREAM = "stream"
    SCAN = "scan"
    EXPORT = "export"


@attrs.frozen
class RecordRef:
    """What names a record in errors, logs and the quarantine (never its contents)."""

    table: str
    event_id: str = ""
    sequence: str = ""

    def __str__(self) -> str:
        parts = [self.table]
        if self.event_id:
            parts.append(f"eventID {self.event_id}")
        if self.sequence:
            parts.append(f"seq {self.sequence}")
        return "record " + ", ".join(parts)


@attrs.frozen
class SourceRecord:
    """The state of one source item after a change (``image``), or its removal.

    ``image`` is ``None`` when the item was removed; ``old_image`` is the
    image before the change, when the stream carries it; ``expired`` tells a
    TTL removal by the DynamoDB service from a delete by a user. ``left``
    holds other earlier images (a quarantine retry passes the quarantined
    record's): every document they belonged to that ``image`` does not gets
    the item's removal.
    """

    ref: RecordRef
    item: SourceItem
    version: SourceVersion
    image: Optional[Mapping[str, Any]]
    origin: Origin = Origin.STREAM
    old_image: Optional[Mapping[str, Any]] = None
    expired: bool = False
    left: tuple[Mapping[str, Any], ...] = ()

    @property
    def removed(self) -> bool:
        return self.image is None

    @property
    def table(self) -> str:
        return self.item.table
