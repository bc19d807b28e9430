"""dynafold: aggregate views of DynamoDB tables, converging under any delivery order.

What a model author writes is importable from here, and only from here::

    from dynafold import Aggregate, Children, Join, Model, Table
    from dynafold.kinds import keyword, text, decimal

The test kit is ``dynafold.testing``; the Lambda handlers are
``dynafold.handlers.stream.handler``, ``dynafold.handlers.replay.handler`` and
``dynafold.handlers.failure_queue.handler``; the command is ``dynafold``. Every
other module (``dynafold.domain``, ``dynafold.projector``, ``dynafold.replay``,
``dynafold.deploy``, ``dynafold.cli``) is internal and may change in any release.
"""

from dynafold.domain.aggregate import Aggregate, ProjectionError
from dynafold.domain.declarations import Children, Join
from dynafold.domain.events import DomainEvent, Slot
from dynafold.domain.lookup import IndexQuery, Lookup, LookupUnavailable
from dynafold.domain.model import Model
from dynafold.domain.records import SourceRecord
from dynafold.domain.source import SourceItem, SourceVersion
from dynafold.domain.tables import Entity, ModelError, Table, prefix
from dynafold.domain.translation import Translator

__version__ = "0.1.0"

__all__ = [
    "Aggregate",
    "Children",
    "DomainEvent",
    "Entity",
    "IndexQuery",
    "Join",
    "Lookup",
    "LookupUnavailable",
    "Model",
    "ModelError",
    "ProjectionError",
    "Slot",
    "SourceItem",
    "SourceRecord",
    "SourceVersion",
    "Table",
    "Translator",
    "__version__",
    "prefix",
]
