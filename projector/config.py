"""Configuration from environment variables (flags override them in the CLI).

- ``DYNAFOLD_STORE``: document store URL (``sqlite:///views.db``,
  ``opensearch+https://host:443``, ``memory://``).
- ``DYNAFOLD_QUARANTINE``: quarantine URL; by default the store's own SQLite
  file (or memory), and required for OpenSearch (``dynamodb://table``).
- ``DYNAFOLD_MODEL``: ``module:attribute`` of the model (default: the sample).
- ``DYNAFOLD_TABLES``: logical=physical table names (``customers=prod-customers,...``).
- ``DYNAFOLD_TIME_MARGIN_MS``: stop a Lambda batch when less time is left.
- ``DYNAFOLD_DOCUMENT_CACHE``: documents a warm container remembers from its own writes (default
  10,000; 0 turns the cache off).
- ``AWS_ENDPOINT_URL``: honoured by boto3 itself (moto, DynamoDB Local).
"""

from __future__ import annotations

import importlib
import os
from typing import Mapping, Optional

from domain.model import Model
from domain.tables import ModelError

DEFAULT_MODEL = "domain.sample:MODEL"
DEFAULT_STORE = "sqlite:///dynafold.db"


class ConfigurationError(Exception):
    pass


def load_model(spec: Optional[str] = None) -> Model:
    spec = spec or os.environ.get("DYNAFOLD_MODEL") or DEFAULT_MODEL
    module_name, _, attribute = spec.partition(":")
    try:
        model = getattr(importlib.import_module(module_name), attribute or "MODEL")
    except ModelError as error:
        raise ConfigurationError(f"model {spec!r} cannot work: {error}") from None
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(f"cannot load model {spec!r}: {error}") from None
    if not isinstance(model, Model):
        raise ConfigurationError(f"{spec!r} is not a domain.model.Model")
    return model


def table_names(model: Model, flag: Optional[str] = None, env: Mapping[str, str] = os.environ):
    from projector.table_names import TableNameError, TableNames

    try:
        return TableNames.parse(flag if flag is not None else env.get("DYNAFOLD_TABLES"), model.tables)
    except TableNameError as error:
        raise ConfigurationError(str(error)) from None


def store_url(flag: Optional[str] = None, env: Mapping[str, str] = os.environ) -> str:
    return flag or env.get("DYNAFOLD_STORE") or DEFAULT_STORE


def quarantine_url(store: str, flag: Optional[str] = None, env: Mapping[str, str] = os.environ) -> str:
    from projector.quarantine import default_quarantine_url

    url = flag or env.get("DYNAFOLD_QUARANTINE") or default_quarantine_url(store)
    if url is None:
        raise ConfigurationError(
            "DYNAFOLD_QUARANTINE is required with this store (for example dynamodb://dynafold-control "
            "or sqlite:///quarantine.db): poison records must be kept somewhere durable"
        )
    return url


def redact(url: str) -> str:
    """A URL fit for logs and errors: user info and query parameters removed."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    path = rest[len(rest.split("/", 1)[0]):].split("?", 1)[0]
    return f"{scheme}://{host}{path}"
