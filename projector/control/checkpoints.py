"""Checkpoints: where a shard reader or a replay segment got to.

A checkpoint is written only after the work before it is durably stored, so
resuming re-reads at most what was in flight. Keys are strings such as
``stream/orders/shardId-…`` or ``replay/customer_v2/orders/3of8``. Each
technology keeps them in its own way, opened by URL (``stores.open_checkpoints``).
"""

from __future__ import annotations

from typing import Optional, Protocol


class Checkpoints(Protocol):
    def get(self, key: str) -> Optional[str]: ...
    def put(self, key: str, value: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...
    def items(self, prefix: str = "") -> list[tuple[str, str]]:
        """Every checkpoint whose key starts with ``prefix``, sorted by key (``dynafold status``)."""
