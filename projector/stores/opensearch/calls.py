"""One request to the cluster, and what its failure means: the one wrapper every request of the store goes through.

Statuses the caller expects are passed as ``ignore=`` and come back as the
response body, so they are neither raised nor logged as failures by the
client. Anything else that goes wrong is ``StoreUnavailable`` (413:
``RequestTooLarge``, which the bounded requests halve), with a message
built here from the operation and the error type that never holds
credentials (``secrets``) or request contents. An answer that is not JSON,
or JSON other than an object (a proxy answering 200), is ``StoreUnavailable``
too.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from opensearchpy.exceptions import OpenSearchException, TransportError

from dynafold.projector.stores.base import StoreUnavailable
from dynafold.projector.stores.opensearch.errors import describe
from dynafold.projector.stores.opensearch.requests import RequestTooLarge


class Calls:
    """``calls(operation, method, **kwargs)``: ``method(**kwargs)`` with failures named and classified."""

    def __init__(self, where: str, secrets: Iterable[str] = ()) -> None:
        self.where = where
        self._secrets = tuple(s for s in secrets if s)

    def __call__(self, operation: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            answer = method(**kwargs)
        except TransportError as error:
            if error.status_code == 413:
                raise RequestTooLarge(self.describe(operation, error)) from None
            raise StoreUnavailable(self.describe(operation, error)) from None
        except OpenSearchException as error:
            raise StoreUnavailable(self.describe(operation, error)) from None
        if isinstance(answer, (Mapping, bool)):
            return answer
        raise StoreUnavailable(f"OpenSearch at {self.where}: {operation} answered {type(answer).__name__}, not an object")

    def describe(self, operation: str, error: Exception) -> str:
        return describe(self.where, operation, error, self._secrets)

    def unavailable(self, operation: str, reason: str) -> StoreUnavailable:
        return StoreUnavailable(f"OpenSearch at {self.where}: {operation}: {reason}")
