"""The loop shapes a NumPy frontend writes become one loop over the data (or as few as the data
dependences allow), checked structurally, on the golden programs with the LLVM backend, and
on random pipelines of those shapes (optimised vs not, values and runtime errors)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, note, settings

import daybreak as db
from daybreak.backends.interp import InterpBackend
from daybreak.backends.llvm import LLVMBackend
from daybreak.ir.errors import WeldRuntimeError
from daybreak.ir.parser import parse
from daybreak.ir.typecheck import typecheck
from daybreak.optimizer import data_passes, optimize

from ..ir.gen_values import values_difference
from .fusion_shapes import pipelines

GOLDEN = Path(__file__).parent / "golden"

# name: (program, loops before, loops after)
SHAPES = {
    "zip of a map and a map over a zip, with a parameter": (
        """
|a: vec[f64], b: vec[f64], c: vec[f64], d: vec[f64]|
let p = result(for(a, appender[f64], |bb, i, x| merge(bb, x * 2.0)));
let q = result(for(zip(b, c), appender[f64], |bb, i, x| merge(bb, x.$0 + x.$1)));
result(for(zip(p, q, d), appender[f64], |bb, i, x| merge(bb, x.$0 * x.$1 - x.$2)))""",
        3,
        1,
    ),
    "nested zips": (
        """
|a: vec[f64], b: vec[f64], c: vec[f64]|
let p = result(for(zip(result(for(zip(a, b), appender[f64], |bb, i, x| merge(bb, x.$0 + x.$1))),
                       c), appender[f64], |bb, i, x| merge(bb, x.$0 * x.$1)));
result(for(zip(p, a), merger[f64,+], |s, i, x| merge(s, x.$0 - x.$1)))""",
        3,
        1,
    ),
    "map over a slice, map over a range": (
        """
|a: vec[f64]|
let p = result(for(iter(a, 1L, len(a), 2L), appender[f64], |bb, i, x| merge(bb, x * 2.0)));
let r = result(for(rangeiter(0L, len(a), 1L), appender[f64], |bb, i, x|
  merge(bb, f64(x) + lookup(a, x / 2L))));
{result(for(p, merger[f64,+], |s, i, x| merge(s, x + 1.0))),
 result(for(r, appender[f64], |s, i, x| merge(s, x * x)))}""",
        4,
        2,
    ),
    "slices of a map": (
        """
|a: vec[f64]|
let y = result(for(a, appender[f64], |bb, i, x| merge(bb, x * 2.0)));
let n = len(a);
result(for(zip(iter(y, 1L, n, 1L), iter(y, 0L, n - 1L, 1L)), appender[f64], |bb, i, x|
  merge(bb, x.$0 - x.$1)))""",
        2,
        1,
    ),
    "a map zipped with itself": (
        """
|a: vec[f64]|
let p = result(for(a, appender[f64], |bb, i, x| merge(bb, x * 2.0)));
result(for(zip(p, p), appender[f64], |bb, i, x| merge(bb, x.$0 * x.$1)))""",
        2,
        1,
    ),
    "a consumer of one field of a fused loop": (
        """
|x: vec[f64]|
let r = result(for(x, {appender[f64], merger[f64,+]}, |b, i, e|
  {merge(b.$0, e * 2.0), merge(b.$1, e)}));
{r.$0, r.$1, result(for(r.$0, merger[f64,max], |s, i, y| merge(s, y + 1.0)))}""",
        2,
        1,
    ),
    "a kept map and its sum": (
        """
|x: vec[f64]|
let y = result(for(x, appender[f64], |b, i, e| merge(b, e * 2.0)));
{y, result(for(y, merger[f64,+], |s, i, v| merge(s, v)))}""",
        2,
        1,
    ),
    "a gather from a map": (
        """
|a: vec[f64], c: vec[f64]|
let m = result(for(a, appender[f64], |b, i, x| merge(b, x * 3.0)));
result(for(c, appender[f64], |b, i, x| merge(b, x + lookup(m, i))))""",
        2,
        1,
    ),
    "a broadcast from maps": (
        """
|a: vec[f64], c: vec[f64]|
let m = result(for(a, appender[f64], |b, i, x| merge(b, x * 3.0)));
let k = result(for(c, appender[f64], |b, i, x| merge(b, x + 1.0)));
result(for(rangeiter(0L, len(a) * len(c), 1L), appender[f64], |b, i, x|
  merge(b, lookup(m, i / len(c)) * lookup(k, i % len(c)))))""",
        3,
        1,
    ),
    "a reduction, then a map using it: two passes": (
        """
|a: vec[f64], c: vec[f64]|
let z = result(for(zip(a, c), appender[f64], |b, i, x| merge(b, x.$0 * x.$1)));
let m1 = result(for(z, appender[f64], |b, i, x| merge(b, x + 1.0)));
let s = result(for(m1, merger[f64,+], |b, i, x| merge(b, x)));
let m2 = result(for(m1, appender[f64], |b, i, x| merge(b, x - s)));
result(for(m2, merger[f64,+], |b, i, x| merge(b, x * x)))""",
        5,
        2,
    ),
}

_interp = InterpBackend()
_llvm = LLVMBackend()


@pytest.mark.parametrize("name", list(SHAPES))
def test_shape_fuses(name):
    text, before, after = SHAPES[name]
    program = parse(text)
    assert data_passes(program) == before
    assert data_passes(optimize(program, verify=True)) == after


NEW_GOLDEN = sorted(
    p
    for p in GOLDEN.glob("*/*.weld")
    if p.parent.name in ("fuse_gather", "fuse_consumer", "pipeline")
    or p.stem
    in (
        "zip_of_zip_maps",
        "nested_zips",
        "zip_same_map",
        "map_over_slice_and_range",
        "slice_of_map",
    )
)


@pytest.mark.parametrize("path", NEW_GOLDEN, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_programs_agree_on_llvm(path):
    program = typecheck(parse(path.read_text()))
    rng = np.random.default_rng(0)
    args = tuple(
        rng.uniform(-3, 3, 7).round(2)
        if str(p.type) == "vec[f64]"
        else np.arange(7, dtype=np.int64)
        if str(p.type) == "vec[i64]"
        else (True if str(p.type) == "bool" else np.int64(7))
        for p in program.params
    )
    expected = _interp.compile(program)(*args)
    for backend in ("interp", "llvm"):
        got = db.compile(program, backend=backend)(*args)
        assert values_difference(got, expected, program.body.ty, rtol=1e-9, atol=1e-12) is None


_ZIP_LENGTHS = re.compile(r"zip of iterators of different lengths \([0-9, ]*\)")


def _outcome(program, args):
    try:
        return "value", _interp.compile(program)(*args)
    except WeldRuntimeError as err:
        # The message without its location: a fused loop checks its producers' iterators
        # itself, so their errors point at the fused loop. And a zip fused with a map over a
        # zip checks all lengths at once: the same error at the same point, listing the
        # lengths of the fused zip.
        return "error", _ZIP_LENGTHS.sub("zip of iterators of different lengths", err.message)


def _check(text, args, backend=None):
    note(text)
    program = typecheck(parse(text))
    optimized = optimize(program, verify=True)
    note(db.ir.format(optimized))
    assert data_passes(optimized) <= data_passes(program)
    kind, expected = _outcome(program, args)
    if backend is None:
        got_kind, got = _outcome(optimized, args)
        assert got_kind == kind, (got, expected)
    elif kind == "error":
        return
    else:
        got = backend.compile(optimized)(*args)
    if kind == "error":
        assert got == expected
    else:
        assert values_difference(got, expected, program.body.ty, rtol=1e-9, atol=1e-12) is None


@settings(max_examples=150, deadline=None)
@given(pipelines(mismatch_allowed=True))
def test_pipelines_agree_on_interp(case):
    _check(*case)


@settings(max_examples=25, deadline=None)
@given(pipelines())
def test_pipelines_agree_on_llvm(case):
    _check(*case, backend=_llvm)
