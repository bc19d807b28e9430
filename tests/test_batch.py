"""The batch projector: round trips, races, failures, poison records, the time budget."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from dynafold.handlers.stream import failures, make_handler
from dynafold.projector.engine.batch import Backoff, Projector
from dynafold.projector.stores.base import Conflict, Rejected, StoreUnavailable, Targets
from dynafold.projector.stores.memory import MemoryQuarantine, MemoryStore
from dynafold.projector.stores.sqlite.store import SQLiteStore
from dynafold.sample import MODEL
from tests.support.counting import CountingStore
from tests.support.records import customer, order


def projector_on(store, **kwargs):
    return Projector(MODEL, store, MemoryQuarantine(), backoff=Backoff(base=0, cap=0), rng=random.Random(0), **kwargs)


def orders_batch(size: int, customers: int, seq0: int = 0) -> list[dict]:
    return [order(f"c{i % customers}", f"o{i}", total=f"{i}.25", seq=seq0 + i) for i in range(size)]


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    return MemoryStore() if request.param == "memory" else SQLiteStore(f"sqlite:///{tmp_path}/v.db")


@pytest.mark.parametrize("size, customers", [(1, 1), (10, 3), (100, 40), (1000, 200)])
def test_a_conflict_free_batch_costs_one_load_and_one_write_whatever_its_size(store, size, customers):
    counting = CountingStore(store)
    projector = projector_on(counting)
    report = projector.project(orders_batch(size, customers))
    assert dict(counting.calls) == {"load": 1, "write": 1}
    assert report.documents_written == min(size, customers)
    assert report.failed_from is None


def test_a_redelivered_batch_loads_once_and_writes_nothing(store):
    counting = CountingStore(store)
    projector = projector_on(counting)
    batch = orders_batch(50, 7) + [customer("c1", version=2, seq=999)]
    projector.project(batch)
    counting.reset()
    report = projector.project(batch)
    assert dict(counting.calls) == {"load": 1}
    assert report.documents_written == 0 and report.stale == report.events


def test_a_lost_race_reloads_and_refolds_only_the_documents_that_lost(store):
    class RacingStore(CountingStore):
        """Before the first write, another projector writes customer c1's document."""

        raced = False

        def write(self, writes):
            if not self.raced:
                self.raced = True
                other = projector_on(self.inner)
                other.project([order("c1", "o-other", seq=10_000)])
            return super().write(writes)

    racing = RacingStore(store)
    projector = projector_on(racing)
    report = projector.project([order("c1", "o1", seq=1), order("c2", "o2", seq=2), customer("c1", seq=3), customer("c2", seq=4)])
    assert report.conflicts == 1 and report.failed_from is None
    assert racing.calls == {"load": 1, "write": 2, "reload": 1}
    assert [w.key.id for w in racing.written[-1:]] == ["c1"]
    doc = store.get("customer", "c1")
    assert sorted(o["order_id"] for o in doc["orders"]) == ["o-other", "o1"]


def test_a_store_that_stays_down_fails_the_batch_from_its_first_record_and_loses_nothing():
    class DownStore(MemoryStore):
        def load(self, wanted):
            raise StoreUnavailable("connection reset")

    report = projector_on(DownStore()).project(orders_batch(5, 2))
    assert report.failed_from == 0 and "unavailable" in report.failure_reason


def test_failures_report_the_lowest_failed_record_and_everything_after_it():
    batch = orders_batch(5, 2)

    class Report:
        failed_from = 2

    assert failures(batch, Report()) == [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in batch[2:]]


def test_writes_that_keep_conflicting_end_in_failed_records_not_an_endless_loop():
    class AlwaysConflicting(MemoryStore):
        def write(self, writes):
            return {w.key: Conflict() for w in writes}

    report = Projector(MODEL, AlwaysConflicting(), MemoryQuarantine(), backoff=Backoff(base=0, cap=0, attempts=4)).project(orders_batch(3, 1))
    assert report.failed_from == 0 and report.conflicts == 4


def test_poison_records_are_quarantined_whole_and_the_rest_of_the_batch_is_projected(store):
    quarantine = MemoryQuarantine()
    projector = Projector(MODEL, store, quarantine)
    bad_type = order("c1", "o2", seq=2)
    bad_type["dynamodb"]["NewImage"]["status"] = {"L": [{"S": "paid"}]}
    no_body = order("c1", "o3", seq=3)
    del no_body["dynamodb"]
    batch = [order("c1", "o1", seq=1), bad_type, no_body, customer("c1", seq=4)]
    report = projector.project(batch)
    assert report.failed_from is None
    entries = {e.event_id: e for e in quarantine.list()}
    assert set(entries) == {"ev-orders-2", "ev-orders-3"}
    assert "attribute 'status' must be S|N, not L" in entries["ev-orders-2"].reason
    assert "seq 100000000000000000002" in entries["ev-orders-2"].reason
    assert "no 'dynamodb' object" in entries["ev-orders-3"].reason
    assert '"status": {"L": [{"S": "paid"}]}' in entries["ev-orders-2"].raw
    assert [o["order_id"] for o in store.get("customer", "c1")["orders"]] == ["o1"]
    projector.project(batch)
    assert len(quarantine.list()) == 2


def test_the_handler_stops_near_the_end_of_its_time_and_reports_the_rest():
    class Context:
        def __init__(self):
            self.left = 10_000

        def get_remaining_time_in_millis(self):
            self.left -= 1_000
            return self.left

    def orders_stored() -> set[str]:
        return {sid for d in store.stored(store.targets("customer").read) for sid in d.state.entries if '"orders"' in sid}

    store = MemoryStore()
    handle = make_handler(lambda: projector_on(store), margin_ms=5_000, emit=lambda *a: None)
    batch = orders_batch(10, 10)
    result = handle({"Records": batch}, Context())
    failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
    done = 10 - len(failed)
    assert done < 10 and failed == [r["dynamodb"]["SequenceNumber"] for r in batch[done:]]
    assert len(orders_stored()) == done, "only the records before the first reported failure were projected"
    handle({"Records": batch[done:]}, None)
    assert len(orders_stored()) == 10, "the redelivered records arrive"


def test_exact_decimal_totals_and_sums_survive_the_store(store):
    projector = projector_on(store)
    projector.project([
        customer("c1", seq=1),
        order("c1", "o1", total="0.10", seq=2),
        order("c1", "o2", total="0.20", seq=3),
        order("c1", "o3", total="12345678901234567890123456789012345.67", seq=4),
    ])
    doc = store.get("customer", "c1")
    assert doc["lifetime_value"] == Decimal("12345678901234567890123456789012345.97")
    assert [o["total"] for o in doc["orders"]] == [Decimal("12345678901234567890123456789012345.67"), Decimal("0.20"), Decimal("0.10")]


class RejectingStore(MemoryStore):
    """Refuses, like an OpenSearch mapping would, any customer document holding an order in currency XXX."""

    def write(self, writes):
        refused = {w.key for w in writes if w.body and any(o["currency"] == "XXX" for o in w.body.get("orders", []))}
        outcomes = dict(super().write([w for w in writes if w.key not in refused]))
        outcomes.update({key: Rejected("mapper_parsing_exception on field [orders.currency]") for key in refused})
        return outcomes


def test_a_refused_document_quarantines_only_the_record_that_makes_it_refused(caplog):
    """Review finding: every record behind a rejected document was quarantined, silently."""
    quarantine = MemoryQuarantine()
    store = RejectingStore()
    bad = order("c1", "o2", seq=3)
    bad["dynamodb"]["NewImage"]["currency"] = {"S": "XXX"}
    with caplog.at_level("WARNING", logger="dynafold"):
        report = Projector(MODEL, store, quarantine).project([customer("c1", name="Grace", seq=1), order("c1", "o1", seq=2), bad])
    assert report.failed_from is None
    assert [e.event_id for e in quarantine.list()] == ["ev-orders-3"]
    assert "rejected by the store: mapper_parsing_exception" in quarantine.list()[0].reason
    doc = store.get("customer", "c1")
    assert doc["name"] == "Grace" and [o["order_id"] for o in doc["orders"]] == ["o1"]
    assert [r.__dict__.get("event_id") for r in caplog.records if r.getMessage() == "record quarantined"] == ["ev-orders-3"]


def test_a_target_dropped_under_a_batch_fails_the_batch_for_redelivery_instead_of_crashing():
    """Review finding: UnknownTarget escaped the projector (and killed `dynafold project`)."""
    store = MemoryStore()
    projector = projector_on(store)
    projector.project([customer("c1", seq=1)])
    target = store.targets("customer").read

    real_write = store.write

    def write_after_switch(writes):
        store.create_target(MODEL.aggregate("customer"), "customer_v2")
        store.set_targets("customer", Targets("customer_v2", ("customer_v2",)))
        store.drop_target(target)
        store.write = real_write
        return real_write(writes)

    store.write = write_after_switch
    report = projector.project([order("c1", "o1", seq=2)])
    assert report.failed_from == 0 and "targets changed" in report.failure_reason
    assert projector.project([customer("c1", seq=1), order("c1", "o1", seq=2)]).failed_from is None
    assert [o["order_id"] for o in store.get("customer", "c1")["orders"]] == ["o1"]


def test_a_failed_record_without_a_sequence_number_fails_the_whole_invocation():
    """Review finding: such a record was skipped, and Lambda moved past it."""
    from dynafold.handlers.stream import UnnamedFailure
    from dynafold.projector.stores.memory import MemoryQuarantine as Base

    class DownQuarantine(Base):
        def put(self, entries):
            raise OSError("control table unreachable")

    handle = make_handler(lambda: Projector(MODEL, MemoryStore(), DownQuarantine()), emit=lambda *a: None)
    bad = order("c1", "o1", seq=2)
    del bad["dynamodb"]
    with pytest.raises(UnnamedFailure):
        handle({"Records": [customer("c1", seq=1), bad]}, None)


def test_a_document_the_aggregate_cannot_derive_quarantines_the_records_behind_it_instead_of_blocking():
    """A model bug (here: a derive that fails for some data) must not fail the shard forever."""
    from dynafold import Aggregate, Model
    from dynafold.sample import CUSTOMER, LESSON, derive_customer

    def fragile(view):
        if view.name == "Grace":
            raise ZeroDivisionError("Grace's secrets")
        return derive_customer(view)

    model = Model([Aggregate("customer", CUSTOMER.root, fields=dict(CUSTOMER.root_fields),
                             children=dict(CUSTOMER.children), derive=fragile, derived=dict(CUSTOMER.derived)), LESSON])
    quarantine = MemoryQuarantine()
    store = MemoryStore()
    report = Projector(model, store, quarantine).project(
        [customer("c1", seq=1), order("c1", "o1", seq=2), customer("c2", name="Grace", seq=3)])
    assert report.failed_from is None
    assert [e.event_id for e in quarantine.list()] == ["ev-customers-3"]
    assert "the aggregate cannot derive the document" in quarantine.list()[0].reason
    assert "derive raised ZeroDivisionError" in quarantine.list()[0].reason
    assert "secrets" not in quarantine.list()[0].reason
    assert [o["order_id"] for o in store.get("customer", "c1")["orders"]] == ["o1"]


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_a_derived_value_of_another_kind_quarantines_its_record_on_every_store(store, tmp_path):
    """Review finding: a derive returning "many" for an integer field was written as it was on SQLite,
    while OpenSearch's mapping refused it: one model, two stores, two outcomes. Every store now refuses it."""
    from dynafold import Aggregate, Model
    from dynafold.sample import CUSTOMER, LESSON, derive_customer

    def counting_in_words(view):
        derived = derive_customer(view)
        return {**derived, "order_count": "many" if derived["order_count"] > 1 else derived["order_count"]}

    model = Model([Aggregate("customer", CUSTOMER.root, fields=dict(CUSTOMER.root_fields), children=dict(CUSTOMER.children),
                             derive=counting_in_words, derived=dict(CUSTOMER.derived)), LESSON])
    quarantine = MemoryQuarantine()
    views = MemoryStore() if store == "memory" else SQLiteStore(f"sqlite:///{tmp_path}/v.db")
    report = Projector(model, views, quarantine).project(
        [customer("c1", seq=1), order("c1", "o1", seq=2), order("c1", "o2", seq=3)])
    assert report.failed_from is None
    assert [e.event_id for e in quarantine.list()] == ["ev-orders-3"]
    assert "aggregate 'customer': derived field 'order_count' must be an integer" in quarantine.list()[0].reason
    assert "many" not in quarantine.list()[0].reason
    assert views.get("customer", "c1")["order_count"] == 1


@pytest.mark.parametrize("value, accepted", [
    (3, 3), (Decimal("3"), 3), (Decimal("3.5"), None), (True, None), ("3", None), (2**63, None),
])
def test_derived_integers_are_python_or_integral_decimals_within_64_bits(value, accepted):
    from dynafold.domain.kinds import TranslationError, derived_value, integer

    if accepted is None:
        with pytest.raises(TranslationError, match="derived field 'n' must be an integer"):
            derived_value(integer, value, "n")
    else:
        assert derived_value(integer, value, "n") == accepted and type(derived_value(integer, value, "n")) is int


def test_derived_objects_hold_their_declared_subfields_only():
    from dynafold.domain.kinds import TranslationError, decimal, derived_value, keyword, objects

    kind = objects(sku=keyword, price=decimal)
    assert derived_value(kind, [{"sku": "a", "price": 1.5}], "lines") == [{"sku": "a", "price": 1.5}]
    with pytest.raises(TranslationError, match=r"derived field 'lines\[0\]' holds the undeclared subfield 'cost'"):
        derived_value(kind, [{"sku": "a", "cost": 1}], "lines")
    with pytest.raises(TranslationError, match=r"derived field 'lines\[0\].price' must be a finite decimal"):
        derived_value(kind, [{"sku": "a", "price": float("nan")}], "lines")


def test_a_derived_list_of_values_of_the_fields_kind_is_welcome_as_opensearch_allows():
    from dynafold.domain.kinds import TranslationError, derived_value, integer, text

    assert derived_value(text, ["Ada", "Grace"], "names") == ["Ada", "Grace"]
    assert derived_value(integer, (1, Decimal("2")), "counts") == [1, 2]
    with pytest.raises(TranslationError, match=r"derived field 'names\[1\]' must be text, not int"):
        derived_value(text, ["Ada", 7], "names")


@pytest.mark.parametrize("value, message", [
    ([None], r"derived field 'tags\[0\]' must be a string, an integer or a finite Decimal, not None$"),
    (["a", "b", 7, None], r"derived field 'tags\[3\]' must be .*, not None$"),
    (["a", 1.5], r"derived field 'tags\[1\]' must be .* \(a float is not an exact value\), not float$"),
    ([True], r"derived field 'tags\[0\]' must be .*, not bool$"),
    ([Decimal("NaN")], r"derived field 'tags\[0\]' must be a string, an integer or a finite Decimal, not Decimal$"),
    ({"a", None}, r"derived field 'tags' must hold .* only; one element of the set is None$"),
    ("abc", r"derived field 'tags' must be a list of exact values .*, not str$"),
])
def test_a_derived_keywords_value_names_the_refused_element_its_index_and_its_type(value, message):
    """Model authors met ``must be a list of strings or numbers, not list`` for ``[None]`` (it is a list) and
    for ``[1.5]`` (a number): the message now names the element that is refused, where it stands and why."""
    from dynafold.domain.kinds import TranslationError, derived_value, keywords

    with pytest.raises(TranslationError, match=message):
        derived_value(keywords, value, "tags")


def test_derived_keywords_are_exact_values_strings_integers_and_decimals():
    from dynafold.domain.kinds import derived_value, keywords

    assert derived_value(keywords, ("a", 2, Decimal("1.5")), "tags") == ["a", 2, Decimal("1.5")]
    assert derived_value(keywords, {"b", "a", 1}, "tags") == ["a", "b", 1]


def test_numeric_and_binary_join_pointers_survive_the_stores_json(aws, tmp_path):
    """Found by the harness on a model keyed by numbers and binaries: a store's JSON gives an integral
    pointer back as ``int`` and a binary one as base64 text, so the next fold of the document could not
    find the joined item ("attribute 'part_ref' must be N") and its records failed."""
    import base64

    from dynafold import Aggregate, Children, Join, Model, Table
    from dynafold.domain.kinds import integer, keyword, text
    from tests.support.records import record

    shelves = Table("shelves", "shelf_id")
    parts = Table("parts", "part_no", types={"part_no": "N"})
    tags = Table("tags", "tag", types={"tag": "B"})
    bins = Table("bins", "bin_id", types={"part_ref": "N", "tag_ref": "B"},
                 indexes={"by_part": "part_ref", "by_tag": "tag_ref"})
    model = Model([Aggregate("shelf", shelves, fields={"shelf_id": keyword}, children={
        "bins": Children(bins, parent="shelf_id", fields={"bin_id": keyword, "count": integer}, joins={
            "part": Join(parts, on="part_ref", index="by_part", fields={"name": text}),
            "tag": Join(tags, on="tag_ref", index="by_tag", fields={"label": text})})})])
    tag = base64.b64encode(b"\x00\xff").decode()
    import boto3

    from dynafold.projector.aws.lookup import DynamoLookup
    from dynafold.projector.aws.provision import create_tables

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    create_tables(dynamodb, model)
    dynamodb.put_item(TableName="parts", Item={"part_no": {"N": "7"}, "name": {"S": "bolt"}})

    def bin_image(count: int, bin_id: str = "b1") -> dict:
        return {"bin_id": {"S": bin_id}, "shelf_id": {"S": "s1"}, "count": {"N": str(count)},
                "part_ref": {"N": "7"}, "tag_ref": {"B": tag}}

    for views in (MemoryStore(), SQLiteStore(f"sqlite:///{tmp_path}/v.db")):
        quarantine = MemoryQuarantine()
        projector = Projector(model, views, quarantine, lookup_factory=lambda: DynamoLookup(dynamodb, model))
        first = projector.project([record("shelves", {"shelf_id": {"S": "s1"}}, {"shelf_id": {"S": "s1"}}, seq=1),
                                   record("bins", {"bin_id": {"S": "b1"}}, bin_image(1), seq=2),
                                   record("parts", {"part_no": {"N": "7"}}, {"part_no": {"N": "7"}, "name": {"S": "bolt"}},
                                          seq=3)])
        again = projector.project([record("bins", {"bin_id": {"S": "b2"}}, bin_image(2, "b2"), seq=4)])
        assert first.failed_from is None and again.failed_from is None, again.failure_reason
        assert not quarantine.list(), [e.reason for e in quarantine.list()]
        shown = views.get("shelf", "s1")["bins"]
        assert [(b["bin_id"], b["count"], b["part"]) for b in shown] == [("b1", 1, {"name": "bolt"}),
                                                                         ("b2", 2, {"name": "bolt"})]


def test_a_derived_object_keeps_the_shape_derive_gave_it():
    """Checking the kinds must not add the subfields derive left out: documents written before the check
    would otherwise all drift."""
    from dynafold.domain.kinds import decimal, derived_value, keyword, object_

    assert derived_value(object_(sku=keyword, price=decimal), {"sku": "a"}, "line") == {"sku": "a"}
