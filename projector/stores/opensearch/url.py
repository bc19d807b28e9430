"""The OpenSearch store URL: host, options, credentials, and the client built from them.

``opensearch+https://host[:port][/path]`` (port 443 by default) or
``opensearch+http://host[:port]`` (port 9200), with optional query
parameters:

- ``prefix=``: put in front of every index and alias name, so several
  deployments can share a cluster (default empty);
- ``aws_region=…&aws_service=es|aoss``: SigV4 signing with the default boto3
  credentials; without ``aws_region``, ``aws_service`` signs for the region
  ``AWS_REGION`` names (set in every Lambda; ``AWS_DEFAULT_REGION`` outside);
- ``verify_certs=false``: TLS verification is on unless turned off;
- ``timeout=``: seconds per request (default 10);
- ``max_request_bytes=`` and ``max_batch_docs=``: the bounds of one ``_mget``
  or ``_bulk`` request (``opensearch_requests``: defaults 8 MiB and 1,000
  documents, safe for a domain that takes 10 MiB per request).

An unknown parameter is an error rather than silently ignored. Basic auth
comes from ``DYNAFOLD_OPENSEARCH_USERNAME`` / ``DYNAFOLD_OPENSEARCH_PASSWORD``
(or from ``user:password@`` in the URL, which wins). The cleaned URL never
holds credentials; ``secrets`` lists what error messages must never show.
"""

from __future__ import annotations

import base64
import math
from typing import Any, Sequence
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import attrs
from opensearchpy import OpenSearch
from opensearchpy.exceptions import SerializationError
from opensearchpy.serializer import JSONSerializer

from dynafold.projector.config import aws_region, setting
from dynafold.projector.errors import ConfigurationError
from dynafold.projector.stores import codec
from dynafold.projector.stores.opensearch.layout import check_prefix
from dynafold.projector.stores.opensearch.requests import DEFAULT_MAX_BATCH_DOCS, DEFAULT_MAX_REQUEST_BYTES, Limits

USERNAME_ENV = "DYNAFOLD_OPENSEARCH_USERNAME"
PASSWORD_ENV = "DYNAFOLD_OPENSEARCH_PASSWORD"
DEFAULT_TIMEOUT_S = 10.0
_OPTIONS = ("prefix", "aws_region", "aws_service", "verify_certs", "timeout", "max_request_bytes", "max_batch_docs")


class ExactJSONSerializer(JSONSerializer):
    """Bodies through ``codec``: Decimals are sent with all their digits and read back as Decimal."""

    def dumps(self, data: Any) -> str:
        return data if isinstance(data, str) else codec.dumps(data)

    def loads(self, s: str) -> Any:
        """An answer that is not JSON (a proxy's error page) is the client's ``SerializationError``, a store error."""
        try:
            return codec.loads(s)
        except (ValueError, TypeError, RecursionError) as error:
            raise SerializationError(f"the answer is not JSON ({type(error).__name__})") from None


@attrs.frozen
class Connection:
    """What a store URL says: the client to use and how the store behaves."""

    url: str
    client: OpenSearch
    prefix: str
    refresh: bool
    secrets: Sequence[str]
    limits: Limits


def connect(url: str, **client_options: Any) -> Connection:
    """Parse ``url`` and build its client; ``client_options`` go to ``OpenSearch(...)`` (e.g. ``connection_class``)."""
    try:
        parts = urlsplit(url)
        where = redacted(url)
    except ValueError as error:  # an unclosed IPv6 bracket, say
        raise ConfigurationError(f"the OpenSearch store URL is not a valid URL ({error})") from None
    if parts.scheme not in ("opensearch+http", "opensearch+https"):
        raise ConfigurationError(f"not an OpenSearch store URL: {where!r} (expected opensearch+https://host:port)")
    https = parts.scheme == "opensearch+https"
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ConfigurationError(f"OpenSearch store URL {where!r} has an invalid port") from None
    if not host:
        raise ConfigurationError(f"OpenSearch store URL {where!r} names no host")
    port = port or (443 if https else 9200)
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ConfigurationError(f"unknown OpenSearch store URL parameter(s) {unknown}; known: {list(_OPTIONS)}")
    verify_certs = _flag(options.get("verify_certs", "true"), "verify_certs")
    try:
        timeout = float(options.get("timeout", DEFAULT_TIMEOUT_S))
    except ValueError:
        raise ConfigurationError("OpenSearch store URL parameter timeout must be a number of seconds") from None
    if not (math.isfinite(timeout) and timeout > 0):
        raise ConfigurationError("OpenSearch store URL parameter timeout must be a positive, finite number of seconds")
    limits = Limits(
        _positive(options, "max_request_bytes", DEFAULT_MAX_REQUEST_BYTES),
        _positive(options, "max_batch_docs", DEFAULT_MAX_BATCH_DOCS),
    )
    region, service = options.get("aws_region"), options.get("aws_service")
    if service is not None and service not in ("es", "aoss"):
        raise ConfigurationError("OpenSearch store URL parameter aws_service must be es or aoss")
    if service is not None and not region:
        region = aws_region()  # in Lambda, the function's own region
        if not region:
            raise ConfigurationError("OpenSearch store URL parameter aws_service needs aws_region, or AWS_REGION "
                                     "(AWS_DEFAULT_REGION) set to the domain's region")
    username = unquote(parts.username) if parts.username else setting(USERNAME_ENV)
    password = unquote(parts.password or "") if parts.username else setting(PASSWORD_ENV)
    if bool(username) != bool(password):
        raise ConfigurationError(f"set both {USERNAME_ENV} and {PASSWORD_ENV}, or neither")
    if username and region:
        raise ConfigurationError("use either basic auth or aws_region (SigV4 signing), not both")
    secrets: list[str] = []
    http_auth: Any = None
    if username:
        http_auth = (username, password)
        secrets = [password, base64.b64encode(f"{username}:{password}".encode()).decode("ascii")]
    elif region:
        http_auth = _sigv4(region, service or "es")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    path = parts.path.rstrip("/")
    settings: dict[str, Any] = dict(
        hosts=[{"host": f"[{host}]" if ":" in host else host, "port": port, "url_prefix": path}],
        use_ssl=https,
        verify_certs=verify_certs,
        http_auth=http_auth,
        serializer=ExactJSONSerializer(),
        timeout=timeout,
        max_retries=0,
        retry_on_timeout=False,
    )
    settings.update(client_options)
    client = OpenSearch(**settings)
    prefix = options.get("prefix", "")
    check_prefix(prefix)
    return Connection(clean, client, prefix, refresh=service != "aoss", secrets=tuple(s for s in secrets if s), limits=limits)


def redacted(url: str) -> str:
    """The URL without user info or query: fit for messages."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


def _positive(options: dict[str, str], name: str, default: int) -> int:
    if name not in options:
        return default
    try:
        value = int(options[name])
    except ValueError:
        raise ConfigurationError(f"OpenSearch store URL parameter {name} must be a whole number") from None
    if value <= 0:
        raise ConfigurationError(f"OpenSearch store URL parameter {name} must be positive")
    return value


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ConfigurationError(f"OpenSearch store URL parameter {name} must be true or false")


def _sigv4(region: str, service: str) -> Any:
    import boto3
    from opensearchpy import Urllib3AWSV4SignerAuth

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise ConfigurationError("aws_region is set but boto3 finds no AWS credentials to sign requests with")
    return Urllib3AWSV4SignerAuth(credentials, region, service)
