"""Configuration: every environment variable dynafold reads, read here and nowhere else.

A flag given on the command line overrides its variable. ``VARIABLES`` is
the documented list (the README's table is checked against it); a module
that needs a setting asks ``setting(NAME)`` or takes a ``Settings``, so no
other module calls ``os.environ``. The model is never guessed: without
``--model`` or ``DYNAFOLD_MODEL`` a command refuses to run (only ``demo``
uses the sample), so a missing variable cannot silently project the sample
model against real tables.
"""

from __future__ import annotations

import importlib
import os
from typing import Mapping, Optional

import attrs

from domain.model import Model
from domain.tables import ModelError
from projector.errors import ConfigurationError

DEFAULT_STORE = "sqlite:///dynafold.db"
SAMPLE_MODEL = "domain.sample:MODEL"

__all__ = ["ConfigurationError", "Settings", "VARIABLES", "load_model", "setting"]


@attrs.frozen
class Variable:
    name: str
    meaning: str
    default: Optional[str] = None


VARIABLES: tuple[Variable, ...] = (
    Variable("DYNAFOLD_MODEL", "`module:attribute` of the model; required (flag `--model`)"),
    Variable("DYNAFOLD_STORE", "document store URL: `sqlite:///views.db`, `opensearch+https://host:443`, "
                               "`memory://` (flag `--store`)", DEFAULT_STORE),
    Variable("DYNAFOLD_QUARANTINE", "quarantine and checkpoint URL; required with OpenSearch "
                                    "(`dynamodb://table` or `sqlite:///file`) (flag `--quarantine`)",
             "the SQLite store's own file"),
    Variable("DYNAFOLD_TABLES", "logical=physical table names, comma-separated (flag `--table-names`)", "identity"),
    Variable("DYNAFOLD_LOG_LEVEL", "log level of the Lambda functions and the CLI (flag `--log-level`)", "INFO"),
    Variable("DYNAFOLD_TIME_MARGIN_MS", "a stream or re-drive invocation stops when less time is left",
             "5000 (stream), 60000 (re-drive)"),
    Variable("DYNAFOLD_DOCUMENT_CACHE", "documents a warm stream container remembers from its own writes "
                                        "(0 turns the cache off)", "10000"),
    Variable("DYNAFOLD_REPLAY_MARGIN_MS", "a replay step stops when less time is left", "20000"),
    Variable("DYNAFOLD_REPLAY_PAGE_SIZE", "items per scan page in a replay step", "DynamoDB's 1 MB pages"),
    Variable("DYNAFOLD_AWS_CONNECT_TIMEOUT_S", "connect timeout of every AWS call", "2"),
    Variable("DYNAFOLD_AWS_READ_TIMEOUT_S", "read timeout of every AWS call", "5"),
    Variable("DYNAFOLD_AWS_MAX_ATTEMPTS", "attempts per AWS call, the first included (botocore standard mode)", "3"),
    Variable("DYNAFOLD_OPENSEARCH_USERNAME", "basic-auth user for an OpenSearch store URL without user info"),
    Variable("DYNAFOLD_OPENSEARCH_PASSWORD", "basic-auth password, with the user above"),
    Variable("POWERTOOLS_SERVICE_NAME", "the `service` of log lines and metrics", "dynafold"),
    Variable("POWERTOOLS_METRICS_NAMESPACE", "CloudWatch namespace of the metrics", "dynafold"),
    Variable("AWS_LAMBDA_INITIALIZATION_TYPE", "set by Lambda; `provisioned-concurrency` marks no cold start"),
    Variable("TMPDIR", "scratch space of a re-drive's verify", "/tmp"),
    Variable("AWS_ENDPOINT_URL", "read by boto3 itself: moto's server or DynamoDB Local instead of AWS"),
)
_NAMES = frozenset(v.name for v in VARIABLES)


def setting(name: str, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The value of a documented variable (empty counts as unset); an undocumented name is a bug."""
    if name not in _NAMES:
        raise KeyError(f"{name} is not one of dynafold's documented variables")
    value = (os.environ if env is None else env).get(name)
    return value or None


def positive_setting(name: str, kind: type, default, env: Optional[Mapping[str, str]] = None):
    """A documented variable that must be a positive, finite number of ``kind`` (int or float)."""
    text = setting(name, env)
    if text is None:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} is not a {'whole ' if kind is int else ''}number") from None
    if not 0 < value < float("inf"):
        raise ConfigurationError(f"{name}={text!r} must be positive")
    return value


def _integer(name: str, env: Optional[Mapping[str, str]], default: Optional[int]) -> Optional[int]:
    text = setting(name, env)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} is not a whole number") from None


@attrs.frozen
class Settings:
    """What a command or a function needs to wire itself, flags over variables over defaults."""

    model: Optional[str] = None
    store: str = attrs.field(default=DEFAULT_STORE, repr=lambda url: repr(redact(url)))
    quarantine: Optional[str] = None
    tables: Optional[str] = None
    log_level: str = "INFO"
    time_margin_ms: Optional[int] = None
    document_cache: Optional[int] = None
    replay_margin_ms: Optional[int] = None
    replay_page_size: Optional[int] = None
    scratch_dir: str = "/tmp"

    @classmethod
    def load(cls, env: Optional[Mapping[str, str]] = None, **flags: Optional[str]) -> "Settings":
        """Settings from ``env`` (default: the process environment), each overridden by a flag given."""
        def pick(flag: str, name: str, default=None):
            value = flags.get(flag)
            return value if value not in (None, "") else (setting(name, env) or default)

        return cls(
            model=pick("model", "DYNAFOLD_MODEL"),
            store=pick("store", "DYNAFOLD_STORE", DEFAULT_STORE),
            quarantine=pick("quarantine", "DYNAFOLD_QUARANTINE"),
            tables=pick("tables", "DYNAFOLD_TABLES"),
            log_level=log_level(pick("log_level", "DYNAFOLD_LOG_LEVEL", "INFO")),
            time_margin_ms=_integer("DYNAFOLD_TIME_MARGIN_MS", env, None),
            document_cache=_integer("DYNAFOLD_DOCUMENT_CACHE", env, None),
            replay_margin_ms=_integer("DYNAFOLD_REPLAY_MARGIN_MS", env, None),
            replay_page_size=_integer("DYNAFOLD_REPLAY_PAGE_SIZE", env, None),
            scratch_dir=setting("TMPDIR", env) or "/tmp",
        )

    def load_model(self) -> Model:
        return load_model(self.model)

    def table_names(self, model: Model):
        return table_names(model, self.tables)

    def quarantine_url(self, store_url: str) -> str:
        return quarantine_url(store_url, self.quarantine)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def log_level(text: str) -> str:
    if text.upper() not in LOG_LEVELS:
        raise ConfigurationError(f"log level {text!r} is not one of {', '.join(LOG_LEVELS)} (DYNAFOLD_LOG_LEVEL, --log-level)")
    return text.upper()


def load_model(spec: Optional[str]) -> Model:
    """The model named ``module:attribute``; a clear error when there is none or it cannot work."""
    if not spec:
        raise ConfigurationError(
            "no model: pass --model module:attribute or set DYNAFOLD_MODEL "
            f"(the sample is {SAMPLE_MODEL}; `dynafold demo` runs it without AWS)"
        )
    module_name, _, attribute = spec.partition(":")
    try:
        model = getattr(importlib.import_module(module_name), attribute or "MODEL")
    except ModelError as error:
        raise ConfigurationError(f"model {spec!r} cannot work: {error}") from None
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(f"cannot load model {spec!r}: {error}") from None
    except Exception as error:  # the model's own module failed while importing: the user's code, not dynafold
        raise ConfigurationError(f"cannot load model {spec!r}: importing it raised {type(error).__name__}: {error}") from None
    if not isinstance(model, Model):
        raise ConfigurationError(f"{spec!r} is not a domain.model.Model")
    return model


def table_names(model: Model, text: Optional[str] = None):
    """The logical→physical mapping of ``model``'s tables (``text``: ``customers=prod-customers,...``)."""
    from projector.table_names import TableNames

    return TableNames.parse(text, model.tables)


def quarantine_url(store: str, flag: Optional[str] = None) -> str:
    """The quarantine goes where the flag says, else with the store: the same SQLite file, or memory
    for ``memory://``; an OpenSearch store has no place for it, so one must be named."""
    url = flag or (store if store.startswith(("sqlite:///", "memory://")) else None)
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
