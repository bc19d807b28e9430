"""An operator cannot lose data by accident: one rebuild at a time, a lost index recovered, no write creates one.

Two rebuilds of one aggregate at once lost live updates and both reported success; a deleted index could
not be recovered short of deleting everything; a live write to a target a rebuild had just dropped made
OpenSearch create it again (an orphan with a dynamic mapping). Each case below failed before its fix.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading

import pytest

from dynafold.cli import main
from dynafold.handlers.stream import make_handler
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.engine.batch import Backoff, Projector
from dynafold.projector.stores import open_store
from dynafold.projector.stores.base import Targets
from dynafold.projector.stores.lease import LeaseHeld
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.replay.rebuild import abort, rebuild
from dynafold.replay.verify import Verifier
from dynafold.sample import CUSTOMER, MODEL
from dynafold.testing.store_contract import FaultyStore
from tests.support import workload
from tests.support.lambda_events import StreamPump
from tests.support.records import customer
from tests.test_replay import TABLES, assert_matches_oracle, fill, job_for

QUICK = Backoff(base=0, cap=0, attempts=2)


def live_projection(dynamodb, streams, store):
    """A stream function on ``store`` and a pump that delivers what the tables' streams hold."""
    projector = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    return StreamPump(dynamodb, streams, TABLES, make_handler(lambda: projector, emit=lambda *a: None))


class LiveWrites:
    """Writers changing the tables and the stream function projecting them, on a thread, until stopped."""

    def __init__(self, writer, pump, seed: int = 5) -> None:
        self.writer, self.pump, self.rng = writer, pump, random.Random(seed)
        self.stop, self.errors, self.rounds = threading.Event(), [], 0
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                workload.run(self.writer, self.rng, 5, customers=12, lessons=15)
                self.pump()
                self.rounds += 1
        except BaseException as error:
            self.errors.append(error)

    def __enter__(self) -> "LiveWrites":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        assert not self.errors, self.errors
        self.pump()


def verified(store, dynamodb, aggregate: str = "customer"):
    return Verifier(MODEL, store, dynamodb, lookup_factory=lambda: DynamoLookup(dynamodb, MODEL)).verify(aggregate)


@pytest.mark.parametrize("store_url", ["sqlite", "node"], indirect=True)
def test_two_rebuilds_at_once_under_live_writes_one_switches_the_other_is_refused_and_nothing_drifts(
        dynamodb, streams, store_url):
    """Both rebuilds used to report success while one of them switched readers to a target live writes had
    stopped reaching (7 drifted documents on SQLite, 8 on OpenSearch)."""
    writer = fill(dynamodb, operations=150)
    pump = live_projection(dynamodb, streams, open_store(store_url))
    pump()
    job_for(open_store(store_url), dynamodb, segments=2, page_size=5).run("customer")
    barrier, outcomes = threading.Barrier(2), []

    def rebuilding(seed: int) -> None:
        job = job_for(open_store(store_url), dynamodb, segments=2, page_size=5)
        barrier.wait()
        try:
            outcomes.append(rebuild(job, "customer", settle_s=0.2, rng=random.Random(seed)))
        except Exception as error:
            outcomes.append(error)

    with LiveWrites(writer, pump) as live:
        threads = [threading.Thread(target=rebuilding, args=(seed,)) for seed in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert live.rounds > 0, "live writes ran while the rebuilds did"
    switched = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(switched) == 1 and len(refused) == 1, outcomes
    assert isinstance(refused[0], LeaseHeld) and "pid" in str(refused[0]), refused[0]
    store = open_store(store_url)
    assert store.targets("customer") == Targets(switched[0].new, (switched[0].new,))
    assert store.physical("customer") == {switched[0].new}, "no target is left behind"
    assert store.lease("customer") is None
    report = verified(store, dynamodb)
    assert report.drift == [] and report.compared > 0
    assert_matches_oracle(store, writer, ["customer"])


def test_a_second_rebuild_exits_2_naming_the_running_one_and_waits_for_it_with_wait(dynamodb, tmp_path, capsys):
    fill(dynamodb, operations=60)
    url = f"sqlite:///{tmp_path}/v.db"
    assert main(["replay", "--store", url, "--aggregate", "customer", "--no-progress"]) == 0
    store = open_store(url)
    running, _ = store.take_lease("customer", "host builder-7, pid 4242", 60,
                                  work={"process": {"host": "builder-7", "pid": 4242}})
    for words in (["--rebuild", "--settle", "0"], ["--abort"], ["--rebuild", "--resume"]):
        assert main(["replay", "--store", url, "--aggregate", "customer", "--no-progress", *words]) == 2
        err = capsys.readouterr().err
        assert "host builder-7, pid 4242" in err and "--wait" in err, err
    assert store.targets("customer") == Targets("customer_v1", ("customer_v1",)), "nothing changed meanwhile"
    store.renew_lease(running, 1.0)  # it ends within a second and never gives the lease back
    assert main(["replay", "--store", url, "--aggregate", "customer", "--no-progress", "--rebuild", "--settle", "0",
                 "--wait"]) == 0
    assert "rebuilt into" in capsys.readouterr().err
    assert store.lease("customer") is None


def test_resume_with_no_interrupted_rebuild_refuses_instead_of_starting_a_new_one(dynamodb, tmp_path, capsys):
    fill(dynamodb, operations=40)
    url = f"sqlite:///{tmp_path}/v.db"
    assert main(["replay", "--store", url, "--aggregate", "customer", "--no-progress"]) == 0
    before = open_store(url).targets("customer")
    assert main(["replay", "--store", url, "--aggregate", "customer", "--no-progress", "--rebuild", "--resume"]) == 2
    assert "no interrupted rebuild of 'customer'" in capsys.readouterr().err
    assert open_store(url).targets("customer") == before and open_store(url).physical("customer") == {before.read}


class Crash(Exception):
    pass


def _crash_once(store, method: str):
    real = getattr(store, method)
    state = {"crashed": False}

    def crashing(*args, **kwargs):
        if not state["crashed"]:
            state["crashed"] = True
            raise Crash(method)
        return real(*args, **kwargs)

    setattr(store, method, crashing)


@pytest.mark.parametrize("store_url", ["memory", "sqlite", "opensearch"], indirect=True)
@pytest.mark.parametrize("ending", ["resume", "abort"])
def test_a_rebuild_killed_after_creating_its_target_is_resumed_or_aborted_leaving_nothing_behind(
        dynamodb, store_url, ending):
    """A start killed after creating its target but before registering it left an index that neither
    --resume nor --abort removed."""
    writer = fill(dynamodb, operations=80)
    store = open_store(store_url)
    job = job_for(store, dynamodb, segments=2)
    job.run("customer")
    old = store.targets("customer")
    _crash_once(store, "set_targets")
    with pytest.raises(Crash):
        rebuild(job, "customer", settle_s=0)
    (orphan,) = store.physical("customer") - {old.read}
    assert store.targets("customer") == old and store.lease("customer").work["rebuild"]["new"] == orphan
    if ending == "resume":
        report = rebuild(job, "customer", settle_s=0, resume=True)
        assert report.new == orphan and store.targets("customer") == Targets(orphan, (orphan,))
        assert store.physical("customer") == {orphan}
    else:
        assert abort(store, "customer") == [orphan]
        assert store.targets("customer") == old and store.physical("customer") == {old.read}
    assert store.lease("customer") is None
    assert_matches_oracle(store, writer, ["customer"])


@pytest.mark.parametrize("store_url", ["sqlite", "opensearch"], indirect=True)
def test_abort_drops_every_target_nothing_names_and_keeps_what_keep_old_kept(dynamodb, store_url):
    fill(dynamodb, operations=40)
    store = open_store(store_url)
    job = job_for(store, dynamodb, segments=1)
    job.run("customer")
    report = rebuild(job, "customer", settle_s=0, keep_old=True)
    assert store.targets("customer") == Targets(report.new, (report.new,), ("customer_v1",))
    store.create_target(CUSTOMER, "customer_v1_r1")  # an earlier version's start, killed before it recorded it
    assert abort(store, "customer") == ["customer_v1_r1"]
    assert store.physical("customer") == {report.new, "customer_v1"}, "what --keep-old kept stays"


def test_a_dead_holder_on_this_host_is_taken_over_at_once_and_its_rebuild_undone(dynamodb, tmp_path):
    fill(dynamodb, operations=40)
    store = open_store(f"sqlite:///{tmp_path}/v.db")
    job = job_for(store, dynamodb, segments=1)
    job.run("customer")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(gone.stdout)
    import socket

    store.create_target(CUSTOMER, "customer_v1_r7")
    store.take_lease("customer", f"host {socket.gethostname()}, pid {pid}", 3600, work={
        "process": {"host": socket.gethostname(), "pid": pid},
        "rebuild": {"old_read": "customer_v1", "old_write": ["customer_v1"], "new": "customer_v1_r7",
                    "phase": "starting"}})
    report = rebuild(job, "customer", settle_s=0)
    assert store.targets("customer") == Targets(report.new, (report.new,))
    assert store.physical("customer") == {report.new}, "the dead rebuild's target was dropped"


@pytest.mark.parametrize("store_url", ["sqlite", "opensearch", "node"], indirect=True)
def test_a_live_write_to_a_target_dropped_between_its_load_and_its_write_fails_and_creates_nothing(store_url):
    """A live projector's write landed on a target a rebuild had just dropped: OpenSearch created it again,
    with a dynamic mapping and no alias, and the next rebuild took that orphan as its target."""
    store = open_store(store_url)
    projector = Projector(MODEL, store, MemoryQuarantine(), backoff=QUICK)
    assert projector.project([customer("c1", seq=1)]).failed_from is None
    switched = []

    def rebuild_switches(writes) -> None:  # between this batch's load and its write
        if not switched:
            switched.append(True)
            other = open_store(store_url)
            other.create_target(CUSTOMER, "customer_v2")
            other.set_targets("customer", Targets("customer_v2", ("customer_v2",)))
            other.drop_target("customer_v1")

    faulty = FaultyStore(store, random.Random(1), on_write=rebuild_switches)
    live = Projector(MODEL, faulty, MemoryQuarantine(), backoff=QUICK)
    batch = [customer("c2", seq=2, name="Grace")]
    report = live.project(batch)
    assert report.failed_from == 0 and "targets changed under the batch" in report.failure_reason
    assert store.physical("customer") == {"customer_v2"}, "the write created no index"
    assert live.project(batch).failed_from is None, "redelivered, it reads the targets again"
    assert store.get("customer", "c2")["name"] == "Grace"
    assert store.physical("customer") == {"customer_v2"}


@pytest.mark.parametrize("store_url", ["sqlite", "node"], indirect=True)
def test_a_deleted_index_is_named_by_status_and_verify_and_recovered_by_one_replay(
        dynamodb, streams, store_url, capsys):
    """With the physical index deleted, status said '0 documents' (exit 0), replay failed 12 times
    ('targets changed under the batch'), replay --rebuild exited 2 leaving an empty index behind."""
    writer = fill(dynamodb, operations=120)
    store = open_store(store_url)
    pump = live_projection(dynamodb, streams, store)
    pump()
    assert main(["replay", "--store", store_url, "--aggregate", "customer", "--no-progress",
                 "--quarantine", "memory://"]) == 0
    read = store.targets("customer").read
    if store_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(store_url[len("sqlite:///"):]) as db:
            db.execute(f'DROP TABLE "doc_{read}"')
    else:
        store.client.indices.delete(index=store.prefix + read)
    workload.run(writer, random.Random(9), 20, customers=12, lessons=15)  # life goes on meanwhile
    capsys.readouterr()
    assert main(["status", "--store", store_url, "--quarantine", "memory://"]) == 1
    out = capsys.readouterr().out
    assert f"the store lacks {read}" in out and "dynafold replay --aggregate customer" in out
    assert main(["verify", "--store", store_url, "--aggregate", "customer"]) == 1
    assert f"the store lacks {read}" in capsys.readouterr().out
    assert main(["replay", "--store", store_url, "--aggregate", "customer", "--no-progress",
                 "--quarantine", "memory://"]) == 0, "the one documented command"
    pump()  # Lambda redelivers what failed while the index was missing
    assert store.physical("customer") == {read} and store.targets("customer") == Targets(read, (read,))
    assert main(["verify", "--store", store_url, "--aggregate", "customer"]) == 0
    assert "0 drifted" in capsys.readouterr().out
    assert main(["status", "--store", store_url, "--quarantine", "memory://"]) == 0
    assert_matches_oracle(store, writer, ["customer"])
