"""DynamoDB's clock, as the ``Date`` header of its responses tells it.

A scan row is stamped ``T_start - 1 s`` and competes with stream records
stamped by DynamoDB (``ApproximateCreationDateTime``). That is only right
if ``T_start`` is on DynamoDB's clock and not after the scan's first read:
a local clock running ahead would let a row outrank a newer stream record
for good. So ``T_start`` (replay, rebuild, verify, repair, quarantine retry)
comes from a response's ``Date`` header (whole seconds, rounded down, so
never later than the server's real time). Without a header, the local
clock minus a minute is used: any stamp earlier than the read is safe
(it only lets more stream records win, and the newest of them is the
item's current state), a later one is not.
"""

from __future__ import annotations

import logging
import time
from email.utils import parsedate_to_datetime
from typing import Any, Callable

log = logging.getLogger("dynafold.clock")

FALLBACK_MARGIN_US = 60_000_000


def local_time_us() -> int:
    """This machine's clock; the only place dynafold reads it for ordering decisions."""
    return int(time.time() * 1_000_000)


def date_header_us(response: Any) -> int | None:
    """The server time of a boto3 response (whole seconds), or None when it carries no Date header."""
    try:
        text = response["ResponseMetadata"]["HTTPHeaders"]["date"]
        return int(parsedate_to_datetime(text).timestamp()) * 1_000_000
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def server_time_us(client: Any, *, local: Callable[[], int] = lambda: local_time_us()) -> int:
    """DynamoDB's time now (one cheap ``ListTables`` call), never later than the server's real time."""
    found = date_header_us(client.list_tables(Limit=1))
    if found is not None:
        return found
    log.warning("DynamoDB response without a Date header: using the local clock minus 60 s for T_start")
    return local() - FALLBACK_MARGIN_US
