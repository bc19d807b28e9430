"""Geographic points: the ways an item may hold one, read into the one shape documents show.

An attribute of kind ``geo_point`` may hold ``{"lat": N, "lon": N}``, a
``"lat,lon"`` string or a geohash; every document shows ``{"lat": …,
"lon": …}`` (a geohash as the exact centre of its cell), so readers meet
one shape and every store keeps the same value. A point outside
-90..90 / -180..180 is refused: OpenSearch would otherwise wrap it silently
(latitude 95 indexed as 85) and draw it on the wrong side of the map.
"""

from __future__ import annotations

import math
import re
from decimal import Context, Decimal
from fractions import Fraction
from typing import Any, Mapping, Union

Number = Union[int, float, Decimal]
GEOHASH_ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"
MAX_GEOHASH = 12  # OpenSearch's longest geohash
_PAIR = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*,\s*([+-]?\d+(?:\.\d+)?)\s*$")
_EXACT = Context(prec=60)  # a 12-character geohash's centre has 31 decimals: every digit kept
FORMS = '{"lat": N, "lon": N}, "lat,lon" or a geohash'


class NotAPoint(ValueError):
    """Why a value is not a point (the reason only, never the value)."""


def point(value: Any, *, numbers: tuple[type, ...] = (Decimal,)) -> dict[str, Number]:
    """``value`` as ``{"lat", "lon"}``, or ``NotAPoint``. ``numbers``: the types a map's coordinates may
    have (DynamoDB's ``Decimal``; a ``derive`` may also use ``int`` and ``float``)."""
    if isinstance(value, str):
        pair = _PAIR.match(value)
        if pair:
            return _checked(Decimal(pair.group(1)), Decimal(pair.group(2)))
        if "," in value:
            raise NotAPoint('a "lat,lon" string holds two decimal numbers')
        return _checked(*geohash_centre(value))
    if isinstance(value, Mapping):
        if set(value) != {"lat", "lon"}:
            raise NotAPoint("a point map holds exactly the keys lat and lon")
        lat, lon = value["lat"], value["lon"]
        for coordinate in (lat, lon):
            if type(coordinate) not in numbers:
                raise NotAPoint(f"lat and lon are numbers, not {type(coordinate).__name__}")
        return _checked(lat, lon)
    raise NotAPoint(f"a point is {FORMS}")


def geohash_centre(text: str) -> tuple[Decimal, Decimal]:
    """The exact centre of a geohash's cell (latitude, longitude)."""
    code = text.lower()
    if not 0 < len(code) <= MAX_GEOHASH or any(c not in GEOHASH_ALPHABET for c in code):
        raise NotAPoint(f'not a geohash (1 to {MAX_GEOHASH} of {GEOHASH_ALPHABET}) nor a "lat,lon" string')
    low = [Fraction(-180), Fraction(-90)]  # longitude first: a geohash's bits alternate, starting with it
    high = [Fraction(180), Fraction(90)]
    axis = 0
    for character in code:
        bits = GEOHASH_ALPHABET.index(character)
        for shift in range(4, -1, -1):
            middle = (low[axis] + high[axis]) / 2
            if bits >> shift & 1:
                low[axis] = middle
            else:
                high[axis] = middle
            axis = 1 - axis
    lon, lat = ((low[i] + high[i]) / 2 for i in (0, 1))
    return _decimal(lat), _decimal(lon)


def _decimal(value: Fraction) -> Decimal:
    return _EXACT.divide(Decimal(value.numerator), Decimal(value.denominator)).normalize(_EXACT)


def _checked(lat: Number, lon: Number) -> dict[str, Number]:
    for name, coordinate, bound in (("latitude", lat, 90), ("longitude", lon, 180)):
        if isinstance(coordinate, float) and not math.isfinite(coordinate) or \
                isinstance(coordinate, Decimal) and not coordinate.is_finite():
            raise NotAPoint(f"{name} is not a finite number")
        if not -bound <= coordinate <= bound:
            raise NotAPoint(f"{name} out of range -{bound}..{bound}")
    return {"lat": lat, "lon": lon}
