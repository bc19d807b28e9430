"""Cases on a projector over the store: it converges, or reports records failed and never loses one.

The store throttles (a 429 storm that outlasts the retries, or ends during
the backoff), resets connections, loses the answers of writes that took
effect, or loses races to other writers; the projector is delivered to the
way Lambda does (again from the first failed record) and must end with the
documents a fault-free projection produces. The storm, reset and lost-answer
cases take their faults from the ``make_faults`` hook; the others inject
them at the port, which works for every store.
"""

from __future__ import annotations

import random

from dynafold.projector.stores.base import Targets
from dynafold.sample import CUSTOMER
from dynafold.testing.store_contract.base import StoreContractBase
from dynafold.testing.store_contract.delivery import deliver, projector, reference
from dynafold.testing.store_contract.documents import V1, V2
from dynafold.testing.store_contract.faults import FaultyStore
from dynafold.testing.store_contract.records import customer_record, workload


class ProjectorCases(StoreContractBase):
    def test_a_projector_dual_writes_when_a_second_write_target_is_registered(self):
        store = self.prepared()
        records = workload(customers=6)
        running = projector(self.open())
        running.project(records[:4])
        store.create_target(CUSTOMER, V2)
        store.set_targets("customer", Targets(V1, (V1, V2)))
        assert running.project(records).failed_from is None
        v1 = {d.key.id: d.state for d in store.stored(V1)}
        v2 = {d.key.id: d.state for d in store.stored(V2)}
        assert v1 == v2 and len(v1) == 6
        assert list(store.documents("customer")) == reference(records)
        store.set_targets("customer", Targets(V2, (V2,)))
        assert list(store.documents("customer")) == reference(records)

    def test_redelivering_a_projected_batch_writes_nothing(self):
        counted = FaultyStore(self.prepared(), random.Random(0))
        p = projector(counted)
        records = workload()
        first = p.project(records)
        assert first.failed_from is None and first.documents_written == 12
        writes = counted.calls["write"]
        again = p.project(records)
        assert again.failed_from is None and again.documents_written == 0
        assert counted.calls["write"] == writes
        assert list(counted.documents("customer")) == reference(records)

    def test_a_429_storm_that_outlasts_the_retries_fails_the_batch_and_redelivery_converges(self):
        store = self.prepared()
        faults = self.faults(store, "storm")
        p = projector(faults.store, attempts=3)
        records = workload()
        faults.storm(True)
        try:
            report = p.project(records)
        finally:
            faults.storm(False)
        assert report.failed_from == 0 and report.documents_written == 0
        assert list(store.stored(V1)) == []
        assert deliver(p, records[report.failed_from :]) == 1
        assert list(store.documents("customer")) == reference(records)

    def test_a_429_storm_that_ends_during_the_backoff_converges_in_the_same_batch(self):
        store = self.prepared()
        faults = self.faults(store, "storm")
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            if len(slept) == 2:
                faults.storm(False)

        p = projector(faults.store, attempts=5, sleep=sleep)
        records = workload()
        faults.storm(True)
        report = p.project(records)
        assert report.failed_from is None and report.retries == 2
        assert list(store.documents("customer")) == reference(records)

    def test_a_connection_reset_mid_batch_fails_the_batch_and_redelivery_converges(self):
        store = self.prepared()
        faults = self.faults(store, "cut_writes", "heal")
        p = projector(faults.store, attempts=3)
        records = workload()
        faults.cut_writes()
        report = p.project(records)
        assert report.failed_from == 0 and report.documents_written == 0
        assert list(store.stored(V1)) == []
        faults.heal()
        assert deliver(p, records[report.failed_from :]) == 1
        assert list(store.documents("customer")) == reference(records)

    def test_lost_write_answers_are_harmless(self):
        store = self.prepared()
        faults = self.faults(store, "lose_write_answers", "heal")
        p = projector(faults.store, attempts=3)
        records = workload()
        faults.lose_write_answers(times=1)
        report = p.project(records)
        assert report.failed_from is None and report.conflicts == 12 and report.documents_written == 0
        assert list(store.documents("customer")) == reference(records)
        faults.lose_write_answers()
        changed = [customer_record(1000, "c003", "Changed Again")]
        report = p.project(changed)
        assert report.failed_from == 0
        faults.heal()
        again = p.project(changed)
        assert again.failed_from is None and again.documents_written == 0
        assert store.get("customer", "c003")["name"] == "Changed Again"

    def test_writers_racing_the_projector_only_cost_retries(self):
        faulty = FaultyStore(self.prepared(), random.Random(11), conflict_item=0.5)
        p = projector(faulty, attempts=8)
        records = workload()
        deliver(p, records)
        assert faulty.injected["conflict_item"] > 0
        assert list(faulty.documents("customer")) == reference(records)

    def test_random_faults_of_every_kind_never_lose_a_record(self):
        faulty = FaultyStore(
            self.prepared(),
            random.Random(5),
            fail_call=0.15,
            lose_response=0.15,
            retryable_item=0.2,
            conflict_item=0.2,
        )
        p = projector(faulty, attempts=3)
        records = workload(customers=10, orders=4, seed=9)
        for start in range(0, len(records), 6):
            deliver(p, records[start : start + 6])
        assert set(faulty.injected) == {"fail_call", "lose_response", "retryable_item", "conflict_item"}
        assert list(faulty.documents("customer")) == reference(records)
