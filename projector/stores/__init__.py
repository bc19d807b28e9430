"""Document stores behind one port (``projector.stores.base``), chosen by URL."""

from __future__ import annotations

from projector.stores.base import DocumentStore
from projector.errors import ConfigurationError


def open_store(url: str, *, read_only: bool = False) -> DocumentStore:
    """``memory://``, ``sqlite:///path.db`` or ``opensearch+http(s)://host:port``; ``read_only`` opens
    an SQLite file for reading only (nothing is created) and never refreshes an OpenSearch index."""
    if url.startswith("memory://"):
        from projector.stores.memory import MemoryStore

        return MemoryStore(url)
    if url.startswith("sqlite:///"):
        from projector.stores.sqlite import SQLiteStore

        return SQLiteStore(url, read_only=read_only)
    if url.startswith(("opensearch+http://", "opensearch+https://")):
        from projector.stores.opensearch import OpenSearchStore

        return OpenSearchStore.from_url(url, read_only=read_only)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise ConfigurationError(
        f"unknown store URL scheme {scheme!r}: use memory://, sqlite:///path.db or opensearch+https://host:port"
    )
