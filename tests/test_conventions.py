"""The conventions a team expects from a tool installed beside its code: a model found in the current
directory by every command, Lambda's and Powertools' log levels honoured, the SigV4 region taken from
the function's own region, and every numeric setting checked with an error naming the variable."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from dynafold.handlers.entry import LambdaEntry
from dynafold.projector.aws.clients import client_config
from dynafold.projector.config import VARIABLES, ConfigurationError, Settings
from dynafold.projector.stores.opensearch.url import connect

SCRIPT = Path(sys.executable).with_name("dynafold")


@pytest.fixture
def dynafold_logger():
    """The ``dynafold`` logger as the test found it, restored afterwards (configuring logs changes it)."""
    logger = logging.getLogger("dynafold")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield logger
    logger.handlers[:], logger.level, logger.propagate = saved


# --- a model module in the current directory, for every command ------------------------------------------

PROJECT_MODEL = """
from dynafold import Aggregate, Model, Table
from dynafold.kinds import keyword, text

people = Table("people", "person_id")
MODEL = Model([Aggregate("person", people, fields=dict(name=text, team=keyword))])
"""


@pytest.fixture
def project(tmp_path):
    """A user's project directory: ``myapp/views.py`` and a views file with one document in it."""
    from dynafold.domain.state import AggregateState
    from dynafold.projector.stores.base import DocKey, DocumentWrite
    from dynafold.projector.stores.sqlite.store import SQLiteStore

    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "views.py").write_text(PROJECT_MODEL)
    namespace: dict = {}
    exec(PROJECT_MODEL, namespace)
    store = SQLiteStore.from_url(f"sqlite:///{tmp_path}/views.db")
    (aggregate,) = namespace["MODEL"].aggregates.values()
    store.prepare([aggregate])
    target = store.targets("person").write[0]
    store.write([DocumentWrite(DocKey(target, "p1"), None, AggregateState(), {"name": "Ada Lovelace", "team": "x"})])
    store.close()
    yield tmp_path
    for module in [name for name in sys.modules if name.split(".")[0] == "myapp"]:
        del sys.modules[module]  # another test's project may have a myapp of its own


@pytest.mark.skipif(not SCRIPT.exists(), reason="the dynafold console script is not installed beside this Python")
@pytest.mark.parametrize("words", [
    ["dump", "--aggregate", "person"],
    ["search", "--aggregate", "person", "ada"],
    ["status"],
    ["quarantine", "list"],
    ["deploy", "template", "--out", "template.yaml"],
], ids=lambda words: " ".join(words[:2]))
def test_every_command_run_as_a_console_script_finds_the_model_in_the_current_directory(project, words):
    """A console script's ``sys.path`` does not hold the current directory, as ``python -m`` would: only the
    deploy commands found ``myapp`` before (``dump`` exited 2, ``No module named 'myapp'``)."""
    result = subprocess.run([str(SCRIPT), *words, "--model", "myapp.views:MODEL", "--store", "sqlite:///views.db"]
                            if words[0] != "deploy" else [str(SCRIPT), *words, "--model", "myapp.views:MODEL"],
                            cwd=project, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    if words[0] in ("dump", "search"):
        assert "Ada Lovelace" in result.stdout


def test_dump_shows_the_document_id_first_when_the_key_is_not_a_declared_field(project, monkeypatch, capsys):
    """The model declares ``name`` and ``team`` but not its key ``person_id``: a dump showed
    ``{"name":"Ada Lovelace","team":"x"}``, no id. ``_id`` cannot be a field (refused at load)."""
    from dynafold.cli import main

    monkeypatch.chdir(project)
    assert main(["dump", "--model", "myapp.views:MODEL", "--store", "sqlite:///views.db", "--aggregate", "person"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line == '{"_id":"p1","name":"Ada Lovelace","team":"x"}'


# --- log levels in Lambda ---------------------------------------------------------------------------------

LEVELS = ("AWS_LAMBDA_LOG_LEVEL", "DYNAFOLD_LOG_LEVEL", "POWERTOOLS_LOG_LEVEL")


@pytest.mark.parametrize("environment, level", [
    ({}, "INFO"),
    ({"POWERTOOLS_LOG_LEVEL": "DEBUG"}, "DEBUG"),
    ({"AWS_LAMBDA_LOG_LEVEL": "WARN", "DYNAFOLD_LOG_LEVEL": "DEBUG", "POWERTOOLS_LOG_LEVEL": "DEBUG"}, "WARNING"),
    ({"DYNAFOLD_LOG_LEVEL": "ERROR", "POWERTOOLS_LOG_LEVEL": "DEBUG"}, "ERROR"),
    ({"AWS_LAMBDA_LOG_LEVEL": "TRACE"}, "DEBUG"),
])
def test_the_lambda_entry_logs_at_the_level_lambda_and_powertools_set(environment, level, monkeypatch, capsys,
                                                                       dynafold_logger):
    for name in LEVELS:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    work_log = logging.getLogger("dynafold.lambda")

    def work(event, context):
        for each in ("DEBUG", "INFO", "WARNING", "ERROR"):
            work_log.log(getattr(logging, each), f"line at {each}")
        return {}

    LambdaEntry(lambda settings: work)({}, None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    shown = [line["level"] for line in lines]
    expected = ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert shown == expected[expected.index(level):]
    assert all(line["message"] == f"line at {line['level']}" and line["service"] == "dynafold" for line in lines)


# --- SigV4 region -----------------------------------------------------------------------------------------


@pytest.fixture
def signing_credentials(monkeypatch, tmp_path):
    for name, value in (("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "example")):
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))


DOMAIN = "opensearch+https://search-views.example.com:443"


@pytest.mark.parametrize("query, environment, signed", [
    ("?aws_service=es", {"AWS_REGION": "eu-central-1"}, ("eu-central-1", "es")),
    ("?aws_service=aoss", {"AWS_DEFAULT_REGION": "ap-south-1"}, ("ap-south-1", "aoss")),
    ("?aws_service=es", {"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "us-east-1"}, ("eu-central-1", "es")),
    ("?aws_service=es&aws_region=eu-west-1", {"AWS_REGION": "eu-central-1"}, ("eu-west-1", "es")),
    ("?aws_region=eu-west-1", {}, ("eu-west-1", "es")),
])
def test_sigv4_signs_for_the_functions_own_region_unless_the_url_names_one(query, environment, signed, monkeypatch,
                                                                           signing_credentials):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    auth = connect(DOMAIN + query).client.transport.kwargs["http_auth"]
    assert (auth.signer.region, auth.signer.service) == signed


def test_sigv4_without_a_region_anywhere_says_where_to_give_one(signing_credentials):
    with pytest.raises(ConfigurationError, match=r"aws_service needs aws_region, or AWS_REGION \(AWS_DEFAULT_REGION\)"):
        connect(DOMAIN + "?aws_service=es")


def test_a_url_without_aws_service_is_not_signed_whatever_the_region(monkeypatch, signing_credentials):
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert connect(DOMAIN).client.transport.kwargs.get("http_auth") is None


# --- numeric settings -------------------------------------------------------------------------------------

NUMERIC = [v for v in VARIABLES if v.number is not None]


def read_every_setting(environment: dict[str, str]) -> None:
    """What a command or a function reads at start: the settings and the AWS clients' configuration."""
    Settings.load(environment)
    client_config(environment)


def test_the_numeric_variables_are_the_documented_dynafold_numbers():
    assert {v.name for v in NUMERIC} == {
        "DYNAFOLD_TIME_MARGIN_MS", "DYNAFOLD_DOCUMENT_CACHE", "DYNAFOLD_REPLAY_MARGIN_MS", "DYNAFOLD_REPLAY_PAGE_SIZE",
        "DYNAFOLD_AWS_CONNECT_TIMEOUT_S", "DYNAFOLD_AWS_READ_TIMEOUT_S", "DYNAFOLD_AWS_MAX_ATTEMPTS"}


@pytest.mark.parametrize("variable", NUMERIC, ids=lambda v: v.name)
@pytest.mark.parametrize("text", ["-5", "0", "abc", "inf", "-inf", "nan", "1e400", "1.5"])
def test_every_numeric_setting_refuses_what_is_not_a_positive_finite_number_naming_the_variable(variable, text):
    if (text == "0" and variable.zero_allowed) or (text == "1.5" and variable.number is float):
        read_every_setting({variable.name: text})
        return
    with pytest.raises(ConfigurationError) as refused:
        read_every_setting({variable.name: text})
    assert str(refused.value).startswith(f"{variable.name}={text!r} ")


def test_a_document_cache_of_0_turns_the_cache_off_and_a_negative_one_is_refused():
    assert Settings.load({"DYNAFOLD_DOCUMENT_CACHE": "0"}).document_cache == 0
    with pytest.raises(ConfigurationError, match=r"DYNAFOLD_DOCUMENT_CACHE='-5' must be a whole number, 0 or more"):
        Settings.load({"DYNAFOLD_DOCUMENT_CACHE": "-5"})


def test_the_numeric_settings_read_their_values():
    settings = Settings.load({"DYNAFOLD_TIME_MARGIN_MS": "7000", "DYNAFOLD_REPLAY_PAGE_SIZE": "250"})
    assert (settings.stream_margin_ms, settings.failure_queue_margin_ms, settings.replay_page_size) == (7000, 7000, 250)
    config = client_config({"DYNAFOLD_AWS_CONNECT_TIMEOUT_S": "0.5"})
    assert config.connect_timeout == 0.5


# --- every dynafold logger on one JSON path ---------------------------------------------------------------


def test_every_dynafold_module_logs_under_the_dynafold_logger():
    """A logger outside ``dynafold`` would bypass the JSON handler (``projector.stores.opensearch_requests``
    did: its 413 warning came out as a plain root-handler line, its fields lost)."""
    import ast

    root = Path(__file__).resolve().parents[1]
    outside = []
    for package in ("domain", "projector", "replay", "deploy", "dynafold"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "getLogger" and node.args:
                    name = node.args[0]
                    if isinstance(name, ast.Constant) and not name.value.startswith("dynafold"):
                        outside.append(f"{path.relative_to(root)}:{node.lineno} {name.value}")
    assert outside == []
