"""Shape operations, joining and products of daybreak.numpy against NumPy on generated
shapes and dtypes: values, dtypes and shapes must agree, and bad arguments must raise NumPy's
exception types."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import daybreak as db
import daybreak.numpy as dnp

from .helpers import assert_same
from .test_differential import DTYPES, arrays

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
cases = st.tuples(st.sampled_from(DTYPES), shapes).flatmap(
    lambda ds: st.tuples(arrays(*ds), st.just(ds[1]))
)


def maybe_expression(m, x, through):
    """`x` itself, a transposed read of it, or an expression with its values and dtype."""
    if through == "transposed":
        return m.transpose(m.transpose(x))
    return m.where(x == x, x, x) if through == "expression" else x


throughs = st.sampled_from(["plain", "transposed", "expression"])


def computes(a, through) -> bool:
    """`expect_native=` for a shape operation on `maybe_expression(m, a, through)`: no program
    runs, by design, for a 0-d `a` unless it went through an expression (`dnp.asarray` keeps a
    0-d array as NumPy's own, and a transposed read of it is that one element)."""
    return a.ndim > 0 or through == "expression"


@st.composite
def target_shapes(draw, size):
    """A shape of `size` elements (sometimes with one -1), or a bad one."""
    if draw(st.integers(0, 9)) == 0:
        return (size + 1,)
    dims, left = [], size
    for _ in range(draw(st.integers(0, 3))):
        factor = draw(st.sampled_from([d for d in range(1, 5) if left % d == 0] or [1]))
        dims.append(factor)
        left //= factor
    dims.append(left)
    dims = draw(st.permutations(dims))
    if size and draw(st.booleans()):
        dims[draw(st.integers(0, len(dims) - 1))] = -1
    return tuple(dims)


@settings(max_examples=50)
@given(data=st.data(), case=cases, through=throughs)
def test_reshape_ravel_flatten(data, case, through):
    a, shape = case
    target = data.draw(target_shapes(math.prod(shape)))
    order = data.draw(st.sampled_from(["C", "C", "F"]))
    assert_same(lambda m, x: maybe_expression(m, x, through).reshape(target, order=order), a)
    assert_same(lambda m, x: m.reshape(maybe_expression(m, x, through), target), a)
    assert_same(lambda m, x: m.ravel(x.T), a)
    assert_same(lambda m, x: x[..., ::-1].flatten(), a)


@settings(max_examples=50)
@given(data=st.data(), case=cases, through=throughs)
def test_axis_permutations(data, case, through):
    a, shape = case
    ndim = len(shape)
    perm = data.draw(st.permutations(range(ndim)))
    axes = (
        data.draw(st.lists(st.integers(-ndim - 1, ndim), min_size=2, max_size=2))
        if ndim
        else [0, 0]
    )
    assert_same(
        lambda m, x: maybe_expression(m, x, through).transpose(perm),
        a,
        expect_native=computes(a, through),
    )
    assert_same(
        lambda m, x: maybe_expression(m, x, through).T, a, expect_native=computes(a, through)
    )
    assert_same(lambda m, x: m.swapaxes(x, *axes), a)
    assert_same(lambda m, x: m.moveaxis(x, axes[0], axes[1]), a)
    assert_same(lambda m, x: x.transpose(axes), a)  # mostly NumPy's errors


@settings(max_examples=40)
@given(data=st.data(), case=cases)
def test_squeeze_and_expand_dims(data, case):
    a, shape = case
    ndim = len(shape)
    axis = data.draw(st.none() | st.integers(-ndim - 1, ndim))
    # A 0-d result is the one element of the computed input: read, not computed.
    assert_same(
        lambda m, x: m.squeeze(x[:, None] if ndim else x, axis=axis),
        a,
        expect_native=lambda result: result.ndim > 0,
    )
    assert_same(lambda m, x: m.expand_dims(x, axis if axis is not None else (0, -1)), a)


@settings(max_examples=50)
@given(data=st.data(), case=cases, through=throughs)
def test_roll(data, case, through):
    a, shape = case
    ndim = len(shape)
    shift = data.draw(st.integers(-7, 7))
    axis = data.draw(st.none() | st.integers(-ndim, ndim - 1)) if ndim else None
    assert_same(
        lambda m, x: m.roll(maybe_expression(m, x, through), shift, axis=axis),
        a,
        expect_native=computes(a, through),
    )
    if ndim >= 2:
        assert_same(lambda m, x: m.roll(x, (shift, 1), axis=(0, -1)), a)


@settings(max_examples=40)
@given(case=cases, n=st.integers(0, 2), axis=st.integers(-3, 2), ends=st.booleans())
def test_diff(case, n, axis, ends):
    a, shape = case
    if ends and shape:
        assert_same(
            lambda m, x: m.diff(x, n=n, axis=axis, prepend=x.dtype.type(1), append=x[..., :1]), a
        )
    else:
        assert_same(lambda m, x: m.diff(x, n=n, axis=axis), a)


@st.composite
def joinable(draw):
    """Two to four arrays whose shapes agree except along one axis (sometimes not)."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        part_shape = list(shape)
        part_shape[axis] = draw(st.integers(0, 3))
        if draw(st.integers(0, 19)) == 0:
            part_shape = part_shape[1:]
        parts.append(draw(arrays(draw(st.sampled_from(DTYPES)), tuple(part_shape))))
    return parts, axis


@settings(max_examples=50)
@given(case=joinable(), through=throughs)
def test_concatenate(case, through):
    parts, axis = case

    def join(m, *xs):
        return m.concatenate([maybe_expression(m, x, through) for x in xs], axis=axis)

    assert_same(join, *parts)
    assert_same(lambda m, *xs: m.concatenate(xs, axis=None), *parts)


@settings(max_examples=30)
@given(case=cases, count=st.integers(1, 3), axis=st.integers(-4, 3))
def test_stack_vstack_hstack(case, count, axis):
    a, shape = case
    copies = [a] * count
    assert_same(lambda m, *xs: m.stack(xs, axis=axis), *copies)
    assert_same(lambda m, *xs: m.vstack(xs), *copies)
    assert_same(lambda m, *xs: m.hstack(xs), *copies)


def test_join_errors_are_numpys():
    for bad in (
        [],
        [np.ones(2), np.ones((2, 2))],
        [np.ones((2, 3)), np.ones((3, 2))],
        [np.float64(1.0)],
    ):
        assert_same(lambda m, *xs: m.concatenate(xs), *bad)
    assert_same(lambda m, x, y: m.stack([x, y]), np.ones(2), np.ones(3))


NUMERIC = [d for d in DTYPES]


@settings(max_examples=40)
@given(data=st.data(), da=st.sampled_from(NUMERIC), db_=st.sampled_from(NUMERIC))
def test_dot_and_matmul(data, da, db_):
    n, k, p = (data.draw(st.integers(0, 4)) for _ in range(3))
    kind = data.draw(st.sampled_from(["vv", "mv", "vm", "mm", "bad"]))
    left = {"vv": (k,), "mv": (n, k), "vm": (k,), "mm": (n, k), "bad": (n, k + 1)}[kind]
    right = {"vv": (k,), "mv": (k,), "vm": (k, p), "mm": (k, p), "bad": (k, p)}[kind]
    a = data.draw(arrays(da, left))
    b = data.draw(arrays(db_, right))
    if a.dtype.kind == "f":
        a = np.nan_to_num(a, posinf=3.0, neginf=-3.0)
    if b.dtype.kind == "f":
        b = np.nan_to_num(b, posinf=3.0, neginf=-3.0)
    rtol = 1e-4 if np.result_type(a, b).kind == "f" else None
    # Products with a matrix are NumPy's kernel (BLAS) on purpose, not a fallback: no program
    # runs for them on computed operands (see frontends/numpy/linalg.py); vector . vector is a
    # fused loop.
    vectors = a.ndim == b.ndim == 1
    assert_same(lambda m, x, y: x @ y, a, b, rtol=rtol, expect_native=vectors)
    assert_same(lambda m, x, y: m.dot(x, y), a, b, rtol=rtol, expect_native=vectors)
    assert_same(lambda m, x, y: m.matmul(x, y), a, b, rtol=rtol, expect_native=vectors)
    if a.ndim == b.ndim == 1:
        assert_same(lambda m, x, y: m.outer(x, y), a, b)


def test_vector_dot_is_fused_and_matrix_products_are_not_fallbacks():
    db.stats(reset=True)
    x = dnp.asarray(np.linspace(0, 1, 500))
    total = dnp.dot(x * 2, x + 1)
    assert "1 pass over the data" in db.explain(total)
    np.testing.assert_allclose(
        float(total), np.dot(np.linspace(0, 1, 500) * 2, np.linspace(0, 1, 500) + 1)
    )
    w = np.random.default_rng(0).normal(size=(500, 3))
    y = dnp.maximum(x @ w + 1.0, 0.0)
    assert type(y) is dnp.ndarray and y.shape == (3,)
    assert db.stats()["fallbacks"] == {}
    with pytest.raises(ValueError, match="not aligned"):
        dnp.dot(x, dnp.ones(3))
    with pytest.raises(ValueError, match="mismatch"):
        x @ dnp.ones(3)
