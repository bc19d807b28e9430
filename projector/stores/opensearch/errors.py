"""What an OpenSearch answer means for the projector: outcomes per bulk item, messages for failed requests.

Per bulk item: 200/201 → ``Written``; 409 → ``Conflict``; a missing index
(``index_not_found_exception``: writes go through each target's write alias
with ``require_alias``, so a dropped target is never created again) →
``Gone``; 400 (mapping or parse errors, strict-mapping violations) →
``Rejected``: the document itself is at fault and its records go to the
quarantine; everything else → ``Retryable``: 429 and 5xx, and also index
blocks, closed indices and permission errors, which are the store's state
rather than the document's fault (the projector retries, then fails the
batch for redelivery instead of quarantining good records). Reasons name the error
type, the field and the status, never values: OpenSearch quotes field
values in its reasons.

A failure of a whole request is described by host, operation, status and
error type, with every secret masked, never by the client's own text.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import ConnectionTimeout, SerializationError, TransportError

from dynafold.projector.stores.base import Conflict, Gone, Outcome, Rejected, Retryable, Written

_FIELD_IN_REASON = re.compile(r"(?:failed to parse field|dynamic introduction of|field|mapper) \[([^\]\s]{1,200})\]")
# Item errors whose reason text is the store's own state, never document contents.
STATE_ERRORS = frozenset({
    "cluster_block_exception",
    "index_closed_exception",
    "index_not_found_exception",
    "es_rejected_execution_exception",
    "rejected_execution_exception",
    "circuit_breaking_exception",
    "unavailable_shards_exception",
    "no_shard_available_action_exception",
    "process_cluster_event_timeout_exception",
})


def outcome(result: Mapping[str, Any]) -> Outcome:
    """The outcome of one ``_bulk`` item."""
    status = result.get("status")
    if status in (200, 201):
        return Written((result["_seq_no"], result["_primary_term"]))
    if status == 409:
        return Conflict()
    error = result.get("error") or {}
    reason = item_reason(status, error)
    if error_type(error) == "index_not_found_exception":  # the target's write alias is gone with its index
        return Gone(reason)
    if status == 400 and error_type(error) not in STATE_ERRORS:
        return Rejected(reason)
    return Retryable(reason)


def item_reason(status: Any, error: Any) -> str:
    """What went wrong with one item, without the values OpenSearch quotes in its reasons."""
    kind = error_type(error)
    parts = [kind]
    if isinstance(error, Mapping):
        text = str(error.get("reason") or "")
        if kind in STATE_ERRORS:
            parts.append(clip(text))
        else:
            field = _FIELD_IN_REASON.search(text)
            if field:
                parts.append(f"on field [{field.group(1)}]")
            cause = error.get("caused_by")
            if isinstance(cause, Mapping) and cause.get("type"):
                parts.append(f"caused by {cause['type']}")
    return f"{' '.join(parts)} (HTTP {status})"


def missing_index(response: Any) -> bool:
    return isinstance(response, Mapping) and error_type(response.get("error")) == "index_not_found_exception"


def error_type(error: Any) -> str:
    if isinstance(error, Mapping):
        return str(error.get("type") or "error")
    return "error"


def describe(where: str, operation: str, error: Exception, secrets: Iterable[str]) -> str:
    """A failed request, for messages and logs: never credentials, never the client's own text."""
    if isinstance(error, ConnectionTimeout):
        detail = "timed out"
    elif isinstance(error, TransportConnectionError):
        cause = error.info if isinstance(error.info, BaseException) else None
        detail = f"connection failed ({type(cause).__name__ if cause else 'no answer'}: {clip(str(cause or error.error))})"
    elif isinstance(error, TransportError):
        detail = f"HTTP {error.status_code} {clip(str(error.error))}"
    elif isinstance(error, SerializationError):
        detail = f"unreadable answer: {clip(str(error))}"
    else:
        detail = type(error).__name__
    message = f"OpenSearch at {where}: {operation} failed: {detail}"
    for secret in secrets:
        message = message.replace(secret, "***")
    return message


def clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
