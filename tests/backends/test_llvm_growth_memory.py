"""What growing builders cost in memory stays proportional to what they hold (issue #10).

Inner loops that merge into an outer appender (flatten) each asked for exactly the room they
needed, copied the buffer and kept the old one until the run ended: quadratic (flatten of
20,000 one-element vectors: 1.6 GB for 160 KB). Growth is geometric and a replaced block is
freed at once, which the run's counters show: bytes asked of malloc, allocations, and blocks
still held at the end (`NativeExecutable.last_context`). No timing here.
"""

import numpy as np
import pytest

import daybreak as db


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    before = db.config(threads=request.param, grain=64)
    yield request.param
    db.config(**before)


def _run(text, *args):
    """The llvm result (checked against the interpreter's) and the run's counters."""
    f = db.compile(text)
    got = f(*args)
    want = db.compile(text, backend="interp")(*args)
    if isinstance(want, dict):
        assert sorted(got) == sorted(want)
        for key, value in want.items():
            np.testing.assert_array_equal(got[key], value)
    else:
        np.testing.assert_array_equal(got, want)
    return got, f.last_context


def test_flatten_of_one_element_vectors(threads):
    rows = [np.array([float(i)]) for i in range(20_000)]
    out, ctx = _run("|v: vec[vec[f64]]| flatten(v)", rows)
    assert ctx.allocated_bytes <= 8 * out.nbytes + (256 << 10)  # was 1.6 GB
    assert ctx.allocation_count <= 40  # a doubling every so often, not one per row
    # the buffers the output grew out of are gone; each thread holds a state and a buffer
    assert ctx.live_blocks <= 3 * threads


def test_inner_loops_of_varying_length_into_an_outer_appender(threads):
    text = """|v: vec[i64]| result(for(v, appender[i64], |b, i, x|
        for(rangeiter(0L, x % 4L, 1L), b, |c, j, y| merge(c, x + y))))"""
    out, ctx = _run(text, np.arange(200_000))
    assert ctx.allocated_bytes <= 8 * out.nbytes + (1 << 20)
    assert ctx.live_blocks <= 3 * threads


def test_a_filter_reserves_room_a_chunk_at_a_time():
    # 3 inner loops of 3e7 iterations keep 30 elements: room is made for one chunk of
    # iterations at a time, not 3e7 (240 MB)
    text = """|n: i64| result(for(rangeiter(0L, 3L, 1L), appender[i64], |b, i, r|
        for(rangeiter(0L, n, 1L), b, |c, j, x| if(x % 1000000L == 0L, merge(c, x + r), c))))"""
    f = db.compile(text)
    kept = np.arange(0, 3 * 10**7, 10**6)
    np.testing.assert_array_equal(f(3 * 10**7), np.concatenate([kept, kept + 1, kept + 2]))
    assert f.last_context.allocated_bytes < (8 << 20)


@pytest.mark.parametrize("builder", ["groupmerger[i64,i64]", "dictmerger[i64,i64,+]"])
def test_dict_builders_free_what_they_outgrow(builder, threads):
    # 10,000 sparse keys: the table doubles 8 times (and a groupmerger's log 12 times)
    text = f"""|v: vec[i64]| result(for(v, {builder}, |b, i, x|
        merge(b, {{x % 10000L * 7919L, x}})))"""
    _, ctx = _run(text, np.arange(40_000))
    assert ctx.live_blocks <= 12 * threads
