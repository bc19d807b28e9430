"""One error taxonomy, and the one exit code each kind of failure means.

Every command, the CLI and the Lambda entry points classify a failure the
same way, so an operator can script on the code:

====  ==============================================================
 0    success
 1    the command ran and found a problem (records left failed, drift
      found, a rebuild's check failed, an entry that does not exist)
 2    usage or configuration: bad flags, no model, a bad model, a table
      or index that does not exist, access denied, a read-only or full
      views file; someone must act, retrying will not help
 3    unavailable: a store or AWS could not be reached, busy, throttled
      or timed out; the same command may work later
 70   internal error: a bug in dynafold (the traceback is printed)
 130  interrupted (Ctrl-C); work done so far is checkpointed
====  ==============================================================
"""

from __future__ import annotations

from typing import Iterable, Optional

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class DynafoldError(Exception):
    """Base of the failures dynafold names; ``exit_code`` says what kind it is."""

    exit_code = EXIT_INTERNAL


class ProblemFound(DynafoldError):
    """The command ran to the end and what it checked is not right."""

    exit_code = EXIT_PROBLEM


class ConfigurationError(DynafoldError, ValueError):
    """Flags, environment or model cannot work; the message says which and why (a ``ValueError``
    too: a bad URL or setting is a bad value)."""

    exit_code = EXIT_USAGE


class MissingExtra(ConfigurationError, ImportError):
    """A part of dynafold whose packages come with an extra the environment lacks (``pip install
    'dynafold[testing]'``): an ``ImportError`` for ``import``, exit 2 for a command."""


def require_extra(part: str, extra: str, modules: Iterable[str]) -> None:
    """Raise ``MissingExtra`` naming ``extra`` when a module it brings cannot be found (found, not
    imported: moto takes a second to import)."""
    import importlib.util

    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        error = MissingExtra(f"{part} needs the {extra} extra ({', '.join(missing)} not installed): "
                             f"pip install 'dynafold[{extra}]'")
        error.name = missing[0]
        raise error


class Unavailable(DynafoldError):
    """Something dynafold depends on did not answer in time; a later attempt may succeed."""

    exit_code = EXIT_UNAVAILABLE


_AWS_CONFIGURATION = {
    "ResourceNotFoundException": "not found",
    "TableNotFoundException": "not found",
    "AccessDeniedException": "access denied",
    "AccessDenied": "access denied",
    "UnrecognizedClientException": "credentials not accepted",
    "InvalidSignatureException": "credentials not accepted",
    "ExpiredTokenException": "credentials expired",
    "ValidationException": "request refused",
    "NoSuchBucket": "not found",
    "NoSuchKey": "not found",
}


def classify(error: BaseException) -> tuple[int, Optional[str]]:
    """The exit code of ``error`` and the one-line message for it (``None``: a bug, show the traceback).

    The one classifier: the CLI maps it to an exit code, the engine and the lookups ask
    ``transient`` (exit 3: a later attempt may succeed) of the same answer.
    """
    if isinstance(error, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    if isinstance(error, DynafoldError):
        return error.exit_code, str(error) if error.exit_code != EXIT_INTERNAL else None
    from dynafold.domain.tables import ModelError, UnknownName

    if isinstance(error, ModelError):
        return EXIT_USAGE, f"model cannot work: {error}"
    if isinstance(error, UnknownName):
        return EXIT_USAGE, str(error)
    aws = _classify_aws(error)  # before OSError: botocore's timeouts and connection errors are OSErrors too
    if aws is not None:
        return aws
    if isinstance(error, (ConnectionError, TimeoutError)):
        return EXIT_UNAVAILABLE, f"unreachable: {error}"
    if isinstance(error, OSError):  # a file the user named: missing, a directory, not writable, a full disk
        where = f" {error.filename}" if error.filename else ""
        return EXIT_USAGE, f"cannot use{where}: {error.strerror or error}"
    return EXIT_INTERNAL, None


def transient(error: BaseException) -> bool:
    """Whether a later attempt may succeed (throttled, timed out, a 5xx, a connection dropped)."""
    return classify(error)[0] == EXIT_UNAVAILABLE


def environmental(error: BaseException) -> bool:
    """Whether the environment refused or failed (access denied, a missing table, no credentials, a
    timeout): the fault of neither the record nor dynafold, so a record that met it waits for
    redelivery (or the failure queue) instead of being quarantined as poison."""
    return classify(error)[0] in (EXIT_USAGE, EXIT_UNAVAILABLE)


def aws_code(error: BaseException) -> Optional[str]:
    """The AWS error code of a botocore ``ClientError`` (``ThrottlingException``), else None."""
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code if isinstance(code, str) and code else None


def named(error: BaseException) -> str:
    """An error's type and AWS error code, never its message (which may quote a request or an item)."""
    code = aws_code(error)
    return f"{type(error).__name__} {code}" if code else type(error).__name__


def _classify_aws(error: BaseException) -> Optional[tuple[int, Optional[str]]]:
    try:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError
    except ImportError:  # pragma: no cover - botocore is a dependency
        return None
    if isinstance(error, (NoCredentialsError, NoRegionError)):
        return EXIT_USAGE, f"AWS configuration: {error}"
    if isinstance(error, ClientError):
        code = aws_code(error) or ""
        operation = getattr(error, "operation_name", "") or "request"
        meaning = _AWS_CONFIGURATION.get(code)
        if meaning is not None:
            return EXIT_USAGE, f"AWS {operation}: {meaning} ({code}): {_aws_message(error)}"
        return EXIT_UNAVAILABLE, f"AWS {operation} failed ({code or 'no code'}): {_aws_message(error)}"
    if isinstance(error, BotoCoreError):
        return EXIT_UNAVAILABLE, f"AWS unreachable: {type(error).__name__}: {error}"
    return None


def _aws_message(error) -> str:
    return error.response.get("Error", {}).get("Message", "") or type(error).__name__
