"""The text of literals, both ways: token text -> (value, type), and Literal -> canonical text.

Numbers carry their type in a suffix (docs/ir.md, "Literals"); the parser and the printer
both read the one table below, so a suffix is declared once.

>>> read_int("0xffL")
(255, Scalar(kind='i64'))
>>> read_float("-1.5e3f")
(-1500.0, Scalar(kind='f32'))
>>> from daybreak.ir.nodes import Literal
>>> from daybreak.ir.types import I8
>>> literal_text(Literal(-7, I8))
'-7c'
"""

from __future__ import annotations

import math
import re
import struct

import numpy as np

from .ops import int_max, int_min, to_f32
from .types import F32, F64, SCALARS, STRING, Scalar

# Integer suffix -> type. The first suffix listed for a type is the one the printer writes.
INT_SUFFIXES: dict[str, Scalar] = {
    "": SCALARS["i32"],
    "c": SCALARS["i8"],
    "C": SCALARS["i8"],
    "si": SCALARS["i16"],
    "L": SCALARS["i64"],
    "l": SCALARS["i64"],
    "u8": SCALARS["u8"],
    "u16": SCALARS["u16"],
    "u32": SCALARS["u32"],
    "u64": SCALARS["u64"],
}
_SUFFIX_OF_TYPE: dict[Scalar, str] = {}
for _suffix, _t in INT_SUFFIXES.items():
    _SUFFIX_OF_TYPE.setdefault(_t, _suffix)

# Weld's lexer reads an i8 suffix before a hex digit: in `0x7Fc` the `c` is the suffix (127,
# an i8), and `0xFC` is 15 as an i8; `0xc` alone is the i32 12. The lazy hex digits followed by
# the optional suffix, matched against the whole token, say the same.
_INT_TOKEN = re.compile(
    r"(?P<sign>-?)(?:0[xX](?P<hex>[0-9a-fA-F]+?)|0[bB](?P<bin>[01]+)|(?P<dec>[0-9]+))"
    r"(?P<suffix>si|u16|u32|u64|u8|[cClL])?"
)
# The most digits a literal of any integer type needs in each base (u64 and i64 included);
# longer digit strings (leading zeros aside) are out of range without converting them, which
# Python refuses beyond 4300 digits.
_MAX_DIGITS = {10: 20, 16: 16, 2: 64}


class LiteralError(ValueError):
    """A literal that is lexically fine but not a value of its type; the parser adds where."""


def read_int(text: str) -> tuple[int, Scalar]:
    """The value and type of an integer token (`12`, `-3c`, `0xffL`, `0b101u8`)."""
    m = _INT_TOKEN.fullmatch(text)
    if m is None:
        raise LiteralError(f"malformed integer literal {_shortened(text)}")
    t = INT_SUFFIXES[m["suffix"] or ""]
    base, digits = next((b, m[g]) for b, g in ((16, "hex"), (2, "bin"), (10, "dec")) if m[g])
    digits = digits.lstrip("0") or "0"
    if len(digits) > _MAX_DIGITS[base]:
        raise LiteralError(f"integer literal {_shortened(text)} is out of range for {t} "
                           f"({int_min(t)} to {int_max(t)})")  # fmt: skip
    magnitude = int(digits, base)
    value = -magnitude if m["sign"] else magnitude
    if not int_min(t) <= value <= int_max(t):
        raise LiteralError(
            f"integer literal {text} is out of range for {t} ({int_min(t)} to {int_max(t)})"
        )
    return value, t


def _shortened(text: str, keep: int = 24) -> str:
    """A long literal for a message: its start, how many characters are left out, its end."""
    if len(text) <= 2 * keep + 10:
        return text
    return f"{text[:keep]}...({len(text) - 2 * keep} more)...{text[-keep:]}"


_SPECIAL_FLOATS = {"inf": math.inf, "nan": math.nan}


def read_float(text: str) -> tuple[float, Scalar]:
    """The value and type of a float token (`1.5`, `2e-3f`, `-inf`, `nanf`)."""
    t = F32 if text[-1] in "fF" and not text.endswith("inf") else F64
    body = text[:-1] if t is F32 else text
    sign = -1.0 if body.startswith("-") else 1.0
    special = _SPECIAL_FLOATS.get(body.lstrip("-"))
    if special is not None:
        return math.copysign(special, sign), t
    value = float(body)
    if t is F32:
        value = to_f32(value)
    if math.isinf(value):
        raise LiteralError(f"float literal {_shortened(text)} is out of range for {t}")
    return value, t


_ESCAPES = {"n": 10, "t": 9, '"': 34, "\\": 92}
_ESCAPE_OF_BYTE = {v: "\\" + k for k, v in _ESCAPES.items()}


def read_string(text: str) -> bytes:
    """The bytes of a string token, quotes included in `text` (`"a\\tb"` -> b"a\\tb").

    Strings are ASCII; escapes are `\\"`, `\\\\`, `\\n`, `\\t` and `\\xNN` (any byte).
    """
    out = bytearray()
    i, end = 1, len(text) - 1
    while i < end:
        c = text[i]
        if c != "\\":
            if ord(c) > 127:
                raise LiteralError(f"string literals are ASCII; write {c!r} as \\xNN bytes")
            out.append(ord(c))
            i += 1
            continue
        e = text[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2 : i + 4]):
            out.append(int(text[i + 2 : i + 4], 16))
            i += 4
        else:
            raise LiteralError(f"unknown escape \\{e} in a string literal")
    return bytes(out)


def string_text(data: bytes | str) -> str:
    """The canonical quoted text of a string: printable ASCII as is, the rest escaped."""
    if isinstance(data, str):
        try:
            data = data.encode("latin-1")
        except UnicodeEncodeError:
            raise ValueError(f"{data!r} has characters beyond \\xff; text is ASCII") from None
    parts = ['"']
    for b in data:
        if b in _ESCAPE_OF_BYTE:
            parts.append(_ESCAPE_OF_BYTE[b])
        elif 32 <= b < 127:
            parts.append(chr(b))
        else:
            parts.append(f"\\x{b:02x}")
    parts.append('"')
    return "".join(parts)


def _float_digits(value: float, t: Scalar) -> str:
    """The shortest decimal text that reads back as exactly `value` in type `t`."""
    digits = str(np.float32(value)) if t == F32 else repr(value)
    mantissa, _, exponent = digits.partition("e")
    if not exponent:
        return mantissa
    # Python and NumPy write `1e-05` and `1e+16`; the canonical form is `1e-5` and `1e16`.
    sign = "-" if exponent.startswith("-") else ""
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"


def float_text(value: float, t: Scalar) -> str:
    """The canonical text of a float literal of type `t` (f32 literals end in `f`)."""
    suffix = "f" if t == F32 else ""
    if math.isnan(value):
        negative = struct.pack("<d", value)[7] & 0x80
        return ("-" if negative else "") + "nan" + suffix
    if math.isinf(value):
        return ("-" if value < 0 else "") + "inf" + suffix
    return _float_digits(value, t) + suffix


def int_text(value: int, t: Scalar) -> str:
    return f"{int(value)}{_SUFFIX_OF_TYPE[t]}"


def literal_text(lit) -> str:
    """The canonical text of a `Literal` node (its annotations are the printer's business)."""
    t = lit.type
    if t == STRING:
        return string_text(lit.value)
    if not isinstance(t, Scalar):
        raise ValueError(f"a literal of type {t} has no text form")
    if t.kind == "bool":
        return "true" if lit.value else "false"
    if t.is_float:
        return float_text(float(lit.value), t)
    return int_text(lit.value, t)


__all__ = [
    "INT_SUFFIXES",
    "LiteralError",
    "read_int",
    "read_float",
    "read_string",
    "string_text",
    "float_text",
    "int_text",
    "literal_text",
]
