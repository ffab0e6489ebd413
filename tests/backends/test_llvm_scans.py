"""Scanners on the LLVM backend, beyond the corpus's comparison with the interpreter: NumPy's
own scans bit for bit, loops into a scanner never split across threads (and a scan per row
inside a loop that is), and a scan's merge as cheap as an appender's (no call per element)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import daybreak as db
from daybreak.backends.llvm import LLVMBackend, jit
from daybreak.ir.parser import parse
from daybreak.ir.types import SCALAR_DTYPES
from daybreak.optimizer import optimize

_SCAN = "|v: vec[{t}]| result(for(v, scanner[{t},{op}], |s, i, x| merge(s, x)))"
_ROWS = """|v: vec[f64], rows: i64, n: i64|
  result(for(rangeiter(0L, rows, 1L), appender[f64], |b, r, _|
    for(result(for(iter(v, r * n, r * n + n, 1L), scanner[f64,{op}], |s, j, x| merge(s, x))),
        b, |b2, k, y| merge(b2, y))))"""
_NUMPY = {"+": np.add, "*": np.multiply, "max": np.maximum, "min": np.minimum}


def _compile(text: str):
    before = db.config(strict=True)  # (a scan the backend refused would fail, not fall back)
    try:
        return db.compile(text, backend="llvm")
    finally:
        db.config(**before)


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    """Equal in dtype and bits (every NaN the same NaN; -0.0 is not 0.0)."""
    if got.dtype != want.dtype or got.shape != want.shape:
        return False
    if want.dtype.kind != "f":
        return np.array_equal(got, want)
    nan = np.isnan(want)
    return bool(
        np.array_equal(np.isnan(got), nan)
        and np.array_equal(got[~nan], want[~nan])
        and np.array_equal(np.signbit(got[~nan]), np.signbit(want[~nan]))
    )


def _floats(n: int, seed: int) -> np.ndarray:
    """Normal numbers with -0.0, NaN and infinities among them, -0.0 first."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(n) * 1e3
    specials = rng.integers(0, n, n // 50)
    v[specials] = rng.choice([-0.0, 0.0, np.nan, np.inf, -np.inf], specials.size)
    v[0] = -0.0
    return v


@pytest.mark.parametrize("op", ["+", "*", "max", "min"])
@pytest.mark.parametrize("kind", ["f64", "f32", "i64", "i32", "u8"])
def test_scans_are_numpys_accumulate(kind: str, op: str):
    n = 200_003  # (several chunks of 64K iterations)
    dtype = SCALAR_DTYPES[kind]
    if dtype.kind == "f":
        v = _floats(n, 1)
        if op == "*":
            v = np.where(np.abs(v) > 2, np.sign(v), v)  # (not inf from the start)
        v = v.astype(dtype)
    else:
        v = np.random.default_rng(2).integers(0, 256, n).astype(dtype)
    got = _compile(_SCAN.format(t=kind, op=op))(v)
    assert _same(got, _NUMPY[op].accumulate(v, dtype=v.dtype))


@pytest.mark.parametrize("op", ["+", "max"])
@pytest.mark.parametrize("threads", [1, 4])
def test_scans_per_row_are_numpys_along_the_last_axis(op: str, threads: int):
    rows, n = 3000, 41
    v = _floats(rows * n, 3)
    before = db.config(threads=threads, grain=1)
    try:
        got = _compile(_ROWS.format(op=op))(v, rows, n)
    finally:
        db.config(**before)
    with np.errstate(invalid="ignore"):  # (inf - inf: NaN, as the scan gives too)
        want = _NUMPY[op].accumulate(v.reshape(rows, n), axis=1).ravel()
    assert _same(got, want)


def _parallel_loops(text: str) -> int:
    """How many loops of the program's LLVM code are handed to the parallel driver."""
    llvm_text, _ = LLVMBackend().lower(optimize(parse(text)))
    return len(re.findall(r"call void @\"?db_parallel_for\b", llvm_text))


@pytest.mark.parametrize(
    "text",
    [
        _SCAN.format(t="f64", op="+"),
        "|v: vec[i64]| result(for(v, {merger[i64,+], scanner[i64,max]}, |b, i, x|"
        " {merge(b.$0, x), merge(b.$1, x)}))",
        "|v: vec[i64]| result(for(v, {appender[i64], {merger[i64,+], scanner[i64,*]}}, |b, i, x|"
        " {merge(b.$0, x), {merge(b.$1.$0, x), merge(b.$1.$1, x)}}))",
        "|v: vec[i64]| result(for(v, merge(scanner[i64,+], 7L), |s, i, x| merge(s, x)))",
    ],
)
def test_a_loop_into_a_scanner_is_never_split(text: str):
    assert _parallel_loops(text) == 0


@pytest.mark.parametrize(
    "text",
    [
        "|v: vec[f64]| result(for(v, appender[f64], |b, i, x| merge(b, x)))",
        "|v: vec[i64]| result(for(v, {merger[i64,+], merger[i64,max]}, |b, i, x|"
        " {merge(b.$0, x), merge(b.$1, x)}))",
        _ROWS.format(op="+"),  # (the scanners are the rows' own)
    ],
)
def test_loops_without_a_scanner_of_their_own_are_split(text: str):
    assert _parallel_loops(text) == 1


def test_a_scans_merge_calls_nothing_per_element():
    """The loop of a cumulative sum: a load, an add (never regrouped), a select for the first
    element, stores; its room is reserved before the loop, so no growth check calls out."""
    llvm_text, _ = LLVMBackend().lower(optimize(parse(_SCAN.format(t="f64", op="+"))))
    blocks = jit.optimized_ir(llvm_text).split("\n\n")
    loops = [block for block in blocks if "fadd" in block]
    assert loops, "no block adds"
    for block in loops:
        assert "call" not in block, block
        assert "reassoc" not in block and "fast" not in block, block
