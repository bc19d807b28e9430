"""The sample domain shipped with dynafold: customers with orders and
subscriptions, and lessons searchable by song. The demo runs it; copy it to
model your own tables."""

from domain.model import Model
from domain.sample.customer import CUSTOMER
from domain.sample.lesson import LESSON
from domain.sample.tables import TABLES
from domain.sample.translators import TRANSLATORS

MODEL = Model.of(TABLES, TRANSLATORS, (CUSTOMER, LESSON))

__all__ = ["MODEL", "CUSTOMER", "LESSON"]
