"""The names of dynafold 0.1's hand-written models, kept only to say what to write instead.

A 0.1 model (event classes, translators, ``route`` functions) fails when it
is loaded, with a ``ModelError`` that points at the declarative form, rather
than with an ``ImportError`` that says nothing about why.
"""

from __future__ import annotations

from typing import Any

from domain.tables import ModelError

MIGRATE = (
    "models are declared since dynafold 0.2: the engine makes the events, routes them (old and new image), "
    "reads joins and fans out. Declare Table(...) values and Aggregate(name, root=..., fields={...}, "
    "children={...}, joins={...}, derive=..., derived={...}); a table that declarations cannot express can "
    "keep a hand-written Translator (domain.translation). See README 'Writing your own model'"
)


class _Refused:
    """A 0.1 base class: subclassing it is the error."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if cls.__module__ == __name__:
            return
        raise ModelError(f"{cls.__name__} subclasses a 0.1 event class; {MIGRATE}")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ModelError(f"{type(self).__name__} is a 0.1 event class; {MIGRATE}")


class ItemChanged(_Refused):
    pass


class ItemRemoved(_Refused):
    pass


class AggregateView(_Refused):
    pass


def _refused(name: str):
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ModelError(f"{name}(...) is part of a 0.1 hand-written model; {MIGRATE}")

    refuse.__name__ = name
    return refuse


routing = _refused("routing")
attribute = _refused("attribute")
SecondaryIndex = _refused("SecondaryIndex")
