"""Write patterns that random steps rarely produce, built from the model's own joins and parents.

A pointing item that leaves its joined item and comes back while the joined
item changes in between, all within one second, is where a one-second
timestamp tie can hide a stale slice; an item that moves to another parent
and back, likewise. Random single writes hit such a sequence about once in
many thousand runs, so the harness also plays it on purpose, with each
delivery (or its absence) left to hypothesis, so a failure still shrinks.
A pointer that leaves and comes back while the joined item changes between
the pointing batch's join reads and its write (another Lambda's fan-out
landing in that gap) is played on purpose too.
"""

from __future__ import annotations

from typing import Any

from hypothesis import event
from hypothesis import strategies as st

from dynafold.testing.dynamo import plain


def _deliver_maybe(machine: Any, data: Any, table: str) -> None:
    if data.draw(st.booleans(), label=f"deliver {table} now"):
        for lane in range(machine.lanes):
            machine._deliver(table, lane, 10)


def _upsert(machine: Any, table: str, item: dict) -> None:
    machine._write(table, dict(item), machine._key(table, item) in machine.live[table])


def _delete(machine: Any, table: str, key: dict) -> None:
    machine.tables.delete(table, key)
    machine.live[table].pop(machine._key(table, key), None)


def _pointing(machine: Any, data: Any):
    """A drawn join, the joined item's key, the pointing item's key, the pointer, and the pointing
    item; None when the model has no joins."""
    joins = [(role, join) for aggregate in machine.model.aggregates.values() for role in aggregate.roles
             for join in role.joins]
    if not joins:
        return None
    role, join = data.draw(st.sampled_from(joins), label="join")
    workload = machine.workload
    target_key = {**data.draw(workload.key(join.target_table, join.target), label="joined key"), **dict(join.constants)}
    pointer = join.pointer_to(target_key)
    if pointer is None:  # a key without the join's prefix: no pointer names it
        return None
    pointing_key = data.draw(workload.key(role.table, role.source), label="pointing key")
    pointing_item = {**data.draw(workload.item(role.table, pointing_key), label="pointing item"), **pointer}
    return role, join, target_key, pointing_key, pointer, pointing_item


def join_churn(machine: Any, data: Any) -> None:
    """Point at an item, leave it, let it change, come back, let it change again: each step maybe delivered
    at once."""
    drawn = _pointing(machine, data)
    if drawn is None:
        return
    role, join, target_key, pointing_key, pointer, pointing_item = drawn
    workload = machine.workload

    def change_target() -> None:
        _upsert(machine, join.target_table, data.draw(workload.item(join.target_table, target_key), label="joined item"))
        _deliver_maybe(machine, data, join.target_table)

    def point() -> None:
        _upsert(machine, role.table, pointing_item)
        _deliver_maybe(machine, data, role.table)

    change_target()
    point()
    if data.draw(st.booleans(), label="joined item changes while pointed at"):
        change_target()
    if data.draw(st.booleans(), label="leave by deleting"):
        _delete(machine, role.table, pointing_key)
    else:
        _upsert(machine, role.table, {k: v for k, v in pointing_item.items() if k not in pointer})
    _deliver_maybe(machine, data, role.table)
    if data.draw(st.booleans(), label="joined item deleted meanwhile"):
        _delete(machine, join.target_table, target_key)
        _deliver_maybe(machine, data, join.target_table)
    else:
        change_target()
    point()
    if data.draw(st.booleans(), label="joined item changes after the pointer is back"):
        change_target()  # only the fan-out through the index can bring this change to the document
    event("a pointer left its joined item and came back while the item changed")


def join_race(machine: Any, data: Any) -> None:
    """Leave a joined item and come back, then deliver both records while, between that batch's join
    reads and its write, the joined item changes (or goes) and its fan-out lands first."""
    drawn = _pointing(machine, data)
    if drawn is None:
        return
    role, join, target_key, pointing_key, pointer, pointing_item = drawn
    workload = machine.workload
    _upsert(machine, join.target_table, data.draw(workload.item(join.target_table, target_key), label="joined item"))
    for item in (pointing_item, {k: v for k, v in pointing_item.items() if k not in pointer}, pointing_item):
        _upsert(machine, role.table, item)
    deleted = data.draw(st.booleans(), label="joined item deleted in the gap")
    changed = data.draw(workload.item(join.target_table, target_key), label="joined item in the gap")

    def gap() -> None:
        if deleted:
            _delete(machine, join.target_table, target_key)
        else:
            machine._write(join.target_table, changed, True)
        for lane in range(machine.lanes):
            machine._deliver(join.target_table, lane, 10)

    mine = [lane for lane in range(machine.lanes)
            if any(plain(r["dynamodb"]["Keys"]) == pointing_key
                   for r in machine._lane_records(role.table, lane)[machine.cursor[(role.table, lane)]:])]
    if not mine:
        return  # delivered already, right after the writes
    machine.store.before_write = gap
    try:
        machine._deliver(role.table, mine[0], 10)
    finally:
        machine.store.before_write = None
    event("a joined item changed between a pointing batch's join reads and its write")


def move_and_return(machine: Any, data: Any) -> None:
    """A child moves to another parent and back, each step maybe delivered at once."""
    children = [role for aggregate in machine.model.aggregates.values() for role in aggregate.roles[1:]
                if role.parent is not None and set(role.parent) - set(role.source.key_attributes)]
    if not children:
        return
    role = data.draw(st.sampled_from(children), label="children")
    workload = machine.workload
    key = data.draw(workload.key(role.table), label="child key")
    first = data.draw(workload.item(role.table, key), label="child")
    second = {**first, **{name: data.draw(workload.attributes(role.table)[name], label=f"other {name}")
                          for name in role.parent if name in workload.attributes(role.table)}}
    for item in (first, second, first):
        _upsert(machine, role.table, {k: v for k, v in item.items() if v is not None})
        _deliver_maybe(machine, data, role.table)
    event("a child moved to another parent and back")
