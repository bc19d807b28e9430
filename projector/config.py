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
import math
import os
from typing import Any, Mapping, Optional

import attrs

from dynafold.domain.model import Model
from dynafold.domain.tables import ModelError
from dynafold.projector.errors import ConfigurationError

DEFAULT_STORE = "sqlite:///dynafold.db"
SAMPLE_MODEL = "dynafold.sample:MODEL"
STREAM_MARGIN_MS = 5_000
FAILURE_QUEUE_MARGIN_MS = 60_000
REPLAY_MARGIN_MS = 20_000
DOCUMENT_CACHE = 10_000

__all__ = ["ConfigurationError", "Settings", "VARIABLES", "load_model", "setting"]


@attrs.frozen
class Variable:
    """A documented variable; ``number`` (``int`` or ``float``) makes it a finite number above zero,
    or zero too with ``zero_allowed``, checked by ``number_setting`` wherever it is read."""

    name: str
    meaning: str
    default: Optional[str] = None
    number: Optional[type] = None
    zero_allowed: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable("DYNAFOLD_MODEL", "`module:attribute` of the model; required (flag `--model`)"),
    Variable("DYNAFOLD_STORE", "document store URL: `sqlite:///views.db`, `opensearch+https://host:443`, "
                               "`memory://` (flag `--store`)", DEFAULT_STORE),
    Variable("DYNAFOLD_QUARANTINE", "quarantine and checkpoint URL; required with OpenSearch "
                                    "(`dynamodb://table` or `sqlite:///file`) (flag `--quarantine`)",
             "the SQLite store's own file"),
    Variable("DYNAFOLD_TABLES", "logical=physical table names, comma-separated (flag `--table-names`)", "identity"),
    Variable("DYNAFOLD_LOG_LEVEL", "log level of the CLI and the Lambda functions (flag `--log-level`); in Lambda, "
                                   "`AWS_LAMBDA_LOG_LEVEL` wins over it and it wins over `POWERTOOLS_LOG_LEVEL`",
             "WARNING (CLI), INFO (Lambda)"),
    Variable("POWERTOOLS_LOG_LEVEL", "log level of the Lambda functions when `DYNAFOLD_LOG_LEVEL` is unset"),
    Variable("AWS_LAMBDA_LOG_LEVEL", "set by Lambda's advanced logging controls; the Lambda functions' log level"),
    Variable("DYNAFOLD_TIME_MARGIN_MS", "a stream or re-drive invocation stops when less time is left",
             "5000 (stream), 60000 (re-drive)", int),
    Variable("DYNAFOLD_DOCUMENT_CACHE", "documents a warm stream container remembers from its own writes "
                                        "(0 turns the cache off)", str(DOCUMENT_CACHE), int, zero_allowed=True),
    Variable("DYNAFOLD_REPLAY_MARGIN_MS", "a replay step stops when less time is left", "20000", int),
    Variable("DYNAFOLD_REPLAY_PAGE_SIZE", "items per scan page in a replay step", "DynamoDB's 1 MB pages", int),
    Variable("DYNAFOLD_AWS_CONNECT_TIMEOUT_S", "connect timeout of every AWS call", "2", float),
    Variable("DYNAFOLD_AWS_READ_TIMEOUT_S", "read timeout of every AWS call", "5", float),
    Variable("DYNAFOLD_AWS_MAX_ATTEMPTS", "attempts per AWS call, the first included (botocore standard mode)", "3",
             int),
    Variable("DYNAFOLD_OPENSEARCH_USERNAME", "basic-auth user for an OpenSearch store URL without user info"),
    Variable("DYNAFOLD_OPENSEARCH_PASSWORD", "basic-auth password, with the user above"),
    Variable("POWERTOOLS_SERVICE_NAME", "the `service` of log lines and metrics", "dynafold"),
    Variable("POWERTOOLS_METRICS_NAMESPACE", "CloudWatch namespace of the metrics", "dynafold"),
    Variable("AWS_LAMBDA_INITIALIZATION_TYPE", "set by Lambda; `provisioned-concurrency` marks no cold start"),
    Variable("TMPDIR", "scratch space of a re-drive's verify", "/tmp"),
    Variable("AWS_ENDPOINT_URL", "read by boto3 itself: moto's server or DynamoDB Local instead of AWS"),
    Variable("AWS_REGION", "set by Lambda; the region of SigV4-signed OpenSearch requests without `?aws_region=` "
                           "(`AWS_DEFAULT_REGION` outside Lambda)"),
    Variable("AWS_DEFAULT_REGION", "the region outside Lambda, as boto3 reads it"),
)
_BY_NAME = {v.name: v for v in VARIABLES}
_NAMES = frozenset(_BY_NAME)


def setting(name: str, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The value of a documented variable (empty counts as unset); an undocumented name is a bug."""
    if name not in _NAMES:
        raise KeyError(f"{name} is not one of dynafold's documented variables")
    value = (os.environ if env is None else env).get(name)
    return value or None


def number_setting(name: str, default: Any, env: Optional[Mapping[str, str]] = None) -> Any:
    """A numeric variable (its ``Variable`` says int or float, and whether 0 is allowed): its value, or
    ``default`` when unset; anything else (negative, zero, not a number, infinite) is an error naming
    the variable and the rule it broke."""
    spec = _BY_NAME[name]
    kind = spec.number
    if kind is None:
        raise KeyError(f"{name} is not one of dynafold's numeric variables")
    text = setting(name, env)
    if text is None:
        return default
    whole = "whole " if kind is int else ""
    rule = f"a {whole}number, 0 or more" if spec.zero_allowed else f"a positive {whole}number"
    try:
        value = kind(text.strip())
    except ValueError:
        raise ConfigurationError(f"{name}={text!r} is not a {whole}number (it must be {rule})") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not spec.zero_allowed):
        raise ConfigurationError(f"{name}={text!r} must be {rule}")
    return value


@attrs.frozen
class Settings:
    """What a command or a function needs to wire itself, flags over variables over defaults.

    Every default lives here; ``Settings()`` is the configuration of an empty environment.
    """

    model: Optional[str] = None
    store: str = attrs.field(default=DEFAULT_STORE, repr=lambda url: repr(redact(url)))
    quarantine: Optional[str] = None
    tables: Optional[str] = None
    log_level: Optional[str] = None
    lambda_log_level: str = "INFO"
    stream_margin_ms: int = STREAM_MARGIN_MS
    failure_queue_margin_ms: int = FAILURE_QUEUE_MARGIN_MS
    replay_margin_ms: int = REPLAY_MARGIN_MS
    replay_page_size: Optional[int] = None
    document_cache: int = DOCUMENT_CACHE
    scratch_dir: str = "/tmp"

    @classmethod
    def load(cls, env: Optional[Mapping[str, str]] = None, **flags: Optional[str]) -> "Settings":
        """Settings from ``env`` (default: the process environment), each overridden by a flag given."""
        def pick(flag: str, name: str, default=None):
            value = flags.get(flag)
            return value if value not in (None, "") else (setting(name, env) or default)

        explicit = pick("log_level", "DYNAFOLD_LOG_LEVEL")
        margin = number_setting("DYNAFOLD_TIME_MARGIN_MS", None, env)
        return cls(
            model=pick("model", "DYNAFOLD_MODEL"),
            store=pick("store", "DYNAFOLD_STORE", DEFAULT_STORE),
            quarantine=pick("quarantine", "DYNAFOLD_QUARANTINE"),
            tables=pick("tables", "DYNAFOLD_TABLES"),
            log_level=log_level(explicit, "DYNAFOLD_LOG_LEVEL, --log-level") if explicit else None,
            lambda_log_level=_lambda_log_level(explicit, env),
            stream_margin_ms=margin if margin is not None else STREAM_MARGIN_MS,
            failure_queue_margin_ms=margin if margin is not None else FAILURE_QUEUE_MARGIN_MS,
            replay_margin_ms=number_setting("DYNAFOLD_REPLAY_MARGIN_MS", REPLAY_MARGIN_MS, env),
            replay_page_size=number_setting("DYNAFOLD_REPLAY_PAGE_SIZE", None, env),
            document_cache=number_setting("DYNAFOLD_DOCUMENT_CACHE", DOCUMENT_CACHE, env),
            scratch_dir=setting("TMPDIR", env) or "/tmp",
        )

    def load_model(self) -> Model:
        return load_model(self.model)

    def table_names(self, model: Model):
        return table_names(model, self.tables)

    def quarantine_url(self, store_url: str) -> str:
        return quarantine_url(store_url, self.quarantine)


def aws_region(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The region AWS says this code runs in: ``AWS_REGION`` (set by Lambda), else ``AWS_DEFAULT_REGION``."""
    return setting("AWS_REGION", env) or setting("AWS_DEFAULT_REGION", env)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LAMBDA_LEVELS = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}  # Lambda's names for Python's


def log_level(text: str, where: str = "DYNAFOLD_LOG_LEVEL, --log-level") -> str:
    level = text.strip().upper()
    level = _LAMBDA_LEVELS.get(level, level)
    if level not in LOG_LEVELS:
        raise ConfigurationError(f"log level {text!r} is not one of {', '.join(LOG_LEVELS)} ({where})")
    return level


def _lambda_log_level(explicit: Optional[str], env: Optional[Mapping[str, str]]) -> str:
    """In Lambda, as Powertools orders them: Lambda's own log level (advanced logging controls, which
    drop anything below it anyway) wins, then ``DYNAFOLD_LOG_LEVEL``, then ``POWERTOOLS_LOG_LEVEL``."""
    for name, value in (("AWS_LAMBDA_LOG_LEVEL", setting("AWS_LAMBDA_LOG_LEVEL", env)),
                        ("DYNAFOLD_LOG_LEVEL", explicit), ("POWERTOOLS_LOG_LEVEL", setting("POWERTOOLS_LOG_LEVEL", env))):
        if value:
            return log_level(value, name)
    return "INFO"


def load_model(spec: Optional[str]) -> Model:
    """The model named ``module:attribute``, found as ``python -m`` would find it (the current
    directory first); a clear error when there is none or it cannot work."""
    if not spec:
        raise ConfigurationError(
            "no model: pass --model module:attribute or set DYNAFOLD_MODEL "
            f"(the sample is {SAMPLE_MODEL}; `dynafold demo` runs it without AWS)"
        )
    module_name, _, attribute = spec.partition(":")
    try:
        _current_directory_first()
        model = getattr(importlib.import_module(module_name), attribute or "MODEL")
    except ModelError as error:
        raise ConfigurationError(f"model {spec!r} cannot work: {error}") from None
    except ModuleNotFoundError as error:
        raise ConfigurationError(f"cannot load model {spec!r}: {error}{_moved(error.name)}") from None
    except (ImportError, AttributeError) as error:
        raise ConfigurationError(f"cannot load model {spec!r}: {error}") from None
    except BaseException as error:  # the model's own module failed while importing: the user's code, not dynafold
        if isinstance(error, KeyboardInterrupt):
            raise
        raise ConfigurationError(f"cannot load model {spec!r}: importing it raised {_raised(error)}") from None
    if not isinstance(model, Model):
        raise ConfigurationError(f"{spec!r} is not a dynafold.Model but {type(model).__name__}")
    return model


_OLD_PACKAGES = ("domain", "projector", "replay", "testkit")


def _moved(missing: Optional[str]) -> str:
    """What to write instead, when a model still imports dynafold's pre-release top-level packages."""
    if missing and missing.split(".")[0] in _OLD_PACKAGES:
        return (" (dynafold's packages moved under one namespace: write `from dynafold import Aggregate, Model, ...`, "
                "`from dynafold.kinds import ...` and `from dynafold.testing import check_model`)")
    return ""


def _raised(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"SystemExit({error.code!r})"
    return f"{type(error).__name__}: {error}"


def _current_directory_first() -> None:
    """Put the current directory at the head of ``sys.path``, as ``python -m`` does and a console script
    does not, so ``--model myapp.views:MODEL`` run from the project finds ``myapp`` (and what it imports
    later, while the command runs)."""
    import sys

    here = os.getcwd()
    if not sys.path or os.path.abspath(sys.path[0] or ".") != here:
        sys.path.insert(0, here)


def table_names(model: Model, text: Optional[str] = None):
    """The logical→physical mapping of ``model``'s tables (``text``: ``customers=prod-customers,...``)."""
    from dynafold.projector.table_names import TableNames

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
