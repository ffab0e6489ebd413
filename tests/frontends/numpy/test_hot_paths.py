"""The shortcuts that keep Python loops cheap (docs/scheduler.md, "Where the Python time
goes") give NumPy's answers: values, dtypes and errors, also when a remembered decision meets
operands of another kind, and tier 0's in-place temporaries never write into an input.

These run with the default eager size (the shortcuts are what daybreak does for small work),
and check which path ran where the point is that daybreak's own path did the work."""

import functools
import tracemalloc

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends import scheduler
from daybreak.frontends.elements import eager
from daybreak.frontends.numpy import ufuncs

from .helpers import allowed_fallbacks, assert_same, defaults_outside_tests


@pytest.fixture
def default_sizes():
    before = db.config(eager_below=1 << 16)
    yield
    db.config(**before)


def _outcome(fn):
    try:
        return fn()
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return type(error)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "float32", "float64"])
def test_remembered_ufunc_plans_follow_each_python_int(dtype):
    """A plan is remembered per kind of operand; Python ints of other widths (which NumPy may
    reject for a narrow dtype) never reuse another int's decision."""
    a = np.arange(70_000).astype(dtype) % 50
    x = dnp.asarray(a)
    ufuncs._PLANS.clear()
    for value in (3, 100, 127, 128, 255, 256, -1, -128, -129, 70_000, 3, 2**40, 100):
        want = _outcome(lambda v=value: a + v)
        got = _outcome(lambda v=value: np.asarray(x + v))
        if isinstance(want, type):
            assert got is want, (dtype, value, got)
        else:
            assert got.dtype == want.dtype and np.array_equal(got, want), (dtype, value)


def test_numpy_scalars_in_plans_keep_their_dtype():
    a = np.linspace(0, 1, 70_000, dtype=np.float32)
    x = dnp.asarray(a)
    for scalar in (np.float32(2.5), np.float64(2.5), np.int64(3), np.float32(1.5), 2.5):
        want = a * scalar
        got = np.asarray(x * scalar)
        assert got.dtype == want.dtype and np.allclose(got, want)


def test_scalar_arithmetic_on_computed_0d_arrays_is_numpys(default_sizes):
    x = dnp.asarray(np.arange(100_000.0))
    total = x.max()
    float(total)  # computed from here on
    n = np.arange(100_000.0).max()
    for other in (3, 2.5, np.float32(1.5), True, np.int64(7)):
        for op in (lambda p, q: p * q, lambda p, q: q / p, lambda p, q: p - q, lambda p, q: p < q):
            got, want = op(total, other), op(n, other)
            assert type(got) is type(want) and got == want
    small = dnp.asarray(np.arange(100_000, dtype=np.int8)).min()
    int(small)
    with pytest.raises(OverflowError):
        small + 300  # NumPy's error for a Python int beyond int8


def test_small_mask_selections_are_numpys_own(default_sizes):
    rng = np.random.default_rng(3)
    data, radius = rng.random(100_000), rng.random(100_000)
    d, r = dnp.asarray(data), dnp.asarray(radius)
    for lo, hi in ((0.3, 0.31), (0.0, 1.0), (2.0, 3.0)):
        want = data[(lo <= radius) & (radius < hi)]
        got = d[dnp.logical_and(lo <= r, r < hi)]
        assert np.array_equal(np.asarray(got), want)
    m = rng.random((300, 400))
    rows = m[:, 0] > 0.999
    assert np.array_equal(np.asarray(dnp.asarray(m)[rows]), m[rows])


def test_ufunc_outer_results_are_daybreaks_own(default_sizes):
    a, b = np.arange(400, dtype=np.int32), np.arange(300, dtype=np.int32)
    out = dnp.add.outer(a, b)
    assert type(out) is dnp.ndarray and out.shape == (400, 300)
    got = np.asarray(dnp.minimum(out, 350))
    assert got.dtype == np.int32 and np.array_equal(got, np.minimum(np.add.outer(a, b), 350))


def test_tier0_writes_spent_temporaries_in_place_and_never_inputs(monkeypatch):
    """`x * 2 + 1` adds into the temporary `x * 2`; the user's `x`, a temporary read twice
    and a view of an input are never written."""
    hits = []
    spent = eager._spent_temporary
    monkeypatch.setattr(
        eager, "_spent_temporary", lambda *args: hits.append(spent(*args)) or hits[-1]
    )
    a = np.random.default_rng(5).random((40, 50))
    before = a.copy()
    x = dnp.asarray(a)
    from daybreak.frontends.elements.loops import realize

    cases = [
        (lambda m, v: v * 2.0 + 1.0),
        (lambda m, v: (v * 2.0 + 1.0) * (v * 2.0)),
        (lambda m, v: m.exp(v[:, ::-1]) - v[:, ::-1]),
        (lambda m, v: v + 0.0),
    ]
    for fn in cases:
        y = fn(dnp, x)
        node = realize(y._expr, a.shape)
        values = {id(n): n.cached for n in node.inputs}
        got = eager.evaluate(node.expr, a.shape, values)
        np.testing.assert_allclose(got, fn(np, a), rtol=1e-15)
        assert np.array_equal(a, before) and np.array_equal(np.asarray(x), before)
    assert any(h is not None for h in hits)  # the in-place path did run


def test_vector_dot_of_small_data_is_blas_and_big_is_fused(default_sizes):
    small = np.linspace(0, 1, 500)
    assert dnp.dot(dnp.asarray(small)[:200], dnp.asarray(small)[:200]) == np.dot(
        small[:200], small[:200]
    )
    big = np.linspace(0, 1, 200_000)
    x = dnp.asarray(big)
    total = dnp.dot(x * 2.0, x)  # pending operands: one fused loop, whatever the size
    assert type(total) is dnp.ndarray
    assert float(total) == pytest.approx(np.dot(big * 2.0, big))


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_products_and_norms_of_big_data_vectors_are_numpys(library_tier, dtype):
    """Two 1-D operands in memory: NumPy's dot (BLAS for floats) reads them where they
    lie, one pass, no loop node (tier 0 ran the fused loop as a product and a sum: norm of
    a user's vector 35x NumPy's time); `norm` of data is that dot. Bit for bit NumPy's."""
    a = (np.arange(300_000) % 97).astype(dtype)
    b = a[::-1].copy()
    x, y = dnp.asarray(a), dnp.asarray(b)
    runs = db.stats()["runs"]
    for got, want in (
        (dnp.dot(x, y), np.dot(a, b)),
        (x @ y, a @ b),
        (dnp.linalg.norm(x), np.linalg.norm(a)),
        (dnp.linalg.norm(y[::2]), np.linalg.norm(b[::2])),
    ):
        assert type(got) is not dnp.ndarray  # NumPy's scalar, nothing pending
        assert got.dtype == want.dtype and got == want, (got, want)
    assert db.stats()["runs"] == runs
    before = db.config(strict=True)  # (where every graph compiles: the fused loop)
    try:
        assert type(dnp.dot(x, y)) is dnp.ndarray
    finally:
        db.config(**before)


def test_leading_axis_reduction_native_matches_numpy():
    """x.sum(axis=0) compiles to a vecmerger merged at each row's own positions (checked once
    per row loop): the same values as NumPy, for shapes whose rows split across threads."""
    rng = np.random.default_rng(9)
    for shape in ((2000, 50), (7, 3, 1000), (1, 5)):
        a = rng.random(shape)
        assert_same(lambda m, v: v.sum(axis=0), a, rtol=1e-12)
        assert_same(lambda m, v: v.max(axis=0), a)
    scheduler.wait_for_compiles()


def test_small_inputs_with_big_results_stay_lazy(default_sizes):
    """A call on small NumPy data is NumPy's own only when its RESULT is small: an outer
    product or a broadcast of two small vectors is a big array, which stays lazy and fuses
    with what reads it."""
    rng = np.random.default_rng(2)
    u, v = rng.random(3000), rng.random(2000)
    big = rng.random((3000, 2000))
    outer = dnp.outer(u, v)
    assert type(outer) is dnp.ndarray
    np.testing.assert_allclose(np.asarray(dnp.asarray(big) + outer), big + np.outer(u, v))
    pairs = dnp.subtract(u[:, None], v[None, :])
    assert type(pairs) is dnp.ndarray and pairs.shape == (3000, 2000)
    np.testing.assert_array_equal(np.asarray(pairs), u[:, None] - v[None, :])
    assert type(dnp.subtract(u[:10, None], v[None, :10])) is np.ndarray  # small: NumPy's
    assert type(dnp.outer(u[:10], v[:10])) is np.ndarray


def test_several_small_numpy_inputs_are_a_small_call(default_sizes, monkeypatch):
    """Small is each NumPy argument, not all of them together: `where(c, a, b)` on three rows
    of a big array (together above `eager_below`) is NumPy's own, with no snapshot taken of
    any of them (recording it would copy each, to fuse a result no bigger than one)."""
    from daybreak.frontends.lazy import Param

    n = (1 << 16) // 2 + 1  # two of these are above eager_below together
    rng = np.random.default_rng(4)
    a, b = rng.random(n), rng.random(n)
    c = a < b
    copies = []
    take = Param.snapshot
    monkeypatch.setattr(Param, "snapshot", lambda self: copies.append(self) or take(self))
    got = dnp.where(c, a, b)
    assert type(got) is np.ndarray and not copies
    np.testing.assert_array_equal(got, np.where(c, a, b))
    assert type(dnp.clip(a, b * 0.5, b)) is np.ndarray
    assert type(dnp.hstack([a, b])) is not np.ndarray  # (its result is big: daybreak's)


@pytest.fixture
def library_tier():
    with defaults_outside_tests():
        yield


def test_small_work_on_computed_inputs_runs_at_once_without_a_node(library_tier, monkeypatch):
    """`eager.value_now`: an expression over computed inputs that the cost model keeps in
    the library forever is computed by NumPy without a loop node or the scheduler's walk,
    with NumPy's values and dtypes, counted as a library run; an array sharing the
    expression (a copy) reads the same result, computed once, and keeps it when the first
    array's buffer goes to the user, who may write it."""
    from daybreak.frontends.elements import loops

    # (the model's library pass at its cached cost: the sizes are picked to stay in the library)
    monkeypatch.setattr(scheduler, "LIBRARY_ELEMENT_STREAMED", scheduler.LIBRARY_ELEMENT)
    made = []
    real = loops.ElementwiseLoop.__init__
    monkeypatch.setattr(
        loops.ElementwiseLoop,
        "__init__",
        lambda self, *a, **k: made.append(1) or real(self, *a, **k),
    )
    rng = np.random.default_rng(4)
    # (sizes where the model keeps the work in the library; the strided halves of the 1-D
    # array are big enough to be lazy, not NumPy's small views)
    a, b = rng.random((300, 400)), rng.integers(-5, 5, (300, 400)).astype(np.int32)
    x, y = dnp.array(a), dnp.array(b)
    c = rng.random(140_000)
    z = dnp.array(c)
    cases = [
        (lambda m, p, q: m.logical_and(0.2 <= p, p < 0.7)),
        (lambda m, p, q: p * 2.0 + q),
        (lambda m, p, q: m.where(q > 0, p, -p)),
        (lambda m, p, q: (q * 3) // 2),
        (lambda m, p, q: (z if m is dnp else c)[::2] - (z if m is dnp else c)[1::2]),
        (lambda m, p, q: p.T * q.T[0]),  # transposes and a broadcast row
        (lambda m, p, q: q.astype(np.float32) / 3),
    ]
    for fn in cases:
        db.stats(reset=True)
        made.clear()
        got = fn(dnp, x, y)
        shared = got.copy()
        value = np.asarray(got)
        want = fn(np, a, b)
        assert value.dtype == want.dtype and value.shape == want.shape
        np.testing.assert_allclose(value, want, rtol=1e-12)
        assert db.stats()["library_runs"] == 1 and db.stats()["runs"] == 0
        assert made == []  # no loop node was made
        kept = np.asarray(shared)
        assert db.stats()["library_runs"] == 1 and db.stats()["runs"] == 0  # computed once
        np.testing.assert_array_equal(kept, value)
        assert not np.shares_memory(kept, value)  # (a copy: the user may write `value`)
    assert np.array_equal(a, np.asarray(x)) and np.array_equal(b, np.asarray(y))


def test_work_with_pending_inputs_or_a_native_future_still_goes_to_the_scheduler(library_tier):
    x = dnp.asarray(np.random.default_rng(6).random(100_000))
    pending_sum = x.sum()  # a pending input: the scheduler computes both together
    db.stats(reset=True)
    np.testing.assert_allclose(
        np.asarray(x - pending_sum), np.asarray(x) - float(np.asarray(x).sum())
    )
    heavy = dnp.exp(dnp.sin(x) * dnp.cos(x) + dnp.sqrt(x))  # native code would pay here
    np.testing.assert_allclose(
        np.asarray(heavy),
        np.exp(np.sin(np.asarray(x)) * np.cos(np.asarray(x)) + np.sqrt(np.asarray(x))),
        rtol=1e-12,
    )
    assert db.stats()["library_runs"] >= 1


_CHAIN_OPS = [
    ("add", lambda m, p, q: p + q),
    ("sub_scalar", lambda m, p, q: p - 1.5),
    ("mul_int", lambda m, p, q: p * 3),
    ("less", lambda m, p, q: m.where(p < q, p, q)),
    ("maximum", lambda m, p, q: m.maximum(p, q)),
    ("abs_sqrt", lambda m, p, q: m.sqrt(m.abs(p))),
    ("mask", lambda m, p, q: m.logical_and(p > 0.25, q < 0.75)),
    ("cast", lambda m, p, q: p.astype(np.float32) * 2),
    ("reuse", lambda m, p, q: (lambda t: (t + 1) * t - q)(p * 2)),  # a temporary read twice
]


@settings(max_examples=60, deadline=None)
@example(rows=300, cols=400, chain=[8], dtype=np.float64, seed=1)  # in place, read twice
@example(rows=300, cols=250, chain=[6, 8, 0], dtype=np.int32, seed=2)
@example(rows=300, cols=400, chain=[1, 2, 4, 5], dtype=np.float32, seed=3)  # value_now
@given(
    rows=st.sampled_from([1, 3, 40, 300, 300]),
    cols=st.sampled_from([1, 7, 250, 400]),
    chain=st.lists(st.sampled_from(range(len(_CHAIN_OPS))), min_size=1, max_size=4),
    dtype=st.sampled_from([np.float64, np.float32, np.int64, np.int32]),
    seed=st.integers(0, 2**16),
)
def test_chains_in_every_tier_agree_with_numpy(rows, cols, chain, dtype, seed):
    """Chains of calls on arrays around the eager size (NumPy's own small work, tier 0 with
    and without a node, the scheduler's tiers), with the defaults outside tests: NumPy's
    values and dtypes, whichever path ran."""
    with defaults_outside_tests():
        _check_chain(rows, cols, chain, dtype, seed)


def _check_chain(rows, cols, chain, dtype, seed):
    rng = np.random.default_rng(seed)
    a = (rng.random((rows, cols)) * 4 - 1).astype(dtype)
    b = (rng.random(cols) * 4 - 1).astype(dtype)  # broadcast along rows
    x, y = dnp.asarray(a), dnp.asarray(b)
    db.stats(reset=True)
    want, got = a, x
    for k in chain:
        _, op = _CHAIN_OPS[k]
        with np.errstate(all="ignore"):
            want = op(np, want, b)
        got = op(dnp, got, y)
        if want.dtype == np.bool_:  # a mask: continue from a number
            want, got = want * a, got * x
    value = np.asarray(got)
    assert value.dtype == want.dtype and value.shape == want.shape
    np.testing.assert_allclose(value, want, rtol=1e-6 if want.dtype == np.float32 else 1e-12)
    if a.size >= db.config()["eager_below"]:
        # big enough to be daybreak's: its own path ran (a library run or native code), not
        # NumPy's eager answer; a fallback would have failed `_library_tier`'s allow-list
        ran = db.stats()
        assert type(got) is dnp.ndarray and ran["library_runs"] + ran["runs"] >= 1, ran


def test_numpy_scalars_and_0d_arrays_on_the_left_of_operators():
    """NumPy hands a scalar on the left (`np.float64(0.3) <= x`) to `__array_ufunc__` as a 0-d
    array: it takes the remembered plan like a scalar, with NumPy's dtypes (NEP 50: 0-d
    arrays and NumPy scalars are strong), and its value as it was at the call."""
    a = np.random.default_rng(8).random(100_000)
    x = dnp.asarray(a)
    i8 = np.arange(70_000, dtype=np.int8) % 100
    y = dnp.asarray(i8)
    for s in (np.float64(0.3), np.float32(0.3), np.array(0.3), np.array(2, np.int8), np.int64(3)):
        for op in (lambda p, q: p <= q, lambda p, q: p * q, lambda p, q: q - p):
            want, got = op(s, a), np.asarray(op(s, x))
            assert got.dtype == want.dtype and np.array_equal(got, want), (s, op)
    for s in (np.array(5, np.int8), np.array(300), np.int16(7)):
        want, got = s + i8, np.asarray(s + y)
        assert got.dtype == want.dtype and np.array_equal(got, want), s
    cell = np.array(1.5)
    z = cell * x
    cell[()] = 100.0  # written after the call: the lazy value keeps what it meant
    np.testing.assert_array_equal(np.asarray(z), 1.5 * a)


def _buffer(x):
    return np.asarray(x).__array_interface__["data"][0]


@pytest.mark.parametrize("pending", ["mask_and_blend", "reduction", "none"])
def test_a_write_computes_recent_pending_readers_instead_of_copying(pending):
    """A row written into a computed array that pending values still read (a mask and a blend
    of two rows, then a write of that row: a Python loop over levels) computes those values
    first and writes the buffer in place; they keep the values they had when made."""
    rng = np.random.default_rng(5)
    ref = rng.random((8, 300, 300))
    th = dnp.asarray(ref) + 0.0  # daybreak's own buffer, nothing else reads it
    np.asarray(th)
    where_before = _buffer(th)
    want = ref.copy()
    for k in range(1, 8):
        if pending == "mask_and_blend":
            unstable, mix = th[k] < th[k - 1], 0.5 * (th[k] + th[k - 1])
            want_unstable, want_mix = want[k] < want[k - 1], 0.5 * (want[k] + want[k - 1])
            th[k] = dnp.where(unstable, mix, th[k])
            want[k] = np.where(want_unstable, want_mix, want[k])
            th[k - 1] = dnp.where(unstable, mix, th[k - 1])
            want[k - 1] = np.where(want_unstable, want_mix, want[k - 1])
            assert np.array_equal(np.asarray(unstable), want_unstable)
            assert np.array_equal(np.asarray(mix), want_mix)
        elif pending == "reduction":
            total = (th[k] * 2.0).sum()  # pending, reads row k
            want_total = (want[k] * 2.0).sum()
            th[k] = th[k - 1] + 1.0
            want[k] = want[k - 1] + 1.0
            assert np.isclose(float(total), want_total)
        else:
            th[k] = th[k - 1] + 1.0
            want[k] = want[k - 1] + 1.0
    assert np.array_equal(np.asarray(th), want)
    assert _buffer(th) == where_before  # written in place every time, never copied


def test_a_write_still_copies_when_an_older_pending_value_reads_the_buffer():
    """Only recently made pending values are computed; an older one still reading the buffer
    makes the write copy it, and it keeps its values."""
    ref = np.arange(200_000.0).reshape(2, 100_000)
    a = dnp.asarray(ref) + 0.0
    np.asarray(a)
    old = a[0] * 3.0  # pending
    for _ in range(100):  # push it out of the recent values
        _ = a[1] + 1.0
    a[0] = -1.0
    assert np.array_equal(np.asarray(old), ref[0] * 3.0)
    assert np.array_equal(np.asarray(a)[0], np.full(100_000, -1.0))


def _result(fn, *args):
    return _outcome(lambda: fn(*args))


_KEYS = [
    (3, 5),
    (-1, -2),
    (np.int64(7), 2),
    4,
    -3,
    (slice(2, 9), 1),
    (2, slice(None, 5)),
    (Ellipsis, 3),
    (None, 1, 2),
    (299, 299),
    (300, 0),
    (0, -301),
    (1.5, 2),
    ((1, 2), 3),
]
_VALUES = [2.5, -7, np.float32(1.25), np.int64(9), True, 1e300, 2**70, np.float64("nan")]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["read", "write", "row write"]),
            st.sampled_from(range(len(_KEYS))),
            st.sampled_from(range(len(_VALUES))),
        ),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["float64", "int32"]),
)
def test_element_reads_and_writes_of_computed_arrays_are_numpys(ops, dtype):
    """Element and row reads and scalar writes on a computed array (the fast paths of a
    Python loop) give NumPy's values, dtypes and errors, views writing back included; the
    daybreak array stays daybreak's (it is not a NumPy array in disguise)."""
    ref = (np.arange(90_000) % 97).astype(dtype).reshape(300, 300)
    before = db.config(eager_below=1 << 16)
    try:
        got = dnp.asarray(ref) + 0
        want = ref + 0
        for op, k, v in ops:
            key, value = _KEYS[k], _VALUES[v]
            if op == "read":
                w, g = _result(want.__getitem__, key), _result(got.__getitem__, key)
                if isinstance(w, type):
                    assert g is w, (key, g)
                else:
                    assert np.array_equal(np.asarray(g), w, equal_nan=w.dtype.kind == "f")
                    assert np.asarray(g).dtype == w.dtype
            elif op == "write":
                w = _result(want.__setitem__, key, value)
                g = _result(got.__setitem__, key, value)
                assert (g if isinstance(g, type) else None) is (
                    w if isinstance(w, type) else None
                ), (key, value)
            else:
                row_w, row_g = want[k % 300], got[k % 300]
                w = _result(row_w.__setitem__, v % 300, value)
                g = _result(row_g.__setitem__, v % 300, value)
                assert (g if isinstance(g, type) else None) is (
                    w if isinstance(w, type) else None
                ), (k, value)
            assert type(got) is dnp.ndarray
        assert np.array_equal(np.asarray(got), want, equal_nan=dtype == "float64")
    finally:
        db.config(**before)


def test_a_loop_of_mask_writes_writes_in_place():
    """`N[I] = n` in an escape-time loop: after the first (a lazy blend, which may fuse), each
    write is NumPy's masked write into the computed buffer, not a new blend over the whole
    array; values as NumPy's, masks lazy or NumPy's."""
    rng = np.random.default_rng(11)
    masks = rng.random((12, 300, 300)) < 0.3
    values = rng.random((300, 300))
    got, want = dnp.zeros((300, 300)), np.zeros((300, 300))
    buffers = []
    for n in range(12):
        mask = dnp.asarray(masks[n]) & (dnp.asarray(values) >= 0.0) if n % 2 else masks[n]
        got[mask] = n if n % 3 else np.float64(n) / 7
        want[masks[n]] = n if n % 3 else np.float64(n) / 7
        buffers.append(_buffer(got) if got.concrete() is not None else None)
    assert np.array_equal(np.asarray(got), want)
    assert None not in buffers[1:] and len(set(buffers[1:])) == 1


def test_plans_tell_numpy_0d_operands_from_daybreak_0d_arrays():
    """A plan made for a daybreak 0-d array (whose expression is its own operand) is never
    used for a NumPy 0-d array or scalar of the same dtype, in either order."""
    ufuncs._PLANS.clear()
    for first, second in (
        (dnp.asarray(np.arange(3.0)).sum(), np.array(4.0)),
        (np.float64(9.0), dnp.asarray(np.arange(5.0)).sum()),
    ):
        for x in (first, second, first):
            assert float(np.asarray(dnp.sqrt(x))) == pytest.approx(float(np.sqrt(np.asarray(x))))


_OPERANDS = st.sampled_from(
    [
        np.arange(6, dtype=np.int8),
        np.linspace(-2.0, 2.0, 6),
        np.linspace(-2.0, 2.0, 6).astype(np.float32),
        np.array([True, False, True, True, False, False]),
        np.arange(6, dtype=np.uint8).reshape(2, 3),
        np.arange(3.0),
        np.array(2.5),
        2,
        -3.5,
        True,
        300,
        2**70,
        np.float32(1.5),
        np.int64(-4),
        np.uint8(7),
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(["add", "multiply", "maximum", "true_divide", "power", "less"]),
    x=_OPERANDS,
    y=_OPERANDS,
    unary=st.sampled_from(["tanh", "sqrt", "negative", "absolute", "floor", "logical_not"]),
)
def test_small_ufunc_calls_are_numpys_own(name, x, y, unary):
    """A ufunc called on scalars and small NumPy arrays (a Python loop's calls) returns what
    NumPy returns: the same type, dtype and values, or the same error."""
    for fn, args in ((name, (x, y)), (unary, (x,))):
        before = db.config(eager_below=1 << 16)
        try:
            with np.errstate(all="ignore"):
                want = _outcome(functools.partial(getattr(np, fn), *args))
                got = _outcome(functools.partial(getattr(dnp, fn), *args))
        finally:
            db.config(**before)
        if isinstance(want, type):
            assert got is want, (fn, args)
            continue
        assert type(got) is type(want), (fn, args, type(got))
        assert np.asarray(got).dtype == np.asarray(want).dtype
        np.testing.assert_array_equal(got, want)


_SMALL_CALLS = [
    ("sum", lambda a, b: (a,)),
    ("sum", lambda a, b: (a, 0)),
    ("mean", lambda a, b: (a, 1)),
    ("std", lambda a, b: (a,)),
    ("argmax", lambda a, b: (a,)),
    ("amax", lambda a, b: (a, -1)),
    ("any", lambda a, b: (a,)),
    ("dot", lambda a, b: (a, b.T)),
    ("matmul", lambda a, b: (a, b.T)),
    ("inner", lambda a, b: (a, b)),
    ("outer", lambda a, b: (a, b)),
    ("vdot", lambda a, b: (a, b)),
    ("diff", lambda a, b: (a,)),
    ("roll", lambda a, b: (a, 2)),
    ("ravel", lambda a, b: (a,)),
    ("transpose", lambda a, b: (a,)),
    ("squeeze", lambda a, b: (a,)),
    ("expand_dims", lambda a, b: (a, 0)),
    ("copy", lambda a, b: (a,)),
    ("zeros_like", lambda a, b: (a,)),
    ("hstack", lambda a, b: ((a, b),)),
    ("dot", lambda a, b: (a[0], 3)),
    ("sum", lambda a, b: (3.5,)),
]


@pytest.mark.parametrize("dtype", ["int32", "float64", "bool"])
@pytest.mark.parametrize(("name", "make"), _SMALL_CALLS)
def test_small_calls_of_numpy_functions_are_numpys_own(default_sizes, name, make, dtype):
    """The functions daybreak runs through NumPy for small NumPy data give NumPy's result
    (type, dtype, values) or NumPy's error: the shortcut that skips NumPy's dispatch changes
    nothing."""
    a = np.arange(12).reshape(3, 4).astype(dtype)
    b = (np.arange(12).reshape(3, 4) % 5).astype(dtype)
    args = make(a, b)
    with np.errstate(all="ignore"):
        want = _outcome(functools.partial(getattr(np, name), *args))
        got = _outcome(functools.partial(getattr(dnp, name), *args))
    if isinstance(want, type):
        assert got is want
        return
    assert type(got) is type(want)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [0, 1, None])
def test_arg_reductions_in_the_library_tier_are_one_numpy_call(
    library_tier, monkeypatch, name, axis
):
    """Tier 0 computes an arg-reduction as NumPy's own argmax/argmin of its input (one call),
    not its element form (the extreme, a comparison, a select, another reduction), with
    NumPy's answer: the first position of the extreme, a NaN winning."""
    from daybreak.frontends import sites
    from daybreak.frontends.numpy import reductions

    # (every call of the line recorded: not sampled, `sites.sampled_out`, so `x` is pending)
    monkeypatch.setattr(sites, "SAMPLE_EVERY", 1)
    rng = np.random.default_rng(7)
    a = np.round(rng.normal(size=(300, 400)), 1)  # ties
    a[17, 5] = np.nan
    kernel = reductions._ARG_KERNELS["max" if name == "argmax" else "min"]
    calls = []
    monkeypatch.setitem(
        reductions._ARG_KERNELS,
        "max" if name == "argmax" else "min",
        lambda v, **kw: calls.append(1) or kernel(v, **kw),
    )
    for values in (a, np.nan_to_num(a)):
        x = dnp.array(values) * 1.0  # pending: the arg-reduction reads an expression
        calls.clear()
        db.stats(reset=True)
        got = np.asarray(getattr(dnp, name)(x, axis=axis))
        want = getattr(np, name)(values, axis=axis)
        assert got.dtype == want.dtype and got.shape == np.shape(want)
        np.testing.assert_array_equal(got, want)
        assert db.stats()["runs"] == 0 and calls == [1]


@pytest.mark.parametrize("name", ["sum", "mean", "max", "argmax", "std", "dot", "vdot", "inner"])
def test_reductions_and_products_are_numpys_functions_that_dispatch_to_daybreak(name):
    """`dnp.sum` is `numpy.sum` itself (`NUMPY_OWN`): on NumPy data, NumPy's call with
    nothing in between; with a daybreak array among the arguments, NumPy's
    `__array_function__` dispatch hands the call to daybreak, whose lazy value is computed
    by a compiled program (this test runs under strict mode with `eager_below=0`)."""
    from daybreak.frontends.numpy import NUMPY_OWN

    assert name in NUMPY_OWN and getattr(dnp, name) is getattr(np, name)
    data = np.linspace(-1.0, 1.0, 3000)
    args = (data, data) if name in ("dot", "vdot", "inner") else (data,)
    want = getattr(np, name)(*args)
    runs = db.stats()["runs"]
    numpys = getattr(dnp, name)(*args)
    assert type(numpys) is type(want) and numpys == want
    assert db.stats()["runs"] == runs  # NumPy's own: nothing of daybreak's ran
    x = dnp.asarray(data) * 1.0
    got = getattr(dnp, name)(*((x, x) if len(args) == 2 else (x,)))
    assert type(got) is dnp.ndarray  # daybreak's lazy value
    assert float(got) == pytest.approx(float(want), rel=1e-12)
    assert db.stats()["runs"] > runs


# Keys of every kind NumPy takes, made per library (`lib` is NumPy or daybreak.numpy;
# `arr` the array written): the fast write of a Python loop takes any key NumPy takes.
_ANY_KEYS = [
    lambda lib, arr: (3, 5),
    lambda lib, arr: (slice(2, 9), 1),
    lambda lib, arr: [1, 5, 5],
    lambda lib, arr: np.array([3, 0, 7, 3]),
    lambda lib, arr: (np.array([1, 2]), np.array([3, 4])),
    lambda lib, arr: (slice(None), [0, 299]),
    lambda lib, arr: np.arange(90_000).reshape(300, 300) % 7 == 0,
    lambda lib, arr: lib.asarray(np.array([2, 4])),  # daybreak's computed array
    lambda lib, arr: lib.arange(6) * 2,  # a pending daybreak array
    lambda lib, arr: arr > 50,  # a pending mask reading the array written
    lambda lib, arr: arr[0].astype(np.int64) % 300,  # positions read from the array itself
    lambda lib, arr: (lib.asarray(np.int64(4)), 7),  # a 0-d array as an integer
    lambda lib, arr: ([400], 0),  # out of bounds: NumPy's IndexError
    lambda lib, arr: (np.array([1.5]), 0),  # floats: NumPy's IndexError
]


# Keys of a write through a row view (None: an element, `k % 300`)
_ROW_KEYS = [None, [1, 5, 5], np.array([3, 0, 7]), slice(2, 9), np.arange(300) % 5 == 0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["write", "keep", "view", "view write"]),
            st.sampled_from(range(len(_ANY_KEYS))),
            st.sampled_from(range(len(_VALUES))),
            st.booleans(),
        ),
        min_size=1,
        max_size=10,
    ),
    st.sampled_from(["float64", "int32"]),
    st.booleans(),
)
def test_writes_with_any_key_into_computed_arrays_are_numpys(ops, dtype, users_memory):
    """Writes of scalars and NumPy data into a computed array with keys of every kind
    (advanced, masks, daybreak arrays computed and pending, ones reading the array itself)
    give NumPy's values and errors, in the user's memory too; lazy values made before a
    write and views taken of the array see what NumPy's would."""
    ref = (np.arange(90_000) % 97).astype(dtype).reshape(300, 300)
    user = ref.copy()
    got = dnp.asarray(user) if users_memory else dnp.asarray(ref) + 0
    want = user.copy()
    got[0, 0] = want[0, 0] = 1  # computed, and seen by the fast path
    kept, views = [], []
    for op, k, v, as_array in ops:
        value = np.array(_VALUES[v] if v < 4 else 3) if as_array else _VALUES[v]
        if op == "write":
            w = _result(want.__setitem__, _ANY_KEYS[k](np, want), value)
            g = _result(got.__setitem__, _ANY_KEYS[k](dnp, got), value)
            assert (g if isinstance(g, type) else None) is (w if isinstance(w, type) else None), (
                k,
                value,
            )
        elif op == "keep":
            kept.append((got * 2, want * 2))
        elif op == "view":
            views.append((got[k % 300], want[k % 300]))
        elif views:
            view_g, view_w = views[-1]
            row_key = _ROW_KEYS[v % len(_ROW_KEYS)]
            view_w[row_key if row_key is not None else k % 300] = 5
            view_g[row_key if row_key is not None else k % 300] = 5
        assert type(got) is dnp.ndarray
    nan = dtype == "float64"
    assert np.array_equal(np.asarray(got), want, equal_nan=nan)
    if users_memory:
        assert np.array_equal(user, want, equal_nan=nan)  # NumPy's `asarray(user)` is `user`
    for g, w in kept + views:
        assert np.array_equal(np.asarray(g), w, equal_nan=nan)


@pytest.mark.parametrize("dtype", ["int32", "uint8"])
@pytest.mark.parametrize("state", ["computed", "read by a pending value", "pending"])
def test_written_values_convert_as_numpy_converts_them_for_each_key_kind(dtype, state):
    """NumPy converts a NumPy scalar strictly for basic keys (`a[1] = np.float64("nan")`
    raises for integers) and as a 0-d array, unsafely, for advanced ones (a mask, positions:
    it wraps, with a warning); Python scalars strictly always; and it converts the value
    before it checks advanced positions' bounds. Daybreak's lazy writes (a target something
    else reads, or one still pending) convert alike, with the same first error."""
    values = [np.float64("nan"), np.int64(2**40), np.array(np.nan), np.float64(1e300)]
    values += [float("nan"), 2**40, -7, np.float32(1.25)]
    keys = [
        lambda lib, x: [1, 2],
        lambda lib, x: slice(1, 3),
        lambda lib, x: 1,
        lambda lib, x: np.array([True, False, True] + [False] * 99_997),
        lambda lib, x: x > 40,
        lambda lib, x: (np.array([0, 1]),),
        lambda lib, x: [],
        lambda lib, x: np.zeros(100_000, bool),
        lambda lib, x: [100_000],  # out of bounds: NumPy converts the value first
        lambda lib, x: np.array([1.5]),  # not positions: NumPy's IndexError first
    ]
    for value in values:
        for which, key in enumerate(keys):
            ref = (np.arange(100_000) % 97).astype(dtype)
            want = ref.copy()
            got = dnp.asarray(ref) * 1 if state == "pending" else dnp.asarray(ref) + 0
            if state != "pending":
                np.asarray(got)  # computed
            kept = got + 0 if state == "read by a pending value" else None
            w = _result(want.__setitem__, key(np, want), value)
            g = _result(got.__setitem__, key(dnp, got), value)
            assert (g if isinstance(g, type) else None) is (w if isinstance(w, type) else None), (
                value,
                which,
                state,
            )
            if not isinstance(w, type):
                assert np.array_equal(np.asarray(got), want), (value, state)
            if kept is not None:
                assert np.array_equal(np.asarray(kept), ref)


def test_bincount_of_computed_positions_is_numpys_own(library_tier):
    """`bincount` of computed positions (and weights) is NumPy's own call, one library run:
    nothing fuses into the counts, and the compiled path's range pass (a minimum and a
    maximum) would read the positions twice more. NumPy's values, dtypes and errors."""
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 3000, 200_000)
    weights = rng.random(200_000)
    k, w = dnp.asarray(keys), dnp.asarray(weights)
    for args, kwargs in [((k,), {}), ((k,), {"weights": w, "minlength": 5000})]:
        db.stats(reset=True)
        got = np.asarray(dnp.bincount(*args, **kwargs))
        assert db.stats()["library_runs"] == 1 and db.stats()["runs"] == 0
        numpy_kwargs = {**kwargs, "weights": weights} if kwargs else {}
        want = np.bincount(keys, **numpy_kwargs)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="negative"):
        dnp.bincount(dnp.asarray(keys - 1))


@pytest.mark.parametrize(
    "numbers",
    [(70_000,), (3, 70_003), (-5.5, 60_000.0, 0.75), (70_000, 0, -1), (0.0, 7.0, 1e-4)],
)
@pytest.mark.parametrize("dtype", [None, np.float32, np.int32])
def test_ranges_computed_in_the_library_are_numpys(library_tier, numbers, dtype):
    """A large `arange` computed in the library (tier 0) has NumPy's values and dtype: the
    positions in one pass (NumPy's own arange), then `start + i * delta` in the result type
    unless it is 0 + i * 1."""
    if dtype is np.int32 and any(type(v) is float for v in numbers):
        return  # (NumPy's int32 range of float bounds: its own rounding, not ours to test)
    db.stats(reset=True)
    got = np.asarray(dnp.arange(*numbers, dtype=dtype))
    want = np.arange(*numbers, dtype=dtype)
    assert db.stats()["library_runs"] == 1 and db.stats()["runs"] == 0
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_bincount_of_pending_positions_runs_in_the_library_first(library_tier):
    """`bincount` of pending positions (`ix * ny + iy`) not seen before: the range (a minimum
    and a maximum of the positions' expression, with a stride-0 index in their loops) and
    the counts run in the library while the program would compile, with NumPy's values (a
    library failure there made the call compile and wait, ~0.3 s)."""
    scheduler.forget()
    rng = np.random.default_rng(8)
    u, v = rng.normal(0.5, 0.2, 300_000), rng.normal(0.5, 0.2, 300_000)

    def counts(m, u, v):
        ix, iy = m.floor(u * 256).astype(np.int64), m.floor(v * 256).astype(np.int64)
        inside = (ix >= 0) & (ix < 256) & (iy >= 0) & (iy < 256)
        return m.bincount(ix[inside] * 256 + iy[inside], minlength=65_536)

    db.stats(reset=True)
    got = np.asarray(counts(dnp, dnp.asarray(u), dnp.asarray(v)))
    assert db.stats()["runs"] == 0 and db.stats()["compiles"] == 0
    assert db.stats()["library_runs"] >= 1
    np.testing.assert_array_equal(got, counts(np, u, v))


def test_a_loops_ufunc_on_numpys_arrays_uses_its_plan_and_keeps_numpys_semantics(
    library_tier, monkeypatch
):
    """A ufunc called again and again on the user's NumPy arrays (a loop's mask of NumPy's
    comparisons): after its first call the plan answers NumPy's dtype and shape questions
    (no `lookup` of the ufunc again), and a lazy value made from the arrays keeps what they
    held when it was made, whatever the user writes after."""
    made = []
    real = ufuncs.lookup
    monkeypatch.setattr(ufuncs, "lookup", lambda u: made.append(u) or real(u))
    rng = np.random.default_rng(9)
    r = rng.random(100_000)
    values = []
    for i in range(40):
        a, b = i / 40 <= r, r < (i + 1) / 40
        mask = dnp.logical_and(a, b)
        kept = dnp.add(r, 1.0)
        r_before = r.copy()
        r[i] = -1.0  # the user writes the array a lazy value may read
        values.append((np.asarray(mask), np.asarray(kept), a & b, r_before + 1.0))
    assert len(made) <= 2  # (the first call of each ufunc; later calls use the plans)
    for mask, kept, want_mask, want_kept in values:
        np.testing.assert_array_equal(mask, want_mask)
        np.testing.assert_array_equal(kept, want_kept)


def test_index_of_an_array_of_a_dimension_raises_numpys_error_without_computing(library_tier):
    """`operator.index` of an array of a dimension is NumPy's TypeError, raised before anything
    is computed (NumPy's own indexing asks it of every key: `data[mask]` with a pending mask
    computed it there once more); a 0-d array's is its integer; NumPy's selection by such a
    mask is NumPy's."""
    import operator

    data = np.random.default_rng(10).random(100_000)
    for shape in [(100_000,), (1,), (1, 1)]:
        pending = dnp.asarray(np.arange(float(np.prod(shape))).reshape(shape)) * 2.0 + 1.0
        if shape == (100_000,):
            assert pending.concrete() is None  # (the small ones are NumPy's own at once)
        db.stats(reset=True)
        with pytest.raises(TypeError, match="only integer scalar arrays"):
            operator.index(pending)
        assert db.stats()["runs"] == 0 and db.stats()["library_runs"] == 0
    assert operator.index(dnp.asarray(np.array(3)) * 2) == 6
    mask = dnp.asarray(data) > 0.5
    np.testing.assert_array_equal(data[mask], data[data > 0.5])


@pytest.mark.parametrize("size", [3_000, 200_000])
def test_a_ufunc_into_a_numpy_out_of_data_writes_it_in_place(library_tier, size):
    """`np.add(x, y, out=o)` with `o` a NumPy array and `x`, `y` data already (NumPy arrays,
    computed daybreak arrays, numbers): NumPy's ufunc writes `o` itself, a library run, no
    fallback (it was computed into a buffer of daybreak's, then copied in: 3.7x NumPy's time
    at 2 * 10^5 doubles). A pending value that read `o` before keeps `o`'s old values; a
    pending input is computed, then written in."""
    rng = np.random.default_rng(size)
    a, b = rng.random(size), rng.random(size)
    computed = dnp.asarray(a.copy()) * 1.0
    np.asarray(computed)  # (computed now: data, no longer pending)
    for ufunc, inputs in [
        (np.add, (a, b)),
        (np.multiply, (computed, 2.5)),
        (np.exp, (b,)),
        (np.logical_not, (a > 0.5,)),
        (np.subtract, (a, computed)),
    ]:
        want = ufunc(*[np.asarray(x) for x in inputs])
        out = np.zeros_like(want)
        db.stats(reset=True)
        tracemalloc.start()
        got = getattr(dnp, ufunc.__name__)(*inputs, out)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        stats = db.stats()
        assert peak < want.nbytes // 2, peak  # (no result buffer of its own)
        assert got is out
        np.testing.assert_array_equal(out, want)
        # (small NumPy arrays are NumPy's own, uncounted: `small_numpy_call`)
        runs = int(size >= db.config()["eager_below"])
        assert stats["fallbacks"] == {} and stats["library_runs"] == runs, stats
        out[...] = 0
        before = dnp.asarray(out) + 1.0  # (pending, reading `out` as it is now)
        assert getattr(dnp, ufunc.__name__)(*inputs, out) is out
        np.testing.assert_array_equal(out, want)
        np.testing.assert_array_equal(np.asarray(before), np.ones(size))
    pending = dnp.asarray(a.copy()) * 3.0 + 1.0
    out = np.zeros(size)
    db.stats(reset=True)
    assert dnp.sqrt(pending, out=out) is out
    np.testing.assert_allclose(out, np.sqrt(a * 3.0 + 1.0), rtol=1e-15)
    assert db.stats()["fallbacks"] == {}


def test_joins_and_pads_of_data_are_numpys_copies(library_tier):
    """`concatenate`, `stack`, `vstack`, `pad` (and `cov`, `convolve`) of parts that are
    data (the user's arrays, computed arrays): NumPy's own call at once, one library run,
    no node (a select per element, by NumPy in tier 0 or native, was 1.7x-40x slower);
    values, dtypes and errors NumPy's. A pending part stays lazy (it fuses)."""
    rng = np.random.default_rng(8)
    a, b = rng.random((300, 400)), rng.integers(-5, 5, (300, 400)).astype(np.int32)
    computed = dnp.asarray(a.copy()) * 1.0
    np.asarray(computed)
    cases = [
        lambda m, x, y: m.concatenate([x, y]),
        lambda m, x, y: m.concatenate([x, y], axis=1),
        lambda m, x, y: m.concatenate([x, y], axis=None),
        lambda m, x, y: m.stack([x, y], axis=2),
        lambda m, x, y: m.vstack([x, y[:7]]),
        lambda m, x, y: m.hstack((x, x)),
        lambda m, x, y: m.pad(x, 2),
        lambda m, x, y: m.pad(y, ((1, 2), (3, 0)), mode="edge"),
        lambda m, x, y: m.pad(x, 1, constant_values=2.5),
    ]
    for case in cases:
        for x in (dnp.asarray(a.copy()), computed):
            db.stats(reset=True)
            got = case(dnp, x, dnp.asarray(b.copy()))
            stats = db.stats()
            assert type(got) is dnp.ndarray and got.concrete() is not None  # data already
            assert stats["library_runs"] == 1 and stats["fallbacks"] == {}, stats
            _equal(got, case(np, a, b))
    for kwargs in ({}, {"rowvar": False}, {"bias": True}, {"ddof": 3}):  # cov: NumPy's too
        db.stats(reset=True)
        got = dnp.cov(dnp.asarray(a.copy()), **kwargs)
        assert db.stats()["library_runs"] == 1 and db.stats()["fallbacks"] == {}
        _equal(got, np.cov(a, **kwargs))
    got = dnp.cov(dnp.asarray(a[0].copy()), dnp.asarray(a[1].copy()))
    _equal(got, np.cov(a[0], a[1]))
    v = a.reshape(-1)
    for mode in ("full", "same", "valid"):  # convolve of data: NumPy's too
        db.stats(reset=True)
        got = dnp.convolve(dnp.asarray(v.copy()), np.array([0.25, 0.5, 0.25]), mode)
        assert db.stats()["library_runs"] == 1 and db.stats()["fallbacks"] == {}
        _equal(got, np.convolve(v, [0.25, 0.5, 0.25], mode))
    with pytest.raises(ValueError):
        dnp.concatenate([dnp.asarray(a.copy()), dnp.asarray(b[:, :7].copy())])
    big = rng.random((2000, 1000))  # (work native code pays for: it stays pending)
    pending = dnp.exp(dnp.asarray(big.copy()) * 1.0 + 1.0)
    assert pending.concrete() is None
    joined = dnp.concatenate([pending, dnp.asarray(big.copy())])
    assert joined.concrete() is None  # (a pending part: it fuses with what reads it)
    _equal(joined, np.concatenate([np.exp(big * 1.0 + 1.0), big]))


def test_counts_of_masks_and_any_of_masks(library_tier, monkeypatch):
    """A boolean array's sum to an integer dtype (`mask.sum()`, `np.sum(mask, axis=0)`,
    `count_nonzero`) is `np.count_nonzero` in the library (NumPy's sum casts each element
    first), computed or pending (tier 0's kernel); any/all of a boolean array reduce it
    without a pass of `!= 0` first. NumPy's values and dtypes."""
    counted = []
    real = np.count_nonzero
    monkeypatch.setattr(np, "count_nonzero", lambda *a, **k: counted.append(1) or real(*a, **k))
    rng = np.random.default_rng(9)
    a = rng.random((400, 300))
    cases = [
        lambda m, x: (x > 0.5).sum(),
        lambda m, x: m.sum(x > 0.5, axis=0),
        lambda m, x: (x > 0.5).sum(axis=1, keepdims=True),
        lambda m, x: (x > 0.5).sum(dtype=np.int8),
        lambda m, x: (x > 0.5).sum(dtype=np.float32),
        lambda m, x: m.count_nonzero(x > 0.25, axis=1),
        lambda m, x: m.count_nonzero(x * 2 > 0.25),
        lambda m, x: (x * 2 > 1.5).any(axis=0),
        lambda m, x: (x > 0.999).all(),
    ]
    for case in cases:
        counted.clear()
        got = case(dnp, dnp.asarray(a.copy()))
        _equal(got, case(np, a))
        assert db.stats()["fallbacks"] == {}
        uses_count = "sum" in repr(case.__code__.co_names) or "count" in repr(
            case.__code__.co_names
        )
        assert bool(counted) == (uses_count and "float32" not in repr(case.__code__.co_names))
    mask = dnp.asarray(a.copy()) > 0.5
    np.asarray(mask)  # (data now: the count of NumPy's data, `_counted`)
    for count in (
        lambda m, k: k.sum(),
        lambda m, k: m.sum(k, axis=0),
        lambda m, k: k.sum(axis=1, dtype=np.int16),
        lambda m, k: m.count_nonzero(k),
    ):
        counted.clear()
        _equal(count(dnp, mask), count(np, a > 0.5))
        assert counted


def test_a_gather_of_a_part_of_the_users_memory_is_numpys_at_once(library_tier):
    """`a[idx]`, `np.take(a, idx)` with `idx` positions of a quarter of the user's array or
    fewer, and `np.trace` of the user's matrix: NumPy's selection (or sum) now, no snapshot
    of the whole buffer (it was copied, 8 MB, for each call's 0.8 MB result until the guards
    came); later writes to `a` do not change it. More positions than that, or a computed
    array, stay a lazy gather."""
    rng = np.random.default_rng(10)
    a = rng.random(400_000)
    idx = rng.integers(-a.size, a.size, 100_000)
    for case in (lambda m, x: x[idx], lambda m, x: m.take(x, idx), lambda m, x: x[idx] * 2 + 1):
        x = dnp.asarray(a.copy())
        db.stats(reset=True)
        got = case(dnp, x)
        stats = db.stats()
        assert stats["snapshots_copied"] == stats["snapshots_guarded"] == 0, stats
        x[...] = -1.0  # (the user's write: the result was read before it)
        _equal(got, case(np, a))
    m = a.reshape(500, 800)
    for offset in (0, 3, -2):
        x = dnp.asarray(m.copy())
        db.stats(reset=True)
        got = dnp.trace(x, offset)
        assert db.stats()["snapshots_copied"] == db.stats()["snapshots_guarded"] == 0
        _equal(got, np.trace(m, offset))
    many = rng.integers(0, a.size, 300_000)
    x = dnp.asarray(a.copy())
    got = x[many]
    assert got.concrete() is None
    x[...] = -1.0
    _equal(got, a[many])


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 7), min_size=1, max_size=3),
    shift=st.integers(-20, 20),
    axis=st.integers(0, 2),
    computed=st.booleans(),
)
def test_tier0_reads_rolls_and_joins_by_slices(shape, shift, axis, computed):
    """Tier 0 of a read at a piecewise coordinate (a roll along one axis; each part of a
    join of a pending part) is NumPy's slices of the vector (`IndexedRead.evaluate_sliced`),
    not positions, `where`s and a `take`: NumPy's values, with the read computed by it."""
    from daybreak.frontends.elements import remap

    sliced = []
    real = remap.IndexedRead.evaluate_sliced

    def noted(self, *args):
        found = real(self, *args)
        sliced.append(found is not None)
        return found

    # (strict mode would compile at once: no tier 0 to test; instead any fallback fails)
    before = db.config(eager_below=0, strict=False, compile_in_background=True)
    try:
        with pytest.MonkeyPatch.context() as patch, allowed_fallbacks(r"(?!)"):
            patch.setattr(scheduler, "PAYBACK", float("inf"))  # (tier 0 only: no compile)
            patch.setattr(remap.IndexedRead, "evaluate_sliced", noted)
            _rolls_and_joins(shape, shift, axis, computed)
    finally:
        db.config(**before)
    assert any(sliced), sliced


def _rolls_and_joins(shape, shift, axis, computed):
    axis = axis % len(shape)
    a = np.random.default_rng(abs(shift)).random(tuple(n * 3 for n in shape))
    x = dnp.asarray(a.copy())
    if computed:
        x = x * 1.0
        np.asarray(x)
    rolled = np.asarray(dnp.roll(x, shift, axis) + 1.0)
    np.testing.assert_array_equal(rolled, np.roll(a, shift, axis) + 1.0)
    pending = x * 2.0
    joined = np.asarray(dnp.concatenate([pending, x], axis=axis) + 1.0)
    np.testing.assert_array_equal(joined, np.concatenate([a * 2.0, a], axis=axis) + 1.0)


def _equal(got, want) -> None:
    """`got` (daybreak's) is NumPy's `want`: a scalar where NumPy's is one (or daybreak's
    pending 0-d value), the dtype, the shape and every value (NaN equal NaN)."""
    if isinstance(want, np.generic):
        assert isinstance(got, np.generic) or type(got) is dnp.ndarray and not got.ndim, got
    got, want = np.asarray(got), np.asarray(want)
    assert (got.dtype, got.shape) == (want.dtype, want.shape), (got.dtype, got.shape, want.dtype)
    np.testing.assert_array_equal(got, want)
