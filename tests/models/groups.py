"""The escape hatches: a route function, and a hand-written translator with its contract.

- ``people`` belong to every group their ``groups`` set names: one item, several documents. No
  attribute names a single parent, so the children declare ``route=``; the engine still routes the
  old and the new image, so a person who leaves a group leaves its document.
- ``flags`` are translated by hand (``translate_flag``), the way a table the declarations cannot
  express would be: it must keep the contract the engine's own translation keeps (README "Writing
  your own model"), including the removal from the group a flag was moved away from.
"""

from hypothesis import strategies as st

from dynafold import Aggregate, Children, DomainEvent, Model, Slot, Table, Translator
from dynafold.kinds import boolean, keyword, text

groups = Table("groups", "group_id")
people = Table("people", "person_id")
flags = Table("flags", "flag_id")


def member_of(image) -> list[str]:
    return sorted(image.get("groups") or ())


GROUP = Aggregate(
    "group",
    root=groups,
    fields=dict(group_id=keyword, title=text),
    children={
        "members": Children(people, route=member_of, fields=dict(person_id=keyword, name=text)),
        "flags": Children(flags, parent="group_id", fields=dict(flag_id=keyword, on=boolean)),
    },
)


def translate_flag(record, lookup) -> list[DomainEvent]:
    """By hand: the flag's slice to the group it names now, its removal from the group it named before."""
    slot = Slot("flags", record.item)
    new_group = None if record.image is None else record.image.get("group_id")
    old_group = None if record.old_image is None else record.old_image.get("group_id")
    events = []
    if new_group:
        state = {"flag_id": record.item["flag_id"], "on": record.image.get("on")}
        events.append(DomainEvent("group", new_group, slot, record.version, state, record.expired))
    if old_group and old_group != new_group:
        events.append(DomainEvent("group", old_group, slot, record.version, None, record.expired))
    return events


MODEL = Model([GROUP], translators=[Translator("flags", translate_flag)])

ITEMS = {
    "people": st.fixed_dictionaries({"name": st.sampled_from(["Ada", "Grace"]),
                                     "groups": st.frozensets(st.sampled_from(["gro1", "gro2", "gro3"]), min_size=1)}),
    "flags": st.fixed_dictionaries({"group_id": st.sampled_from(["gro1", "gro2", "gro3"]), "on": st.booleans()}),
}
