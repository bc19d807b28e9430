import os
import urllib.request

import boto3
import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws

from dynafold.projector.aws.provision import create_tables
from dynafold.sample import MODEL

pytest_plugins = ["tests.servers.fixtures"]

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "thorough", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def sample_model_by_default(monkeypatch):
    """Commands need a model; the tests' default is the sample (a test of the refusal unsets it)."""
    if not os.environ.get("DYNAFOLD_MODEL"):
        monkeypatch.setenv("DYNAFOLD_MODEL", "dynafold.sample:MODEL")


@pytest.fixture
def aws(monkeypatch):
    """moto in-process, with fake credentials so nothing can reach AWS."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def store_url(request, tmp_path):
    """A fresh store of the kind the test is parametrized with (``indirect=True``).

    ``opensearch`` is osmem (the fast emulator), ``node`` the real OpenSearch
    node of the session, ``live`` the cluster at ``OPENSEARCH_URL``.
    """
    kind = request.param
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/views.db"
    if kind == "node":
        return request.getfixturevalue("opensearch_node_url")
    if kind == "live":
        return request.getfixturevalue("live_opensearch_url")
    assert kind == "opensearch", kind
    return request.getfixturevalue("osmem_url").replace("http://", "opensearch+http://")


@pytest.fixture
def dynamodb(aws):
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_tables(client, MODEL)
    return client


@pytest.fixture
def streams(aws):
    return boto3.client("dynamodbstreams", region_name="us-east-1")


@pytest.fixture(params=["moto", "dynamodb-local"])
def dynamodb_endpoint(request, monkeypatch):
    """DynamoDB over HTTP, set in this process's environment (so subprocesses inherit it): moto's
    server (its in-process state reset first: every moto server of the process shares it) or
    DynamoDB Local (``tests.servers``); the endpoint URL."""
    if request.param == "dynamodb-local":
        yield request.getfixturevalue("dynamodb_local_env")
        return
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{server._server.server_port}"
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ENDPOINT_URL", url)):
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    yield url
    server.stop()
