"""Text from records, made safe for a terminal.

Event ids, ARNs and table names come from the records themselves: printed
as they are, an escape sequence in one could rewrite the operator's screen
or hide a line. ``printable`` shows every non-printable character as a
Python escape (``\\x1b``, ``\\u202e``); ``find_printed`` lets a command take
back an id exactly as ``quarantine list`` printed it.
"""

from __future__ import annotations

from typing import Iterable, Optional, TypeVar

T = TypeVar("T")


def printable(text: str) -> str:
    """``text`` with control, format and other non-printable characters escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def find_printed(printed: str, candidates: Iterable[T], name=lambda c: c) -> Optional[T]:
    """The candidate whose printed name is ``printed``, if exactly one is."""
    found = [c for c in candidates if printable(name(c)) == printed]
    return found[0] if len(found) == 1 else None
