"""Annotated Python functions: the same results as the plain calls, piece by piece, lazily
inside `pipeline()` blocks, on 1 and 2 threads; the errors an annotation promises."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pandas as pd
import pytest

import daybreak as db
from daybreak.annotations import (
    AnnotationError,
    ArraySplit,
    Future,
    PieceError,
    annotate,
    evaluate,
    mut,
    pipeline,
    splittable,
)


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"], autouse=True)
def small_pieces(request):
    """Pieces of 4 KiB (many pieces even for small arrays), on 1 and 2 threads."""
    old = db.config(threads=request.param, split_piece_bytes=4096)
    yield request.param
    db.config(**old)


@splittable(a="S", b="S", returns="S")
def add(a, b):
    return a + b


@splittable(a="S", returns="S")
def exp(a):
    return np.exp(a)


@splittable(a="S", factor="broadcast", returns="S")
def scale(a, factor=2.0):
    return a * factor


@splittable(a="S", returns="sum")
def total(a):
    return float(a.sum())


@splittable(a="S", returns="max")
def biggest(a):
    return a.max(initial=-np.inf)


@splittable(a="S", b="S", out=mut("S"))
def add_into(a, b, out):
    np.add(a, b, out=out)


@splittable(a="S", returns="unknown")
def positives(a):
    return a[a > 0]


def _data(n=10_000, seed=0):
    return np.random.default_rng(seed).normal(size=n)


@pytest.mark.parametrize("n", [0, 1, 511, 10_000])
def test_a_chain_equals_the_plain_calls(n):
    x, y = _data(n), _data(n, 1)
    want = np.exp(x + y) * 3.0
    np.testing.assert_array_equal(scale(exp(add(x, y)), 3.0), want)  # at once, call by call
    with pipeline():
        got = scale(exp(add(x, y)), factor=3.0)
        assert isinstance(got, Future)
    np.testing.assert_array_equal(np.asarray(got), want)


def test_reductions_merge_in_piece_order_whatever_the_threads():
    x = np.arange(100_000, dtype=np.float64)  # integer-valued: sums are exact
    with pipeline():
        s, m = total(scale(x, 0.5)), biggest(x)
    assert float(s) == float((x * 0.5).sum()) and float(m) == 99_999.0
    r = _data(50_000)
    with pipeline():
        s = total(r)
    assert float(s) == pytest.approx(float(r.sum()), rel=1e-12)
    old = db.config(threads=1)
    one = total(r)
    db.config(threads=2)
    assert total(r) == one  # the same pieces, folded in the same order
    db.config(**old)


def test_mut_arguments_are_written_in_place_through_the_chain():
    x, y = _data(), _data(seed=1)
    z = np.zeros_like(x)
    with pipeline():
        add_into(x, y, z)
        add_into(z, y, z)
        s = total(z)
    np.testing.assert_array_equal(z, (x + y) + y)
    assert float(s) == pytest.approx(float(((x + y) + y).sum()), rel=1e-12)


def test_data_dependent_sizes_flow_on_and_are_concatenated():
    x = _data(20_000)
    with pipeline():
        got = exp(positives(x))
        n = total(positives(x))
    np.testing.assert_array_equal(np.asarray(got), np.exp(x[x > 0]))
    assert float(n) == pytest.approx(float(x[x > 0].sum()), rel=1e-12)


def test_calls_in_a_block_run_when_a_result_is_read():
    ran = []

    @splittable(a="S", returns="S")
    def traced(a):
        ran.append(len(a))
        return a

    x = _data(1000)
    with pipeline():
        y = traced(x)
        assert ran == []  # captured, not run
        np.testing.assert_array_equal(np.asarray(y), x)  # read: runs now
        assert sum(ran) == 1000
        z = traced(x)
    assert sum(ran) == 2000  # the end of the block ran the rest
    np.testing.assert_array_equal(np.asarray(z), x)


def test_each_piece_goes_through_the_whole_chain_before_the_next():
    order = []

    @splittable(a="S", returns="S")
    def first(a):
        order.append(("first", len(a)))
        return a + 1

    @splittable(a="S", returns="S")
    def second(a):
        order.append(("second", len(a)))
        return a * 2

    old = db.config(threads=1, split_piece_bytes=8 * 100)  # 100-element pieces (a's 8 bytes)
    try:
        x = np.arange(1000.0)
        with pipeline():
            y = second(first(x))
        np.testing.assert_array_equal(np.asarray(y), (x + 1) * 2)
    finally:
        db.config(**old)
    names = [name for name, _ in order]
    assert len(names) > 4 and names[:4] == ["first", "second", "first", "second"]


def test_intermediates_nobody_holds_are_never_merged():
    merged = []

    class Tracked(ArraySplit):
        def merge(self, pieces):
            merged.append(len(pieces))
            return super().merge(pieces)

    @splittable(a=Tracked(), returns=Tracked())
    def inner(a):
        return a + 1.0

    x = _data(5000)
    with pipeline():
        y = exp(inner(x))  # inner's result is only a step of the chain
    np.testing.assert_array_equal(np.asarray(y), np.exp(x + 1.0))
    assert len(merged) == 1  # exp's result (split like inner's): inner's was never merged


def test_a_stage_ends_where_a_call_needs_a_whole_result():
    @splittable(a="S", whole="broadcast", returns="S")
    def minus_mean(a, whole):
        return a - np.mean(whole)

    x = _data(3000)
    with pipeline():
        y = exp(x)
        z = minus_mean(y, y)  # y whole: computed first, then split again
    np.testing.assert_array_equal(np.asarray(z), np.exp(x) - np.mean(np.exp(x)))


def test_two_dimensional_arrays_split_along_an_axis():
    @splittable(m=ArraySplit(axis=1), returns=ArraySplit(axis=1))
    def normalise_columns(m):
        return m / np.abs(m).max(axis=0, keepdims=True)

    m = _data(6000).reshape(20, 300)
    with pipeline():
        got = normalise_columns(m)
    np.testing.assert_array_equal(np.asarray(got), m / np.abs(m).max(axis=0, keepdims=True))


def test_pandas_row_functions_under_dataframe_split():
    @splittable(df="S", returns="S")
    def clean(df):
        out = df.assign(price=df.price.fillna(0.0).clip(lower=0), name=df.name.str.strip())
        return out[["name", "price", "qty"]]

    @splittable(df="S", returns="S")
    def revenue(df):
        return df.assign(revenue=df.price * df.qty)

    @splittable(df="S", returns="unknown")
    def big_orders(df):
        return df[df.revenue > 50]

    rng = np.random.default_rng(3)
    n = 5000
    df = pd.DataFrame(
        {
            "name": pd.Series([f"  item{i % 17} " for i in range(n)], dtype=str),
            "price": np.where(rng.random(n) < 0.1, np.nan, rng.normal(10, 5, n)),
            "qty": rng.integers(0, 10, n),
        },
        index=pd.RangeIndex(100, 100 + n),
    )
    with pipeline():
        got = big_orders(revenue(clean(df)))
    want = big_orders.__wrapped__(revenue.__wrapped__(clean.__wrapped__(df)))
    pd.testing.assert_frame_equal(got.value(), want)


def test_annotating_existing_functions_leaves_them_as_they_are():
    np_add = annotate(np.add, "S", "S", returns="S")
    np_mul = annotate(np.multiply, "S", "broadcast", returns="S")
    x, y = _data(), _data(seed=2)
    with pipeline():
        got = np_mul(np_add(x, y), 0.5)
    np.testing.assert_array_equal(np.asarray(got), (x + y) * 0.5)
    assert np.add(1, 2) == 3 and not hasattr(np.add, "annotation")

    def plain(a, b=1.0):
        return a * b

    wrapped = annotate(plain, a="S", returns="S")
    np.testing.assert_array_equal(wrapped(x, b=3.0), x * 3.0)
    assert plain(2.0) == 2.0


def test_futures_behave_like_their_values():
    x = np.arange(10.0)
    with pipeline():
        y = add(x, x)
        s = total(x)
        assert y.shape == (10,) and len(y) == 10  # reading an attribute runs the chain
    assert float(s) == 45.0 and int(s) == 45 and s == 45.0 and s + 1 == 46.0 and 1 + s == 46.0
    np.testing.assert_array_equal(y + 1, 2 * x + 1)
    assert f"{s:.1f}" == "45.0" and list(y)[:2] == [0.0, 2.0] and y[3] == 6.0
    assert evaluate(y) is y.value()


def test_a_future_of_a_reduction_is_computed_before_it_is_split_again():
    x = np.arange(1000.0)
    with pipeline():
        s = total(x)
        y = scale(x, s)  # s is broadcast: a value, computed first
    np.testing.assert_array_equal(np.asarray(y), x * x.sum())


def test_blocks_are_per_thread():
    x = np.arange(1000.0)
    seen = []

    def other():
        seen.append(type(add(x, x)))  # no block in this thread: runs at once

    with pipeline():
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert isinstance(add(x, x), Future)
    assert seen == [np.ndarray]


# --- errors -------------------------------------------------------------------------------------
def test_split_arguments_must_agree_at_the_call():
    with pytest.raises(AnnotationError, match="a has 10 elements to split and b has 9"):
        add(np.zeros(10), np.zeros(9))
    with pytest.raises(AnnotationError, match="a and b are both split as S"):
        add(np.zeros(3), pd.Series([1.0, 2.0, 3.0]))
    with pytest.raises(AnnotationError, match="no split type splits it"):
        add(np.zeros(3), 2.0)
    with pipeline():
        y = add(np.zeros(10), np.zeros(10))
        with pytest.raises(AnnotationError, match="10 elements to split and b has 4"):
            add(y, np.zeros(4))  # checked at the call, before anything runs


def test_bad_annotations_are_refused_where_they_are_made():
    with pytest.raises(AnnotationError, match="has no parameter 'c'"):
        splittable(c="S")(lambda a: a)
    with pytest.raises(AnnotationError, match="mut but not split"):
        splittable(a="S", b=mut("broadcast"))(lambda a, b: None)
    with pytest.raises(AnnotationError, match="a result cannot be mut"):
        splittable(a="S", returns=mut("S"))(lambda a: a)
    with pytest.raises(AnnotationError, match="nothing to pipeline"):
        splittable(a="broadcast")(lambda a: a)
    with pytest.raises(AnnotationError, match="not 3"):
        splittable(a=3)(lambda a: a)
    with pytest.raises(AnnotationError, match="which no parameter is"):
        splittable(a="S", returns="T")(lambda a: a)(np.zeros(3))


def test_a_failing_piece_names_the_function_its_range_and_what_was_written():
    @splittable(a="S", returns="S")
    def fragile(a):
        if a.size and a[0] >= 600:
            raise ValueError("bad value")
        return a

    x = np.arange(1000.0)
    out = np.zeros(1000)
    with pytest.raises(PieceError) as info:
        with pipeline():
            add_into(x, x, out)
            fragile(out)
    err = info.value
    assert err.function.endswith("fragile") and 2 * err.start >= 600 and err.stop > err.start
    assert f"[{err.start}, {err.stop})" in str(err) and "ValueError('bad value')" in str(err)
    assert err.partly_written == ["out"] and isinstance(err.__cause__, ValueError)


def test_results_of_the_wrong_size_and_unannotated_results_are_errors():
    @splittable(a="S", returns="S")
    def shrinks(a):
        return a[:1]

    @splittable(a="S")
    def returns_something(a):
        return 1

    with pytest.raises(AnnotationError, match="annotate `returns` as 'unknown'"):
        shrinks(np.zeros(5000))
    with pytest.raises(AnnotationError, match="has no `returns`"):
        returns_something(np.zeros(10))


def test_a_dropped_future_is_still_run_but_not_kept():
    x = np.arange(100.0)
    z = np.zeros(100)
    with pipeline():
        add(x, x)  # result dropped
        add_into(x, x, z)
    gc.collect()
    np.testing.assert_array_equal(z, 2 * x)


def test_numpy_between_annotated_calls_runs_piece_by_piece():
    order = []

    @splittable(a="S", returns="S")
    def first(a):
        order.append("first")
        return a + 1

    @splittable(a="S", returns="S")
    def last(a):
        order.append("last")
        return a * 2

    old = db.config(threads=1, split_piece_bytes=8 * 100)
    try:
        x = np.linspace(-3, 3, 1000)
        with pipeline():
            y = first(x)
            z = np.exp(y) * 0.5 + y  # NumPy on pending results: captured with them
            assert isinstance(z, Future) and isinstance(-z, Future)
            w = last(-z)
    finally:
        db.config(**old)
    y = x + 1
    np.testing.assert_array_equal(np.asarray(w), -(np.exp(y) * 0.5 + y) * 2)
    assert order[:4] == ["first", "last", "first", "last"]


def test_numpy_on_results_that_do_not_line_up_computes_them_first():
    x = np.arange(10.0)
    with pipeline():
        y = add(x, x)
        z = y + np.ones(10)  # an array operand: its broadcasting is NumPy's, on the values
        assert not isinstance(z, Future)
        u = add(np.arange(4.0), np.arange(4.0))
        v = np.add(y[:4], u)
    np.testing.assert_array_equal(z, 2 * x + 1)
    np.testing.assert_array_equal(v, 2 * x[:4] + 2 * np.arange(4.0))


def test_daybreak_numpy_arrays_are_split_arguments_too():
    """A pending daybreak.numpy expression given to an annotated call is computed piece by
    piece (one compiled program run per piece, fused), never whole."""
    import daybreak.numpy as dnp

    x = np.linspace(0, 1, 200_000)
    lazy = dnp.exp(dnp.asarray(x)) * 2.0
    db.stats(reset=True)
    with pipeline():
        y = add(lazy, x)
        z = total(dnp.sqrt(dnp.asarray(x)) + 1.0)
    np.testing.assert_allclose(np.asarray(y), np.exp(x) * 2.0 + x, rtol=1e-15)
    assert float(z) == pytest.approx(float((np.sqrt(x) + 1.0).sum()), rel=1e-12)
    assert lazy.concrete() is None  # still pending: only its pieces were computed
    stats = db.stats()
    assert stats["runs"] + stats["library_runs"] > 2 and not stats["fallbacks"]


def test_a_failure_before_any_write_reports_nothing_written():
    @splittable(a="S", out=mut("S"))
    def refuses(a, out):
        raise RuntimeError("no")

    with pytest.raises(PieceError) as info:
        refuses(np.zeros(10), np.zeros(10))
    assert info.value.partly_written == [] and "written into" not in str(info.value)


def test_daybreak_numpy_on_pending_results_runs_piece_by_piece_compiled():
    """daybreak.numpy cannot record a call on a result whose shape and dtype are not known
    yet; the Future records it instead (no fallback), and its pieces are computed by
    daybreak.numpy: consecutive calls fused into one loop per piece (the engine)."""
    import daybreak.numpy as dnp

    x = np.linspace(0, 1, 400_000)
    db.config(split_piece_bytes=1 << 22)  # pieces big enough to be recorded, not NumPy's
    db.stats(reset=True)
    with pipeline():
        y = add(x, x)
        z = dnp.exp(y) * 2.0 + dnp.sin(y)
        assert isinstance(z, Future)
        w = add(z, z)
    np.testing.assert_allclose(np.asarray(w), (np.exp(2 * x) * 2.0 + np.sin(2 * x)) * 2, rtol=1e-14)
    stats = db.stats()
    assert not stats["fallbacks"] and stats["runs"] + stats["library_runs"] > 0


def test_a_result_whose_chain_failed_says_so():
    @splittable(a="S", returns="S")
    def broken(a):
        raise ValueError("broken")

    with pytest.raises(PieceError):
        with pipeline():
            y = broken(np.zeros(10))
    with pytest.raises(RuntimeError, match="the chain that computes it failed"):
        y.value()


def test_a_future_does_not_keep_its_calls_arguments_alive():
    import weakref

    x = np.arange(1000.0)
    with pipeline():
        y = add(x, x)
    held = weakref.ref(x)
    del x
    gc.collect()
    assert held() is None and float(np.asarray(y)[3]) == 6.0
