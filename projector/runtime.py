"""The one place a running dynafold is wired: model, names, store, quarantine, clients, projector.

The stream Lambda, the replay step, the re-drive function, the CLI and the
replay's worker processes all build what they use from a ``Settings`` here,
so a store URL, a quarantine default or a lookup is chosen the same way
everywhere. Clients and the quarantine are made on first use: a read
command that never needs DynamoDB never builds a client.

Every ``Projector`` is built by ``build_projector``, which gives each
purpose its retry policy: the stream's short write backoff, or the
replay's longer one (a scan, an export or a rebuild shares the store with
live projectors and has minutes, not seconds).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from dynafold.domain.model import Model
from dynafold.projector.config import Settings
from dynafold.projector.engine.batch import Projector
from dynafold.projector.engine.document_cache import DocumentCache
from dynafold.projector.retry import REPLAY_WRITES, WRITES, Backoff
from dynafold.projector.stores.base import DocumentStore
from dynafold.projector.table_names import IDENTITY, TableNames

LOCAL_CHECKPOINTS = "sqlite:///dynafold-checkpoints.db"
STREAM, REPLAY = "stream", "replay"
_WRITE_BACKOFF = {STREAM: WRITES, REPLAY: REPLAY_WRITES}


def build_projector(model: Model, store: DocumentStore, quarantine: Any, *, purpose: str = STREAM,
                    lookup_factory: Optional[Callable[[], Any]] = None, names: TableNames = IDENTITY,
                    aggregates: Optional[Iterable[str]] = None, targets: Optional[Mapping[str, Sequence[str]]] = None,
                    cursors: Any = None, cache: Optional[DocumentCache] = None, backoff: Optional[Backoff] = None,
                    **tuning: Any) -> Projector:
    """A projector for ``purpose`` (``STREAM`` or ``REPLAY``), with that purpose's write backoff unless
    ``backoff`` is given; ``tuning`` (``sleep``, ``rng``, ``fan_out_page``) is for tests and benchmarks."""
    if purpose not in _WRITE_BACKOFF:
        raise ValueError(f"purpose must be {STREAM!r} or {REPLAY!r}, not {purpose!r}")
    options: dict[str, Any] = dict(tuning)
    if lookup_factory is not None:
        options["lookup_factory"] = lookup_factory
    return Projector(model, store, quarantine, backoff=backoff or _WRITE_BACKOFF[purpose], names=names,
                     aggregates=aggregates, targets=targets, cursors=cursors,
                     cache=cache, **options)


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
        from dynafold.projector.stores import open_store

        model = model if model is not None else settings.load_model()
        settings.table_names(model)  # a bad mapping fails before the store is touched
        return cls(settings, model, open_store(settings.store, read_only=read_only), read_only=read_only)

    def client(self, service: str) -> Any:
        """One client per service for the runtime's life (made with ``dynafold.projector.aws.clients``'s settings)."""
        if service not in self._clients:
            from dynafold.projector.aws import clients as aws

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
        from dynafold.projector.stores import open_quarantine

        return open_quarantine(self.quarantine_url, read_only=self.read_only)

    def checkpoints_url(self, flag: Optional[str] = None) -> str:
        """Checkpoints go where the flag says, else into the SQLite store's own file, else a local file."""
        if flag:
            return flag
        return self.store.url if self.store.url.startswith("sqlite:///") else LOCAL_CHECKPOINTS

    def checkpoints(self, url: Optional[str] = None):
        from dynafold.projector.stores import open_checkpoints

        return open_checkpoints(url or self.checkpoints_url(), read_only=self.read_only)

    def lookup_factory(self) -> Callable[[], Any]:
        from dynafold.projector.aws.lookup import DynamoLookup

        client, model, names = self.dynamodb, self.model, self.names
        return lambda: DynamoLookup(client, model, names=names)

    def clock(self) -> Callable[[], int]:
        """DynamoDB's time in microseconds (the ``Date`` of its answers), for ``T_start``."""
        if self._clock is not None:
            return self._clock
        from dynafold.projector.aws.server_clock import server_time_us

        client = self.dynamodb
        return lambda: server_time_us(client)

    def projector(self, *, purpose: str = STREAM, cache_capacity: Optional[int] = None, **options: Any) -> Projector:
        """A projector on this runtime's store, quarantine, lookups and names; ``cache_capacity`` 0 turns
        the document cache off (default: ``DYNAFOLD_DOCUMENT_CACHE`` for the stream, none for a replay)."""
        if cache_capacity is None:
            cache_capacity = self.settings.document_cache if purpose == STREAM else 0
        return build_projector(self.model, self.store, self.quarantine, purpose=purpose,
                               lookup_factory=self.lookup_factory(), names=self.names,
                               cache=DocumentCache(cache_capacity) if cache_capacity else None, **options)
