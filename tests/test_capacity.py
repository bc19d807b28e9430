"""The rebuild capacity model: the bottleneck it names is the one its own figures make the slowest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynafold.deploy.capacity import Limits, Measured, Prices, plan

TB = 10**12


def test_a_terabyte_of_1_kb_items_is_limited_by_the_domain_with_the_default_figures():
    p = plan(TB // 1024, 1024)
    assert p.bottleneck == "the domain's indexing rate"
    domain = Limits().indexing_mb_per_s_per_node * 2**20 * Limits().data_nodes / (1024 * Measured().sent_bytes_per_read_byte)
    assert p.items_per_s == pytest.approx(domain)
    assert p.seconds == pytest.approx((TB // 1024) / domain)


def test_more_data_nodes_move_the_bottleneck_to_the_table_then_time_stops_falling():
    times = [plan(TB // 1024, 1024, limits=Limits(data_nodes=n)).seconds for n in (3, 6, 12, 96, 192)]
    assert times[0] > times[1] > times[2]
    assert times[-1] == times[-2], "past the table's read limit, more nodes change nothing"
    assert plan(TB // 1024, 1024, limits=Limits(data_nodes=96)).bottleneck == "the table's read limit"


def test_few_segments_are_limited_by_their_own_cpu():
    p = plan(10**6, 1024, segments=1, measured=Measured(cpu_us_per_item=200))
    assert p.bottleneck == "segment CPU" and p.items_per_s == pytest.approx(5000)


def test_a_lambda_under_1769_mb_has_a_share_of_a_vcpu():
    full, half = (plan(10**6, 1024, segments=1, memory_mb=m) for m in (1769, 1769 // 2))
    assert half.items_per_s == pytest.approx(full.items_per_s * (1769 // 2) / 1769)


def test_reading_a_terabyte_costs_what_its_read_units_cost():
    p = plan(TB // 1024, 1024, prices=Prices(read_request_unit=1.0))
    assert p.read_cost == pytest.approx(TB // 1024 * 1024 / 8192)


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
