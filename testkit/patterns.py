"""Write patterns that random steps rarely produce, built from the model's own joins and parents.

A pointing item that leaves its joined item and comes back while the joined
item changes in between, all within one second, is where a one-second
timestamp tie can hide a stale slice; an item that moves to another parent
and back, likewise. Random single writes hit such a sequence about once in
many thousand runs, so the harness also plays it on purpose, with each
delivery (or its absence) left to hypothesis, so a failure still shrinks.
"""

from __future__ import annotations

from typing import Any

from hypothesis import event, strategies as st


def _deliver_maybe(machine: Any, data: Any, table: str) -> None:
    if data.draw(st.booleans(), label=f"deliver {table} now"):
        for lane in range(machine.lanes):
            machine._deliver(table, lane, 10)


def join_churn(machine: Any, data: Any) -> None:
    """Point at an item, leave it, let it change, come back: each step maybe delivered at once."""
    joins = [(role, join) for aggregate in machine.model.aggregates.values() for role in aggregate.roles
             for join in role.joins]
    if not joins:
        return
    role, join = data.draw(st.sampled_from(joins), label="join")
    workload = machine.workload
    target_key = {**data.draw(workload.key(join.target_table), label="joined key"), **dict(join.constants)}
    pointing_key = data.draw(workload.key(role.table), label="pointing key")
    pointer = {pointing: target_key[attribute] for attribute, pointing in join.pointers}
    pointing_item = {**data.draw(workload.item(role.table, pointing_key), label="pointing item"), **pointer}

    def change_target() -> None:
        item = data.draw(workload.item(join.target_table, target_key), label="joined item")
        machine._write(join.target_table, item, machine._key(join.target_table, item) in machine.live[join.target_table])
        _deliver_maybe(machine, data, join.target_table)

    def point() -> None:
        exists = machine._key(role.table, pointing_item) in machine.live[role.table]
        machine._write(role.table, dict(pointing_item), exists)
        _deliver_maybe(machine, data, role.table)

    change_target()
    point()
    if data.draw(st.booleans(), label="joined item changes while pointed at"):
        change_target()
    if data.draw(st.booleans(), label="leave by deleting"):
        machine.tables.delete(role.table, pointing_key)
        machine.live[role.table].pop(machine._key(role.table, pointing_item), None)
    else:
        moved = {k: v for k, v in pointing_item.items() if k not in pointer}
        machine._write(role.table, moved, machine._key(role.table, moved) in machine.live[role.table])
    _deliver_maybe(machine, data, role.table)
    if data.draw(st.booleans(), label="joined item deleted meanwhile"):
        machine.tables.delete(join.target_table, target_key)
        machine.live[join.target_table].pop(machine._key(join.target_table, {**target_key}), None)
        _deliver_maybe(machine, data, join.target_table)
    else:
        change_target()
    point()
    event("a pointer left its joined item and came back while the item changed")


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
        machine._write(role.table, {k: v for k, v in item.items() if v is not None},
                       machine._key(role.table, item) in machine.live[role.table])
        _deliver_maybe(machine, data, role.table)
    event("a child moved to another parent and back")
