"""DynamoDB's own size rule: every type sized as DynamoDB sizes it, numbers by its base-100 encoding.

The decoder charged one byte per character of a number, so a legal item of many long numbers (19,000
38-digit numbers are about 371 KB to DynamoDB) was quarantined as "larger than 400 KB", and it charged
nothing for BOOL, NULL and list or map elements, so some items over the limit passed. Here the decoder's
sizes are held to a reference computed another way (digit pairs cut from the plain decimal text), to the
worked examples measured on DynamoDB Local, and, with ``DYNAFOLD_REAL_NODES=1``, to DynamoDB Local's own
acceptance at the 409,600-byte boundary.
"""

from __future__ import annotations

import base64
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynafold.projector.intake.dynamodb_json import DecodeError, decoded_size
from dynafold.projector.intake.item_size import MAX_ITEM_BYTES, number_size

# reference: the same rule computed from the digit pairs of the plain decimal text


def pairs_size(value: Decimal) -> int:
    """Pad the integer part on the left and the fraction on the right to even lengths, cut into pairs,
    drop all-zero pairs at both ends: one byte per pair left, one for the exponent, one more for a
    negative number unless 20 pairs are left."""
    if not value:
        return 1
    whole, _, fraction = format(value.copy_abs(), "f").partition(".")
    whole = ("0" + whole) if len(whole) % 2 else whole
    fraction = (fraction + "0") if len(fraction) % 2 else fraction
    pairs = [whole[i:i + 2] for i in range(0, len(whole), 2)] + [fraction[i:i + 2] for i in range(0, len(fraction), 2)]
    while pairs and pairs[0] == "00":
        pairs.pop(0)
    while pairs and pairs[-1] == "00":
        pairs.pop()
    return 1 + len(pairs) + (value < 0 and len(pairs) < 20)


def reference_size(typed) -> int:
    (kind, value), = typed.items()
    if kind == "S":
        return len(value.encode("utf-8"))
    if kind == "N":
        return pairs_size(Decimal(value))
    if kind == "B":
        return len(base64.b64decode(value))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(m.encode("utf-8")) for m in value)
    if kind == "NS":
        return sum(pairs_size(Decimal(m)) for m in value)
    if kind == "BS":
        return sum(len(base64.b64decode(m)) for m in value)
    if kind == "L":
        return 3 + sum(1 + reference_size(v) for v in value)
    return 3 + sum(len(k.encode("utf-8")) + 1 + reference_size(v) for k, v in value.items())


def reference_item_size(item) -> int:
    return sum(len(name.encode("utf-8")) + reference_size(typed) for name, typed in item.items())


# worked examples, each measured on DynamoDB Local 3.3.1 (4,000 copies at the 409,600-byte boundary)

MEASURED = {
    "0": 1, "-0": 1, "0.000": 1, "0E999": 1, "1": 2, "12": 2, "100": 2, "1200": 2, "1E+5": 2, "1e5": 2, "0.5": 2,
    "0.0001": 2, "0.000001": 2, "123": 3, "12030": 4, "120300": 3, "0.012": 3, "0.00012": 3, "0.0000012": 3,
    "1.5": 3, "-1.5": 4, "-42": 3, "-1": 3, "-123": 4, "100.5": 4, "1.200": 3, "3.14159": 5, "1010": 3, "1000": 2,
    "1E-130": 2, "-1E-130": 3, "1E125": 2, "1.5E3": 2, "007": 2, "00.5": 2, ".5": 2, "5.": 2, "+5": 2,
    "12345678912345678912345678912345678912": 20, "-12345678912345678912345678912345678912": 21,
    "1.2345678901234567890123456789012345678": 21, "-1.2345678901234567890123456789012345678": 21,
    "1234567890123456789012345678901234567800000": 21,
    "9.9999999999999999999999999999999999999E+125": 20, "-9.9999999999999999999999999999999999999E+125": 21,
}


@pytest.mark.parametrize("text", MEASURED)
def test_numbers_cost_what_dynamodb_local_measured(text):
    assert number_size(text) == MEASURED[text]
    assert pairs_size(Decimal(text)) == MEASURED[text], "the reference agrees"


def _spellings(value: Decimal):
    """One number written as a stream, a scan or a person may write it."""
    yield format(value, "f")
    yield str(value)
    yield format(value, "E")
    sign, digits, exponent = value.as_tuple()
    yield ("-" if sign else "") + "00" + "".join(map(str, digits)) + "0" * 3 + f"E{exponent - 3}"


def _significant(value: Decimal) -> int:
    return len("".join(map(str, value.as_tuple().digits)).strip("0"))


numbers = st.decimals(allow_nan=False, allow_infinity=False, places=None,
                      min_value=Decimal("-9.9E+125"), max_value=Decimal("9.9E+125")).filter(
    lambda d: not d or (-130 <= d.adjusted() <= 125 and _significant(d) <= 38))


@given(numbers)
def test_number_size_equals_the_digit_pair_reference_however_the_number_is_written(value):
    for text in _spellings(value):
        assert number_size(text) == pairs_size(value), text


names = st.text(min_size=1, max_size=6)
scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=8)),
    st.builds(lambda d: {"N": format(d, "f")}, numbers.filter(lambda d: abs(d.adjusted()) < 40)),
    st.builds(lambda b: {"B": base64.b64encode(b).decode()}, st.binary(max_size=8)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda m: {"SS": sorted(m)}, st.sets(st.text(max_size=5), min_size=1, max_size=4)),
    st.builds(lambda m: {"NS": [str(n) for n in m]}, st.sets(st.integers(-10**40, 10**40)
                                                             .filter(lambda n: len(str(abs(n)).rstrip("0")) <= 38)
                                                             .map(Decimal), min_size=1, max_size=4)),
    st.builds(lambda m: {"BS": [base64.b64encode(b).decode() for b in m]}, st.sets(st.binary(max_size=5), min_size=1,
                                                                                  max_size=4)),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.builds(lambda items: {"L": items}, st.lists(inner, max_size=4)),
    st.builds(lambda entries: {"M": entries}, st.dictionaries(names, inner, max_size=4))), max_leaves=25)


@given(st.dictionaries(names, values, max_size=6))
def test_the_decoder_charges_every_type_as_dynamodb_does(item):
    assert decoded_size(item) == reference_item_size(item)


def test_legal_items_of_many_long_numbers_are_taken_and_larger_ones_refused():
    """19,000 38-digit numbers are 380,000 bytes to DynamoDB; as 19,000 attributes their names would push the
    item over (DynamoDB Local refuses that too), but in a number set or a list they are legal, and so is an
    item of 15,000 such attributes filled up to exactly 400 KB."""
    long = [str(10 ** 37 + 10 * i + 1) for i in range(19_000)]  # 38 significant digits each
    assert decoded_size({"pk": {"S": "p"}, "ns": {"NS": long}}) == 380_005
    assert decoded_size({"pk": {"S": "p"}, "l": {"L": [{"N": n} for n in long]}}) == 399_007
    largest = {"pk": {"S": "p"}, **{f"a{i}": {"N": long[i]} for i in range(15_000)}}
    filler = MAX_ITEM_BYTES - decoded_size(largest) - len("zz")
    assert decoded_size({**largest, "zz": {"S": "x" * filler}}) == MAX_ITEM_BYTES, "exactly 400 KB is legal"
    with pytest.raises(DecodeError, match="400 KB"):
        decoded_size({**largest, "zz": {"S": "x" * (filler + 1)}})
    with pytest.raises(DecodeError, match="400 KB"):
        decoded_size({"pk": {"S": "p"}, "l": {"L": [{"N": "-1." + n[1:]} for n in long]}})  # 418,007 bytes


def test_a_legal_order_of_many_long_numbers_projects_instead_of_being_quarantined():
    """The issue's case: an order DynamoDB accepted, 19,000 38-digit numbers in an attribute the model does not
    read; its declared total never reached the customer (lifetime_value 5 instead of 15)."""
    from dynafold.projector.engine.batch import Projector
    from dynafold.projector.stores.memory import MemoryQuarantine, MemoryStore
    from dynafold.sample import MODEL
    from tests.support.records import customer, order

    big = order("c1", "o2", seq=3, total="10")
    big["dynamodb"]["NewImage"]["line_amounts"] = {"NS": [str(10 ** 37 + 10 * i + 1) for i in range(19_000)]}
    quarantine, store = MemoryQuarantine(), MemoryStore()
    report = Projector(MODEL, store, quarantine).project([customer("c1", seq=1), order("c1", "o1", seq=2, total="5"), big])
    assert report.failed_from is None and quarantine.list() == []
    assert store.get("customer", "c1")["lifetime_value"] == Decimal("15")


# DynamoDB Local's own acceptance on the boundary


def _shapes() -> dict[str, dict]:
    rng = __import__("random").Random(7)
    return {
        "38-digit integers": {f"n{i}": {"N": str(10 ** 37 + 10 * i + 1)} for i in range(15_000)},
        "negative 38-digit decimals": {f"n{i}": {"N": f"-1.{i:037d}"} for i in range(15_000)},
        "numbers of every form": {f"n{i}": {"N": rng.choice(["12030", "0.012", "-1.5", "1E+5", "0.00012", "-42",
                                                              "120300", "3.14159", str(rng.randrange(10**30))])}
                                  for i in range(30_000)},
        "a number set": {"ns": {"NS": [str(10 ** 37 + 10 * i + 1) for i in range(18_000)]}},
        "a list of numbers": {"l": {"L": [{"N": f"-9.{i:020d}"} for i in range(15_000)]}},
        "non-ASCII strings": {f"s{i}": {"S": "é€😀"[i % 3] * (i % 7 + 1)} for i in range(20_000)},
        "BOOL and NULL": {f"b{i}": ({"BOOL": True} if i % 2 else {"NULL": True}) for i in range(40_000)},
        "a binary set": {"bs": {"BS": [i.to_bytes(4, "big") for i in range(60_000)]}},  # bytes, as boto3 sends them
        "maps of empty maps and lists": {"m": {"M": {f"k{i}": ({"M": {}} if i % 2 else {"L": []})
                                                      for i in range(30_000)}}},
        "nested maps with non-ASCII keys": {f"a{i}": {"M": {"ключ": {"M": {"x": {"N": "-0.5"}, "y": {"L": [
            {"S": "ü"}, {"BOOL": False}]}}}}} for i in range(6_000)},
    }


@pytest.fixture
def dynamodb_local(dynamodb_local_env):
    import boto3

    client = boto3.client("dynamodb")
    table = f"size{uuid.uuid4().hex[:8]}"
    client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    return client, table


def _accepted(client, table, item) -> bool:
    from botocore.exceptions import ClientError

    try:
        client.put_item(TableName=table, Item=item)
        return True
    except ClientError as error:
        assert "Item size has exceeded the maximum allowed size" in str(error), error
        return False


@pytest.mark.parametrize("shape", list(_shapes()))
def test_dynamodb_local_takes_exactly_what_the_decoder_takes_at_400_kb(dynamodb_local, shape):
    """The largest item of each shape the decoder takes (409,600 bytes by its count) is the largest DynamoDB
    Local takes: one byte more is refused by both, and what Local stored reads back at the same size."""
    client, table = dynamodb_local
    core = {"pk": {"S": "p"}, **_shapes()[shape]}
    filler = MAX_ITEM_BYTES - decoded_size(core) - len("zz")
    assert filler > 0, f"{shape}: the core alone is {decoded_size(core)} bytes"
    largest = {**core, "zz": {"S": "x" * filler}}
    assert decoded_size(largest) == MAX_ITEM_BYTES
    assert _accepted(client, table, largest), f"{shape}: DynamoDB Local refused what the decoder takes"
    stored = client.get_item(TableName=table, Key={"pk": {"S": "p"}}, ConsistentRead=True)["Item"]
    assert decoded_size(stored) == MAX_ITEM_BYTES, "DynamoDB spells numbers its own way; the size is the same"
    over = {**core, "zz": {"S": "x" * (filler + 1)}}
    assert not _accepted(client, table, over), f"{shape}: DynamoDB Local took an item the decoder refuses"
    with pytest.raises(DecodeError, match="400 KB"):
        decoded_size(over)
