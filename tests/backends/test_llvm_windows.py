"""Appenders that threads fill in place (backends/llvm/loops.py, `_windows`): a top-level loop
that merges into an appender exactly once per iteration gives each thread the stretch of the
loop's own buffer where its elements belong, so merging the threads' results copies nothing.
Checked against the interpreter with every loop split across threads."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import daybreak as db
from daybreak.backends.llvm import LLVMBackend
from daybreak.backends.llvm.reserve import exact_merges
from daybreak.ir.errors import WeldRuntimeError
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


@contextlib.contextmanager
def _settings(**settings):
    """`db.config(**settings)` inside the block, the settings before it after."""
    before = db.config(**settings)
    try:
        yield
    finally:
        db.config(**before)


@pytest.mark.parametrize("threads", [2, 3, 5])
@pytest.mark.parametrize("text", PROGRAMS)
def test_windows_match_the_interpreter(text, threads):
    with _settings(threads=threads, grain=1):
        backend = LLVMBackend()
        for n in (0, 1, 4, 1000):
            v = np.arange(n, dtype=np.int64) * 5 - 300
            want = db.compile(text, backend="interp")(v)
            got = backend.compile(parse(text))(v)
            assert _normal(got) == _normal(want)


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


# ----------------------------------------------------------------------------------------------
# Row loops (`reserve.row_loop`, `loops._rows`): a top-level loop whose iterations each append
# one row through a nested loop, of a length known before the loop. The frontends' loops over
# strided regions (a stencil's interior) have this form; counted by rows they never reached
# the grain, and with windows of `rows` elements per iteration threads fill the one buffer.


@pytest.mark.parametrize(
    "body, found",
    [
        ("|b, r, z| let s = r * 4L; for(iter(z, s, s + 4L, 1L), b, |c, j, x| merge(c, x))", True),
        ("|b, r, z| for(rangeiter(r, r + 3L, 1L), b, |c, j, x| merge(c, x))", True),
        # a filter row, rows merged twice, the outer builder merged inside, a let naming it
        ("|b, r, z| for(z, b, |c, j, x| if(x > 0L, merge(c, x), c))", False),
        ("|b, r, z| for(z, b, |c, j, x| merge(merge(c, x), x))", False),
        ("|b, r, z| for(z, b, |c, j, x| merge(b, x))", False),
        ("|b, r, z| let d = merge(b, 1L); for(z, d, |c, j, x| merge(c, x))", False),
        ("|b, r, z| merge(for(z, b, |c, j, x| merge(c, x)), 1L)", False),
    ],
)
def test_row_loops_are_found(body, found):
    from daybreak.backends.llvm.reserve import row_loop

    assert (row_loop(parse_expr(body)) is not None) == found


ROWS = [
    # rows of a matrix (contiguous), and of a strided region (a stencil's interior)
    "|v: vec[i64], n: i64, m: i64| result(for(rangeiter(0L, n, 1L), appender[i64],"
    " |b, r, u| let s = r * m; for(iter(v, s, s + m, 1L), b, |c, j, x| merge(c, x * 3L + r))))",
    "|v: vec[i64], n: i64, m: i64| result(for(rangeiter(0L, n - 1L, 1L), appender[i64],"
    " |b, r, u| let s = u * m + 1L; for(zip(iter(v, s, s + (m - 2L), 1L),"
    " iter(v, s + m, s + m + (m - 2L), 1L)), b, |c, j, x| merge(c, x.$0 - x.$1))))",
    # a stride, and rows of positions (rangeiter) with their own stride
    "|v: vec[i64], n: i64, m: i64| result(for(rangeiter(0L, n, 1L), appender[i64],"
    " |b, r, u| let s = r * m; for(iter(v, s, s + m, 2L), b, |c, j, x| merge(c, x + j))))",
    "|v: vec[i64], n: i64, m: i64| result(for(rangeiter(0L, n, 1L), appender[i64],"
    " |b, r, u| for(rangeiter(r, r + m, 3L), b, |c, j, x| merge(c, x * 2L + j))))",
    # rows whose length the outer loop's elements decide: no windows, the same values
    "|v: vec[i64], n: i64, m: i64| result(for(v, appender[i64],"
    " |b, r, x| for(rangeiter(0L, x % 5L, 1L), b, |c, j, y| merge(c, y + r))))",
]


def _row_outcome(f, *args):
    """A result (comparable) or that the run failed (the backends word errors apart)."""
    try:
        return _normal(f(*args))
    except WeldRuntimeError:
        return "failed"


@pytest.mark.parametrize("threads", [2, 3, 5])
@pytest.mark.parametrize("text", ROWS)
def test_row_windows_match_the_interpreter(text, threads):
    with _settings(threads=threads, grain=1):
        backend = LLVMBackend()
        for n, m in ((0, 4), (1, 4), (3, 0), (4, 3), (37, 29), (300, 40)):
            v = np.arange(n * m, dtype=np.int64) * 5 - 300
            want = _row_outcome(db.compile(text, backend="interp"), v, n, m)
            got = _row_outcome(backend.compile(parse(text)), v, n, m)
            assert got == want, (n, m)


@pytest.mark.parametrize(
    "inner, error",
    [
        ("iter(v, s, s + m, 1L)", "out of (bounds|range)"),  # the last row reads past the end
        ("rangeiter(s, s + m, 0L)", "stride"),
        ("rangeiter(s, s + m, -2L)", "stride"),
    ],
)
def test_row_windows_fail_as_the_interpreter_does(inner, error):
    """Rows that give fewer elements than their windows hold (bad bounds: none; a bad
    stride: the loop runs at stride 1, as many as the windows hold) fail with the
    interpreter's error, and nothing is written past a window."""
    text = (
        "|v: vec[i64], n: i64, m: i64| result(for(rangeiter(0L, n, 1L), appender[i64],"
        f" |b, r, u| let s = r * m + 1L; for({inner}, b, |c, j, x| merge(c, x))))"
    )
    before = db.config(threads=3, grain=1)
    try:
        v = np.arange(600, dtype=np.int64)
        for backend in ("interp", "llvm"):
            with pytest.raises(WeldRuntimeError, match=error):
                db.compile(text, backend=backend)(v, 30, 20)
    finally:
        db.config(**before)


def test_rows_count_toward_the_grain():
    """200 rows of 5,000 elements: a million elements of work, split across threads with the
    default grain (16,384 units), where counting rows alone kept the loop on one thread."""
    text = ROWS[0]
    before = db.config(threads=2)
    try:
        f = LLVMBackend().compile(parse(text))
        v = np.arange(200 * 5000, dtype=np.int64)
        one, many = [], []
        for threads, into in ((1, one), (2, many)):
            db.config(threads=threads)
            into.append(f(v, 200, 5000))
            into.append(f.last_context.allocation_count)
        np.testing.assert_array_equal(many[0], one[0])
        np.testing.assert_array_equal(one[0], v * 3 + np.repeat(np.arange(200), 5000))
        assert many[1] > one[1]  # the second thread's builder and task: it was split
    finally:
        db.config(**before)


# ----------------------------------------------------------------------------------------------
# Results written into the host's destination (`loops.destination_loop`, `Destination`): the
# result loop of a map or a row loop writes a region the host gives, when what it will write
# fits the region exactly; otherwise it returns its own result and leaves the region alone.


@pytest.mark.parametrize(
    "text, kind",
    [
        (ROWS[0], "rows"),
        (ROWS[1], "rows"),
        ("|v: vec[f64]| result(for(v, appender[f64](len(v)), |b, i, x| merge(b, x * 3.0)))", "map"),
        # values before the loop, inside the result and around it
        (
            "|v: vec[f64]| let k = 2.0; result(let m = len(v); "
            "for(v, appender[f64](m), |b, i, x| merge(b, x * k)))",
            "map",
        ),
        # a filter, a result kept under a let, a result loop that merges something first
        ("|v: vec[i64]| result(for(v, appender[i64], |b, i, x| if(x > 0L, merge(b, x), b)))", None),
        ("|v: vec[i64]| let r = result(for(v, appender[i64], |b, i, x| merge(b, x))); r", None),
        (
            "|v: vec[i64]| result(for(v, merge(appender[i64], 1L), |b, i, x| merge(b, x)))",
            None,
        ),
    ],
)
def test_which_results_write_a_destination(text, kind):
    assert LLVMBackend().compile(parse(text)).destination_kind == kind


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("text", ROWS[:4])
def test_rows_written_into_a_destination(text, threads):
    from daybreak.runtime.destination import WRITTEN, Destination

    f = LLVMBackend().compile(parse(text))
    n, m = 37, 29
    v = np.arange(n * m, dtype=np.int64) * 5 - 300
    want = f(v, n, m)
    rows, length = (n - 1 if text == ROWS[1] else n), len(want) // max(n - (text == ROWS[1]), 1)
    before = db.config(threads=threads, grain=1)
    try:
        outer = np.full((rows + 3, length + 5), -7, dtype=np.int64)
        region = outer[1 : rows + 1, 2 : length + 2]
        got = f.partial({})([v, n, m], threads, Destination.of(region))
        assert got is WRITTEN
        np.testing.assert_array_equal(region.reshape(-1), want)
        outside = np.ones(outer.shape, bool)
        outside[1 : rows + 1, 2 : length + 2] = False
        assert (outer[outside] == -7).all()  # nothing written past the region
        # a region of other rows or row length: the run's own result, the region untouched
        for wrong in (outer[1:rows, 2 : length + 2], outer[1 : rows + 1, 2 : length + 1]):
            before_write = outer.copy()
            other = f.partial({})([v, n, m], threads, Destination.of(wrong))
            assert other is not WRITTEN and _normal(other) == _normal(want)
            np.testing.assert_array_equal(outer, before_write)
    finally:
        db.config(**before)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_a_map_written_into_a_destination(threads):
    from daybreak.runtime.destination import WRITTEN, Destination

    text = "|v: vec[f64]| result(for(v, appender[f64](len(v)), |b, i, x| merge(b, x * 3.0)))"
    f = LLVMBackend().compile(parse(text))
    v = np.arange(50_000.0)
    before = db.config(threads=threads, grain=1000)
    try:
        out = np.zeros(50_004)
        assert f.partial({})([v], threads, Destination.of(out[2:-2], as_rows=False)) is WRITTEN
        np.testing.assert_array_equal(out[2:-2], v * 3.0)
        assert not out[:2].any() and not out[-2:].any()
        # not contiguous, or of another size: no destination, or the run's own result
        assert Destination.of(out[::2], as_rows=False) is None
        got = f.partial({})([v], threads, Destination.of(out[:-3], as_rows=False))
        np.testing.assert_array_equal(got, v * 3.0)
    finally:
        db.config(**before)


@st.composite
def _row_programs(draw):
    """A loop over rows appending through a nested loop: `iter` or `rangeiter` rows of a
    length known before the loop (`k`, possibly 0 or past the data), any stride (bad ones
    fail as the interpreter's do), rows starting anywhere (`r * a + c`)."""
    inner = draw(st.sampled_from(["iter(v, s, s + k, t)", "rangeiter(s, s + k, t)"]))
    a, c = draw(st.integers(0, 7)), draw(st.integers(-2, 5))
    value = draw(st.sampled_from(["x", "x * 3L + r", "x - j", "x % 7L"]))
    return (
        "|v: vec[i64], n: i64, k: i64, t: i64| result(for(rangeiter(0L, n, 1L), appender[i64],"
        f" |b, r, u| let s = r * {a}L + {c}L; for({inner}, b, |q, j, x| merge(q, {value}))))"
    )


@settings(max_examples=60, deadline=None)
@given(
    _row_programs(),
    st.integers(0, 40),
    st.integers(-1, 12),
    st.integers(-1, 3),
    st.integers(2, 4),
    st.booleans(),
)
def test_row_loops_agree_with_the_interpreter(text, n, k, stride, threads, into):
    """Generated row loops on several threads with the smallest grain, into their own buffer
    or a destination of the rows' shape: the interpreter's result or its failure, and
    nothing written outside the destination."""
    from daybreak.runtime.destination import WRITTEN, Destination

    v = np.arange(300, dtype=np.int64) * 3 - 100
    args = (v, n, k, stride)
    want = _row_outcome(db.compile(text, backend="interp"), *args)
    with _settings(threads=threads, grain=1):
        f = LLVMBackend().compile(parse(text))
        if not into:
            assert _row_outcome(f, *args) == want
            return
        rows = max(k, 0) if stride < 1 else -(-max(k, 0) // stride)
        outer = np.full((n + 2, rows + 2), -9, dtype=np.int64)
        region = outer[1 : n + 1, 1 : rows + 1]
        outside = np.ones(outer.shape, bool)
        outside[1 : n + 1, 1 : rows + 1] = False
        try:
            got = f.partial({})(list(args), threads, Destination.of(region))
        except WeldRuntimeError:
            assert want == "failed"
            assert (
                outer[outside] == -9
            ).all()  # (a failed run may leave the region partly written)
            return
        assert want != "failed"
        if got is WRITTEN:
            got = region.reshape(-1).copy()
            outer[1 : n + 1, 1 : rows + 1] = -9
        assert _normal(np.asarray(got)) == want
        assert (outer[outside] == -9).all()  # nothing outside the region
