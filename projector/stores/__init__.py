"""Where documents, the quarantine and the checkpoints live: one module or package per technology, chosen by URL.

One registry says which technology a URL names and what it can keep:

============================  =========  ==========  ===========
URL                           documents  quarantine  checkpoints
============================  =========  ==========  ===========
``memory://``                 yes        yes         yes
``sqlite:///path.db``         yes        yes         yes
``opensearch+https://host``   yes        no          no
``dynamodb://table``          no         yes         yes
============================  =========  ==========  ===========

A technology's module is imported only when a URL names it, so a Lambda on
SQLite never imports opensearch-py. ``read_only`` opens an SQLite file for
reading only (nothing is created) and never refreshes an OpenSearch index.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional

import attrs

from dynafold.projector.errors import ConfigurationError

_ROOT = __name__


@attrs.frozen
class Technology:
    """What one URL scheme keeps, as ``module:opener`` names (``None``: it cannot keep that)."""

    schemes: tuple[str, ...]
    example: str
    documents: Optional[str] = None
    quarantine: Optional[str] = None
    checkpoints: Optional[str] = None


TECHNOLOGIES = (
    Technology(("memory://",), "memory://", "memory:MemoryStore", "memory:MemoryQuarantine", "memory:MemoryCheckpoints"),
    Technology(("sqlite:///",), "sqlite:///path.db", "sqlite.store:SQLiteStore", "sqlite.quarantine:SQLiteQuarantine",
               "sqlite.checkpoints:SQLiteCheckpoints"),
    Technology(("opensearch+http://", "opensearch+https://"), "opensearch+https://host:port",
               "opensearch.store:OpenSearchStore"),
    Technology(("dynamodb://",), "dynamodb://table", None, "dynamodb:DynamoQuarantine", "dynamodb:DynamoCheckpoints"),
)


_NOUN = {"documents": "store", "quarantine": "quarantine", "checkpoints": "checkpoint"}


def technology(url: str) -> Optional[Technology]:
    return next((t for t in TECHNOLOGIES if url.startswith(t.schemes)), None)


def _open(what: str, url: str, read_only: bool) -> Any:
    chosen = technology(url)
    opener = getattr(chosen, what) if chosen is not None else None
    if opener is None:
        usable = ", ".join(t.example for t in TECHNOLOGIES if getattr(t, what) is not None)
        scheme = url.split("://", 1)[0] if "://" in url else url
        raise ConfigurationError(f"unknown {_NOUN[what]} URL scheme {scheme!r}: use {usable}")
    module, _, name = opener.partition(":")
    return getattr(importlib.import_module(f"{_ROOT}.{module}"), name).from_url(url, read_only=read_only)


def open_store(url: str, *, read_only: bool = False):
    """The document store at ``url``."""
    return _open("documents", url, read_only)


def open_quarantine(url: str, *, read_only: bool = False):
    """The quarantine at ``url`` (``read_only``: list and show only)."""
    return _open("quarantine", url, read_only)


def open_checkpoints(url: str, *, read_only: bool = False):
    """The checkpoints at ``url`` (``read_only``: ``dynafold status``)."""
    return _open("checkpoints", url, read_only)
