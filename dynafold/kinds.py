"""Field kinds: what a declared attribute may hold, and how the stores index it.

``fields=dict(name=text, total=decimal, placed_at=datetime)``; ``objects(...)``
and ``object_(...)`` take the subfields of a list of objects and of one object.
"""

from dynafold.domain.kinds import boolean, datetime, decimal, integer, keyword, keywords, object_, objects, text

__all__ = ["boolean", "datetime", "decimal", "integer", "keyword", "keywords", "object_", "objects", "text"]
