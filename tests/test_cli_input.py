"""Odd and hostile input to the ``dynafold`` command: what reaches the terminal, odd store URLs, bad limits."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import boto3
import pytest

from dynafold.cli import main
from dynafold.projector.aws.provision import create_tables
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores import open_store
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.projector.stores.sqlite.quarantine import SQLiteQuarantine
from dynafold.projector.stores.sqlite.store import SQLiteStore
from dynafold.sample import MODEL
from dynafold.testing.sample_writer import SampleWriter
from tests.support.records import ARN, customer, order

PASSWORD = "s3cr3t/Pa55:word@"
ESCAPES = "\x1b]0;owned\x07\x1b[2J\r\x9b31m\u202e"


def hostile() -> list[dict]:
    """Poison records whose event id and stream ARN (so table name) hold terminal escape sequences."""
    bad_id = order("c1", "o1", seq=1)
    bad_id["eventID"] = f"ev{ESCAPES}"
    bad_id["dynamodb"]["NewImage"]["total"] = {"S": "ten"}
    bad_arn = order("c1", "o2", seq=2)
    bad_arn["eventSourceARN"] = ARN.format(table=f"orders{ESCAPES}")
    return [bad_id, bad_arn]


def test_quarantine_list_escapes_control_characters_from_arns_and_event_ids(tmp_path, capsys):
    """Event ids and ARNs come from the record: printed raw they could rewrite the operator's terminal."""
    url = f"sqlite:///{tmp_path}/views.db"
    report = Projector(MODEL, SQLiteStore(url), SQLiteQuarantine(url)).project(hostile())
    assert len(report.quarantined) == 2
    assert main(["quarantine", "--store", url, "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 2
    for line in lines:
        assert all(c == "\t" or c.isprintable() for c in line), repr(line)
    assert "\\x1b]0;owned\\x07" in out
    printed = next(line.split("\t")[0] for line in lines if "orders\\x1b" in line)
    assert main(["quarantine", "--store", url, "drop", printed]) == 0, "the printed id names the entry"
    err = capsys.readouterr().err
    assert all(c == "\n" or c.isprintable() for c in err), repr(err)
    assert len(SQLiteQuarantine(url).list()) == 1


def test_log_lines_and_status_escape_control_characters_from_records(tmp_path, capsys):
    """Raw ESC, BEL and CR from an event id, a table name in an ARN or a map key reached the terminal through
    the CLI's log lines and ``status`` (``quarantine list`` already escaped them)."""
    from dynafold.cli.output import configure_logging

    url = f"sqlite:///{tmp_path}/views.db"
    bad_key = customer("c2", seq=3)
    bad_key["dynamodb"]["NewImage"]["prefs"] = {"M": {f"k{ESCAPES}": {"N": "x"}}}
    configure_logging("WARNING")
    capsys.readouterr()
    report = Projector(MODEL, SQLiteStore(url), SQLiteQuarantine(url)).project([*hostile(), bad_key])
    assert len(report.quarantined) == 3
    logged = capsys.readouterr().err
    assert logged.count("record quarantined") == 3
    assert all(c == "\n" or c.isprintable() for c in logged), repr(logged)
    assert "\\x1b]0;owned\\x07" in logged, "escaped, not dropped"
    assert main(["status", "--store", url]) == 0
    out = capsys.readouterr().out
    assert all(c == "\n" or c.isprintable() for c in out), repr(out)
    assert "orders\\x1b" in out and out.count("\n") >= 5, "escaped, one line per entry as before"


class _BasicAuthProxy(BaseHTTPRequestHandler):
    """Forwards to the server's ``upstream`` only requests carrying its ``authorization``; 401 for the others."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.headers.get("authorization") != self.server.authorization:
            status, data, kind = 401, b'{"error": "unauthorized", "status": 401}', "application/json"
        else:
            request = urllib.request.Request(self.server.upstream + self.path, data=body if body else None,
                                             method=self.command, headers={"content-type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:
                    status, data, kind = answer.status, answer.read(), answer.headers.get("content-type", "")
            except urllib.error.HTTPError as error:
                status, data, kind = error.code, error.read(), error.headers.get("content-type", "")
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

    def log_message(self, *args):
        pass


@pytest.fixture
def guarded_osmem(osmem_url):
    """osmem behind basic auth (user ``replayer``, password ``PASSWORD``): the URL without credentials."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BasicAuthProxy)
    server.daemon_threads = True
    server.upstream = osmem_url.rstrip("/")
    server.authorization = "Basic " + base64.b64encode(f"replayer:{PASSWORD}".encode()).decode()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("dynamodb_endpoint", ["moto"], indirect=True)
def test_replay_worker_processes_reach_a_store_whose_url_holds_credentials(dynamodb_endpoint, guarded_osmem, tmp_path,
                                                                            capsys):
    """Workers got store.url, which is redacted: every segment failed with 401 and no document was written."""
    client = boto3.client("dynamodb")
    create_tables(client, MODEL)
    writer = SampleWriter(client)
    for i in range(30):
        writer.put("customers", {"customer_id": f"c{i:02d}", "name": f"Customer {i}", "email": f"c{i}@x.io"})
    url = f"opensearch+http://replayer:{quote(PASSWORD, safe='')}@{guarded_osmem}"
    code = main(["replay", "--store", url, "--aggregate", "customer", "--segments", "3", "--workers", "2",
                 "--no-progress", "--quarantine", f"sqlite:///{tmp_path}/q.db", "--checkpoints", f"sqlite:///{tmp_path}/c.db"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert len(list(open_store(url).documents("customer"))) == 30
    assert PASSWORD not in out.out + out.err and quote(PASSWORD, safe="") not in out.out + out.err


@pytest.mark.parametrize("command", [["dump", "--aggregate", "customer"], ["quarantine", "list"],
                                     ["sweep", "--older-than", "48h"]], ids=["dump", "quarantine-list", "sweep"])
@pytest.mark.parametrize("kind, code, message", [
    ("memory", 2, "in-memory"),
    ("directory", 2, "directory"),
    ("not a database", 2, "not an SQLite database"),
], ids=["memory", "directory", "not-a-database"])
def test_odd_sqlite_urls_are_usage_errors_not_tracebacks(tmp_path, capsys, command, kind, code, message):
    """:memory: was accepted (quarantined records vanished with the process); a directory or another file raised."""
    target = {"memory": ":memory:", "directory": str(tmp_path), "not a database": str(tmp_path / "notes.txt")}[kind]
    (tmp_path / "notes.txt").write_text("these are not the views you are looking for\n" * 100)
    assert main([command[0], "--store", f"sqlite:///{target}", *command[1:]]) == code
    assert message in capsys.readouterr().err


def test_a_store_on_a_filesystem_that_cannot_take_a_file_is_unusable(capsys):
    """/proc takes no new files, like a read-only mount: a command that writes exits 2 (the user must act;
    it was 3, 'unavailable', which promised that a retry may help), not with a traceback."""
    assert main(["replay", "--no-progress", "--store", "sqlite:////proc/self/views.db"]) == 2
    assert "unusable: unable to open database file" in capsys.readouterr().err


@pytest.fixture(params=["immutable", "permissions"])
def read_only_copy(request, tmp_path):
    """A views file (one customer, one quarantined record) copied where nothing may write, and how to run
    the CLI there: ``chattr +i`` (root only), or permission bits (root runs the CLI without CAP_DAC_OVERRIDE)."""
    url = f"sqlite:///{tmp_path}/views.db"
    store, quarantine = SQLiteStore(url), SQLiteQuarantine(url)
    bad = order("c1", "o1", seq=2)
    bad["dynamodb"]["NewImage"]["total"] = {"S": "ten"}
    Projector(MODEL, store, quarantine).project([customer("c1", seq=1), bad])
    store.close()
    quarantine.close()
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(tmp_path / "views.db", copy / "views.db")
    root, paths = os.geteuid() == 0, [str(copy / "views.db"), str(copy)]
    prefix: list[str] = []
    if request.param == "immutable":
        if not root or subprocess.run(["chattr", "+i", *paths], capture_output=True).returncode != 0:
            pytest.skip("chattr +i needs root and a file system that supports it")
    else:
        if root:
            if not shutil.which("setpriv"):
                pytest.skip("root ignores permission bits and setpriv is missing to drop CAP_DAC_OVERRIDE")
            prefix = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]
        (copy / "views.db").chmod(0o444)
        copy.chmod(0o555)
    yield f"sqlite:///{copy}/views.db", prefix
    if request.param == "immutable":
        subprocess.run(["chattr", "-i", *paths], check=True)
    copy.chmod(0o755)


def dynafold(prefix: list[str], *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    return subprocess.run([*prefix, sys.executable, "-m", "dynafold", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_read_commands_open_a_read_only_copy_of_a_views_file(read_only_copy):
    """Read commands opened the file for writing (WAL mode, the schema): a read-only copy could not even be dumped."""
    url, prefix = read_only_copy
    dump = dynafold(prefix, "dump", "--store", url, "--aggregate", "customer")
    assert dump.returncode == 0 and '"customer_id":"c1"' in dump.stdout.replace(" ", ""), dump.stderr
    search = dynafold(prefix, "search", "--store", url, "--aggregate", "customer", "Ada")
    assert search.returncode == 0 and "c1" in search.stdout, search.stderr
    listing = dynafold(prefix, "quarantine", "--store", url, "list")
    assert listing.returncode == 0 and "orders/100000000000000000002" in listing.stdout, listing.stderr
    show = dynafold(prefix, "quarantine", "--store", url, "show", "orders/100000000000000000002")
    assert show.returncode == 0, show.stderr
    drop = dynafold(prefix, "quarantine", "--store", url, "drop", "orders/100000000000000000002")
    assert drop.returncode == 2 and "store unusable" in drop.stderr, drop.stderr


@pytest.mark.parametrize("store_url", ["sqlite", "opensearch"], indirect=True)
@pytest.mark.parametrize("limit", ["-1", "0", "10001", "100000", "ten"])
def test_a_search_limit_outside_1_to_10000_is_a_usage_error(store_url, limit, capsys):
    """-1 returned everything on SQLite and nothing on OpenSearch; 100000 on OpenSearch exited 3 (unreachable)."""
    with pytest.raises(SystemExit) as exit_:
        main(["search", "--store", store_url, "--aggregate", "customer", "--limit", limit, "ada"])
    assert exit_.value.code == 2
    assert "--limit" in capsys.readouterr().err


@pytest.mark.parametrize("store_url", ["sqlite", "opensearch"], indirect=True)
def test_a_search_limit_of_10000_is_accepted(store_url, capsys):
    Projector(MODEL, open_store(store_url), MemoryQuarantine()).project([customer("c1", seq=1)])
    assert main(["search", "--store", store_url, "--aggregate", "customer", "--limit", "10000", "ada"]) == 0
    assert "c1" in capsys.readouterr().out
