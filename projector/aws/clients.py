"""The one place boto3 clients are made: standard retries and timeouts shorter than an invocation.

A bare ``boto3.client`` uses the legacy retry mode and a 60 s read timeout,
as long as a stream function's whole invocation: one stuck DynamoDB call
could use up the time the handler needs to report which records failed.
Every client here gets botocore's ``standard`` retry mode (throttling and
transient errors retried with jittered backoff, a retry quota) and connect
and read timeouts of a few seconds, so a call that hangs fails fast, is
retried, and a batch still ends with time to spare.

``DYNAFOLD_AWS_CONNECT_TIMEOUT_S``, ``DYNAFOLD_AWS_READ_TIMEOUT_S`` and
``DYNAFOLD_AWS_MAX_ATTEMPTS`` override the defaults.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from dynafold.projector.config import number_setting

CONNECT_TIMEOUT_S = 2.0
READ_TIMEOUT_S = 5.0
MAX_ATTEMPTS = 3  # the first attempt included; worst case for one call: 3 x (2 s + 5 s) plus under 6 s of backoff, well inside a minute


def client_config(env: Optional[Mapping[str, str]] = None) -> Any:
    """The botocore ``Config`` every dynafold client uses."""
    from botocore.config import Config

    return Config(
        connect_timeout=number_setting("DYNAFOLD_AWS_CONNECT_TIMEOUT_S", CONNECT_TIMEOUT_S, env),
        read_timeout=number_setting("DYNAFOLD_AWS_READ_TIMEOUT_S", READ_TIMEOUT_S, env),
        retries={"mode": "standard",
                 "total_max_attempts": number_setting("DYNAFOLD_AWS_MAX_ATTEMPTS", MAX_ATTEMPTS, env)},
    )


def client(service: str, **kwargs: Any) -> Any:
    """A boto3 client for ``service`` with dynafold's retry and timeout settings."""
    import boto3

    kwargs.setdefault("config", client_config())
    return boto3.client(service, **kwargs)
