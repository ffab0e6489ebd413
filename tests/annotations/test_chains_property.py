"""Property: a random chain of annotated calls — elementwise steps, filters (sizes that depend
on the data), in-place writes, broadcast whole values, reductions — gives what the plain calls
give, whatever the piece size and the thread count. Integer data: every result is exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import daybreak as db
from daybreak.annotations import mut, pipeline, splittable


@splittable(a="S", b="S", returns="S")
def plus(a, b):
    return a + b


@splittable(a="S", k="broadcast", returns="S")
def times(a, k):
    return a * k


@splittable(a="S", returns="unknown")
def evens(a):
    return a[a % 2 == 0]


@splittable(a="S", out=mut("S"))
def double_into(a, out):
    np.multiply(a, 2, out=out)


@splittable(a="S", returns="sum")
def total(a):
    return int(a.sum())


@splittable(a="S", returns="max")
def top(a):
    return int(a.max()) if a.size else -(1 << 62)


@splittable(a="S", whole="broadcast", returns="S")
def minus_first(a, whole):
    return a - (whole[0] if len(whole) else 0)


STEPS = ["plus", "times", "evens", "double_into", "minus_first"]


def _run(chain, x, y, annotated: bool):
    """The chain over x (and y where a step takes two arrays); returns what it computed."""
    fn = (lambda f: f) if annotated else (lambda f: f.__wrapped__)
    cur, ragged = x, False
    for step, k in chain:
        if step == "plus" and not ragged:
            cur = fn(plus)(cur, y)
        elif step == "times":
            cur = fn(times)(cur, k)
        elif step == "evens":
            cur, ragged = fn(evens)(cur), True
        elif step == "double_into" and not ragged:
            out = np.zeros_like(x)
            fn(double_into)(cur, out)  # (a pending result: its pieces, as they come)
            cur = out
        elif step == "minus_first":
            cur = fn(minus_first)(cur, x)
    return cur, fn(total)(cur), fn(top)(cur)


@settings(max_examples=80, deadline=None)
@given(
    n=st.integers(0, 3000),
    chain=st.lists(st.tuples(st.sampled_from(STEPS), st.integers(-3, 3)), max_size=6),
    piece=st.sampled_from([64, 1000, 8192, 1 << 20]),
    threads=st.sampled_from([1, 2]),
    seed=st.integers(0, 1000),
)
def test_a_random_chain_equals_the_plain_calls(n, chain, piece, threads, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.integers(-100, 100, n), rng.integers(-100, 100, n)
    want = _run(chain, x.copy(), y.copy(), annotated=False)
    old = db.config(split_piece_bytes=piece, threads=threads)
    try:
        xs, ys = x.copy(), y.copy()
        with pipeline():
            got = _run(chain, xs, ys, annotated=True)
    finally:
        db.config(**old)
    np.testing.assert_array_equal(np.asarray(got[0]), np.asarray(want[0]))
    assert int(got[1]) == int(want[1]) and int(got[2]) == int(want[2])
    np.testing.assert_array_equal(xs, x)  # inputs untouched (the chain wrote only `out`)


UFUNC_STEPS = {
    "add": lambda np_, y, k: y + k,
    "mul": lambda np_, y, k: y * k,
    "sqrt": lambda np_, y, k: np_.sqrt(np_.abs(y)),
    "exp": lambda np_, y, k: np_.exp(np_.minimum(y, 5.0)),
    "neg": lambda np_, y, k: -y,
    "twice": lambda np_, y, k: y + y,
}


@splittable(a="S", returns="S")
def identity(a):
    return a.copy()


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 5000),
    chain=st.lists(st.tuples(st.sampled_from(sorted(UFUNC_STEPS)), st.floats(-2, 2)), max_size=6),
    piece=st.sampled_from([256, 4096, 1 << 16, 1 << 20]),
    threads=st.sampled_from([1, 2]),
    through_daybreak=st.booleans(),
)
def test_numpy_code_on_pending_results_equals_numpy(n, chain, piece, threads, through_daybreak):
    """NumPy code (or daybreak.numpy's) on a pending result is captured into the chain and
    run per piece — by the engine when daybreak.numpy is imported — with NumPy's values."""
    import daybreak.numpy as dnp

    x = np.random.default_rng(n).normal(size=n)
    want = x.copy()
    for name, k in chain:
        want = UFUNC_STEPS[name](np, want, k)
    # (a small eager size: pieces of a few hundred elements are recorded, not NumPy's)
    old = db.config(split_piece_bytes=piece, threads=threads, eager_below=256)
    try:
        with pipeline():
            y = identity(x)
            for name, k in chain:
                y = UFUNC_STEPS[name](dnp if through_daybreak else np, y, k)
            s = total_float(y)
    finally:
        db.config(**old)
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-13, atol=1e-300)
    assert float(s) == pytest.approx(float(np.sum(want)), rel=1e-9, abs=1e-9)


@splittable(a="S", returns="sum")
def total_float(a):
    return float(np.sum(a))
