"""Every boto3 client dynafold makes retries in standard mode and times out well inside an invocation."""

from __future__ import annotations

from dynafold.projector.aws import clients


def test_clients_use_standard_retries_and_timeouts_shorter_than_an_invocation(aws):
    client = clients.client("dynamodb")
    config = client.meta.config
    assert config.retries["mode"] == "standard" and config.retries["total_max_attempts"] == 3
    assert config.connect_timeout == 2.0 and config.read_timeout == 5.0
    worst_s = config.retries["total_max_attempts"] * (config.connect_timeout + config.read_timeout)
    assert worst_s < 60, "one stuck call cannot use up a one-minute invocation"


def test_the_timeouts_can_be_overridden_from_the_environment(aws, monkeypatch):
    monkeypatch.setenv("DYNAFOLD_AWS_READ_TIMEOUT_S", "1.5")
    monkeypatch.setenv("DYNAFOLD_AWS_MAX_ATTEMPTS", "5")
    config = clients.client("dynamodbstreams").meta.config
    assert config.read_timeout == 1.5 and config.retries["total_max_attempts"] == 5
