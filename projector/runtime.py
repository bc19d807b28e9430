"""The one place a running dynafold is wired: model, names, store, quarantine, clients, projector.

The stream Lambda, the replay step, the re-drive function, the CLI and the
replay's worker processes all build what they use from a ``Settings`` here,
so a store URL, a quarantine default or a lookup is chosen the same way
everywhere. Clients and the quarantine are made on first use: a read
command that never needs DynamoDB never builds a client.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable, Optional

from domain.model import Model
from projector.config import Settings
from projector.stores.base import DocumentStore
from projector.table_names import TableNames

LOCAL_CHECKPOINTS = "sqlite:///dynafold-checkpoints.db"


class Runtime:
    """Everything a command or a function works with, opened from one ``Settings``."""

    def __init__(self, settings: Settings, model: Model, store: DocumentStore, *, read_only: bool = False,
                 quarantine: Any = None, clients: Optional[dict[str, Any]] = None,
                 clock: Optional[Callable[[], int]] = None) -> None:
        """``quarantine``, ``clients`` (by service name) and ``clock`` replace what would be opened
        from the settings: tests and embedders hand in their own."""
        self.settings = settings
        self.model = model
        self.names: TableNames = settings.table_names(model)
        self.store = store
        self.read_only = read_only
        self._clients: dict[str, Any] = dict(clients or {})
        self._clock = clock
        if quarantine is not None:
            self.__dict__["quarantine"] = quarantine

    @classmethod
    def open(cls, settings: Settings, *, read_only: bool = False, model: Optional[Model] = None) -> "Runtime":
        """Load the model and open the store (``read_only``: an SQLite file is never created or written)."""
        from projector.stores import open_store

        model = model if model is not None else settings.load_model()
        settings.table_names(model)  # a bad mapping fails before the store is touched
        return cls(settings, model, open_store(settings.store, read_only=read_only), read_only=read_only)

    def client(self, service: str) -> Any:
        """One client per service for the runtime's life (made with ``projector.aws``'s settings)."""
        if service not in self._clients:
            from projector import aws

            self._clients[service] = aws.client(service)
        return self._clients[service]

    @property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @property
    def quarantine_url(self) -> str:
        return self.settings.quarantine_url(self.store.url)

    @functools.cached_property
    def quarantine(self):
        from projector.quarantine import open_quarantine

        return open_quarantine(self.quarantine_url, read_only=self.read_only)

    def checkpoints_url(self, flag: Optional[str] = None) -> str:
        """Checkpoints go where the flag says, else into the SQLite store's own file, else a local file."""
        if flag:
            return flag
        return self.store.url if self.store.url.startswith("sqlite:///") else LOCAL_CHECKPOINTS

    def checkpoints(self, url: Optional[str] = None):
        from projector.checkpoints import open_checkpoints

        return open_checkpoints(url or self.checkpoints_url(), read_only=self.read_only)

    def lookup_factory(self) -> Callable[[], Any]:
        from projector.lookup import DynamoLookup

        client, model, names = self.dynamodb, self.model, self.names
        return lambda: DynamoLookup(client, model, names=names)

    def clock(self) -> Callable[[], int]:
        """DynamoDB's time in microseconds (the ``Date`` of its answers), for ``T_start``."""
        if self._clock is not None:
            return self._clock
        from projector.server_clock import server_time_us

        client = self.dynamodb
        return lambda: server_time_us(client)

    def projector(self, *, aggregates: Optional[Iterable[str]] = None, cursors: Any = None,
                  cache_capacity: Optional[int] = None, **options: Any):
        """A projector on this runtime's store and quarantine; ``cache_capacity`` 0 turns the
        document cache off (default: ``DYNAFOLD_DOCUMENT_CACHE``, else 10,000)."""
        from projector.batch import Projector
        from projector.document_cache import DEFAULT_CAPACITY, DocumentCache

        capacity = cache_capacity if cache_capacity is not None else self.settings.document_cache
        capacity = DEFAULT_CAPACITY if capacity is None else capacity
        return Projector(self.model, self.store, self.quarantine, lookup_factory=self.lookup_factory(),
                         names=self.names, aggregates=aggregates, cursors=cursors,
                         cache=DocumentCache(capacity) if capacity else None, **options)
