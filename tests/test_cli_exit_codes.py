"""Exit codes that tell the truth: every case of the exit-code audit, one table row each.

One rule for the command line (README, "Exit codes"): what the user must fix before a retry can work
(a bad flag, URL, variable or model; a read-only, unreadable or full views file) exits 2; what may
pass by itself (a store or AWS that did not answer, timed out or throttled) exits 3; Ctrl-C exits 130
however it arrives. One rule for the Lambda: anything it cannot finish is a batch failure, redelivered.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest

from dynafold.cli import main
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.projector.stores.sqlite.quarantine import SQLiteQuarantine
from dynafold.projector.stores.sqlite.store import SQLiteStore
from dynafold.sample import MODEL
from tests.support.records import customer, order


@pytest.fixture
def silent_aws(monkeypatch):
    """An AWS endpoint that accepts connections and never answers: every call hits the read timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    for name, value in (("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x"), ("AWS_DEFAULT_REGION", "us-east-1"),
                        ("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.getsockname()[1]}"),
                        ("DYNAFOLD_AWS_MAX_ATTEMPTS", "1"), ("DYNAFOLD_AWS_READ_TIMEOUT_S", "0.3")):
        monkeypatch.setenv(name, value)
    yield
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.parametrize("command", [["project", "--until-idle"], ["replay", "--no-progress"], ["verify"]],
                         ids=lambda c: c[0])
def test_an_aws_read_timeout_exits_3_not_2(command, silent_aws, tmp_path, capsys):
    """botocore's timeouts are OSErrors: the OSError branch ('cannot use', exit 2) caught them first."""
    SQLiteStore(f"sqlite:///{tmp_path}/v.db")
    assert main([*command, "--store", f"sqlite:///{tmp_path}/v.db"]) == 3
    err = capsys.readouterr().err
    assert "ReadTimeoutError" in err and "cannot use" not in err


def test_every_botocore_timeout_and_connection_failure_is_unavailable():
    from botocore.exceptions import (
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
        ResponseStreamingError,
    )

    from dynafold.projector.errors import classify

    for error in (ConnectTimeoutError(endpoint_url="https://dynamodb"), ReadTimeoutError(endpoint_url="https://dynamodb"),
                  EndpointConnectionError(endpoint_url="https://dynamodb"), ResponseStreamingError(error="reset")):
        assert classify(error)[0] == 3, type(error).__name__


def _model(tmp_path, monkeypatch, name: str, body: str) -> str:
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"{name}:MODEL"


MODELS = {
    "sys.exit(5)": ("import sys\nsys.exit(5)\n", 2, "importing it raised SystemExit(5)"),
    "sys.exit(msg)": ("import sys\nsys.exit('the plans are elsewhere')\n", 2, "SystemExit('the plans are elsewhere')"),
    "BaseException": ("class Odd(BaseException):\n    pass\nraise Odd('odd')\n", 2, "importing it raised Odd: odd"),
    "GeneratorExit": ("raise GeneratorExit()\n", 2, "importing it raised GeneratorExit"),
    # Ctrl-C while the model imports, or a module that raises it: one meaning, an interrupt (130), never a bad model
    "KeyboardInterrupt": ("raise KeyboardInterrupt()\n", 130, "interrupted"),
}


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("command", [["dump", "--store", "memory://", "--aggregate", "customer"],
                                     ["deploy", "template", "--out", "t.yaml"]], ids=lambda c: c[0])
def test_a_model_module_that_exits_or_raises_stays_inside_the_table(name, command, tmp_path, monkeypatch, capsys):
    body, code, message = MODELS[name]
    spec = _model(tmp_path, monkeypatch, "m_" + "".join(c for c in name if c.isalnum()), body)
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--model", spec]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


BAD_URLS = {
    "prefix=UP": ("opensearch+http://127.0.0.1:9?prefix=UP", "prefix 'UP'"),
    "prefix=*": ("opensearch+http://127.0.0.1:9?prefix=*", "prefix '*'"),
    "prefix=a/../b": ("opensearch+http://127.0.0.1:9?prefix=a/../b", "prefix 'a/../b'"),
    "unclosed IPv6": ("opensearch+http://[::1:9200", "not a valid URL"),
    "timeout=1e400": ("opensearch+http://127.0.0.1:9?timeout=1e400", "finite"),
    "timeout=nan": ("opensearch+http://127.0.0.1:9?timeout=nan", "finite"),
    "timeout=inf": ("opensearch+http://127.0.0.1:9?timeout=inf", "finite"),
}


@pytest.mark.parametrize("name", BAD_URLS)
@pytest.mark.parametrize("command", [["dump", "--aggregate", "customer"], ["status"]], ids=lambda c: c[0])
def test_a_bad_opensearch_url_exits_2_with_a_clear_message_never_70(name, command, monkeypatch, capsys):
    url, message = BAD_URLS[name]
    monkeypatch.setenv("DYNAFOLD_QUARANTINE", "memory://")
    assert main([*command, "--store", url]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "internal error" not in err


def test_a_table_mapped_twice_is_refused_naming_it(monkeypatch, capsys):
    """DYNAFOLD_TABLES=customers=a,customers=b was accepted, keeping the last."""
    monkeypatch.setenv("DYNAFOLD_TABLES", "customers=a,customers=b")
    assert main(["dump", "--store", "memory://", "--aggregate", "customer"]) == 2
    assert "'customers' is mapped twice" in capsys.readouterr().err


@pytest.mark.parametrize("store_url", ["sqlite", "opensearch"], indirect=True)
def test_a_search_of_too_many_words_is_refused_before_the_store_is_asked(store_url, capsys):
    """2,000 words made OpenSearch answer 400 (too many clauses): exit 3, 'unavailable', though no retry helps."""
    from dynafold.projector.stores import open_store
    from dynafold.projector.stores.search_terms import MAX_WORDS

    Projector(MODEL, open_store(store_url), MemoryQuarantine()).project([customer("c1", seq=1)])
    words = [f"w{i}" for i in range(2_000)]
    assert main(["search", "--store", store_url, "--aggregate", "customer", *words]) == 2
    assert f"at most {MAX_WORDS} are allowed" in capsys.readouterr().err
    assert main(["search", "--store", store_url, "--aggregate", "customer",
                 *(["ada"] * MAX_WORDS)]) == 0, "the limit itself is accepted"
    assert "c1" in capsys.readouterr().out


# the views file: read-only, unreadable or full is the user's to fix (2), on every command that meets it


def _views(tmp_path) -> str:
    url = f"sqlite:///{tmp_path}/views.db"
    bad = order("c1", "o1", seq=2)
    bad["dynamodb"]["NewImage"]["total"] = {"S": "ten"}
    store, quarantine = SQLiteStore(url), SQLiteQuarantine(url)
    Projector(MODEL, store, quarantine).project([customer("c1", seq=1), bad])
    store.close()
    quarantine.close()
    return url


def _without_privileges(*args: str) -> subprocess.CompletedProcess:
    """``dynafold ARGS`` in a child that, even as root, is refused what permission bits refuse."""
    import os
    import shutil

    prefix: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("root ignores permission bits and setpriv is missing to drop CAP_DAC_OVERRIDE")
        prefix = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
                  "--bounding-set=-dac_override,-dac_read_search"]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    return subprocess.run([*prefix, sys.executable, "-m", "dynafold", *args], capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.mark.parametrize("command", [["dump", "--aggregate", "customer"], ["status"], ["quarantine", "list"],
                                     ["quarantine", "drop", "orders/100000000000000000002"], ["sweep"]],
                         ids=lambda c: " ".join(c[:2]))
def test_an_unreadable_views_file_exits_2(command, tmp_path):
    url = _views(tmp_path)
    (tmp_path / "views.db").chmod(0)
    try:
        result = _without_privileges(*command, "--store", url)
    finally:
        (tmp_path / "views.db").chmod(0o644)
    assert result.returncode == 2, result.stderr
    assert "unusable" in result.stderr or "unable to open" in result.stderr, result.stderr


@pytest.mark.parametrize("command", [["quarantine", "drop", "orders/100000000000000000002"], ["sweep"],
                                     ["quarantine", "retry", "orders/100000000000000000002"]],
                         ids=lambda c: " ".join(c[:2]))
def test_a_read_only_views_file_exits_2_from_a_command_that_writes(command, tmp_path):
    url = _views(tmp_path)
    (tmp_path / "views.db").chmod(0o444)
    tmp_path.chmod(0o555)
    try:
        result = _without_privileges(*command, "--store", url)
    finally:
        tmp_path.chmod(0o755)
        (tmp_path / "views.db").chmod(0o644)
    assert result.returncode == 2, result.stderr
    assert "unusable" in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.fixture
def full_disk(monkeypatch):
    """Every SQLite file opened for writing from now on is full: it may not grow by one page."""
    from dynafold.projector.stores.sqlite import connections

    real = connections.ThreadConnections._connect

    def connect(self):
        conn = real(self)
        if not self.read_only:
            (pages,) = conn.execute("PRAGMA page_count").fetchone()
            conn.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        return conn

    monkeypatch.setattr(connections.ThreadConnections, "_connect", connect)


def test_a_full_disk_exits_2_from_replay_and_from_quarantine_drop(dynamodb, tmp_path, full_disk, capsys):
    from dynafold.testing.sample_writer import SampleWriter

    writer = SampleWriter(dynamodb)
    for i in range(40):
        writer.put("customers", {"customer_id": f"c{i:02d}", "name": "x" * 2_000, "email": f"c{i}@x.io"})
    url = f"sqlite:///{tmp_path}/v.db"
    assert main(["replay", "--store", url, "--aggregate", "customer", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "full" in err and "--resume" not in err


def test_the_stream_function_reports_anything_transient_as_a_batch_failure():
    """The Lambda's rule: a failure it cannot finish the batch through is the batch's failure, redelivered."""
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    from dynafold.handlers.stream import make_handler
    from dynafold.projector.stores.base import StoreUnavailable, StoreUnusable

    batch = [customer("c1", seq=1), customer("c2", seq=2)]
    every = [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in batch]
    for error in (ReadTimeoutError(endpoint_url="https://dynamodb"), ConnectTimeoutError(endpoint_url="https://x"),
                  EndpointConnectionError(endpoint_url="https://x"), StoreUnavailable("down"), StoreUnusable("full"),
                  ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "Query"), TimeoutError()):
        def broken(error=error):
            raise error

        handle = make_handler(broken, emit=lambda *a: None)
        assert handle({"Records": batch}, None) == {"batchItemFailures": every}, type(error).__name__
