"""Scans: `cumsum`, `cumprod`, `nancumsum`, `nancumprod` (functions and methods) and the
`accumulate` method of add, multiply, maximum and minimum, compiled (`reductions.scan`, one
`Scan` loop over the element expression of the input) under strict mode (the conftest),
checked against NumPy on generated arrays of every kind of dtype, along every axis, with
what produces the input and what reads the result fused around the scan.

Sums and products are compared exactly: a scan adds in NumPy's order (element by element
from the first), so even float32 sums round as NumPy's do."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import daybreak as db
import daybreak.numpy as dnp

from .helpers import allowed_fallbacks, assert_same, defaults_outside_tests

DTYPES = [np.float64, np.float32, np.int8, np.int32, np.int64, np.uint8, np.uint64, np.bool_]


def _elements(dtype):
    if np.dtype(dtype).kind == "f":
        return st.floats(-4.0, 4.0, width=np.dtype(dtype).itemsize * 8) | st.sampled_from(
            [0.0, -0.0, np.nan, np.inf, -np.inf]
        )
    return None  # (hypothesis's own for integers and bools: every value, overflow included)


@st.composite
def arrays_and_axes(draw, min_dims=1):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=0, max_side=7))
    a = draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))
    axis = draw(st.none() | st.integers(-a.ndim, a.ndim - 1))
    return a, axis


SCANS = {
    "cumsum": lambda m, x, axis, **kw: m.cumsum(x, axis=axis, **kw),
    "cumprod": lambda m, x, axis, **kw: m.cumprod(x, axis=axis, **kw),
    "method cumsum": lambda m, x, axis, **kw: x.cumsum(axis=axis, **kw),
    "method cumprod": lambda m, x, axis, **kw: x.cumprod(axis=axis, **kw),
    "add.accumulate": lambda m, x, axis, **kw: np.add.accumulate(x, axis=axis or 0, **kw),
    "multiply.accumulate": lambda m, x, axis, **kw: np.multiply.accumulate(x, axis=axis or 0),
    "maximum.accumulate": lambda m, x, axis, **kw: np.maximum.accumulate(x, axis=axis or 0),
    "minimum.accumulate": lambda m, x, axis, **kw: m.minimum.accumulate(x, axis=axis or 0),
}


def _native(a, axis):
    """Whether a program scans `a` along `axis`: along the last axis (or one followed by
    axes of length 1 only, or the flattened array), with more than one element. Along a
    leading axis NumPy scans the input's data (a library run: reading down columns one line
    at a time costs a page per element)."""
    if a.size <= 1:
        return False
    if axis is None or a.ndim == 1:
        return True
    return math.prod(a.shape[axis % a.ndim + 1 :]) == 1


@settings(max_examples=150, deadline=None)
@given(case=arrays_and_axes(), name=st.sampled_from(sorted(SCANS)))
def test_scans_agree_with_numpy(case, name):
    """Values and dtypes NumPy's (int8 sums to int64, bool add.accumulate is `or`, uint8
    add.accumulate wraps), NaN and -0.0 where NumPy puts them; NumPy's errors (a bad axis)."""
    a, axis = case
    scan = SCANS[name]
    along = 0 if axis is None and name.endswith("accumulate") else axis
    assert_same(lambda m, x: scan(m, x, axis), a, expect_native=_native(a, along))


@settings(max_examples=80, deadline=None)
@given(case=arrays_and_axes(), dtype=st.sampled_from([None, np.float64, np.int64, np.float32]))
def test_a_scan_in_another_dtype(case, dtype):
    a, axis = case
    native = _native(a, axis)
    assert_same(lambda m, x: m.cumsum(x, axis=axis, dtype=dtype), a, expect_native=native)
    assert_same(lambda m, x: x.cumprod(axis=axis, dtype=dtype), a, expect_native=native)


@settings(max_examples=40, deadline=None)
@given(
    a=hnp.arrays(np.bool_, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=9)),
    axis=st.sampled_from([0, -1]),
)
def test_boolean_scans_in_booleans_are_or_and_and(a, axis):
    """A sum of booleans kept boolean is their `or`, a product their `and` (NumPy's add
    and multiply on bools); by default a cumsum of booleans counts them (int64)."""
    native = _native(a, axis)
    assert_same(lambda m, x: m.cumsum(x, axis=axis, dtype=bool), a, expect_native=native)
    assert_same(
        lambda m, x: np.multiply.accumulate(x, axis=axis, dtype=bool), a, expect_native=native
    )
    assert_same(lambda m, x: m.cumsum(x, axis=axis), a, expect_native=native)


@settings(max_examples=80, deadline=None)
@given(case=arrays_and_axes(min_dims=1))
def test_what_produces_and_what_reads_a_scan_fuse_with_it(case):
    """`cumsum(x * 2 + 1, axis) / 3`, a running maximum of a difference: the element
    expression computed inside the scan's loop, the consumer reading its result."""
    a, axis = case
    if a.dtype == np.bool_:
        a = a.astype(np.int32)

    def pipeline(m, x):
        return m.cumsum(x * 2 + 1, axis=axis) / 3

    def running_peak(m, x):
        return x - m.maximum.accumulate(x, axis=axis or 0)

    assert_same(pipeline, a, expect_native=lambda w: w.size > 0)
    assert_same(running_peak, a, expect_native=lambda w: w.size > 0)


@settings(max_examples=60, deadline=None)
@given(case=arrays_and_axes())
def test_nan_scans(case):
    a, axis = case
    native = _native(a, axis) or (a.dtype.kind == "f" and a.size > 0)  # (the NaN test)
    assert_same(lambda m, x: m.nancumsum(x, axis=axis), a, expect_native=native)
    assert_same(lambda m, x: m.nancumprod(x, axis=axis), a, expect_native=native)


def test_a_scan_is_one_loop_over_its_input_expression():
    """The scan reads `x * 2 + 1` inside its own loop: one program, no array of the terms."""
    x = np.linspace(-1.0, 1.0, 3000).reshape(30, 100)
    db.stats(reset=True)
    got = dnp.cumsum(dnp.asarray(x) * 2 + 1, axis=1)
    assert type(got._held.node).__name__ == "Scan"
    np.testing.assert_array_equal(np.asarray(got), np.cumsum(x * 2 + 1, axis=1))
    assert db.stats()["runs"] == 1


def test_a_scan_along_a_leading_axis_is_numpys_on_the_computed_input():
    """`cumsum(x * 2, axis=0)`: the input computed by a program (what produces it fuses
    there), then NumPy's scan of it (a library run, no fallback); along an axis followed
    by axes of length 1 only, a scan of its own."""
    x = np.arange(24.0).reshape(2, 3, 4) - 7.5
    db.stats(reset=True)
    got = dnp.cumsum(dnp.asarray(x) * 2, axis=0)
    assert db.stats()["runs"] == 1  # (the program computing `x * 2`)
    assert type(got) is np.ndarray or got._held.node.is_leaf  # (computed data)
    np.testing.assert_array_equal(np.asarray(got), np.cumsum(x * 2, axis=0))
    np.testing.assert_array_equal(np.asarray(got[-1] * 2), np.cumsum(x * 2, axis=0)[-1] * 2)
    column = x.reshape(24, 1)
    scanned = dnp.cumsum(dnp.asarray(column) - 1.0, axis=0)
    assert type(scanned._held.node).__name__ == "Scan"
    np.testing.assert_array_equal(np.asarray(scanned), np.cumsum(column - 1.0, axis=0))


def test_rows_of_a_scan_on_several_threads_agree():
    """A scan of many long rows (the rows' loop split across threads, each row scanned
    in order): NumPy's values exactly."""
    x = np.random.default_rng(5).normal(size=(64, 20_000))
    before = db.config(threads=2)
    try:
        got = dnp.cumsum(dnp.asarray(x) * 0.5, axis=1)
        np.testing.assert_array_equal(np.asarray(got), np.cumsum(x * 0.5, axis=1))
        peaks = dnp.maximum.accumulate(dnp.asarray(x), axis=1)
        np.testing.assert_array_equal(np.asarray(peaks), np.maximum.accumulate(x, axis=1))
    finally:
        db.config(**before)


def test_scans_nobody_compiles_fall_back_counted():
    """`out=`, complex values: NumPy's own scan, counted with its reason."""
    x = np.arange(10.0)
    out = np.empty(10)
    with allowed_fallbacks("cumsum with out=") as seen:
        dnp.cumsum(dnp.asarray(x), out=out)
    assert seen == {"numpy: cumsum with out=": 1}
    np.testing.assert_array_equal(out, np.cumsum(x))
    with allowed_fallbacks("complex"):
        got = dnp.cumsum(dnp.asarray(x) + 1j)
    np.testing.assert_array_equal(np.asarray(got), np.cumsum(x + 1j))


def test_small_and_computed_inputs_are_numpys_scan_at_once():
    """Outside tests (tier 0, `eager_below`): a small input, or one already computed, is
    NumPy's own scan of its data (a library run, no fallback); a big pending one is a
    lazy scan whose program compiles like any other."""
    with defaults_outside_tests():
        small = dnp.cumsum(dnp.asarray(np.arange(10.0)))
        assert type(small) is np.ndarray
        big = dnp.asarray(np.linspace(0.0, 1.0, 1 << 17))
        lazy_scan = dnp.cumsum(big * 2.0)
        assert not lazy_scan._held.node.is_leaf
        np.testing.assert_array_equal(
            np.asarray(lazy_scan), np.cumsum(np.linspace(0.0, 1.0, 1 << 17) * 2.0)
        )
        # a first run is the library's (tier 0: the scan's; along the leading axis, the
        # input's and then NumPy's scan of it)
        rows = np.linspace(-3.0, 3.0, 1 << 17).reshape(256, 512)
        for axis, library_runs in ((1, 1), (0, 2)):
            db.stats(reset=True)
            got = np.asarray(dnp.cumsum(dnp.asarray(rows) - 1.0, axis=axis))
            assert db.stats()["library_runs"] == library_runs and db.stats()["runs"] == 0
            np.testing.assert_array_equal(got, np.cumsum(rows - 1.0, axis=axis))


@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_cumulative_methods_of_the_kernels_suite_agree(axis):
    """cumsum_window's and level_loop's calls: a running mean window, a drawdown, a
    compounded growth, a mass integrated down levels."""
    rng = np.random.default_rng(3)
    prices = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, size=(8, 300)), axis=1))

    def window(m, p):
        c = m.cumsum(p, axis=axis)
        return c * 2 - 1

    def drawdown(m, p):
        peak = m.maximum.accumulate(p, axis=axis or 0)
        return (p - peak) / peak

    def growth(m, p):
        return m.cumprod(1.0 + m.diff(m.log(p), axis=1) * 0.1, axis=axis)

    for fn in (window, drawdown):
        assert_same(fn, prices)
    # (daybreak's log may differ from NumPy's by an ulp: the scan carries it)
    assert_same(growth, prices, rtol=1e-13)


def test_a_scan_of_a_python_number_is_numpys_one_element():
    """`cumsum(3.5)`: NumPy's answer for one element, no program and no fallback (strict)."""
    for name in ("cumsum", "cumprod", "nancumsum"):
        got = getattr(dnp, name)(3.5)
        want = getattr(np, name)(3.5)
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert dnp.cumsum(True).tolist() == np.cumsum(True).tolist()
    assert dnp.nancumsum(float("nan")).tolist() == np.nancumsum(float("nan")).tolist() == [0.0]
