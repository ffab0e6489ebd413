"""Indexing and item assignment of daybreak.numpy against NumPy, on generated shapes, dtypes,
keys and values: values, dtypes and shapes must agree, and bad keys must raise NumPy's
exception types."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import daybreak as db
import daybreak.numpy as dnp

from .helpers import assert_same
from .test_differential import DTYPES, arrays

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)
cases = st.tuples(st.sampled_from(DTYPES), shapes).flatmap(
    lambda ds: st.tuples(arrays(*ds), st.just(ds[1]))
)


# No program runs, by design, where daybreak hands NumPy's own value back: a 0-d input stays
# NumPy's under `dnp.asarray` (so `x[key]` is NumPy's indexing), one element read from a
# computed array is a NumPy scalar, and a write into a computed array is NumPy's (it stays
# computed). `expect_native=` below says where a test meets these.
def program_reads(a):
    """`expect_native=` for reading `x[key]` of the computed array `a`: a program runs unless
    `a` is 0-d or the result is one element."""
    return lambda result: a.ndim > 0 and np.ndim(result) > 0


def same_values(m, x):
    """An expression with the values and dtype of `x` (so keys also push through work)."""
    return m.where(x == x, x, x)


@settings(max_examples=60)
@given(data=st.data(), case=cases, through_expression=st.booleans())
def test_basic_indexing(data, case, through_expression):
    a, shape = case
    key = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    if through_expression:
        assert_same(lambda m, x: same_values(m, x)[key], a)
    else:
        assert_same(lambda m, x: x[key], a, expect_native=program_reads(a))


@settings(max_examples=40)
@given(data=st.data(), case=cases)
def test_chained_slices_and_indices(data, case):
    a, shape = case
    first = data.draw(hnp.basic_indices(shape, allow_newaxis=True))
    second = data.draw(hnp.basic_indices(np.empty(shape)[first].shape, allow_newaxis=True))
    # x[first] of one element is a NumPy scalar: what follows is NumPy's indexing.
    assert_same(
        lambda m, x: (x[first] if np.ndim(x[first]) else x[first])[second],
        a,
        expect_native=program_reads(a) if np.ndim(a[first]) else False,
    )


bad_items = st.one_of(
    st.integers(-12, 12), st.just(1.5), st.just(Ellipsis), st.none(), st.slices(6)
)


@settings(max_examples=40)
@given(case=cases, key=st.lists(bad_items, min_size=1, max_size=5).map(tuple))
def test_error_parity_for_bad_keys(case, key):
    a, _ = case
    assert_same(lambda m, x: x[key], a, expect_native=program_reads(a))


@settings(max_examples=40)
@given(data=st.data(), case=cases)
def test_integer_array_gathers(data, case):
    a, shape = case
    if not shape or 0 in shape:
        return
    key = data.draw(
        hnp.integer_array_indices(
            shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)
        )
    )
    assert_same(lambda m, x: x[key], a)


@settings(max_examples=40)
@given(data=st.data(), case=cases)
def test_one_index_array_among_slices(data, case):
    a, shape = case
    if not shape or 0 in shape:
        return
    axis = data.draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    index = np.array(data.draw(st.lists(st.integers(-n, n - 1), max_size=6)), dtype=np.intp)
    key = (slice(None),) * axis + (index,)
    if data.draw(st.booleans()):
        key = key[:-1] + (index.reshape(-1, 1) if index.size else index,)
    assert_same(lambda m, x: same_values(m, x)[key], a)
    assert_same(lambda m, x: x[list(index)] if len(shape) == 1 else x[key], a)


@settings(max_examples=30)
@given(data=st.data(), case=cases)
def test_boolean_masks(data, case):
    a, shape = case
    mask = data.draw(hnp.arrays(np.bool_, shape))
    # A NumPy mask over computed data is NumPy's own selection, by design (one pass, like
    # its matrix products: indexing._numpy_selection); over a pending value it is a gather
    # fused into the value's loop, compiled.
    assert_same(lambda m, x: x[mask], a, expect_native=False)
    assert_same(lambda m, x: same_values(m, x)[m.asarray(mask)], a)
    if shape:
        row_mask = data.draw(hnp.arrays(np.bool_, shape[:1]))
        assert_same(lambda m, x: x[row_mask], a, expect_native=False)
        assert_same(lambda m, x: same_values(m, x)[row_mask], a)
        last_mask = data.draw(hnp.arrays(np.bool_, shape[-1:]))
        assert_same(lambda m, x: x[..., last_mask], a)


def test_out_of_bounds_and_mask_errors_are_numpys():
    x = dnp.asarray(np.arange(12.0).reshape(3, 4))
    with pytest.raises(IndexError, match="out of bounds"):
        x[3]
    with pytest.raises(IndexError, match="out of bounds"):
        x[:, -5]
    with pytest.raises(IndexError, match="out of bounds"):
        x[np.array([0, 7])]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="boolean index did not match"):
        x[np.ones(4, bool)]
    with pytest.raises(IndexError):
        x[1.0]


def value_for(draw, region, dtype):
    """A value assignable to a region: a Python scalar, or an array broadcasting to it."""
    if draw(st.booleans()):
        return draw(st.sampled_from([0, 1, 3, True] + ([2.5, -0.5] if dtype.kind == "f" else [])))
    shape = tuple(n if draw(st.booleans()) else 1 for n in region)
    shape = shape[draw(st.integers(0, len(shape))) :]
    return draw(arrays(draw(st.sampled_from(DTYPES)), shape))


@settings(max_examples=60)
@given(data=st.data(), case=cases, pending=st.booleans())
def test_basic_item_assignment(data, case, pending):
    """Into a copy of a computed array (NumPy writes it, by design: it stays computed) and into
    a pending one (daybreak's lazy assignment, or a small write after computing it once)."""
    a, shape = case
    key = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    region = np.empty(shape)[key].shape
    value = value_for(data.draw, region, a.dtype)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and a.dtype.kind in "iub":
        value = np.nan_to_num(np.clip(value, -100, 100)).astype(np.int8)  # C casts of inf

    def assign(m, x):
        y = same_values(m, x) if pending else x.copy()
        y[key] = m.asarray(value) if isinstance(value, np.ndarray) else value
        return y + 0 if y.dtype != np.bool_ else y

    # A write into a computed array (the copy; a 0-d one is NumPy's own array) is NumPy's, by
    # design, and a 0-d pending array written whole is the value itself: then only `+ 0` runs
    # a program, and nothing follows for bool.
    # An array written over the whole of a pending bool array IS the new value (its data):
    # nothing is left to compute.
    whole = isinstance(value, np.ndarray) and value.size == a.size == int(np.prod(region))
    if a.dtype != np.bool_:
        native = pending or a.ndim > 0
    else:
        native = pending and a.ndim > 0 and not whole
    assert_same(assign, a, expect_native=native)


@settings(max_examples=40)
@given(data=st.data(), case=cases, pending=st.booleans())
def test_advanced_item_assignment(data, case, pending):
    a, shape = case
    if not shape or 0 in shape:
        return
    if data.draw(st.booleans()):
        key = data.draw(hnp.arrays(np.bool_, shape))
    else:
        key = data.draw(hnp.integer_array_indices(shape))
    region = np.empty(shape)[key].shape
    value = (
        data.draw(st.sampled_from([0, 1]))
        if data.draw(st.booleans())
        else data.draw(arrays(a.dtype, region))
    )

    def assign(m, x):
        y = same_values(m, x) if pending else x.copy()
        y[key] = value
        return y

    # Writes into a computed array (the copy) are NumPy's, by design: no program.
    assert_same(assign, a, expect_native=pending)


@pytest.mark.parametrize("view", [False, True], ids=["whole", "strided view"])
def test_advanced_assignment_into_a_pending_array_computes_it_and_writes_in_place(view):
    """`y[positions] = v` with `y` pending: `y` is computed once and NumPy writes the
    positions in place (repeated positions: the last value; negative ones from the end), and
    a lazy value made from `y` before the store keeps the old values. A strided view of a
    pending array reads its positions lazily instead (NumPy's table of which value lands
    where), with the same values."""
    base = np.linspace(-1.0, 1.0, 4000)
    # (a whole permutation, `ranks[order] = arange(n)`: not a small write, which any key
    # computes first)
    order = np.random.default_rng(3).permutation(1800)
    positions = np.concatenate([order, [5, -1, 7, 5, 1999, 0, 7]])
    values = np.arange(positions.size) * 10.0

    def program(m, x):
        y = (x * 2.0 + 1.0)[::2] if view else x * 2.0 + 1.0
        before = y * 1.0
        y[positions] = values
        return y, before

    want = program(np, base)
    x = dnp.asarray(base.copy())
    got = program(dnp, x)
    assert (got[0].concrete() is None) is view
    for mine, theirs in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.asarray(mine), theirs)
    with pytest.raises(IndexError):
        y = x * 2.0
        y[np.array([4000])] = 1.0


def test_mask_assignment_stays_lazy_and_fuses():
    x = dnp.array(np.linspace(-1, 1, 1000))
    y = x * 2
    y[y < 0] = 0  # where(y < 0, 0, y): nothing computed yet
    assert type(y) is dnp.ndarray and y.concrete() is None
    want = np.linspace(-1, 1, 1000) * 2
    want[want < 0] = 0
    np.testing.assert_array_equal(np.asarray(y), want)


def test_stencil_assignment_is_lazy_and_one_loop_per_step():
    db.stats(reset=True)
    u = dnp.array(np.arange(36.0).reshape(6, 6)) * 1.0  # pending: writes stay lazy
    for _ in range(3):
        u[1:-1, 1:-1] = 0.25 * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])
    assert u.concrete() is None and not db.stats()["fallbacks"]
    want = np.arange(36.0).reshape(6, 6)
    for _ in range(3):
        want[1:-1, 1:-1] = 0.25 * (
            want[:-2, 1:-1] + want[2:, 1:-1] + want[1:-1, :-2] + want[1:-1, 2:]
        )
    np.testing.assert_allclose(np.asarray(u), want, rtol=1e-15)


def test_assignment_errors_are_numpys():
    x = dnp.asarray(np.zeros((3, 4), np.int8))
    with pytest.raises(ValueError, match="could not broadcast"):
        x[:2] = np.ones(3)
    with pytest.raises(OverflowError):
        x[1:] = 1000
    with pytest.raises(ValueError):
        x[0:2] = np.nan
    with pytest.raises(IndexError):
        x[5] = 1


def test_in_place_operator_on_a_slice():
    x = dnp.asarray(np.arange(10.0))
    x[2:5] += 10
    x[::3] *= -1
    want = np.arange(10.0)
    want[2:5] += 10
    want[::3] *= -1
    np.testing.assert_array_equal(np.asarray(x), want)


def test_views_read_the_same_elements():
    a = dnp.asarray(np.arange(24).reshape(2, 3, 4))
    assert a[..., ::-1][:, None, 1:, ::2].shape == (2, 1, 2, 2)
    assert dnp.asarray(np.arange(5))[4] == 4 and type(a[1, 2, 3]) is np.int64


def test_writes_through_views_reach_their_base():
    def script(m, a):
        a = a.copy()
        a[0][1] = 50  # chained indexing
        row = a[1]
        row += 100  # in place on a view
        a.T[3] = -1
        a[:, ::2][1:] *= 2
        a[1:] += 1
        v = a.T[1:]
        v[0, 0] = 7
        return a

    assert_same(script, np.arange(12.0).reshape(3, 4))


def test_in_place_slice_operator_assigns_once():
    from daybreak.frontends.elements.expr import count_applies

    a = dnp.asarray(np.arange(10.0))
    a[1:] += 1
    once = count_applies(a._expr)
    b = dnp.asarray(np.arange(10.0))
    v = b[1:]
    v += 1
    assert count_applies(b._expr) == once


@settings(max_examples=30)
@given(
    positions=hnp.arrays(
        np.int64,
        hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=6),
        elements=st.integers(-3, 120_000),
    ),
    dtype=st.sampled_from([np.int64, np.int32, np.uint32, np.intp]),
)
def test_a_few_positions_of_a_computed_vector_at_the_default_settings(positions, dtype):
    """`x[cols]` of a CSR row (a few positions of a big computed vector, the subscript's own
    fast path at the default `eager_below`): NumPy's gather, values, dtype and shape, as
    NumPy's own small array (no program), and NumPy's IndexError past the end."""
    from daybreak.runtime.config import Settings

    positions = (np.abs(positions) if np.dtype(dtype).kind == "u" else positions).astype(dtype)
    data = np.linspace(-1.0, 1.0, 100_000)
    before = db.config(eager_below=Settings().eager_below)
    try:
        x = dnp.exp(dnp.asarray(data))  # (a computed daybreak vector, not the user's memory)
        np.asarray(x)
        assert type(x) is dnp.ndarray
        want = np.exp(data)
        if positions.size and positions.max() >= data.size:
            with pytest.raises(IndexError):
                x[positions]
            return
        got = x[positions]
        assert type(got) is type(want[positions])
        np.testing.assert_array_equal(got, want[positions])
    finally:
        db.config(**before)


_BIG_KEYS = {
    "positions": lambda r: (r.integers(-8000, 8000, 6000),),
    "2-D positions": lambda r: (r.integers(-8000, 8000, (60, 100)),),
    "columns": lambda r: (slice(None), r.integers(-80, 80, 5000)),
    "strided rows, columns": lambda r: (slice(1, None, 3), r.integers(0, 80, 5000)),
    "new axis, rows": lambda r: (None, r.integers(-100, 100, 5000)),
    "ellipsis, columns": lambda r: (Ellipsis, r.integers(-80, 0, 5000)),
    "mask": lambda r: (r.random((100, 80)) < 0.6,),
    "unsigned positions": lambda r: (r.integers(0, 8000, 6000).astype(np.uint32),),
}


@pytest.mark.parametrize("pending", [False, True], ids=["users", "pending"])
@pytest.mark.parametrize("name", list(_BIG_KEYS))
def test_big_keys_of_one_array_are_numpys_selection(name, pending):
    """A key holding one array of 4,096 elements or more (positions, negative ones too, or a
    mask) among slices and new axes: the result's shape comes from the key's bounds, not
    from a selection of a stand-in (`indexing._one_array_selection`), and negative positions
    count from the end in the loop. NumPy's values, shapes and dtypes, flat or reshaped."""
    a = np.arange(8000.0).reshape(100, 80)
    key = _BIG_KEYS[name](np.random.default_rng(7))
    if len(key) == 1 and key[0].dtype != np.bool_:
        a = a.reshape(-1)  # (flat positions)
    x = dnp.asarray(a.copy())
    got = (x * 1.5 if pending else x)[key]
    want = (a * 1.5 if pending else a)[key]
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(np.asarray(got), want)


@pytest.mark.parametrize(
    "key",
    [
        np.concatenate([np.arange(5000), [8000, -9000]]),
        np.concatenate([np.arange(5000), [-8001, 8000]]),
        (slice(None), np.full(5000, 80)),
        np.ones((100, 79), bool),
    ],
    ids=["past the end", "before the start", "a column past the end", "a mask's shape"],
)
def test_big_keys_out_of_bounds_raise_numpys_error(key):
    """Bounds found by a key's minimum and maximum: out of bounds, NumPy's own error for the
    first bad position (the key asked of NumPy then)."""
    a = np.arange(8000.0) if not isinstance(key, tuple) and key.dtype != bool else None
    a = np.arange(8000.0).reshape(100, 80) if a is None else a
    with pytest.raises(IndexError) as theirs:
        a[key]
    for x in (dnp.asarray(a.copy()), dnp.asarray(a.copy()) * 2.0):
        with pytest.raises(IndexError) as mine:
            x[key]
        assert str(mine.value) == str(theirs.value)
