"""pytest fixtures for the real servers: started once per session, only when asked.

Asked means ``DYNAFOLD_REAL_NODES=1`` (``.ci/run`` sets it) or ``CI=true``.
Not asked: the tests that need them skip, saying how to ask. Asked but
impossible here (no Maven, no suitable JDK, no download): they skip with the
reason, except under ``CI=true``, where that is a failure. A server that
was fetched but does not start is a failure everywhere.

Sharing one node across the session, each test gets its own index prefix
(``opensearch_node_url``) and its indices are deleted afterwards; each test
that uses DynamoDB Local signs with an access key of its own, which gives it
empty tables of its own (DynamoDB Local keeps a database per key and region).
"""

from __future__ import annotations

import os
import uuid
from typing import Callable, Iterator, TypeVar

import boto3
import pytest

from tests.servers import dynamodb_local as ddb_local
from tests.servers import opensearch_node as os_node
from tests.servers.common import Unavailable

ENV = "DYNAFOLD_REAL_NODES"
LIMITED_CONTENT_LENGTH = "100kb"
T = TypeVar("T")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def asked() -> bool:
    return os.environ.get(ENV, "").strip() == "1" or in_ci()


def _started(what: str, start: Callable[[], T]) -> T:
    if not asked():
        pytest.skip(f"{what}: real servers not requested (set {ENV}=1; CI always does)")
    try:
        return start()
    except Unavailable as reason:
        if in_ci():
            pytest.fail(f"{what} is required under CI=true but unavailable: {reason}", pytrace=False)
        pytest.skip(f"{what} unavailable: {reason}")
    except RuntimeError as error:
        pytest.fail(f"{what} did not start: {error}", pytrace=False)


@pytest.fixture(scope="session")
def opensearch_node() -> Iterator[os_node.Node]:
    """One real OpenSearch node for the whole session."""
    node = _started("a real OpenSearch node", os_node.start)
    yield node
    node.stop()


@pytest.fixture(scope="session")
def opensearch_node_limited() -> Iterator[os_node.Node]:
    """A second node that accepts requests of at most 100 kB (``http.max_content_length``), for the limit tests."""
    node = _started(
        "a real OpenSearch node with a small request limit",
        lambda: os_node.start({"http.max_content_length": LIMITED_CONTENT_LENGTH}, heap="256m",
                                      name="dynafold-limited"),
    )
    yield node
    node.stop()


def prefixed_url(base: str) -> str:
    """``base`` (an ``opensearch+http(s)://`` URL) with a fresh index prefix of its own."""
    prefix = f"t{uuid.uuid4().hex[:12]}-"
    return base + ("&" if "?" in base else "?") + f"prefix={prefix}"


def drop_prefixed(url: str) -> None:
    """Delete every index of the URL's prefix (aliases go with their indices)."""
    from dynafold.projector.stores import open_store

    store = open_store(url)
    try:
        assert store.prefix, "refusing to delete indices without a prefix"
        for index in store.client.indices.get(index=store.prefix + "*", expand_wildcards="all"):  # targets are hidden
            store.client.indices.delete(index=index)
    finally:
        store.close()


@pytest.fixture
def opensearch_node_url(opensearch_node) -> Iterator[str]:
    """A store URL on the shared real node, under a prefix of this test's own, cleaned up afterwards."""
    url = prefixed_url(opensearch_node.store_url)
    yield url
    drop_prefixed(url)


@pytest.fixture
def live_opensearch_url() -> Iterator[str]:
    """``OPENSEARCH_URL`` (a live cluster) under a prefix of this test's own, cleaned up afterwards."""
    url = os.environ.get("OPENSEARCH_URL")
    if not url:
        pytest.skip("OPENSEARCH_URL not set: live-cluster run skipped")
    if not url.startswith("opensearch+"):
        url = "opensearch+" + url
    url = prefixed_url(url)
    yield url
    drop_prefixed(url)


@pytest.fixture(scope="session")
def dynamodb_local_server() -> Iterator[ddb_local.Server]:
    server = _started("DynamoDB Local", ddb_local.start)
    yield server
    server.stop()


@pytest.fixture
def dynamodb_local_env(dynamodb_local_server, monkeypatch) -> str:
    """DynamoDB Local as the process's AWS endpoint, with an access key (so a database) of this test's own."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", f"test{uuid.uuid4().hex[:16]}"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", dynamodb_local_server.url),
    ):
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it caches the credentials it first read
    return dynamodb_local_server.url

