"""DynamoDB's own rule for the size of an item, which it holds to 400 KB (409,600 bytes; exactly that is legal).

The decoder (``dynamodb_json``) charges every value by this rule as it reads
it, so an image DynamoDB could have stored is never refused and one it
could not have stored is. The rule, per value:

- an attribute name, a map key, ``S`` and each ``SS`` member: its UTF-8 bytes;
- ``B`` and each ``BS`` member: its raw bytes (not the base64 text);
- ``BOOL`` and ``NULL``: 1;
- ``N`` and each ``NS`` member: ``number_size``, DynamoDB's base-100 encoding;
- ``L``: 3, plus 1 and the element's size per element; ``M``: 3, plus the
  key's bytes, 1 and the value's size per entry; sets have no overhead;
- an item: its top-level names and values, with no overhead at all.

Numbers are stored as one exponent byte and the digits in base 100, two
decimal digits per byte, the pairs aligned on the decimal point, all-zero
pairs at both ends dropped; a negative number ends in a terminator byte
unless its mantissa has the full 20 bytes. So ``1``, ``100`` and ``0.5``
are 2 bytes, ``12030`` is 4 (01·20·30) and ``-42`` is 3. Zero is 1 byte.
A 38-digit number is 20 or 21 bytes, not the 38 to 40 characters it is
written with, and ``1E+125`` is 2 bytes although the stream spells it with
126 digits.

The rule was checked byte for byte against DynamoDB Local 3.3.1 (whose
``encodeBigDecimal`` is this encoding) at the 409,600-byte boundary over 33
item shapes, and ``tests/test_item_size.py`` checks it there again.
"""

from __future__ import annotations

MAX_ITEM_BYTES = 400 * 1024
"""409,600: DynamoDB refuses an item larger than this, and takes one of exactly this size."""
CONTAINER_BYTES = 3
"""An ``L`` or ``M`` value, before its elements."""
ELEMENT_BYTES = 1
"""Each element of an ``L`` and each entry of an ``M``, besides its own size (never a set member)."""
SCALAR_BYTES = 1
"""A ``BOOL`` or a ``NULL``."""
_FULL_MANTISSA = 20  # 38 significant digits and a pad digit, in base-100 digits


def text_size(text: str) -> int:
    """The UTF-8 bytes of a name, a key or an ``S`` value."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def number_size(text: str) -> int:
    """The bytes DynamoDB charges for the number written as ``text``, a number it accepts (``-1.50E+3``,
    ``.5``, ``007``; the decoder has checked the syntax, the 38 digits and the range)."""
    if text.isdigit():  # a plain non-negative integer: most numbers
        whole = text.lstrip("0")
        if not whole:
            return 1
        return 1 + (len(whole.rstrip("0")) + (len(whole) & 1) + 1) // 2
    negative = text[0] == "-"
    body = text[1:] if negative or text[0] == "+" else text
    exponent = 0
    if "e" in body or "E" in body:
        body, _, power = body.replace("E", "e").partition("e")
        exponent = int(power)
    whole, _, fraction = body.partition(".")
    whole = whole.lstrip("0")
    if whole:
        precision = len((whole + fraction).rstrip("0"))
        before_point = len(whole)
    else:  # 0.00x: the leading zeros of the fraction make the point's position negative
        significant = fraction.lstrip("0")
        precision = len(significant.rstrip("0"))
        before_point = len(significant) - len(fraction)
    if not precision:
        return 1  # zero, however it is written
    # the digits before the point in plain notation decide the pairing: an odd count puts a lone digit first
    mantissa = (precision + ((before_point + exponent) & 1) + 1) // 2
    return 1 + mantissa + (negative and mantissa < _FULL_MANTISSA)
