"""The generated template: lint-clean for three models, and its functions, mappings, IAM and parameters
are exactly what each model implies, read structurally (cfn-lint's loader), never by counting strings."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from dynafold.cli import main
from dynafold.deploy.build import write_zip
from dynafold.deploy.template import AOSS_REFUSAL, DeployError, generate, render
from dynafold.projector.config import load_model
from tests.support import cfn

ROOT = Path(__file__).resolve().parents[1]

# What each model implies, written out by hand: per source table, the tables its records read with
# BatchGetItem and the (table, index) pairs they query (join reads, fan-outs, pointing items).
EXPECTED = {
    "dynafold.sample:MODEL": {
        "customers": (set(), set()),
        "orders": (set(), set()),
        "subscriptions": (set(), set()),
        "lessons": ({"songs"}, set()),
        "songs": ({"lessons", "songs"}, {("lessons", "by_song")}),
    },
    "tests.models.crm:MODEL": {
        "users": ({"plans"}, set()),
        "plans": ({"users", "plans"}, {("users", "by_plan")}),
        "devices": ({"device_models"}, set()),
        "device_models": ({"devices", "device_models"}, {("devices", "by_model")}),
        "addresses": (set(), set()),
    },
    "tests.models.single_table:MODEL": {
        "app": ({"products"}, set()),
        "products": ({"app", "products"}, {("app", "by_product")}),
    },
}
MODELS = sorted(EXPECTED)
TABLE_ARN = re.compile(r"^arn:\$\{AWS::Partition\}:dynamodb:\$\{AWS::Region\}:\$\{AWS::AccountId\}:table/"
                       r"\$\{(\w+)\}(?:/index/([\w.-]+))?$")


@pytest.fixture(scope="module")
def templates() -> dict[str, dict]:
    return {spec: cfn.load(render(load_model(spec), spec)) for spec in MODELS}


@pytest.mark.skipif(shutil.which("cfn-lint") is None, reason="cfn-lint is not installed")
def test_the_generated_templates_of_three_models_are_lint_clean(tmp_path):
    paths = []
    for spec in MODELS:
        path = tmp_path / (spec.split(":")[0] + ".yaml")
        path.write_text(render(load_model(spec), spec))
        paths.append(str(path))
    result = subprocess.run(["cfn-lint", *paths], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_checked_in_template_is_the_samples_generated_output():
    expected = render(load_model("dynafold.sample:MODEL"), "dynafold.sample:MODEL")
    assert (ROOT / "template.yaml").read_text() == expected, \
        "template.yaml is stale: dynafold deploy template --model dynafold.sample:MODEL --out template.yaml"


def logical_of(template: dict) -> dict[str, str]:
    """TableName parameter -> the model's logical table (its default)."""
    return {name: p["Default"] for name, p in template["Parameters"].items() if name.endswith("TableName")}


def stream_functions(template: dict) -> dict[str, dict]:
    """Logical table -> its function resource, found through the stream its mapping reads."""
    found = {}
    streams = {name: name[: -len("StreamArn")] for name in template["Parameters"] if name.endswith("StreamArn")}
    tables = {name[: -len("TableName")]: default for name, default in logical_of(template).items()}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function" or resource["Properties"]["Handler"] != "dynafold.handlers.stream.handler":
            continue
        (event,) = resource["Properties"]["Events"].values()
        found[tables[streams[event["Properties"]["Stream"]["Ref"]]]] = resource
    return found


def statements(template: dict, function: dict) -> list[dict]:
    role = template["Resources"][function["Properties"]["Role"]["Fn::GetAtt"][0]]
    (policy,) = role["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def dynamodb_grants(template: dict, function: dict) -> set[tuple[str, str, str]]:
    """(action, logical table, index or '') for every DynamoDB grant on a table or index ARN."""
    logical = logical_of(template)
    grants = set()
    for statement in statements(template, function):
        for resource in statement["Resource"]:
            text = resource.get("Fn::Sub") if isinstance(resource, dict) else None
            match = TABLE_ARN.match(text or "")
            if match:
                for action in statement["Action"]:
                    grants.add((action, logical[match.group(1)], match.group(2) or ""))
    return grants


@pytest.mark.parametrize("spec", MODELS)
def test_one_stream_function_per_source_table_with_the_required_mapping(templates, spec):
    template = templates[spec]
    functions = stream_functions(template)
    assert set(functions) == set(EXPECTED[spec])
    ages = template["Parameters"]["MaximumRecordAgeInSeconds"]
    assert ages["MaxValue"] < 24 * 3600, "a failed range is reported while the stream still holds it"
    for table, function in functions.items():
        (event,) = function["Properties"]["Events"].values()
        mapping = event["Properties"]
        assert event["Type"] == "DynamoDB" and mapping["StartingPosition"] == "TRIM_HORIZON"
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and mapping["BisectBatchOnFunctionError"] is True
        assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["StreamFailures", "Arn"]}
        for setting in ("BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor", "MaximumRetryAttempts",
                        "MaximumRecordAgeInSeconds"):
            assert mapping[setting]["Ref"] in template["Parameters"], setting
        assert table in function["Properties"]["Description"]


@pytest.mark.parametrize("spec", MODELS)
def test_each_function_may_read_its_stream_and_exactly_the_tables_and_indexes_its_translation_reads(templates, spec):
    template = templates[spec]
    for table, function in stream_functions(template).items():
        tables, queries = EXPECTED[spec][table]
        expected = {("dynamodb:BatchGetItem", t, "") for t in tables} | {("dynamodb:Query", t, i) for t, i in queries}
        assert dynamodb_grants(template, function) == expected, table
        by_sid = {s["Sid"]: s for s in statements(template, function)}
        assert by_sid["OwnStream"]["Resource"] == [{"Ref": function["Properties"]["Events"]["Stream"]["Properties"]["Stream"]["Ref"]}]
        assert set(by_sid["OwnStream"]["Action"]) == {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
        assert by_sid["ControlTable"]["Resource"] == [{"Fn::GetAtt": ["ControlTable", "Arn"]}]
        assert by_sid["OpenSearch"]["Action"] == ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
        assert by_sid["OpenSearch"]["Resource"] == [{"Fn::Sub": "${OpenSearchDomainArn}/*"}]
        wildcard = {a for s in statements(template, function) if "*" in s["Resource"] for a in s["Action"]}
        assert wildcard == {"dynamodb:ListStreams"}, "nothing but ListStreams (not resource-scoped) on *"


@pytest.mark.parametrize("spec", MODELS)
def test_parameters_name_every_table_and_the_code_gets_the_mapping_and_the_model(templates, spec):
    template = templates[spec]
    model = load_model(spec)
    assert sorted(logical_of(template).values()) == sorted(model.tables)
    streams = {name for name in template["Parameters"] if name.endswith("StreamArn")}
    assert len(streams) == len(EXPECTED[spec])
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["DYNAFOLD_MODEL"] == spec
    separator, parts = variables["DYNAFOLD_TABLES"]["Fn::Join"]
    pairs = dict(part["Fn::Sub"].split("=", 1) for part in parts)
    assert separator == "," and set(pairs) == set(model.tables)
    for logical, physical in pairs.items():
        (param,) = re.fullmatch(r"\$\{(\w+)\}", physical).groups()
        assert template["Parameters"][param]["Default"] == logical


@pytest.mark.parametrize("spec", MODELS)
def test_every_stream_function_has_its_alarms_and_the_dashboard_shows_conflicts_and_retries(templates, spec):
    template = templates[spec]
    alarms = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    for table, function in stream_functions(template).items():
        name = next(n for n, r in template["Resources"].items() if r is function)
        on_function = {a["MetricName"] for a in alarms if a["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": name}}]}
        assert on_function == {"IteratorAge", "Errors"}
        on_table = {a["MetricName"] for a in alarms if {"Name": "table", "Value": table} in a["Dimensions"]}
        assert on_table == {"ProjectionLag", "Quarantined"}
    queues = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarms if a["Namespace"] == "AWS/SQS"}
    assert queues == {"StreamFailures", "RedriveDeadLetters"}
    (dashboard,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = json.loads(dashboard["Properties"]["DashboardBody"]["Fn::Sub"])
    shown = {m[1] for w in body["widgets"] for m in w["properties"]["metrics"]}
    assert {"IteratorAge", "ProjectionLag", "Quarantined", "Errors", "Conflicts", "Retries",
            "ApproximateNumberOfMessagesVisible"} <= shown
    groups = [r for r in template["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert groups and all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups)


def test_without_subnets_no_function_gets_a_vpc_config_and_no_endpoint_is_created(templates):
    template = templates["dynafold.sample:MODEL"]
    outside = cfn.resolve(template["Globals"], template, {})
    assert "VpcConfig" not in outside["Function"]
    assert not [n for n, r in cfn.stack(template, {}).items() if r["Type"] == "AWS::EC2::VPCEndpoint"]
    inside = {"SubnetIds": ["subnet-1", "subnet-2"], "SecurityGroupIds": ["sg-1"], "VpcId": "vpc-1",
              "RouteTableIds": ["rtb-1"]}
    config = cfn.resolve(template["Globals"], template, inside)["Function"]["VpcConfig"]
    assert config == {"SubnetIds": {"Ref": "SubnetIds"}, "SecurityGroupIds": {"Ref": "SecurityGroupIds"}}
    endpoints = {r["Properties"]["ServiceName"]["Fn::Sub"] for r in cfn.stack(template, inside).values()
                 if r["Type"] == "AWS::EC2::VPCEndpoint"}
    assert endpoints == {"com.amazonaws.${AWS::Region}.dynamodb", "com.amazonaws.${AWS::Region}.s3"}
    without_routes = {**inside, "RouteTableIds": [""]}
    assert not [r for r in cfn.stack(template, without_routes).values() if r["Type"] == "AWS::EC2::VPCEndpoint"]


def test_the_template_names_no_region_so_one_template_serves_every_region(templates):
    for spec, template in templates.items():
        text = json.dumps({part: template[part] for part in ("Conditions", "Globals", "Resources", "Outputs")})
        assert not re.search(r"\b(us|eu|ap|sa|ca|me|af|il)-[a-z]+-\d\b", text), spec
        assert "arn:aws:" not in text, "ARNs are built with ${AWS::Partition}"


def test_opensearch_serverless_is_refused_at_generation_time_naming_the_missing_write(tmp_path, capsys):
    with pytest.raises(DeployError) as refused:
        generate(load_model("dynafold.sample:MODEL"), "dynafold.sample:MODEL", store_service="aoss")
    assert "if_seq_no" in str(refused.value) and str(refused.value) == AOSS_REFUSAL
    out = tmp_path / "t.yaml"
    assert main(["deploy", "template", "--model", "dynafold.sample:MODEL", "--out", str(out), "--store-service", "aoss"]) == 2
    assert "if_seq_no/if_primary_term" in capsys.readouterr().err and not out.exists()


@pytest.mark.skipif(shutil.which("dynafold") is None, reason="the dynafold script is not installed")
def test_the_command_line_finds_a_model_in_the_current_directory(tmp_path):
    out = tmp_path / "template.yaml"
    result = subprocess.run(["dynafold", "deploy", "template", "--model", "tests.models.single_table:MODEL",
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    template = cfn.load(out.read_text())
    assert set(stream_functions(template)) == {"app", "products"}


def test_the_artifact_zip_is_byte_for_byte_reproducible(tmp_path):
    source = tmp_path / "package"
    (source / "projector").mkdir(parents=True)
    (source / "projector" / "__init__.py").write_text("x = 1\n")
    (source / "projector" / "__pycache__").mkdir()
    (source / "projector" / "__pycache__" / "x.pyc").write_bytes(b"junk")
    (source / "attrs.py").write_text("y = 2\n")
    first = write_zip(source, tmp_path / "a.zip")
    os.utime(source / "attrs.py", (time.time() + 1000, time.time() + 1000))
    second = write_zip(source, tmp_path / "b.zip")
    assert first == second
    import zipfile

    assert zipfile.ZipFile(tmp_path / "a.zip").namelist() == ["attrs.py", "projector/__init__.py"]


def test_the_package_carries_the_engine_and_the_models_own_package_only(tmp_path, monkeypatch):
    from dynafold.deploy.build import add_sources

    monkeypatch.chdir(ROOT)
    engine, own = add_sources(tmp_path, "tests.models.crm:MODEL")
    added = set(engine) | set(own)
    assert {"tests/__init__.py", "tests/models/__init__.py", "tests/models/crm.py"} <= set(own)
    assert not {name for name in added if name.startswith(("tests/servers", "tests/support", "dynafold/testing/",
                                                            "dynafold/deploy/", "dynafold/cli/"))}
    assert {"dynafold/handlers/stream.py", "dynafold/handlers/replay.py", "dynafold/handlers/failure_queue.py",
            "dynafold/replay/state_machine.json", "dynafold/sample.py", "dynafold/py.typed"} <= added
    assert not [name for name in added if not name.startswith(("dynafold/", "tests/"))]
    assert not [name for name in added if "__pycache__" in name or name.endswith(".pyc")]
    _, sample = add_sources(tmp_path / "sample", "dynafold.sample:MODEL")
    assert sample == [], "the sample ships with the engine"


def test_dependencies_are_installed_from_the_lock_with_hashes_for_the_chosen_architecture(tmp_path, monkeypatch):
    import dynafold.deploy.build as build

    calls = []
    monkeypatch.setattr(build, "pip", lambda *command: calls.append(list(command)) or subprocess.CompletedProcess(command, 0))
    build.install(tmp_path, "arm64")
    (command,) = calls
    assert "--require-hashes" in command and "--no-deps" in command and command[-2:] == ["-r", str(build.LOCK)]
    platforms = [command[i + 1] for i, part in enumerate(command) if part == "--platform"]
    assert platforms and all(p.endswith("_aarch64") for p in platforms)


def test_the_lock_pins_every_runtime_dependency_with_a_hash_per_architecture_where_wheels_differ():
    import tomllib

    text = (ROOT / "deploy" / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+) \\$", text, re.M))
    entries = re.split(r"\n(?=[a-z0-9-]+==)", text.split("\n", 2)[2])
    assert all(re.search(r"--hash=sha256:[0-9a-f]{64}", entry) for entry in entries)
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {re.split(r"[<>=!~ \[]", d)[0].lower() for d in declared} <= set(pins)
    grpcio = next(entry for entry in entries if entry.startswith("grpcio=="))
    assert grpcio.count("--hash=") == 2, "a native wheel per architecture"


def test_logical_ids_are_letters_and_digits_and_stay_distinct_when_names_sanitize_alike():
    from dynafold.deploy.cfn import logical_id, unique_ids

    assert logical_id("device_models") == "DeviceModels" and logical_id("prod.users-v2") == "ProdUsersV2"
    assert logical_id("9lives") == "T9lives"
    ids = unique_ids(["a_bc", "a-bc", "plain"])
    assert len(set(ids.values())) == 3 and ids["plain"] == "Plain"
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", v) for v in ids.values())


def test_a_hand_translated_table_may_read_every_table_since_its_needs_are_code():
    template = cfn.load(render(load_model("tests.models.groups:MODEL"), "tests.models.groups:MODEL"))
    functions = stream_functions(template)
    reads = {t for action, t, _ in dynamodb_grants(template, functions["flags"]) if action == "dynamodb:BatchGetItem"}
    assert reads == {"groups", "people", "flags"}
    assert dynamodb_grants(template, functions["people"]) == set(), "declared tables read nothing they do not join"


def test_deploy_lock_resolves_the_installed_dynafolds_runtime_requirements_not_a_pyproject(tmp_path, monkeypatch, capsys):
    """From a wheel there is no pyproject.toml: the requirements come from the installed metadata, extras left out."""
    import dynafold.deploy.lock as lock

    metadata = ["attrs>=23.1", "boto3>=1.34", 'hypothesis>=6.100; extra == "testing"',
                'tomli>=2; python_version < "3.11"', 'pytest>=8 ; extra=="testing"']
    monkeypatch.setattr(lock, "requires", lambda name: metadata if name == "dynafold" else None)
    assert lock.requirements() == ["attrs>=23.1", "boto3>=1.34", 'tomli>=2; python_version < "3.11"']
    resolved = []

    def resolve(arch):
        resolved.append((arch, lock.requirements()))
        return {"attrs": ("26.1.0", "a" * 64), "grpcio": ("1.85.1", ("b" if arch == "x86_64" else "c") * 64)}

    monkeypatch.setattr(lock, "resolve", resolve)
    out = tmp_path / "requirements.lock"
    assert main(["deploy", "lock", "--out", str(out)]) == 0
    assert [arch for arch, _ in resolved] == ["x86_64", "aarch64"]
    assert lock.pins(out) == {"attrs": "26.1.0", "grpcio": "1.85.1"}
    assert out.read_text().count("--hash=sha256:") == 3, "one hash for the pure wheel, one per architecture for grpcio"
    assert f"wrote {out}: 2 pinned distributions" in capsys.readouterr().err


def test_the_installed_metadata_declares_what_pyproject_declares():
    import tomllib

    from dynafold.deploy.lock import requirements

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(requirements()) == sorted(declared), "reinstall: the installed metadata is stale"
