"""Appenders that threads fill in place (backends/llvm/loops.py, `_windows`): a top-level loop
that merges into an appender exactly once per iteration gives each thread the stretch of the
loop's own buffer where its elements belong, so merging the threads' results copies nothing.
Checked against the interpreter with every loop split across threads."""

from __future__ import annotations

import numpy as np
import pytest

import daybreak as db
from daybreak.backends.llvm import LLVMBackend
from daybreak.backends.llvm.reserve import exact_merges
from daybreak.ir.parser import parse, parse_expr

from .test_llvm_dicts import _normal


def _paths(body: str) -> frozenset:
    return exact_merges(parse_expr(body))


@pytest.mark.parametrize(
    "body, paths",
    [
        ("|b, i, x| merge(b, x)", {()}),
        ("|b, i, x| if(x > 0L, merge(b, x), b)", set()),  # a filter: not every iteration
        ("|b, i, x| if(x > 0L, merge(b, x), merge(b, 0L))", {()}),  # both ways: once
        ("|b, i, x| merge(merge(b, x), x)", set()),  # twice
        ("|b, i, x| {merge(b.$0, x), if(x > 0L, merge(b.$1, x), b.$1)}", {(0,)}),
        ("|b, i, x| {merge(b.$0, x), {merge(b.$1.$0, x), b.$1.$1}}", {(0,), (1, 0)}),
        ("|b, i, x| let c = merge(b, x); c", {()}),
        # handed to an inner loop: not followed
        ("|b, i, x| for([x], b, |c, j, y| merge(c, y))", set()),
        # through a struct literal read at once: followed, twice is twice
        ("|b, i, x| {merge({merge(b.$0, x)}.$0, x)}", set()),
        ("|b, i, x| {merge({merge(b.$0, x), b.$1}.$1, x)}", {(0,), (1,)}),
        # a struct of the loop's builders under a name, or one picked by an if: not followed
        ("|b, i, x| let s = {merge(b.$0, x)}; {merge(s.$0, x)}", set()),
        ("|b, i, x| {merge(if(x > 0L, b.$0, b.$0), x)}", set()),
    ],
)
def test_exact_merges(body, paths):
    assert _paths(body) == paths


PROGRAMS = [
    # a map, and the same map into an appender that already holds elements
    "|v: vec[i64]| result(for(v, appender[i64](len(v)), |b, i, x| merge(b, x * 3L + i)))",
    "|v: vec[i64]| let a = merge(merge(appender[i64], 7L), 8L);"
    " result(for(v, a, |b, i, x| merge(b, x - i)))",
    # a map and a filter from one loop, and a map with merges on both branches of an if
    "|v: vec[i64]| let r = result(for(v, {appender[i64], appender[f64], merger[i64,+]},"
    " |b, i, x| {merge(b.$0, x * 2L), if(x % 3L == 0L, merge(b.$1, f64(x)), b.$1),"
    " merge(b.$2, x)})); {r.$0, r.$1, r.$2}",
    "|v: vec[i64]| result(for(v, appender[{i64, bool}],"
    " |b, i, x| if(x > 0L, merge(b, {x, true}), merge(b, {-x, false}))))",
    # a builder merged twice per iteration, once through a struct literal (found by
    # hypothesis: counted as one merge, its elements overlapped between threads' windows)
    "|v: vec[i64]| result(for(v, {appender[i64]}, |b, i, x| {merge({merge(b.$0, x)}.$0, i)})).$0",
    "|v: vec[i64]| result(for(v, {appender[vec[i32]]},"
    " |b, i, x| {merge({merge(b.$0, [i32(x)])}.$0, []: vec[i32])})).$0",
    "|v: vec[i64]| result(for(v, {appender[i64]},"
    " |b, i, x| let s = {merge(b.$0, x)}; {merge(s.$0, i)})).$0",
    # nested structs of builders, strings out
    "|v: vec[i64]| let r = result(for(v, {{appender[i64], merger[i64,max]}, appender[vec[i8]]},"
    " |b, i, x| {{merge(b.$0.$0, x), merge(b.$0.$1, x)}, merge(b.$1, [i8(x), i8(i)])})); r",
]


@pytest.mark.parametrize("threads", [2, 3, 5])
@pytest.mark.parametrize("text", PROGRAMS)
def test_windows_match_the_interpreter(text, threads):
    before = db.config(threads=threads, grain=1)
    try:
        backend = LLVMBackend()
        for n in (0, 1, 4, 1000):
            v = np.arange(n, dtype=np.int64) * 5 - 300
            want = db.compile(text, backend="interp")(v)
            got = backend.compile(parse(text))(v)
            assert _normal(got) == _normal(want)
    finally:
        db.config(**before)


def test_a_big_map_is_the_same_on_any_thread_count():
    v = np.random.default_rng(0).random(1 << 20)
    text = "|v: vec[f64]| result(for(v, appender[f64](len(v)), |b, i, x| merge(b, x * 2.0 + 1.0)))"
    results = []
    for threads in (1, 2, 4):
        before = db.config(threads=threads)
        try:
            results.append(db.compile(text, backend="llvm")(v))
        finally:
            db.config(**before)
    for r in results:
        np.testing.assert_array_equal(r, v * 2.0 + 1.0)


def _without_locations(e):
    from dataclasses import replace

    from daybreak.ir.nodes import map_children

    e = map_children(e, _without_locations)
    return replace(e, loc=None) if e.loc is not None else e


TWO_LOOPS = """|a: vec[f64], c: vec[f64]|
  let s = result(for(a, appender[f64], |b, i, x| merge(b, x * 2.0 + f64(i))));
  let t = result(for(c, appender[f64], |q, j, y| merge(q, y * 2.0 + f64(j))));
  {s, t}"""


def test_loops_that_differ_only_in_names_share_their_code():
    """Built by a frontend (no source locations), the two loops are one function; parsed from
    text, each keeps its own (its runtime errors point at its own line)."""
    from daybreak.ir.nodes import Program

    parsed = parse(TWO_LOOPS)
    built = Program(parsed.params, _without_locations(parsed.body))
    a, c = np.arange(50_000.0), np.arange(70_000.0) * -3.0
    before = db.config(threads=2, grain=1)
    try:
        for program, loops in ((built, 1), (parsed, 2)):
            compiled = LLVMBackend().compile(program)
            defined = [ln for ln in compiled.llvm_ir.splitlines() if ln.startswith("define")]
            assert (
                sum('@"loop' in ln and "fresh" not in ln and "merge" not in ln for ln in defined)
                == loops
            )
            s, t = compiled(a, c)
            np.testing.assert_array_equal(s, a * 2.0 + np.arange(len(a)))
            np.testing.assert_array_equal(t, c * 2.0 + np.arange(len(c)))
    finally:
        db.config(**before)
