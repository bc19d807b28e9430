"""Logical table names (the model's) and physical ones (the deployment's).

A model names ``customers``; the deployed table may be ``prod-customers``.
Everything at the edge that meets a physical name (a stream ARN, a scan, a
lookup, an export manifest) translates through one ``TableNames``, so the
model and every document stay in logical names. Configured as
``customers=prod-customers,orders=prod-orders`` (``DYNAFOLD_TABLES`` or
``--table-names``); a logical table without a mapping keeps its own name.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional

import attrs

from dynafold.projector.errors import ConfigurationError


class TableNameError(ConfigurationError, ValueError):
    pass


@attrs.frozen
class TableNames:
    physical_of: Mapping[str, str] = attrs.field(factory=dict, converter=dict)

    _logical_of: dict = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        physical = list(self.physical_of.values())
        if len(set(physical)) != len(physical):
            raise TableNameError(f"two logical tables map to one physical table: {sorted(physical)}")
        object.__setattr__(self, "_logical_of", {v: k for k, v in self.physical_of.items()})

    @classmethod
    def parse(cls, text: Optional[str], logical: Iterable[str] = ()) -> "TableNames":
        """``logical=physical`` pairs, comma-separated; every logical name must belong to the model, once."""
        pairs: dict[str, str] = {}
        known = set(logical)
        for part in (text or "").split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, physical = part.partition("=")
            name, physical = name.strip(), physical.strip()
            if not sep or not name or not physical:
                raise TableNameError(f"table mapping {part!r} must be LOGICAL=PHYSICAL")
            if known and name not in known:
                raise TableNameError(f"table mapping {part!r}: the model has no table {name!r} (it has {sorted(known)})")
            if name in pairs:
                raise TableNameError(f"table mapping: {name!r} is mapped twice ({name}={pairs[name]} and {part}); "
                                     "name each table once")
            pairs[name] = physical
        return cls(pairs)

    def physical(self, logical: str) -> str:
        return self.physical_of.get(logical, logical)

    def logical(self, physical: str) -> Optional[str]:
        """The logical name of a physical table, or None if it is not one of the model's tables."""
        found = self._logical_of.get(physical)
        if found is not None:
            return found
        if physical in self.physical_of:
            return None  # a logical name that is mapped elsewhere is not itself a deployed table
        return physical

    def to_text(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(self.physical_of.items()))


IDENTITY = TableNames()
