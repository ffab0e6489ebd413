"""A line's first call writes into its expression's temporaries, as NumPy's own operators do.

A line's first call buys no compiled code by being recorded (a structure run once is never
compiled): on the user's memory it is computed at once (`ufuncs._snapshot_is_a_copy`), and
on computed temporaries only — numbers besides — it is computed at once into the spent
temporary (`ufuncs._first_into_spent`), where recording it would make the library's run at
the end write a fresh buffer (a first call's page faults). clip's `minimum` writes its
`maximum`'s buffer (`ufuncs.in_own_buffer`). Later calls of the line are recorded as always.

These tests run with the defaults outside tests (no fallback allowed), every line new
(`scheduler.forget`)."""

from __future__ import annotations

import tracemalloc

import numpy
import pytest

import daybreak.numpy as dnp
from daybreak.frontends import scheduler

from .helpers import defaults_outside_tests

N = 1 << 18  # above the default eager_below


@pytest.fixture(autouse=True)
def outside_tests():
    scheduler.forget()
    with defaults_outside_tests():
        yield


def _compute(np, a1, a2, a, b, c):
    """NPBench's compute."""
    return np.clip(a1, 2, 10) * a + a2 * b + c


def _inputs():
    rng = numpy.random.default_rng(3)
    a1, a2 = (rng.integers(0, 1000, N, dtype=numpy.int64) for _ in range(2))
    return a1, a2, numpy.int64(4), numpy.int64(3), numpy.int64(9)


def _peak(call) -> tuple:
    tracemalloc.start()
    try:
        value = numpy.asarray(call())
        return value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_first_call_needs_numpys_buffers_and_a_later_one_is_recorded():
    a1, a2, a, b, c = _inputs()
    want, numpy_peak = _peak(lambda: _compute(numpy, a1, a2, a, b, c))
    wrapped = (dnp.asarray(a1), dnp.asarray(a2), a, b, c)
    got, peak = _peak(lambda: _compute(dnp, *wrapped))
    numpy.testing.assert_array_equal(got, want)
    assert numpy_peak >= 2 * a1.nbytes
    # (NumPy's two buffers, and daybreak's objects: a third buffer was the library's)
    assert peak < numpy_peak + a1.nbytes // 2
    later = _compute(dnp, *wrapped)
    assert later.concrete() is None  # recorded: its structure may compile
    numpy.testing.assert_array_equal(numpy.asarray(later), want)


@pytest.mark.parametrize(
    "low, high",
    [(2, 10), (2, 10.5), (0.5, 2.5), (None, 3), (-3, None), (numpy.int64(2), numpy.float32(3.5))],
)
def test_clip_of_the_users_memory_gives_numpys_values_and_dtype(low, high):
    """clip's `maximum` computed at once on the user's memory (a line's first call), its
    `minimum` written into that buffer where the bound keeps the dtype, else computed as
    always."""
    a1 = _inputs()[0] - 500
    for _ in range(2):  # the first call, then a recorded one
        want = numpy.clip(a1, low, high)
        got = numpy.asarray(dnp.clip(dnp.asarray(a1), low, high))
        assert got.dtype == want.dtype
        numpy.testing.assert_array_equal(got, want)
    numpy.testing.assert_array_equal(a1, _inputs()[0] - 500)  # the user's memory unwritten


def test_a_temporary_another_value_reads_is_never_written():
    """`t = x * 2` held by a name: `t + 1` on a line's first call writes a buffer of its
    own (`t` is no temporary), and a lazy reader of the spent temporary keeps its values."""
    x0 = numpy.linspace(0.0, 1.0, N)
    x = dnp.asarray(x0)
    t = x * 2.0
    u = t + 1.0
    numpy.testing.assert_array_equal(numpy.asarray(t), x0 * 2.0)
    numpy.testing.assert_array_equal(numpy.asarray(u), x0 * 2.0 + 1.0)
    s = x * 3.0
    pending = s[::2] * 1.0  # (a view of the temporary read lazily)
    v = (x * 3.0) + 1.0
    numpy.testing.assert_array_equal(numpy.asarray(v), x0 * 3.0 + 1.0)
    numpy.testing.assert_array_equal(numpy.asarray(pending), (x0 * 3.0)[::2])
    numpy.testing.assert_array_equal(numpy.asarray(s), x0 * 3.0)
