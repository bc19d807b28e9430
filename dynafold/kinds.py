"""Field kinds: what a declared attribute may hold, and how the stores index it.

``fields=dict(name=text, total=decimal, placed_at=datetime, home=geo_point)``;
``objects(...)`` and ``object_(...)`` take the subfields of a list of objects
and of one object. ``point(lat, lon)`` composes a ``geo_point`` in a
``derive`` from two numbers (None when either is missing).
"""

from typing import Any, Optional

from dynafold.domain.kinds import (
    boolean,
    datetime,
    decimal,
    geo_point,
    integer,
    keyword,
    keywords,
    object_,
    objects,
    text,
)


def point(lat: Any, lon: Any) -> Optional[dict[str, Any]]:
    """A ``geo_point`` value from two numbers, or None when either is None (an item without a location)."""
    return None if lat is None or lon is None else {"lat": lat, "lon": lon}


__all__ = ["boolean", "datetime", "decimal", "geo_point", "integer", "keyword", "keywords", "object_", "objects",
           "point", "text"]
