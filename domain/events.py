"""Domain events: immutable, state-carrying facts about one source item.

An event says "order o-7 is now {status: shipped, total: 42}", never "add 1
to order_count": applying the latest state of each source item is what makes
the fold independent of delivery order (see ARCHITECTURE.md).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping, Optional

import attrs

from domain.source import SourceItem, SourceVersion

_ROUTING = "dynafold.routing"


def routing(**kwargs: Any) -> Any:
    """An event field that says where the event goes, not what the item holds.

    Fan-out targets found by a translator's lookup are routing fields: they
    are not part of the slice a document stores.
    """
    metadata = dict(kwargs.pop("metadata", {}) or {})
    metadata[_ROUTING] = True
    return attrs.field(metadata=metadata, **kwargs)


@attrs.frozen(kw_only=True)
class DomainEvent:
    """Base of every domain event: which source item, and how new."""

    source: SourceItem
    version: SourceVersion

    @property
    def removed(self) -> bool:
        return False

    def state(self) -> Optional[Mapping[str, Any]]:
        """The slice this event carries: its non-routing fields (``None`` for a removal)."""
        return {name: getattr(self, name) for name in _state_fields(type(self))}


@attrs.frozen(kw_only=True)
class ItemChanged(DomainEvent):
    """The source item now exists in the state the subclass's fields carry."""


@attrs.frozen(kw_only=True)
class ItemRemoved(DomainEvent):
    """The source item no longer exists; ``expired`` when its TTL removed it."""

    expired: bool = routing(default=False)

    @property
    def removed(self) -> bool:
        return True

    def state(self) -> None:
        return None


@lru_cache(maxsize=None)
def _state_fields(cls: type) -> tuple[str, ...]:
    base = {field.name for field in attrs.fields(DomainEvent)}
    return tuple(
        field.name
        for field in attrs.fields(cls)
        if field.name not in base and not field.metadata.get(_ROUTING)
    )


@attrs.frozen(kw_only=True)
class SliceObserved(DomainEvent):
    """A slice already projected elsewhere, applied as it is (``data`` None: the item is gone).

    ``verify --repair`` folds the slices of a freshly derived document into
    the stored one with these: the watermarks decide, as for any event, so a
    repair never overwrites newer information.
    """

    data: Optional[Mapping[str, Any]] = None

    @property
    def removed(self) -> bool:
        return self.data is None

    def state(self) -> Optional[Mapping[str, Any]]:
        return None if self.data is None else dict(self.data)
