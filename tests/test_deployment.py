"""Deployment files: the template passes cfn-lint, wires every table, and the artifact zip is reproducible."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from deploy.build import write_zip
from domain.sample import MODEL

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("cfn-lint") is None, reason="cfn-lint is not installed")
def test_the_template_is_lint_clean():
    result = subprocess.run(["cfn-lint", str(ROOT / "template.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_source_table_has_a_stream_function_with_the_required_mapping_settings():
    text = (ROOT / "template.yaml").read_text()
    for table in MODEL.tables:
        name = table.capitalize()
        assert f"  {name}Projector:" in text and f"Stream: !Ref {name}StreamArn" in text
    assert text.count("FunctionResponseTypes: [ReportBatchItemFailures]") == len(MODEL.tables)
    assert text.count("BisectBatchOnFunctionError: true") == len(MODEL.tables)
    assert text.count("StartingPosition: TRIM_HORIZON") == len(MODEL.tables)
    assert text.count("Destination: !GetAtt StreamFailures.Arn") == len(MODEL.tables)
    assert "MaxValue: 86399" in text, "record age stays under the 24 h retention"
    assert "es:ESHttp*" not in text, "OpenSearch actions are listed, not wildcarded"
    assert "DefinitionUri: replay/state_machine.json" in text


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


def test_the_state_machine_definition_is_valid_json_with_a_map_over_segments():
    definition = json.loads((ROOT / "replay" / "state_machine.json").read_text())
    segments = definition["States"]["Segments"]
    assert segments["Type"] == "Map" and segments["ItemsPath"] == "$.segments"
    loop = segments["Iterator"]["States"]
    assert loop["Segment done?"]["Default"] == "Step" and loop["Step"]["Next"] == "Segment done?"
