"""Cases on targets: no write creates one, a switch is a compare-and-set under the lease, one lease holder.

Rebuilds change where an aggregate's readers and writers point while live
projectors write. What keeps them from losing updates is kept by the store:
a write to a target that vanished is ``Gone`` and creates nothing; a lease
on the aggregate has one holder at a time (until it expires); a switch of
targets happens only while the targets are what its caller read and its
lease is the current one; ``physical`` says what the store really holds.
"""

from __future__ import annotations

import pytest

from dynafold.projector.stores.base import DocKey, DocumentWrite, Gone, Targets, Written
from dynafold.projector.stores.lease import LeaseHeld, LeaseLost, TargetsChanged
from dynafold.sample import CUSTOMER
from dynafold.testing.store_contract.base import StoreContractBase
from dynafold.testing.store_contract.documents import V1, V2, customer_doc, in_parallel, put

NOW = 1_790_000_000.0


class TargetCases(StoreContractBase):
    def test_a_write_to_a_target_that_vanished_after_the_load_is_gone_and_creates_nothing(self):
        store = self.prepared()
        store.create_target(CUSTOMER, V2)
        put(store, DocKey(V1, "c1"), "Ada")
        loaded = store.load({"customer": ["c1", "c2"]})
        token = loaded.documents[DocKey(V1, "c1")].token
        self.open().drop_target(V1)  # a rebuild drops it, or someone deletes it, between the load and the write
        writes = [DocumentWrite(DocKey(V1, "c1"), token, *customer_doc("c1", "Grace", 2)),
                  DocumentWrite(DocKey(V1, "c2"), None, *customer_doc("c2", "Alan")),
                  DocumentWrite(DocKey(V2, "c1"), None, *customer_doc("c1", "Grace", 2))]
        outcomes = store.write(writes)
        assert isinstance(outcomes[DocKey(V1, "c1")], Gone) and isinstance(outcomes[DocKey(V1, "c2")], Gone)
        assert isinstance(outcomes[DocKey(V2, "c1")], Written), "the other documents are written"
        assert V1 not in store.physical("customer"), "no write may create a target"
        assert isinstance(put(store, DocKey(V1, "c3"), "Ada"), Gone), "not on a later write either"
        assert V1 not in store.physical("customer")

    def test_physical_lists_the_targets_the_store_holds_named_or_not(self):
        store = self.prepared()
        assert store.physical("customer") == {V1}
        store.create_target(CUSTOMER, V2)
        assert store.physical("customer") == {V1, V2}, "a target nothing names yet is held all the same"
        assert store.physical("lesson") == {"lesson_v1"}
        store.drop_target(V1)
        assert store.physical("customer") == {V2} and store.targets("customer") == Targets(V1, (V1,))

    def test_a_switch_happens_only_while_the_targets_are_what_its_caller_read(self):
        store = self.prepared()
        store.create_target(CUSTOMER, V2)
        before = store.targets("customer")
        store.set_targets("customer", Targets(V1, (V1, V2)), expected=before)
        with pytest.raises(TargetsChanged):
            store.set_targets("customer", Targets(V2, (V2,)), expected=before)
        assert store.targets("customer") == Targets(V1, (V1, V2))

    def test_two_switches_from_the_same_targets_exactly_one_wins(self):
        store = self.prepared()
        for target in (V2, "customer_v3"):
            store.create_target(CUSTOMER, target)
        before = store.targets("customer")

        def switch(target: str):
            try:
                self.open().set_targets("customer", Targets(before.read, (*before.write, target)), expected=before)
                return target
            except TargetsChanged:
                return None

        won = [t for t in in_parallel(lambda: switch(V2), lambda: switch("customer_v3")) if t]
        assert len(won) == 1 and store.targets("customer") == Targets(V1, (V1, won[0]))

    def test_a_lease_has_one_holder_until_it_expires_and_its_work_passes_to_the_next(self):
        store = self.prepared()
        lease, previous = store.take_lease("customer", "host a, pid 1", 60, work={"new": V2}, now=NOW)
        assert previous is None and store.lease("customer") == lease and lease.work == {"new": V2}
        with pytest.raises(LeaseHeld) as held:
            self.open().take_lease("customer", "host b, pid 2", 60, now=NOW + 59)
        assert "host a, pid 1" in str(held.value) and held.value.lease == lease
        taker, replaced = self.open().take_lease("customer", "host b, pid 2", 60, now=NOW + 60)
        assert replaced == lease and replaced.work == {"new": V2}, "the next holder learns what the dead one did"
        assert store.lease("customer") == taker and store.lease("lesson") is None
        with pytest.raises(LeaseLost):
            store.renew_lease(lease, 60, now=NOW + 61)
        store.release_lease(lease)
        assert store.lease("customer") == taker, "releasing a lease that is not current changes nothing"

    def test_a_lease_is_renewed_even_past_its_expiry_until_someone_takes_it_and_then_released(self):
        store = self.prepared()
        lease, _ = store.take_lease("customer", "host a, pid 1", 10, now=NOW)
        renewal = store.renew_lease(lease, 10, work={"phase": "scanning"}, now=NOW + 30)
        assert renewal.id == lease.id and renewal.expires_at == NOW + 40 and renewal.work == {"phase": "scanning"}
        assert store.renew_lease(renewal, 10, now=NOW + 35).work == {"phase": "scanning"}, "work kept unless given"
        dead = store.renew_lease(renewal, 0, now=NOW + 36)
        successor, replaced = self.open().take_lease("customer", "host b, pid 2", 10, now=NOW + 36)
        assert replaced == dead
        store.release_lease(successor)
        assert store.lease("customer") is None

    def test_a_holder_known_to_be_dead_is_replaced_before_its_lease_expires(self):
        store = self.prepared()
        lease, _ = store.take_lease("customer", "host a, pid 1", 60, now=NOW)
        taker, replaced = self.open().take_lease("customer", "host a, pid 2", 60, replaces=lease.id, now=NOW + 1)
        assert replaced == lease and store.lease("customer") == taker

    def test_two_takers_of_a_free_lease_exactly_one_holds_it(self):
        self.prepared()

        def take(holder: str):
            try:
                return self.open().take_lease("customer", holder, 60, now=NOW)[0]
            except LeaseHeld:
                return None

        held = [lease for lease in in_parallel(lambda: take("a"), lambda: take("b")) if lease]
        assert len(held) == 1 and self.open().lease("customer") == held[0]

    def test_a_switch_under_a_lease_needs_it_to_be_current(self):
        store = self.prepared()
        store.create_target(CUSTOMER, V2)
        lease, _ = store.take_lease("customer", "host a, pid 1", 60, now=NOW)
        store.set_targets("customer", Targets(V1, (V1, V2)), expected=Targets(V1, (V1,)), lease=lease)
        self.open().take_lease("customer", "host b, pid 2", 60, now=NOW + 61)
        with pytest.raises(LeaseLost):
            store.set_targets("customer", Targets(V2, (V2,)), expected=Targets(V1, (V1, V2)), lease=lease)
        assert store.targets("customer") == Targets(V1, (V1, V2))
        assert store.lease("customer").holder == "host b, pid 2", "a switch leaves the lease as it was"
