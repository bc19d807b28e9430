"""``dynafold plan-rebuild``: the capacity model from the command line, in text and JSON."""

from __future__ import annotations

import json

from dynafold.cli import main
from dynafold.deploy.capacity import Limits, Measured, plan


def test_the_plan_prints_segments_throughput_bottleneck_time_and_cost(capsys):
    assert main(["plan-rebuild", "--items", "1000000000", "--item-bytes", "1024"]) == 0
    out = capsys.readouterr().out
    expected = plan(10**9, 1024)
    assert f"segments: {expected.segments:,}" in out and expected.bottleneck in out
    assert f"${expected.total_cost:,.2f}" in out


def test_every_figure_can_be_the_users_own(capsys):
    args = ["plan-rebuild", "--items", "5000000", "--item-bytes", "2048", "--segments", "8", "--memory-mb", "1769",
            "--arch", "x86_64", "--cpu-us-per-item", "90", "--domain-cpu-us-per-item", "120", "--sent-per-read-byte", "1.5",
            "--measured-item-bytes", "700", "--scan-mb-per-s", "12", "--table-read-units", "80000", "--data-nodes", "6",
            "--vcpus-per-node", "8", "--replicas", "0", "--format", "json"]
    assert main(args) == 0
    got = json.loads(capsys.readouterr().out)
    want = plan(5_000_000, 2048, segments=8, memory_mb=1769, arch="x86_64",
                measured=Measured(cpu_us_per_item=90, domain_cpu_us_per_item=120, sent_bytes_per_read_byte=1.5,
                                  item_bytes=700),
                limits=Limits(scan_mb_per_s_per_segment=12, table_read_units_per_s=80_000, data_nodes=6,
                              vcpus_per_node=8, replicas=0))
    assert got["segments"] == 8 and got["seconds"] == want.seconds and got["total_cost"] == want.total_cost


def test_nonsense_is_a_usage_error(capsys):
    for bad in (["--items", "0", "--item-bytes", "1"], ["--items", "5", "--item-bytes", "-1"],
                ["--items", "5", "--item-bytes", "1", "--domain-cpu-us-per-item", "nan"],
                ["--items", "5", "--item-bytes", "1", "--replicas", "-1"]):
        try:
            code = main(["plan-rebuild", *bad])
        except SystemExit as exit:
            code = exit.code
        assert code == 2, bad


def test_the_old_bytes_per_second_figure_is_refused_naming_what_replaced_it(capsys):
    try:
        code = main(["plan-rebuild", "--items", "5", "--item-bytes", "1", "--node-mb-per-s", "40"])
    except SystemExit as exit:
        code = exit.code
    assert code == 2 and "--domain-cpu-us-per-item" in capsys.readouterr().err
