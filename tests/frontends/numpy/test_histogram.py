"""`histogram` of float64 values in equal bins, compiled (`functions.histogram`, one
`Histogram` loop): NumPy's counts or weight sums, edges and errors, under strict mode (the
conftest), checked against NumPy on generated data, on values at every bin edge and one ulp
either side (where NumPy's division errs and its edges decide), and where NumPy's own
function answers (counted fallbacks, with their reasons)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import daybreak as db
import daybreak.numpy as dnp

from .helpers import allowed_fallbacks, assert_same

values = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=40),
    elements=st.floats(-1e3, 1e3) | st.sampled_from([0.0, -0.0, 0.5, 1.0, np.nan]),
)
ranges = (
    st.none()
    | st.tuples(st.integers(-5, 5), st.integers(-5, 5)).map(sorted).map(tuple)
    | st.tuples(st.floats(-10.0, 10.0), st.floats(-10.0, 10.0)).map(sorted).map(tuple)
)


@settings(max_examples=60)
@given(a=values, bins=st.integers(1, 12), edges=ranges, weighted=st.booleans())
def test_histogram(a, bins, edges, weighted):
    """Counts (intp) or weight sums (float64) and the edges, NumPy's; NumPy's errors (a
    NaN or infinite autodetected range) at the call."""
    weights = (np.arange(a.size, dtype=np.float64).reshape(a.shape) - 3.5) if weighted else None
    args = (a, weights) if weighted else (a,)

    def counts(m, x, *w):
        return m.histogram(x, bins, edges, weights=w[0] if w else None)[0]

    def bin_edges(m, x, *w):
        return m.histogram(x, bins, edges, weights=w[0] if w else None)[1]

    assert_same(counts, *args, rtol=1e-12, atol=1e-9, expect_native=a.size > 0)
    # (the edges are NumPy's `linspace` of the range: no program of their own)
    assert_same(bin_edges, *args, expect_native=False)


@settings(max_examples=40)
@given(
    a=hnp.arrays(
        st.sampled_from([np.int8, np.uint8, np.int32, np.int64, np.uint64]),
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=40),
    ),
    bins=st.integers(1, 12),
    weighted=st.booleans(),
)
def test_histogram_of_integers_in_their_own_range(a, bins, weighted):
    """Integers binned as NumPy bins them (as float64s, from their minimum to their maximum,
    the difference of two integers taken exactly), compiled; beyond 2^53 (where the library's
    histogram of float64s would take that difference inexactly), NumPy's own, counted."""
    weights = np.linspace(-1.0, 1.0, a.size).reshape(a.shape) if weighted else None
    args = (a, weights) if weighted else (a,)
    huge = max(-int(a.min()), int(a.max())) >= 1 << 53
    with allowed_fallbacks("histogram of integers beyond 2^53" if huge else r"(?!)"):
        assert_same(
            lambda m, x, *w: m.histogram(x, bins, weights=w[0] if w else None)[0],
            *args,
            rtol=1e-12,
            atol=1e-12,
            expect_native=not huge,
        )
        assert_same(lambda m, x, *w: m.histogram(x, bins)[1], *args, expect_native=False)


@pytest.mark.parametrize("bins", [1, 3, 7, 10, 1000])
@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-2.5, 7.1), (1e-3, 1e-3 + 7e-10)])
def test_values_at_the_edges_and_one_ulp_either_side_are_binned_as_numpy_bins_them(bins, low, high):
    """Where `(v - first) / (last - first) * bins` rounds across an edge, NumPy moves the
    bin by one as its edges say: every edge, and its neighbours one ulp away, land in
    NumPy's bins (the last edge in the last bin, values past the range in none)."""
    edges = np.linspace(low, high, bins + 1)
    a = np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf)])
    assert_same(lambda m, x: m.histogram(x, bins, (low, high))[0], a)
    assert_same(lambda m, x: m.histogram(x, bins)[0], a)


@pytest.mark.parametrize(
    "call, reason",
    [
        (lambda m, x: m.histogram(x, 4, density=True)[0], "histogram with density"),
        (lambda m, x: m.histogram(x, [0.0, 0.2, 1.0])[0], "histogram with bins that are not"),
        (lambda m, x: m.histogram(x, "auto")[0], "histogram with bins that are not"),
        (lambda m, x: m.histogram(x * 10 // 1 > 3, 4)[0], "histogram of other dtypes"),
        (
            lambda m, x: m.histogram((x * 10).astype(np.int64), 4, (1, 5))[0],
            "histogram of other dtypes than float64 (integers: with a range given)",
        ),
        (
            lambda m, x: m.histogram(x, 4, weights=(x * 10).astype(np.int64))[0],
            "histogram of weights of other dtypes",
        ),
        (
            lambda m, x: m.histogram((x * 2.0**60).astype(np.int64), 4)[0],
            "histogram of integers beyond 2^53",
        ),
        (lambda m, x: m.histogram(x.astype(np.float32), 4)[0], "histogram of other dtypes"),
    ],
)
def test_what_numpy_answers_is_counted_with_its_reason(call, reason):
    """Bins given as edges or a rule's name, `density`, other dtypes than float64: NumPy's
    own histogram, counted as a fallback with its reason."""
    a = np.linspace(0.0, 1.0, 50)
    with allowed_fallbacks(reason):
        before = sum(db.stats()["fallbacks"].values())
        assert_same(call, a, rtol=1e-12)
        assert sum(db.stats()["fallbacks"].values()) > before


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.histogram(x, 4, (3.0, 1.0)),  # max below min
        lambda m, x: m.histogram(x, 4, (0.0, np.inf)),  # a range that is not finite
        lambda m, x: m.histogram(x, 4, weights=x[:-1]),  # weights of another shape
        lambda m, x: m.histogram(x * np.inf, 4),  # an autodetected range that is not finite
        lambda m, x: m.histogram(x * 0.0 + 2.0**52, 2),  # a range too narrow for its bins
    ],
)
def test_numpys_errors(call):
    """NumPy's errors, with NumPy's messages, at the call."""
    a = np.linspace(0.0, 1.0, 50)
    with pytest.raises(ValueError) as want:
        call(np, a)
    with pytest.raises(ValueError) as got:
        call(dnp, dnp.asarray(a))
    assert str(got.value) == str(want.value)
