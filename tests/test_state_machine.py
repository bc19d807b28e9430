"""The replay state machine at scale: Distributed Maps over segments and export files, and a rebuild started
from the state machine (begin, dual write, scan into the new target, check, switch or abort)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import boto3
import pytest

from dynafold.handlers.replay import make_handler
from dynafold.projector.config import Settings
from dynafold.projector.runtime import Runtime
from dynafold.projector.stores import open_store
from dynafold.projector.stores.base import Targets
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.sample import MODEL
from tests.support.asl import StateFailed, run_state_machine
from tests.test_replay import FakeContext, assert_matches_oracle, fill

DEFINITION = json.loads((Path(__file__).resolve().parents[1] / "replay" / "state_machine.json").read_text())


def machine(dynamodb, store, s3=None, fail_once: frozenset = frozenset(), waits=None):
    """The state machine with the step handler behind its Lambda task, on moto; the actions it called.
    The first call of each action in ``fail_once`` fails as Lambda's service fails (before the function runs)."""
    runtime = Runtime(Settings(), MODEL, store, quarantine=MemoryQuarantine(), clients={"dynamodb": dynamodb, "s3": s3})
    step = make_handler(lambda: runtime, margin_ms=1_000, page_size=3)
    calls: list[str] = []
    failed: set[str] = set()

    def invoke(resource, payload):
        assert resource == "${ReplayStepFunctionArn}"
        action = payload.get("action", "step")
        calls.append(action)
        if action in fail_once and action not in failed:
            failed.add(action)
            raise StateFailed("Lambda.ServiceException", "the function could not be invoked")
        return step(payload, FakeContext(budget_ms=3_000, per_call_ms=1_000))

    def read_items(reader):
        assert reader["Resource"] == "arn:${Partition}:states:::s3:getObject" and reader["ReaderConfig"]["InputType"] == "JSONL"
        body = s3.get_object(Bucket=reader["Parameters"]["Bucket"], Key=reader["Parameters"]["Key"])["Body"].read()
        return [json.loads(line) for line in body.decode().splitlines() if line.strip()]

    return (lambda document: run_state_machine(DEFINITION, document, invoke, read_items, waits=waits)), calls


def export(dynamodb, s3, table: str, prefix: str) -> None:
    """A point-in-time export of ``table`` with the manifests DynamoDB writes beside the data files (moto
    writes only the data files)."""
    arn = dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
    dynamodb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    started = dynamodb.export_table_to_point_in_time(TableArn=arn, S3Bucket="dynafold-exports", S3Prefix=prefix,
                                                     ExportFormat="DYNAMODB_JSON")["ExportDescription"]["ExportArn"]
    for _ in range(200):  # moto finishes the export on a thread of its own
        if dynamodb.describe_export(ExportArn=started)["ExportDescription"]["ExportStatus"] != "IN_PROGRESS":
            break
        time.sleep(0.05)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="dynafold-exports", Prefix=prefix + "/").get("Contents", [])]
    (data,) = [k for k in keys if "/data/" in k]
    base = data.split("/data/")[0]
    summary = {"exportTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "tableArn": arn}
    s3.put_object(Bucket="dynafold-exports", Key=f"{base}/manifest-summary.json", Body=json.dumps(summary))
    s3.put_object(Bucket="dynafold-exports", Key=f"{base}/manifest-files.json",
                  Body=json.dumps({"itemCount": 0, "dataFileS3Key": data}) + "\n")


def test_segments_and_export_files_fan_out_in_distributed_maps_each_looping_in_its_own_child_execution():
    for name in ("Segments", "ExportFiles"):
        state = DEFINITION["States"][name]
        assert state["Type"] == "Map" and state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
        assert state["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] == "STANDARD"
    reader = DEFINITION["States"]["ExportFiles"]["ItemReader"]
    assert reader["ReaderConfig"]["InputType"] == "JSONL" and reader["Parameters"]["Key.$"] == "$.export_run.manifest_key"


@pytest.mark.skipif(shutil.which("cfn-lint") is None, reason="cfn-lint is not installed")
def test_the_definition_passes_cfn_lints_states_language_checks(tmp_path):
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        "Step": {"Type": "AWS::Lambda::Function", "Properties": {
            "Role": "arn:aws:iam::123456789012:role/step", "Runtime": "python3.13", "Handler": "dynafold.handlers.replay.handler",
            "Code": {"ZipFile": "def handler(event, context): return event"}}},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "RoleArn": "arn:aws:iam::123456789012:role/machine", "Definition": DEFINITION,
            "DefinitionSubstitutions": {"ReplayStepFunctionArn": {"Fn::GetAtt": ["Step", "Arn"]},
                                        "Partition": {"Ref": "AWS::Partition"}}}}}}
    path = tmp_path / "machine.json"
    path.write_text(json.dumps(template))
    result = subprocess.run(["cfn-lint", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_rebuild_started_from_the_state_machine_scans_into_a_new_target_and_switches(dynamodb):
    writer = fill(dynamodb, operations=120)
    store = open_store("memory://")
    run, calls = machine(dynamodb, store)
    run({"aggregate": "customer", "total_segments": 2})
    before = store.targets("customer")
    output = run({"aggregate": "customer", "total_segments": 2, "mode": "rebuild"})
    assert calls.count("rebuild_begin") == 1 and calls[-1] == "rebuild_finish" and output["finished"]["switched"]
    new = output["rebuild"]["new"]
    assert store.targets("customer") == Targets(new, (new,)) and new != before.read
    assert_matches_oracle(store, writer, ["customer"])


def test_a_rebuild_whose_check_fails_leaves_readers_on_the_old_target(dynamodb, monkeypatch):
    import dynafold.replay.rebuild as module

    fill(dynamodb, operations=60)
    store = open_store("memory://")
    run, calls = machine(dynamodb, store)
    run({"aggregate": "customer", "total_segments": 1})
    before = store.targets("customer")
    monkeypatch.setattr(module, "rederive", lambda *a, **k: {"wrong": True})
    monkeypatch.setattr(module, "CHECK_WAITS_S", ())
    with pytest.raises(StateFailed) as failed:
        run({"aggregate": "customer", "total_segments": 1, "mode": "rebuild"})
    assert failed.value.error == "RebuildAborted" and store.targets("customer") == before


def test_an_export_replays_through_the_distributed_map_over_its_manifest(dynamodb):
    writer = fill(dynamodb, operations=100)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="dynafold-exports")
    store = open_store("memory://")
    run, calls = machine(dynamodb, store, s3)
    for table in ("customers", "orders", "subscriptions"):
        export(dynamodb, s3, table, f"exports/{table}")
        run({"aggregate": "customer", "mode": "export", "export": f"s3://dynafold-exports/exports/{table}"})
    assert calls.count("export_begin") == 3 and "export_file" in calls
    assert_matches_oracle(store, writer, ["customer"])


def test_an_export_file_is_worked_through_across_invocations_from_its_position(dynamodb):
    fill(dynamodb, operations=80)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="dynafold-exports")
    export(dynamodb, s3, "orders", "e")
    store = open_store("memory://")
    runtime = Runtime(Settings(), MODEL, store, quarantine=MemoryQuarantine(), clients={"dynamodb": dynamodb, "s3": s3})
    step = make_handler(lambda: runtime, margin_ms=1_000, page_size=2)
    begun = step({"action": "export_begin", "aggregate": "customer", "export": "s3://dynafold-exports/e"}, None)
    assert begun["table"] == "orders" and begun["files"] >= 1
    manifest = s3.get_object(Bucket="dynafold-exports", Key=begun["manifest_key"])["Body"].read().decode()
    key = json.loads(manifest.splitlines()[0])["dataFileS3Key"]
    state = {"action": "export_file", "aggregate": "customer", "table": "orders", "bucket": "dynafold-exports",
             "key": key, "export_time_us": begun["export_time_us"], "targets": begun["targets"], "position": 0,
             "done": False}
    positions = []
    while not state["done"]:
        state = step(state, FakeContext(budget_ms=3_000, per_call_ms=1_000))
        positions.append(state["position"])
        assert len(positions) < 200
    assert len(positions) > 2 and positions == sorted(positions)
    assert positions[-1] == len(dynamodb.scan(TableName="orders")["Items"])


def test_an_export_older_than_the_stream_retention_is_refused(dynamodb):
    from dynafold.replay.export import ExportError

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="dynafold-exports")
    s3.put_object(Bucket="dynafold-exports", Key="old/AWSDynamoDB/1/manifest-summary.json", Body=json.dumps({
        "exportTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2 * 86400)),
        "tableArn": "arn:aws:dynamodb:us-east-1:123456789012:table/orders"}))
    s3.put_object(Bucket="dynafold-exports", Key="old/AWSDynamoDB/1/manifest-files.json",
                  Body=json.dumps({"dataFileS3Key": "old/AWSDynamoDB/1/data/a.json.gz"}))
    step = make_handler(lambda: Runtime(Settings(), MODEL, open_store("memory://"), quarantine=MemoryQuarantine(), clients={"dynamodb": dynamodb, "s3": s3}))
    with pytest.raises(ExportError, match="24 h"):
        step({"action": "export_begin", "aggregate": "customer", "export": "s3://dynafold-exports/old"}, None)



def test_a_step_that_fails_once_is_retried_as_its_retry_says_and_the_rebuild_still_switches(dynamodb):
    writer = fill(dynamodb, operations=60)
    store = open_store("memory://")
    waits: list[float] = []
    run, calls = machine(dynamodb, store, fail_once=frozenset({"rebuild_begin", "step"}), waits=waits)
    output = run({"aggregate": "customer", "total_segments": 2, "mode": "rebuild"})
    assert calls.count("rebuild_begin") == 2, "the failed begin ran again"
    assert output["finished"]["switched"]
    assert waits == [2, 5], "Begin retries after IntervalSeconds 2, a segment step after 5"
    assert_matches_oracle(store, writer, aggregates=("customer",))


def test_an_error_no_retrier_names_is_not_retried():
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "f", "End": True, "Retry": [
        {"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 6}]}}}
    attempts = []

    def invoke(resource, payload):
        attempts.append(payload)
        raise ValueError("the step's own bug")

    with pytest.raises(StateFailed, match="ValueError"):
        run_state_machine(definition, {}, invoke)
    assert len(attempts) == 1


def test_a_state_machine_rebuild_holds_the_lease_from_begin_to_finish_and_a_second_one_is_refused(dynamodb):
    """The Step Functions rebuild had no lease: two executions (or an execution and the command) at once lost
    live updates like two commands did."""
    fill(dynamodb, operations=60)
    store = open_store("memory://")
    run, calls = machine(dynamodb, store)
    run({"aggregate": "customer", "total_segments": 1})
    before = store.targets("customer")
    running, _ = store.take_lease("customer", "host builder-7, pid 4242", 60)
    with pytest.raises(StateFailed) as refused:
        run({"aggregate": "customer", "total_segments": 1, "mode": "rebuild"})
    assert refused.value.error == "LeaseHeld" and "host builder-7, pid 4242" in str(refused.value)
    assert store.targets("customer") == before and store.lease("customer") == running
    store.release_lease(running)
    renewals = []
    real_renew = store.renew_lease
    store.renew_lease = lambda lease, ttl, **kw: renewals.append(ttl) or real_renew(lease, ttl, **kw)
    output = run({"aggregate": "customer", "total_segments": 2, "mode": "rebuild"})
    assert output["finished"]["switched"] and store.lease("customer") is None, "finish gives the lease up"
    assert output["rebuild"]["lease"]["holder"].startswith("Step Functions execution arn:aws:states:")
    assert calls.count("step") <= renewals.count(20 * 60.0), "every segment step renewed the execution's lease"


def test_a_state_machine_rebuild_whose_lease_was_taken_over_changes_nothing_more(dynamodb):
    fill(dynamodb, operations=40)
    store = open_store("memory://")
    runtime = Runtime(Settings(), MODEL, store, quarantine=MemoryQuarantine(), clients={"dynamodb": dynamodb})
    step = make_handler(lambda: runtime, margin_ms=1_000, page_size=3)
    step({"action": "begin", "aggregate": "customer", "total_segments": 1}, None)
    begun = step({"action": "rebuild_begin", "aggregate": "customer", "execution": "arn:one"}, None)
    scanning = store.targets("customer")
    assert scanning.write == (scanning.read, begun["new"])
    taker, replaced = store.take_lease("customer", "host elsewhere, pid 7", 60, now=begun["lease"]["expires_at"] + 1)
    assert replaced.work["rebuild"]["new"] == begun["new"], "the taker learns what the execution was doing"
    from dynafold.projector.stores.lease import LeaseLost

    with pytest.raises(LeaseLost):
        step({"action": "rebuild_finish", "aggregate": "customer", "rebuild": begun, "execution": "arn:one"}, None)
    aborted = step({"action": "rebuild_abort", "aggregate": "customer", "rebuild": begun, "execution": "arn:one"}, None)
    assert aborted["dropped"] == [] and "taken over" in aborted["message"]
    assert store.targets("customer") == scanning and store.lease("customer") == taker


def test_every_segment_runs_at_once_so_total_segments_alone_sets_a_rebuilds_speed(dynamodb):
    """The plan of ``dynafold plan-rebuild`` counts on every segment running: a fixed MaxConcurrency of 16
    would cap a 64-segment rebuild at a quarter of the speed the plan promised."""
    assert DEFINITION["States"]["Segments"]["MaxConcurrencyPath"] == "$.run.max_concurrency"
    assert "MaxConcurrency" not in DEFINITION["States"]["Segments"]
    fill(dynamodb, operations=10)
    runtime = Runtime(Settings(), MODEL, open_store("memory://"), quarantine=MemoryQuarantine(),
                      clients={"dynamodb": dynamodb})
    run = make_handler(lambda: runtime)({"action": "begin", "aggregate": "customer", "total_segments": 8})
    assert run["max_concurrency"] == len(run["segments"]) == 8 * len(MODEL.aggregate("customer").replay_tables)
