"""Cases on writes: preparing, loading, and conditional writes with one winner per race.

Every write names the token the document must still have (None: it must
not exist yet). Of two clients writing with the same expectation at the
same moment exactly one wins; the other gets ``Conflict`` and changes
nothing. One write call answers for each of its documents separately.
"""

from __future__ import annotations

import pytest

from dynafold.projector.stores.base import Conflict, DocKey, DocumentWrite, Targets, UnknownTarget, Written
from dynafold.sample import MODEL
from dynafold.testing.store_contract.base import StoreContractBase
from dynafold.testing.store_contract.documents import V1, customer_doc, in_parallel, names, put


class WriteCases(StoreContractBase):
    def test_prepare_is_idempotent_and_concurrent_preparers_all_succeed(self):
        a, b = self.open(), self.open()
        aggregates = list(MODEL.aggregates.values())
        in_parallel(lambda: a.prepare(aggregates), lambda: b.prepare(aggregates))
        a.prepare(aggregates)
        for store in (a, b):
            assert store.targets("customer") == Targets(V1, (V1,))
            assert store.targets("lesson") == Targets("lesson_v1", ("lesson_v1",))
        assert isinstance(put(a, DocKey(V1, "c1"), "Ada"), Written)
        assert b.get("customer", "c1")["name"] == "Ada"

    def test_load_names_the_write_targets_and_refuses_unknown_aggregates(self):
        store = self.prepared()
        put(store, DocKey(V1, "c1"), "Ada")
        loaded = store.load({"customer": ["c1", "missing"], "lesson": []})
        assert loaded.targets == {"customer": (V1,), "lesson": ("lesson_v1",)}
        assert set(loaded.documents) == {DocKey(V1, "c1")}
        assert loaded.documents[DocKey(V1, "c1")].body["name"] == "Ada"
        with pytest.raises(UnknownTarget):
            store.load({"nope": ["x"]})

    def test_two_creators_of_the_same_new_document_exactly_one_wins(self):
        self.prepared()
        a, b = self.open(), self.open()
        key = DocKey(V1, "c1")
        outcomes = in_parallel(lambda: put(a, key, "Ada"), lambda: put(b, key, "Grace"))
        assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Written"]
        winner = "Ada" if isinstance(outcomes[0], Written) else "Grace"
        assert a.get("customer", "c1")["name"] == winner

    def test_two_writers_with_the_same_token_exactly_one_wins(self):
        store = self.prepared()
        key = DocKey(V1, "c1")
        put(store, key, "Ada")
        a, b = self.open(), self.open()
        token = a.load({"customer": ["c1"]}).documents[key].token
        outcomes = in_parallel(lambda: put(a, key, "Grace", token, 2), lambda: put(b, key, "Alan", token, 2))
        assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Written"]
        (won,) = [o for o in outcomes if isinstance(o, Written)]
        current = store.reload([key])[key]
        assert current.token == won.token
        assert current.body["name"] == ("Grace" if outcomes[0] == won else "Alan")

    def test_a_stale_token_is_a_conflict_and_leaves_the_document_unchanged(self):
        store = self.prepared()
        key = DocKey(V1, "c1")
        first = put(store, key, "Ada")
        second = put(store, key, "Grace", first.token, 2)
        assert isinstance(second, Written) and second.token != first.token
        assert put(store, key, "Alan", first.token, 3) == Conflict()
        current = store.reload([key])[key]
        assert current.token == second.token
        assert current.body["name"] == "Grace"
        assert current.state == customer_doc("c1", "Grace", 2)[0]

    def test_one_write_call_reports_an_outcome_per_document(self):
        store = self.prepared()
        keys = {n: DocKey(V1, n) for n in ("a", "b", "c", "d")}
        tokens = {n: put(store, keys[n], f"Old {n}").token for n in ("a", "b", "c")}
        stale = put(store, keys["b"], "Newer b", tokens["b"], 2)
        writes = []
        for name, expected in (("a", tokens["a"]), ("b", tokens["b"]), ("c", None), ("d", None)):
            state, body = customer_doc(name, f"New {name}", 3)
            writes.append(DocumentWrite(keys[name], expected, state, body))
        outcomes = store.write(writes)
        assert isinstance(outcomes[keys["a"]], Written) and isinstance(outcomes[keys["d"]], Written)
        assert outcomes[keys["b"]] == Conflict() and outcomes[keys["c"]] == Conflict()
        assert names(store.documents("customer")) == {"a": "New a", "b": "Newer b", "c": "Old c", "d": "New d"}
        assert store.reload([keys["b"]])[keys["b"]].token == stale.token
