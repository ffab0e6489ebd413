"""The corpus's vocabulary: `Case`, the registry `CASES` that `case(...)` appends to, and
helpers that build inputs and families of programs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from daybreak.ir.types import SCALAR_DTYPES, SIGNED_INTS


@dataclass(frozen=True, eq=False)  # compared by identity: the inputs are arrays
class Case:
    """One program and its inputs.

    - `approx`: results may differ in the last bits (math library functions, floating-point
      sums whose order is unspecified); compared with a tight relative tolerance.
    - `error`: the program must fail with a `WeldRuntimeError` (the text says why); backends
      must report it at the same location as the interpreter.
    - `needs`: what the case depends on or exercises: `"dicts"` (dictionaries), `"parallel"`
      (loops long enough to be split across threads).
    - `known_bug`: a bug its owner has been told about; the case is an xfail (not strict: it
      may pass where the bug does not show) until the bug is fixed. None are open.
    """

    name: str
    text: str
    args: tuple = ()
    approx: bool = False
    error: str | None = None
    needs: frozenset[str] = field(default_factory=frozenset)
    known_bug: str | None = None


CASES: list[Case] = []


def case(name: str, text: str, *args, **options) -> None:
    CASES.append(Case(name, text, tuple(args), **options))


def arr(values, kind: str) -> np.ndarray:
    with np.errstate(over="ignore"):  # f32 inputs include values that round to inf
        return np.array(values, dtype=SCALAR_DTYPES[kind])


def i32(*values) -> np.ndarray:
    return arr(values, "i32")


def i64(*values) -> np.ndarray:
    return arr(values, "i64")


def f64(*values) -> np.ndarray:
    return arr(values, "f64")


def numbers(text: str) -> list:
    """Python ints and floats from whitespace-separated literals (`inf`, `nan` included)."""
    return [float(w) if any(c in w for c in ".einf") else int(w) for w in text.split()]


SUFFIX = {"i8": "c", "i16": "si", "i32": "", "i64": "L", "u8": "u8", "u16": "u16"}
SUFFIX.update({"u32": "u32", "u64": "u64", "f32": "f", "f64": ""})


def int_range(kind: str) -> tuple[int, int]:
    info = np.iinfo(SCALAR_DTYPES[kind])
    return int(info.min), int(info.max)


def interesting_ints(kind: str) -> list[int]:
    lo, hi = int_range(kind)
    small = [0, 1, 2, 3, 7, 100] + ([-1, -2, -7, -100] if kind in SIGNED_INTS else [])
    edges = [lo, lo + 1, hi - 1, hi, hi // 2, hi // 2 + 1]
    return sorted({v for v in small + edges if lo <= v <= hi})


FLOAT_SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, -2.5, 3.0, 0.1, 1e10, -7.25]
FLOAT_SPECIALS += [math.inf, -math.inf, math.nan, 5e-324, 2.2250738585072014e-308, 1e308, -1e308]
F32_SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, -2.5, 3.0, 0.1, 1e10, -7.25]
F32_SPECIALS += [math.inf, -math.inf, math.nan, 1e-45, 1.1754944e-38, 3.4e38, -3.4e38, 16777216.0]


def interesting_floats(kind: str) -> list[float]:
    return FLOAT_SPECIALS if kind == "f64" else F32_SPECIALS


def pairs(values: list, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Every (a, b) pair of `values`, as two arrays."""
    a = [x for x in values for _ in values]
    b = [y for _ in values for y in values]
    return arr(a, kind), arr(b, kind)


def zip_map(params: str, out_type: str, fields: list[str]) -> str:
    """A program over vectors named and typed by `params` ("a: i8, b: i8" takes `a: vec[i8]`
    and `b: vec[i8]`) that zips them and appends the struct `{fields...}` per element; in the
    fields, `a` and `b` are the current elements."""
    decls = [p.split(":") for p in params.split(",")]
    names = [n.strip() for n, _ in decls]
    head = ", ".join(f"{n.strip()}: vec[{t.strip()}]" for n, t in decls)
    if len(names) == 1:
        src, binds = names[0], f"let {names[0]} = x; "
    else:
        src = f"zip({', '.join(names)})"
        binds = "".join(f"let {n} = x.${k}; " for k, n in enumerate(names))
    body = ", ".join(fields)
    return (
        f"|{head}| result(for({src}, appender[{out_type}], |o, i, x| {binds}merge(o, {{{body}}})))"
    )


# ----------------------------------------------------------------------------------------------
# Programs and inputs that several themes use (a construct, and its runtime errors).

ITER_PROGRAM = """|v: vec[i32], s: i64, e: i64, st: i64|
  result(for(iter(v, s, e, st), appender[{i64,i32}], |b, i, x| merge(b, {i, x})))"""
RANGE_PROGRAM = """|s: i64, e: i64, st: i64|
  result(for(rangeiter(s, e, st), appender[{i64,i64}], |b, i, x| merge(b, {i, x})))"""
VECMERGER_PROGRAM = """|v: vec[f64], idx: vec[i64], x: vec[f64]|
  result(for(zip(idx, x), vecmerger[f64,+](v), |b, i, e| merge(b, e)))"""
BOOLS_A = np.array([True, True, False, False])
BOOLS_B = np.array([True, False, True, False])
WORDS = [b"", b"a", b"ab", b"b", b"abc", b"ab\x00", b"\xff", b"A"]
