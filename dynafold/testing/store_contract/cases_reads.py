"""Cases on reads: tombstones hidden, exact numbers, search, order, and atomic target switches.

A tombstone (a document with state and no body) is stored but no reader
sees it. Numbers come back as the exact decimals written, in state and in
body. ``search`` matches words of the aggregate's text fields; documents
come sorted by id; a sample counts visible documents alone and chooses among them; a target made from the model has no ``differences``; readers see all of one target or all of the other while
targets switch under them.
"""

from __future__ import annotations

import random
import threading
from decimal import Decimal

import pytest

from dynafold.projector.stores.base import DocKey, DocumentWrite, Targets, UnknownTarget, Written
from dynafold.sample import CUSTOMER
from dynafold.testing.store_contract.base import StoreContractBase
from dynafold.testing.store_contract.documents import V1, V2, customer_doc, names, put, tombstone


class ReadCases(StoreContractBase):
    def test_tombstone_documents_are_hidden_from_readers_but_stored(self):
        store = self.prepared()
        visible, hidden, born_dead = DocKey(V1, "c1"), DocKey(V1, "c2"), DocKey(V1, "c3")
        put(store, visible, "Ada Lovelace")
        token = put(store, hidden, "Grace Lovelace").token
        assert tombstone(store, hidden, token) == Written(store.reload([hidden])[hidden].token)
        tombstone(store, born_dead, None)
        assert store.get("customer", "c1")["name"] == "Ada Lovelace"
        assert store.get("customer", "c2") is None and store.get("customer", "c3") is None
        assert names(store.documents("customer")) == {"c1": "Ada Lovelace"}
        assert names(store.search("customer", "lovelace")) == {"c1": "Ada Lovelace"}
        stored = {d.key.id: d for d in store.stored(V1)}
        assert sorted(stored) == ["c1", "c2", "c3"]
        assert stored["c2"].body is None and stored["c3"].body is None
        assert stored["c2"].state == customer_doc("c2", "gone", 2)[0]

    def test_exact_numbers_round_trip_in_state_and_body(self):
        store = self.prepared()
        big, money = Decimal("12345678901234567890123456789012345678"), Decimal("42.50")
        state, _ = customer_doc("c1", "Ada", total=big, price=money)
        body = {**CUSTOMER.document("c1", state), "lifetime_value": big}
        precise = Decimal("1234567.890123456789012345")  # more digits than a double holds
        body["orders"] = [{"order_id": "o1", "status": "paid", "total": money, "currency": "EUR", "placed_at": None},
                          {"order_id": "o2", "status": "paid", "total": precise, "currency": "EUR", "placed_at": None}]
        key = DocKey(V1, "c1")
        assert isinstance(store.write([DocumentWrite(key, None, state, body)])[key], Written)
        for read in (
            store.load({"customer": ["c1"]}).documents[key],
            store.reload([key])[key],
            next(iter(store.stored(V1))),
        ):
            (entry,) = read.state
            assert entry.data["total"] == big and str(entry.data["price"]) == "42.50"
            assert read.body["lifetime_value"] == big and str(read.body["orders"][0]["total"]) == "42.50"
            assert read.body["orders"][1]["total"] == precise
        for doc in (store.get("customer", "c1"), next(iter(store.documents("customer"))), store.search("customer", "ada")[0]):
            assert doc["lifetime_value"] == big and str(doc["orders"][0]["total"]) == "42.50"
            assert doc["orders"][1]["total"] == precise

    def test_search_finds_documents_by_a_word_of_a_text_field_and_never_tombstones(self):
        store = self.prepared()
        for cid, name in (("c1", "Ada Lovelace"), ("c2", "Grace Hopper"), ("c3", "Ada Hopper")):
            put(store, DocKey(V1, cid), name)
        token = put(store, DocKey(V1, "c4"), "Ada Byron").token
        tombstone(store, DocKey(V1, "c4"), token)
        assert set(names(store.search("customer", "ada"))) == {"c1", "c3"}
        assert set(names(store.search("customer", "HOPPER ada"))) == {"c3"}
        assert set(names(store.search("customer", "byron"))) == set()
        assert store.search("customer", "  ") == []
        assert len(store.search("customer", "ada", limit=1)) == 1

    def test_a_target_made_from_the_model_differs_from_it_in_nothing(self):
        store = self.prepared()
        store.create_target(CUSTOMER, V2)
        assert store.differences(CUSTOMER, V1) == [] and store.differences(CUSTOMER, V2) == []
        with pytest.raises(UnknownTarget):
            store.differences(CUSTOMER, "customer_v9")

    def test_documents_are_sorted_by_id(self):
        store = self.prepared()
        ids = [f"c{n:03d}" for n in random.Random(3).sample(range(200), 40)]
        for cid in ids:
            put(store, DocKey(V1, cid), f"Name {cid}")
        assert [d["customer_id"] for d in store.documents("customer")] == sorted(ids)
        assert [d.key.id for d in store.stored(V1)] == sorted(ids)

    def test_a_sample_counts_the_visible_documents_and_chooses_among_them(self):
        store = self.prepared()
        ids = [f"c{n:03d}" for n in range(30)]
        tokens = {cid: put(store, DocKey(V1, cid), f"Name {cid}").token for cid in ids}
        for cid in ids[:7]:
            tombstone(store, DocKey(V1, cid), tokens[cid])
        visible = set(ids[7:])
        for size in (0, 5, 23, 40):
            sample = store.sample(V1, size, seed=11)
            chosen = [d.key.id for d in sample.documents]
            assert sample.visible == len(visible)
            assert len(chosen) == len(set(chosen)) == min(size, len(visible))
            assert set(chosen) <= visible and all(d.body is not None and d.state for d in sample.documents)
            assert [d.key.id for d in store.sample(V1, size, seed=11).documents] == chosen
        assert {d.key.id for d in store.sample(V1, 40, seed=3).documents} == visible
        seeds = {tuple(sorted(d.key.id for d in store.sample(V1, 5, seed=seed).documents)) for seed in range(12)}
        assert len(seeds) > 1  # the seed chooses, not the order of the target

    def test_readers_follow_a_target_switch_atomically(self):
        store = self.prepared()
        store.create_target(CUSTOMER, V2)
        for cid in ("c1", "c2"):
            put(store, DocKey(V1, cid), "Old")
        for cid in ("c1", "c2", "c3"):
            put(store, DocKey(V2, cid), "New")
        old, new = {"c1": "Old", "c2": "Old"}, {"c1": "New", "c2": "New", "c3": "New"}
        reader, seen, done = self.open(), [], threading.Event()

        def read() -> None:
            while not done.is_set():
                seen.append(names(reader.documents("customer")))
            seen.append(names(reader.documents("customer")))

        thread = threading.Thread(target=read)
        thread.start()
        try:
            for switch in range(7):
                target = V2 if switch % 2 == 0 else V1
                store.set_targets("customer", Targets(target, (target,)))
        finally:
            done.set()
            thread.join()
        assert [s for s in seen if s not in (old, new)] == []
        assert seen[-1] == new
        assert store.targets("customer") == Targets(V2, (V2,))
        assert store.get("customer", "c3")["name"] == "New"
        assert set(names(store.search("customer", "new"))) == {"c1", "c2", "c3"}
        with pytest.raises(UnknownTarget):
            store.set_targets("customer", Targets("customer_v9", ("customer_v9",)))
