"""A model that cannot work fails when it is loaded, naming the aggregate and the field."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dynafold import Aggregate, Children, Entity, Join, Model, ModelError, Table, prefix
from dynafold.domain.kinds import keyword, object_, objects, text

users = Table("users", "user_id", indexes={"by_plan": "plan_id"})
plans = Table("plans", "plan_id")
devices = Table("devices", "device_id")
app = Table("app", "pk", "sk")


def test_a_join_without_its_fan_out_index():
    with pytest.raises(ModelError, match=r"aggregate 'user', join 'plan': table 'users' has no index 'by_plan_id'"):
        Aggregate("user", users, fields={"name": text},
                  joins={"plan": Join(plans, on="plan_id", index="by_plan_id", fields={"name": text})})


def test_a_fan_out_index_keyed_by_another_attribute():
    other = Table("users", "user_id", indexes={"by_plan": "team_id"})
    with pytest.raises(ModelError, match=r"join 'plan': index 'by_plan' .* keyed by \['team_id'\]"):
        Aggregate("user", other, fields={}, joins={"plan": Join(plans, on="plan_id", index="by_plan", fields={})})


def test_a_join_that_does_not_determine_the_joined_key():
    orders = Table("orders", "customer_id", "order_id")
    with pytest.raises(ModelError, match=r"join 'order': the pointer does not determine .*'order_id'"):
        Aggregate("user", users, fields={}, joins={"order": Join(orders, on="plan_id", index="by_plan", fields={})})


def test_a_join_to_an_entity_names_the_undetermined_key_attribute_in_a_sentence_that_reads():
    single = Table("app", "PK", "SK", indexes={"by_product": "product_id"})
    with pytest.raises(ModelError) as refused:
        Aggregate("order", Entity(single, SK="ORDER"), fields={},
                  joins={"product": Join(Entity(single, PK=prefix("PROD#")), on="product_id", index="by_product",
                                         fields={})})
    assert str(refused.value) == (
        "aggregate 'order', join 'product': the pointer does not determine the key attribute 'SK' of items of table "
        "'app' where PK begins with 'PROD#'; map a pointing attribute to it in 'on', or pin it with an equality "
        "condition on the target entity")


def test_a_root_entity_with_an_unpinned_key_part_names_its_items_once():
    with pytest.raises(ModelError) as refused:
        Aggregate("account", Entity(app, sk=prefix("PROFILE")), id="pk", fields={})
    assert "two root items (items of table 'app' where sk begins with 'PROFILE') that differ only in ['sk']" in \
        str(refused.value)


def test_an_undeclared_attribute_read_by_derive():
    with pytest.raises(ModelError, match=r"aggregate 'user', derive: aggregate 'user' has no declared attribute 'email'"):
        Aggregate("user", users, fields={"name": text}, derive=lambda u: {"contact": u.email}, derived={"contact": text})


def test_an_undeclared_attribute_of_a_child_read_by_derive():
    with pytest.raises(ModelError, match=r"children 'devices' has no declared attribute 'serial'"):
        Aggregate("user", users, fields={"name": text},
                  children={"devices": Children(devices, parent="user_id", fields={"label": text})},
                  derive=lambda u: {"serials": [d.serial for d in u.devices]}, derived={"serials": keyword})


def test_derive_returning_other_fields_than_declared():
    with pytest.raises(ModelError, match=r"aggregate 'user', derive: returns \['shout'\], but the aggregate declares"):
        Aggregate("user", users, fields={"name": text}, derive=lambda u: {"shout": "x"}, derived={"loud": text})


def test_a_route_that_sends_two_roots_to_one_document():
    with pytest.raises(ModelError, match=r"aggregate 'account', id \['pk'\]: two root items .* differ only in \['sk'\]"):
        Aggregate("account", Entity(app, sk=prefix("PROFILE")), id="pk", fields={})


def test_a_root_entity_pinned_by_equality_is_keyed_by_the_rest_of_its_key():
    account = Aggregate("account", Entity(app, sk="PROFILE"), fields={"pk": keyword})
    assert account.roles[0].parent == ("pk",)


def test_children_whose_parent_does_not_match_the_root_id():
    with pytest.raises(ModelError, match=r"children 'notes': parent \['pk', 'sk'\] names 2 attribute\(s\) but the root id"):
        Aggregate("user", users, fields={}, children={"notes": Children(app, parent=("pk", "sk"), fields={})})


@pytest.mark.parametrize("declaration, message", [
    (lambda: Aggregate("user", users, fields={"name": text},
                       children={"name": Children(devices, parent="user_id", fields={})}),
     r"children 'name': the name is already used by attribute 'name' \(a field name clash\)"),
    (lambda: Aggregate("user", users, fields={"name": text}, derive=lambda u: {"name": 1}, derived={"name": text}),
     r"derived field 'name': the name is already used by field 'name'"),
    (lambda: Aggregate("user", users, fields={"dynafold": text}), r"field 'dynafold': the name 'dynafold' is reserved"),
    (lambda: Aggregate("user", users, fields={}, children={"d": Children(
        devices, parent="user_id", fields={"m": keyword},
        joins={"m": Join(plans, on="plan_id", index="by_plan", fields={})})}),
     r"children 'd', join 'm': the name is already used by the children's field 'm'"),
])
def test_field_name_clashes(declaration, message):
    with pytest.raises(ModelError, match=message):
        declaration()


def test_a_field_without_a_kind():
    with pytest.raises(ModelError, match=r"aggregate 'user', field 'name': not a field kind"):
        Aggregate("user", users, fields={"name": "text"})


@pytest.mark.parametrize("declaration, message", [
    (lambda: Aggregate("user", users, fields={"name": text, "_id": keyword}),
     r"aggregate 'user', field '_id': the name is one of OpenSearch's metadata fields"),
    (lambda: Aggregate("user", users, fields={"a.b": text}),
     r"aggregate 'user', field 'a.b': a document field name cannot hold '.'"),
    (lambda: Aggregate("user", users, fields={"name": text}, derive=lambda u: {"_source": 1},
                       derived={"_source": keyword}),
     r"aggregate 'user', derived field '_source': the name is one of OpenSearch's metadata fields"),
    (lambda: Aggregate("user", users, fields={},
                       children={"devices": Children(devices, parent="user_id", fields={"x.y": text})}),
     r"aggregate 'user', children 'devices', field 'x.y': a document field name cannot hold '.'"),
    (lambda: Aggregate("user", users, fields={"tags": objects(**{"a.b": text})}),
     r"aggregate 'user', field 'tags', subfield 'a.b': a document field name cannot hold '.'"),
])
def test_names_opensearch_cannot_hold_are_refused_when_the_model_loads(declaration, message):
    """Review finding: a field named ``_id`` loaded, then OpenSearch refused every document of the
    aggregate (and SQLite wrote ``"_id": null`` into each)."""
    with pytest.raises(ModelError, match=message):
        declaration()


@pytest.mark.parametrize("declaration, message", [
    (lambda: Aggregate("user", users, fields={},
                       children={"devices": Children(devices, parent="user_id", fields={"tags": objects(label=str)})}),
     r"aggregate 'user', children 'devices', field 'tags': subfield 'label': not a field kind"),
    (lambda: Aggregate("user", users, fields={"name": text},
                       joins={"plan": Join(plans, on="plan_id", index="by_plan", fields={"title": "text"})}),
     r"aggregate 'user', join 'plan', field 'title': not a field kind"),
    (lambda: Aggregate("user", users, fields={"box": object_(inner=objects(deep=int))}),
     r"aggregate 'user', field 'box': subfield 'inner': subfield 'deep': not a field kind"),
])
def test_a_wrong_kind_inside_children_joins_or_objects_names_its_aggregate_and_field(declaration, message):
    """Review finding: ``objects(label=str)`` raised a bare TypeError while the module was imported,
    naming neither the aggregate nor the field."""
    with pytest.raises(ModelError, match=message):
        declaration()


def test_a_join_whose_pointer_type_differs_from_the_joined_key():
    """Found by a helper: the pointer's index was provisioned as S under an N-keyed target, and moto
    accepted what DynamoDB refuses (a pointer item whose index key has another type)."""
    regions = Table("regions", "region_no", types={"region_no": "N"})
    shops = Table("shops", "shop_id", indexes={"by_region": "region_no"})
    with pytest.raises(ModelError, match=r"aggregate 'shop', join 'region': pointing attribute 'region_no' is S on "
                                         r"table 'shops' .* table 'regions' keys 'region_no' as N: declare "
                                         r"types=\{'region_no': 'N'\}"):
        Aggregate("shop", shops, fields={"name": text},
                  joins={"region": Join(regions, on="region_no", index="by_region", fields={"name": text})})
    typed = Table("shops", "shop_id", types={"region_no": "N"}, indexes={"by_region": "region_no"})
    Aggregate("shop", typed, fields={"name": text},
              joins={"region": Join(regions, on="region_no", index="by_region", fields={"name": text})})


def test_a_model_without_aggregates():
    with pytest.raises(ModelError, match=r"a model needs at least one aggregate"):
        Model([])


def test_one_table_declared_twice_differently():
    other_users = Table("users", "id")
    a = Aggregate("user", users, fields={})
    b = Aggregate("profile", other_users, fields={})
    with pytest.raises(ModelError, match=r"aggregate 'profile', root: table 'users' is declared twice, differently"):
        Model([a, b])


def test_an_aggregate_declared_twice():
    a = Aggregate("user", users, fields={})
    with pytest.raises(ModelError, match=r"aggregate 'user' is declared twice"):
        Model([a, a])


def test_an_aggregate_of_unknown_options_or_a_root_that_is_not_a_table_is_refused_by_name():
    with pytest.raises(ModelError, match=r"aggregate 'customer': unknown options \['route', 'sources'\]"):
        Aggregate("customer", users, fields={}, sources={}, route=lambda e: ())
    with pytest.raises(ModelError, match=r"aggregate 'customer': root must be a Table or an Entity, not str"):
        Aggregate("customer", "customers", fields={})


def test_the_cli_reports_a_bad_model_with_exit_code_2(tmp_path):
    (tmp_path / "badmodel.py").write_text(
        "from dynafold import Aggregate, Join, Model, Table\n"
        "users = Table('users', 'user_id')\n"
        "MODEL = Model([Aggregate('user', users, fields={}, joins={'plan': Join(Table('plans', 'plan_id'), "
        "on='plan_id', index='by_plan', fields={})})])\n"
    )
    result = subprocess.run([sys.executable, "-m", "dynafold", "dump", "--store", "memory://", "--aggregate",
                             "user", "--model", "badmodel:MODEL"], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": f"{tmp_path}:{sys.path[0]}", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2, result.stderr
    assert "aggregate 'user', join 'plan': table 'users' has no index 'by_plan'" in result.stderr


def test_derive_may_read_key_attributes_pointers_and_joined_keys_that_are_not_declared_fields():
    """The docstring said "declared attributes only"; the view also holds what the engine keeps to route
    and join: the item's key, its joins' pointers, and a joined item's key (README, "Writing your own model")."""
    from decimal import Decimal

    from dynafold.domain.events import Slot
    from dynafold.domain.source import SourceItem, SourceVersion
    from dynafold.domain.state import AggregateState, Entry

    def describe(user):
        return {"label": f"{user.user_id}/{user.plan_id}/{user.plan.plan_id if user.plan else '-'}",
                "price": user.plan.price if user.plan else None}

    aggregate = Aggregate("user", users, fields={"name": text},
                          joins={"plan": Join(plans, on="plan_id", index="by_plan", fields={"price": keyword})},
                          derive=describe, derived={"label": keyword, "price": keyword})
    user, plan = SourceItem.of("users", {"user_id": "u1"}), SourceItem.of("plans", {"plan_id": "basic"})
    now = SourceVersion()
    root, joined = Slot("$root", user), Slot("plan", plan, user)
    state = AggregateState({root.key: Entry(root, now, {"name": "Ada", "plan_id": "basic"}),
                            joined.key: Entry(joined, now.via(), {"price": Decimal(5)})})
    assert aggregate.document("u1", state) == {"name": "Ada", "label": "u1/basic/basic", "price": Decimal(5)}
    with pytest.raises(ModelError, match=r"has no declared attribute 'email' \(declared: \['name', 'plan', "
                                         r"'plan_id', 'user_id'\]\)"):
        Aggregate("user", users, fields={"name": text},
                  joins={"plan": Join(plans, on="plan_id", index="by_plan", fields={"price": keyword})},
                  derive=lambda u: {"x": u.email}, derived={"x": keyword})
@pytest.mark.parametrize("declaration, message", [
    (dict(fields={"name": text}, time_field="signed_up_at"),
     r"aggregate 'user', time_field 'signed_up_at': not a field of the document \(its fields: \['name'\]\)"),
    (dict(fields={"name": text}, time_field="name"), r"aggregate 'user', time_field 'name': the field is text, not datetime"),
    (dict(fields={"name": text}, derive=lambda u: {"at": None}, derived={"at": keyword}, time_field="at"),
     r"aggregate 'user', time_field 'at': the field is keyword, not datetime"),
    (dict(fields={"name": text}, time_field=["name"]), r"aggregate 'user', time_field \['name'\]: not a field"),
])
def test_a_time_field_names_a_datetime_field_of_the_document(declaration, message):
    with pytest.raises(ModelError, match=message):
        Aggregate("user", users, **declaration)


def test_a_field_named_like_a_collections_plain_copy_is_refused():
    with pytest.raises(ModelError, match=r"aggregate 'user', field 'devices_flat': the name is taken by the plain copy "
                                         r"of the collection 'devices'"):
        Aggregate("user", users, fields={"devices_flat": keyword},
                  children={"devices": Children(devices, parent="user_id", fields={"label": text})})
    with pytest.raises(ModelError, match=r"field 'home.rooms_flat': the name is taken .* collection 'home.rooms'"):
        Aggregate("user", users, fields={"home": object_(rooms=objects(size=keyword), rooms_flat=keyword)})


def test_a_time_field_of_kind_datetime_loads():
    from dynafold.domain.kinds import datetime

    assert Aggregate("user", users, fields={"joined": datetime}, time_field="joined").time_field == "joined"
