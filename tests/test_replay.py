"""Replay from table scans: the oracle on every store, crash and resume, live streams, Lambda steps, exports, rebuilds."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict

import boto3
import pytest

import dynafold.replay.runner
from dynafold.handlers.replay import make_handler as make_step_handler
from dynafold.handlers.stream import make_handler
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.config import Settings
from dynafold.projector.engine.batch import Projector
from dynafold.projector.runtime import Runtime
from dynafold.projector.stores import open_store
from dynafold.projector.stores.base import Targets
from dynafold.projector.stores.memory import MemoryCheckpoints, MemoryQuarantine
from dynafold.replay.job import ReplayJob
from dynafold.replay.rebuild import RebuildAborted, rebuild
from dynafold.sample import MODEL
from dynafold.testing.sample_writer import SampleWriter
from tests.support import oracle, workload
from tests.support.asl import run_state_machine
from tests.support.lambda_events import StreamPump

TABLES = ("customers", "orders", "subscriptions", "songs", "lessons")


def fill(dynamodb, seed: int = 3, operations: int = 250) -> SampleWriter:
    writer = SampleWriter(dynamodb)
    workload.run(writer, random.Random(seed), operations, customers=12, lessons=15)
    return writer


def documents(store, aggregate: str) -> dict:
    read = store.targets(aggregate).read
    return {d.key.id: d.body for d in store.stored(read) if d.body is not None}


def assert_matches_oracle(store, writer: SampleWriter, aggregates=("customer", "lesson")) -> None:
    expected = oracle.expected({t: writer.scan(t) for t in TABLES})
    for aggregate in aggregates:
        assert oracle.normalized(documents(store, aggregate)) == oracle.normalized(expected[aggregate]), aggregate


def job_for(store, dynamodb, checkpoints=None, **kwargs) -> ReplayJob:
    return ReplayJob(MODEL, store, MemoryQuarantine(), dynamodb, checkpoints or MemoryCheckpoints(),
                     lookup_factory=lambda: DynamoLookup(dynamodb, MODEL), **kwargs)


@pytest.mark.parametrize("store_url", ["memory", "sqlite", "opensearch", "node"], indirect=True)
def test_replay_produces_the_oracle_documents_on_every_store(dynamodb, store_url):
    writer = fill(dynamodb)
    store = open_store(store_url)
    job = job_for(store, dynamodb, segments=3, workers=3, page_size=7)
    for aggregate in ("customer", "lesson"):
        summary = job.run(aggregate)
        assert summary.items > 0 and summary.quarantined == 0
    assert_matches_oracle(store, writer)


class Crash(BaseException):
    """A kill: not an Exception, so nothing on the way catches it."""


def test_killed_at_random_points_then_resumed_gives_identical_documents_and_skips_no_page(dynamodb, monkeypatch):
    writer = fill(dynamodb, operations=300)
    pages_seen: dict = defaultdict(list)
    real_read_ahead = dynafold.replay.runner.read_ahead

    def recording(pages):
        """The pages the runner takes to project (a page read ahead and never taken is not processed)."""
        for page in real_read_ahead(pages):
            pages_seen[(page.table, page.segment)].append(page.number)
            yield page

    monkeypatch.setattr(dynafold.replay.runner, "read_ahead", recording)
    rng = random.Random(11)
    total_crashes = 0
    for attempt in range(6):
        store = open_store("memory://")
        checkpoints = MemoryCheckpoints()
        pages_seen.clear()
        crashes = 0

        class CrashingCheckpoints(MemoryCheckpoints):
            """Crash before a checkpoint is written (the page is stored but not recorded)."""

            def put(self, key, value):
                if "/run" not in key and rng.random() < 0.15:
                    raise Crash()
                checkpoints.put(key, value)

            def get(self, key):
                return checkpoints.get(key)

            def delete_prefix(self, prefix):
                checkpoints.delete_prefix(prefix)

        def crash_after_page(number):
            if rng.random() < 0.1:
                raise Crash()

        resume = False
        while True:
            job = job_for(store, dynamodb, CrashingCheckpoints(), segments=2, page_size=4, after_page=crash_after_page)
            try:
                job.run("customer", resume=resume)
                break
            except Crash:
                crashes += 1
                resume = True
        total_crashes += crashes
        for (table, segment), numbers in pages_seen.items():
            distinct = sorted(set(numbers))
            assert distinct == list(range(len(distinct))), f"{table}/{segment} skipped a page: {numbers}"
            repeats = len(numbers) - len(distinct)
            resumes_in_segment = sum(1 for a, b in zip(numbers, numbers[1:]) if b <= a)
            assert repeats <= resumes_in_segment, f"{table}/{segment} re-processed more than one page per resume: {numbers}"
        expected = oracle.expected({t: writer.scan(t) for t in TABLES})["customer"]
        assert oracle.normalized(documents(store, "customer")) == oracle.normalized(expected)
    assert total_crashes >= 6


def test_progress_draws_bars_on_a_terminal_and_plain_lines_elsewhere():
    import io

    from dynafold.replay.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    clock = iter([0.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0]).__next__
    tty = Terminal()
    board = Progress({"orders": 100, "customers": None}, tty, clock=clock, interval_s=0)
    board.update({"orders": 50, "customers": 7})
    board.update({"orders": 100, "customers": 9}, final=True)
    out = tty.getvalue()
    assert "50/100" in out and "100/100" in out and "9 items" in out, out
    assert "\r" in out or "\x1b" in out, "bars redraw in place on a terminal"
    plain = io.StringIO()
    board = Progress({"orders": 10}, plain, interval_s=0)
    board.update({"orders": 5}, final=True)
    assert plain.getvalue().startswith("replay: orders") and "5/10 items" in plain.getvalue()
    assert "\x1b" not in plain.getvalue() and "\r" not in plain.getvalue()


def test_a_replay_racing_live_stream_projection_converges(dynamodb, streams):
    writer = fill(dynamodb, operations=100)
    store = open_store("memory://")
    projector = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    handle = make_handler(lambda: projector, emit=lambda *a: None)
    pump = StreamPump(dynamodb, streams, TABLES, handle)
    pump()
    stop = threading.Event()
    errors = []

    def live():
        rng = random.Random(5)
        try:
            while not stop.is_set():
                workload.run(writer, rng, 5, customers=12, lessons=15)
                pump()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=live)
    thread.start()
    try:
        for aggregate in ("customer", "lesson"):
            job_for(store, dynamodb, segments=2, page_size=5).run(aggregate)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    pump()
    assert_matches_oracle(store, writer)


class FakeContext:
    """A Lambda context whose clock runs out after a few pages."""

    def __init__(self, budget_ms: int, per_call_ms: int) -> None:
        self.left = budget_ms
        self.per_call = per_call_ms

    def get_remaining_time_in_millis(self) -> int:
        self.left -= self.per_call
        return self.left


def test_the_lambda_step_completes_a_multi_page_segment_across_several_invocations(dynamodb):
    writer = fill(dynamodb, operations=200)
    store = open_store("memory://")
    runtime = Runtime(Settings(), MODEL, store, quarantine=MemoryQuarantine(), clients={"dynamodb": dynamodb})
    step = make_step_handler(lambda: runtime, margin_ms=1_000, page_size=1)
    begun = step({"action": "begin", "aggregate": "customer", "total_segments": 2}, None)
    invocations = 0
    for segment in begun["segments"]:
        state = dict(segment)
        while not state["done"]:
            pages_before = state.get("pages", 0)
            state = step(state, FakeContext(budget_ms=3_000, per_call_ms=1_000))
            assert state["pages"] - pages_before <= 3, "an invocation stops once its time is under the margin"
            invocations += 1
            assert invocations < 500
    assert invocations > len(begun["segments"]) * 2
    expected = oracle.expected({t: writer.scan(t) for t in TABLES})["customer"]
    assert oracle.normalized(documents(store, "customer")) == oracle.normalized(expected)


def test_the_state_machine_definition_drives_the_step_through_map_loop_and_choice(dynamodb):
    writer = fill(dynamodb, operations=150)
    store = open_store("memory://")
    runtime = Runtime(Settings(), MODEL, store, quarantine=MemoryQuarantine(), clients={"dynamodb": dynamodb})
    step = make_step_handler(lambda: runtime, margin_ms=1_000, page_size=1)
    calls = []

    def invoke(resource, payload):
        assert resource == "${ReplayStepFunctionArn}"
        calls.append(payload.get("action", "step"))
        return step(payload, FakeContext(budget_ms=3_000, per_call_ms=1_000))

    with open("replay/state_machine.json") as f:
        definition = json.load(f)
    output = run_state_machine(definition, {"aggregate": "lesson", "total_segments": 3}, invoke)
    assert calls[0] == "begin" and calls.count("step") > 3
    assert len(output["results"]) == 3 and all(r["done"] for r in output["results"])
    expected = oracle.expected({t: writer.scan(t) for t in TABLES})["lesson"]
    assert oracle.normalized(documents(store, "lesson")) == oracle.normalized(expected)


def test_replay_from_a_point_in_time_export(dynamodb, tmp_path, capsys):
    from dynafold.cli import main

    writer = fill(dynamodb, operations=120)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="dynafold-exports")
    sources = []
    for table in ("customers", "orders", "subscriptions", "lessons"):
        dynamodb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        arn = dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
        dynamodb.export_table_to_point_in_time(TableArn=arn, S3Bucket="dynafold-exports", S3Prefix=f"exports/{table}",
                                               ExportFormat="DYNAMODB_JSON")
        sources += ["--from-export", f"{table}=s3://dynafold-exports/exports/{table}"]
    url = f"sqlite:///{tmp_path}/v.db"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    assert main(["replay", "--store", url, *sources, "--export-time", now]) == 0
    assert "items from 1 file(s)" in capsys.readouterr().err
    assert_matches_oracle(open_store(url), writer)


@pytest.mark.parametrize("store_url", ["memory", "sqlite", "opensearch", "node"], indirect=True)
def test_rebuild_switches_readers_atomically_and_an_abort_leaves_them_untouched(dynamodb, monkeypatch, store_url):
    writer = fill(dynamodb, operations=120)
    store = open_store(store_url)
    job = job_for(store, dynamodb, segments=2, page_size=10)
    job.run("customer")
    before = store.targets("customer")
    report = rebuild(job, "customer", settle_s=0)
    after = store.targets("customer")
    assert after == Targets(report.new, (report.new,)) and report.new != before.read
    assert report.documents == report.roots and report.sampled > 0
    assert before.read not in {t for t in (after.read, *after.write)}
    assert_matches_oracle(store, writer, ["customer"])
    assert store.get("customer", next(iter(documents(store, "customer")))) is not None, "readers follow the switch"

    import dynafold.replay.rebuild as module

    monkeypatch.setattr(module, "rederive", lambda *a, **k: {"wrong": True})
    with pytest.raises(RebuildAborted, match="differ from a fresh derivation") as refused:
        rebuild(job, "customer", settle_s=0, sleep=lambda s: None)
    assert "after 5 looks" in str(refused.value), "a check failure is looked at again before it refuses"
    assert store.targets("customer") == after
    assert_matches_oracle(store, writer, ["customer"])


@pytest.mark.parametrize("store_url", ["opensearch", "node"], indirect=True)
def test_the_rebuild_check_reads_its_sample_not_the_whole_target(dynamodb, monkeypatch, store_url):
    """It used to page through every document of the new target over the network (most of a rebuild's
    bytes received); a store that reads locally may still count by one pass (``reservoir``)."""
    fill(dynamodb, operations=120)
    store = open_store(store_url)
    read: list[str] = []
    stored, sample = store.stored, store.sample

    def counted_stored(target):
        for document in stored(target):
            read.append(document.key.id)
            yield document

    def counted_sample(target, size, seed):
        found = sample(target, size, seed)
        read.extend(d.key.id for d in found.documents)
        return found

    monkeypatch.setattr(store, "stored", counted_stored)
    monkeypatch.setattr(store, "sample", counted_sample)
    report = rebuild(job_for(store, dynamodb, page_size=10), "customer", settle_s=0, sample=3)
    assert report.documents == report.roots > 3
    assert len(read) == report.sampled == 3


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_root_row_quarantined_by_the_scan_does_not_abort_the_rebuild(dynamodb, store_url):
    """Review finding: one poison customer made every rebuild abort ('N documents but N+1 root items')."""
    fill(dynamodb, operations=60)
    dynamodb.put_item(TableName="customers", Item={"customer_id": {"S": "poison"}, "name": {"N": "1"}})
    store = open_store(store_url)
    job = job_for(store, dynamodb, segments=2, page_size=10)
    report = rebuild(job, "customer", settle_s=0)
    assert report.summary.quarantined == 1 and report.documents == report.roots - 1
    assert store.targets("customer").read == report.new


def _orphans_exit(marker: str, within_s: float = 10.0) -> bool:
    """True once no process whose command line names ``marker`` is left (forked workers keep it)."""
    from pathlib import Path

    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        alive = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and marker in (proc / "cmdline").read_bytes().decode(errors="replace") \
                        and "Z" not in (proc / "stat").read_text().split(")")[-1].split()[0]:
                    alive.append(proc.name)
            except OSError:
                continue
        if not alive:
            return True
        time.sleep(0.2)
    return False


def test_a_replay_process_killed_with_sigkill_resumes_with_worker_processes(dynamodb_endpoint, tmp_path):
    from dynafold.projector.aws.provision import create_tables

    client = boto3.client("dynamodb")
    create_tables(client, MODEL)
    writer = fill(client, operations=400)
    url = f"sqlite:///{tmp_path}/v.db"
    command = [sys.executable, "-m", "dynafold", "replay", "--store", url, "--aggregate", "customer",
               "--segments", "3", "--page-size", "2", "--workers", "2", "--no-progress"]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    killed = False
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with sqlite3.connect(f"{tmp_path}/v.db", timeout=1) as db:
                pages = sum(json.loads(v).get("pages", 0) for (v,) in db.execute(
                    "SELECT value FROM dynafold_checkpoints WHERE key NOT LIKE '%/run'"))
        except sqlite3.OperationalError:
            pages = 0
        if pages >= 5:
            process.send_signal(signal.SIGKILL)
            killed = True
            break
        time.sleep(0.01)
    process.wait(timeout=30)
    assert killed, "the replay finished before it could be killed"
    assert _orphans_exit(str(tmp_path)), "worker processes outlived their killed parent"
    result = subprocess.run(command + ["--resume"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "replay: customer:" in result.stderr
    expected = oracle.expected({t: writer.scan(t) for t in TABLES})["customer"]
    assert oracle.normalized(documents(open_store(url), "customer")) == oracle.normalized(expected)


def test_ctrl_c_stops_a_replay_without_running_the_queued_segments(dynamodb):
    """Review finding: an interrupt waited for every queued segment to finish first."""
    fill(dynamodb, operations=200)
    started = []
    real = dynafold.replay.runner.scan_pages

    def scanning(client, table, segment, *args, **kwargs):
        started.append((table, segment))
        yield from real(client, table, segment, *args, **kwargs)

    def interrupt(page):
        raise KeyboardInterrupt()

    import unittest.mock

    with unittest.mock.patch.object(dynafold.replay.runner, "scan_pages", scanning):
        job = job_for(open_store("memory://"), dynamodb, segments=4, workers=1, page_size=2, after_page=interrupt)
        with pytest.raises(KeyboardInterrupt):
            job.run("customer")
    assert len(started) < 12, f"{len(started)} of 12 segments ran after Ctrl-C"


def test_a_rebuild_that_crashed_after_the_switch_is_finished_by_resume(dynamodb):
    """Review finding: resuming after a crash between the switch and the drop started a new
    rebuild and dropped the good target, leaving the old one orphaned."""
    writer = fill(dynamodb, operations=80)
    store = open_store("memory://")
    job = job_for(store, dynamodb, segments=2)
    job.run("customer")
    old = store.targets("customer")
    real_drop = store.drop_target

    def crash(target):
        raise Crash()

    store.drop_target = crash
    with pytest.raises(Crash):
        rebuild(job, "customer", settle_s=0)
    store.drop_target = real_drop
    switched = store.targets("customer")
    assert switched.read != old.read
    report = rebuild(job, "customer", settle_s=0, resume=True)
    assert report.new == switched.read and store.targets("customer") == switched
    assert old.read not in {d for d in store._rows}, "the old target is retired"
    assert_matches_oracle(store, writer, ["customer"])
