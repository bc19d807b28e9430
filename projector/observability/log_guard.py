"""Request and response bodies kept out of the libraries' logs, at every level.

At DEBUG, opensearch-py logs every request and response body (``_bulk``
bodies are whole documents: names, e-mail addresses), its tracer logs them
as ``curl`` commands, and botocore logs DynamoDB request parameters and
response bodies (whole items, undeclared attributes included). dynafold
never logs item contents itself (``dynafold.projector.observability.logs``); ``install`` puts a
filter on exactly those loggers that replaces each body with its size, so
turning on DEBUG to chase a connection problem still shows every request,
status and timing, but no item. Installed when dynafold configures logging (the CLI, the Lambda
handlers), never as a side effect of an import.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

_Rewrite = Callable[[tuple], tuple]


def withheld(body: Any) -> str:
    """What a log shows instead of a body: its size."""
    if body is None or body == "" or body == b"":
        return "<no body>"
    size = len(body) if isinstance(body, (str, bytes, bytearray)) else len(repr(body))
    return f"<body withheld: {size} bytes>"


def _request_params(args: tuple) -> tuple:
    operation, params = args
    if isinstance(params, Mapping):
        params = {**params, "body": withheld(params.get("body"))}
    else:
        params = withheld(params)
    return operation, params


def _only_body(args: tuple) -> tuple:
    return (withheld(args[0]),)


def _curl(args: tuple) -> tuple:
    headers, method, path, body = args
    return headers, method, path, withheld(body)


def _traced_response(args: tuple) -> tuple:
    status, duration, response = args
    return status, duration, withheld(response)


# logger -> message template -> how to rewrite its arguments
_REWRITES: dict[str, dict[str, _Rewrite]] = {
    "botocore.endpoint": {"Making request for %s with params: %s": _request_params},
    "botocore.parsers": {"Response body:\n%r": _only_body},
    "opensearch": {"> %s": _only_body, "< %s": _only_body},
    "opensearchpy.trace": {
        "curl %s-X%s 'http://localhost:9200%s' -d '%s'": _curl,
        "#[%s] (%.3fs)\n#%s": _traced_response,
    },
}


class WithholdBodies(logging.Filter):
    """Rewrites the body-carrying records of one library logger; a record it cannot rewrite is dropped."""

    def __init__(self, rewrites: Mapping[str, _Rewrite]) -> None:
        super().__init__()
        self.rewrites = rewrites

    def filter(self, record: logging.LogRecord) -> bool:
        rewrite = self.rewrites.get(record.msg) if isinstance(record.msg, str) else None
        if rewrite is None:
            return True
        try:
            record.args = rewrite(tuple(record.args or ()))
        except Exception:
            return False
        return True


def install() -> None:
    """Filter the libraries' body-carrying log records (idempotent)."""
    for name, rewrites in _REWRITES.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithholdBodies) for f in logger.filters):
            logger.addFilter(WithholdBodies(rewrites))
