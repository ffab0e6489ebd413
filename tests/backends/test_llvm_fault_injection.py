"""Failed native allocations: every allocation a run makes may fail, and each failure is a
MemoryError that leaves nothing behind (issue #10).

The runtime's test hook (`failing_allocation(k)`) makes the k-th allocation from now on fail
as if malloc had. For each program, k = 1, 2, ... until a run succeeds: every run before
raises MemoryError, the process's heap does not grow over the sweep (nothing leaks), and the
run that succeeds, and every run after, gives the interpreter's result.
"""

import numpy as np
import pytest

import daybreak as db
from daybreak.backends.llvm.runtime_ir import failing_allocation

from .native_heap import heap_in_use

PROGRAMS = {
    "map": "|v: vec[i64]| result(for(v, appender[i64], |b, i, x| merge(b, x * 3L)))",
    "filter": "|v: vec[i64]| result(for(v, appender[i64], |b, i, x|"
    " if(x % 3L == 0L, merge(b, x), b)))",
    "inner_loops_into_outer_appender": "|v: vec[i64]| result(for(v, appender[i64], |b, i, x|"
    " for(rangeiter(0L, x % 4L, 1L), b, |c, j, y| merge(c, x + y))))",
    "dictmerger_hashed": "|v: vec[i64]| result(for(v, dictmerger[i64,i64,+], |b, i, x|"
    " merge(b, {x % 97L * 7919L, x})))",
    "dictmerger_dense": "|v: vec[i64]| result(for(v, dictmerger[i64,i64,+], |b, i, x|"
    " merge(b, {x % 50L, 1L})))",
    "groupmerger": "|v: vec[i64]| result(for(v, groupmerger[i64,i64], |b, i, x|"
    " merge(b, {x % 13L, x})))",
    "nested_vectors": "|v: vec[i64]| result(for(v, appender[vec[i64]], |b, i, x|"
    " merge(b, result(for(rangeiter(0L, x % 5L, 1L), appender[i64], |c, j, y| merge(c, y))))))",
    "sort_and_tovec": "|v: vec[i64]| let d = result(for(v, dictmerger[i64,i64,+], |b, i, x|"
    " merge(b, {x % 31L, x}))); {sort(v, |a, c| compare(a, c)), tovec(d)}",
    "struct_of_builders": "|v: vec[i64]| result(for(v, {appender[i64], merger[i64,+],"
    " dictmerger[i64,i64,max]}, |b, i, x| {merge(b.$0, x), merge(b.$1, x),"
    " merge(b.$2, {x % 7L, x})}))",
    "scan_filtered": "|v: vec[i64]| result(for(v, {scanner[i64,+], merger[i64,max]}, |b, i, x|"
    " if(x % 3L == 0L, {merge(b.$0, x), merge(b.$1, x)}, b)))",
    "scans_per_row": "|v: vec[i64]| result(for(rangeiter(0L, 30L, 1L), appender[i64], |b, r, _|"
    " for(result(for(iter(v, r * 20L, r * 20L + 20L, 1L), scanner[i64,*], |s, j, x|"
    " merge(s, x % 5L))), b, |c, k, y| merge(c, y))))",
}

DATA = np.random.default_rng(7).permutation(600).astype(np.int64)


def _canonical(value):
    """Results compared as text; dicts by their sorted items (their order is not fixed)."""
    if isinstance(value, dict):
        return str(sorted(value.items()))
    if isinstance(value, tuple):
        return "(" + ", ".join(_canonical(v) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_canonical(v) for v in value) + "]"
    return str(value)


def _sweep(f, want: str) -> int:
    """Fail allocation k = 1, 2, ... until the run succeeds; returns that k."""
    for k in range(1, 10_000):
        with failing_allocation(k):
            try:
                got = f(DATA)
            except MemoryError:
                # the host freed every block of the failed run, natively
                assert f.last_context.count == 0 and not f.last_context.allocations
                continue
        assert _canonical(got) == want, f"allocation {k} left the run wrong"
        return k
    raise AssertionError("runs kept failing")


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    before = db.config(threads=request.param, grain=64)
    yield request.param
    db.config(**before)


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_allocation_may_fail(name, threads):
    text = PROGRAMS[name]
    want = _canonical(db.compile(text, backend="interp")(DATA))
    f = db.compile(text)
    assert _canonical(f(DATA)) == want
    allocations = f.last_context.allocation_count
    k = _sweep(f, want)  # (also warms up whatever Python caches on the way)
    assert k > allocations  # each of the run's allocations failed once
    before = heap_in_use()
    for _ in range(3):
        assert _sweep(f, want) == k
    after = heap_in_use()
    if before is not None:
        # 3 x k failed runs; a leak of one block each would be 3 x k x 300+ bytes at least
        assert after - before < 16 * 1024, f"the heap grew by {after - before} bytes"
    assert _canonical(f(DATA)) == want
