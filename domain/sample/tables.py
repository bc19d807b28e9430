"""The five source tables of the sample domain (a CRM and a lesson catalogue)."""

from domain.model import SecondaryIndex, TableSpec

CUSTOMERS = TableSpec(
    name="customers",
    hash_key="customer_id",
    key_types={"customer_id": "S"},
    version_attribute="version",
)
ORDERS = TableSpec(
    name="orders",
    hash_key="customer_id",
    range_key="order_id",
    key_types={"customer_id": "S", "order_id": "S"},
)
SUBSCRIPTIONS = TableSpec(
    name="subscriptions",
    hash_key="customer_id",
    range_key="plan_id",
    key_types={"customer_id": "S", "plan_id": "S"},
)
SONGS = TableSpec(
    name="songs",
    hash_key="song_id",
    key_types={"song_id": "S"},
    version_attribute="version",
)
LESSONS = TableSpec(
    name="lessons",
    hash_key="lesson_id",
    key_types={"lesson_id": "S", "song_id": "S"},
    indexes=(SecondaryIndex("by_song", "song_id"),),
)

TABLES = (CUSTOMERS, ORDERS, SUBSCRIPTIONS, SONGS, LESSONS)
