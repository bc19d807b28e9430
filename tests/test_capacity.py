"""The rebuild capacity model: the bottleneck it names is the one its own figures make the slowest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynafold.deploy.capacity import Limits, Measured, Prices, plan, segment_rate

TB = 10**12


def test_a_terabyte_of_1_kb_items_is_limited_by_the_domains_vcpus_with_the_default_figures():
    p = plan(TB // 1024, 1024)
    assert p.bottleneck == "the domain's vCPUs"
    limits, per_item = Limits(), Measured().scaled(1024)
    domain = limits.data_nodes * limits.vcpus_per_node * 1e6 / (per_item.domain_cpu_us_per_item * (1 + limits.replicas))
    assert p.items_per_s == pytest.approx(domain)
    assert p.seconds == pytest.approx((TB // 1024) / domain)


def test_more_data_nodes_move_the_bottleneck_to_the_table_then_time_stops_falling():
    times = [plan(TB // 1024, 1024, limits=Limits(data_nodes=n)).seconds for n in (3, 6, 12, 400, 800)]
    assert times[0] > times[1] > times[2]
    assert times[-1] == times[-2], "past the table's read limit, more nodes change nothing"
    assert plan(TB // 1024, 1024, limits=Limits(data_nodes=400)).bottleneck == "the table's read limit"


def test_a_replica_halves_what_the_domain_indexes_per_second():
    alone, copied = (plan(TB // 1024, 1024, limits=Limits(replicas=r)) for r in (0, 1))
    assert alone.items_per_s == pytest.approx(2 * copied.items_per_s)


def test_a_segment_does_its_own_cpu_and_then_waits_for_the_domain():
    for worker, domain in ((150, 50), (50, 150)):
        measured = Measured(cpu_us_per_item=worker, domain_cpu_us_per_item=domain, item_bytes=1000)
        p = plan(10**6, 1000, segments=1, measured=measured)
        assert p.bottleneck == "the segments' own pace" and p.items_per_s == pytest.approx(1e6 / 200)


def test_cpu_figures_scale_with_the_item_size_they_were_measured_at():
    measured = Measured(cpu_us_per_item=100, domain_cpu_us_per_item=100, item_bytes=500)
    assert segment_rate(measured, Limits(), 1000) == pytest.approx(1e6 / 400)


def test_a_lambda_under_1769_mb_has_a_share_of_a_vcpu():
    measured = Measured(cpu_us_per_item=100, domain_cpu_us_per_item=0.001, item_bytes=1024)
    fast_scan = Limits(scan_mb_per_s_per_segment=1000)
    full, half = (plan(10**6, 1024, segments=1, memory_mb=m, measured=measured, limits=fast_scan)
                  for m in (1769, 1769 // 2))
    assert half.items_per_s == pytest.approx(full.items_per_s * (1769 // 2) / 1769, rel=1e-4)


def test_reading_a_terabyte_costs_a_strongly_consistent_unit_per_4_kb():
    p = plan(TB // 1024, 1024, prices=Prices(read_request_unit=1.0))
    assert p.read_cost == pytest.approx(TB // 1024 * 1024 / 4096)


@given(st.integers(1, 10**10), st.floats(10, 400_000), st.integers(1, 200), st.integers(128, 10240))
def test_the_plan_is_consistent_for_any_inputs(items, item_bytes, segments, memory):
    p = plan(items, item_bytes, segments=segments, memory_mb=memory)
    assert p.items_per_s > 0 and p.seconds == pytest.approx(items / p.items_per_s)
    assert p.segment_items_per_s == pytest.approx(p.items_per_s / segments)
    assert p.total_cost == pytest.approx(p.read_cost + p.lambda_cost + p.steps_cost)
    assert min(p.read_cost, p.lambda_cost, p.steps_cost, p.export_cost) >= 0


def test_nonsense_is_refused():
    with pytest.raises(ValueError):
        plan(0, 1024)
