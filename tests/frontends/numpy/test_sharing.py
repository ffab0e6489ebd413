"""Work shared between lazy values instead of recomputed: equal pending reductions of one
expression are one node (`expr.pending_reduction`), a pending loop takes up what other
programs computed since it was made (`_ExprNode.refresh`), and a broadcast operand read
inside a reduction is read at the loop's position, not through per-axis divisions
(`Coords.flat_term`). Each is checked for the values (NumPy's) and for the mechanism (the
graph, or the program text)."""

from __future__ import annotations

import numpy as np
import pytest

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends.lazy import topological

from .helpers import daybreak_input


def _pending(value) -> list:
    """The pending nodes materialising `value` would compute."""
    return [n for n in topological([value._lazy_node()]) if not n.is_leaf]


def _field(seed=0, shape=(6, 5, 7)):
    return np.random.default_rng(seed).normal(size=shape)


def test_mean_and_std_share_the_mean():
    a = _field()
    x = daybreak_input(a)
    mean, std = x.mean(axis=0), x.std(axis=0)
    (total,) = [n for n in _pending(mean) if n.op == "+"]
    assert total in _pending(std)  # std's mean IS the mean's sum node
    np.testing.assert_allclose(np.asarray(std), a.std(axis=0), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(mean), a.mean(axis=0), rtol=1e-12)


def test_max_and_argmax_share_the_maximum():
    a = _field(1)
    x = daybreak_input(a)
    top, where = x.max(axis=1), x.argmax(axis=1)
    assert top._held.node in _pending(where)
    np.testing.assert_array_equal(np.asarray(where), a.argmax(axis=1))
    np.testing.assert_array_equal(np.asarray(top), a.max(axis=1))


def test_a_computed_reduction_is_not_shared_again():
    """Only pending reductions are shared: once computed, its buffer may be written in place
    by its owner, so a new call makes a new node."""
    a = _field(2)
    x = daybreak_input(a)
    first = x.sum(axis=0)
    np.asarray(first)
    second = x.sum(axis=0)
    assert second._held.node is not first._held.node
    first[0, 0] = 1e9  # the owner writes its buffer
    np.testing.assert_allclose(np.asarray(second), a.sum(axis=0), rtol=1e-12)


def test_a_pending_loop_reads_what_was_computed_since():
    """`2.5 * sd` inside `anom > 2.5 * sd` got a loop of its own over sd's whole expression
    when it was recorded; once sd is computed, that loop reads sd instead of recomputing sd
    and the reductions under it."""
    a = _field(3)
    x = daybreak_input(a)
    clim = x.mean(axis=0)
    sd = x.std(axis=0)
    extreme = (dnp.abs(x - clim) > 2.5 * sd).sum(axis=0)
    (broadcast,) = [n for n in _pending(extreme) if n.shape == (5, 7)]
    assert not all(i.is_leaf for i in broadcast.inputs)  # it reads the sum of squares
    db.evaluate(sd)  # computed, its buffer kept daybreak's (`np.asarray` hands it out: below)
    assert broadcast in _pending(extreme)
    assert all(i.is_leaf for i in broadcast.inputs)  # now: sd's value
    expected = (np.abs(a - a.mean(axis=0)) > 2.5 * a.std(axis=0)).sum(axis=0)
    np.testing.assert_array_equal(np.asarray(extreme), expected)


def test_a_buffer_handed_out_is_not_read_by_a_pending_loop_the_user_may_write_it():
    """`np.asarray(sd)` hands sd's buffer to the user, who may write it; a pending loop that
    took up sd's value (the `2.5 * sd` loop above) reads that very buffer, so it is computed
    first. (Before, sd's array read a new node over the buffer, which the check for pending
    readers did not find: the user's write changed `extreme`.)"""
    a = _field(3)
    x = daybreak_input(a)
    clim, sd = x.mean(axis=0), x.std(axis=0)
    extreme = (dnp.abs(x - clim) > 1.0 * sd).sum(axis=0)
    handed = np.asarray(sd)
    handed[...] = 0.0  # the user's own buffer now
    expected = (np.abs(a - a.mean(axis=0)) > 1.0 * a.std(axis=0)).sum(axis=0)
    assert (expected < a.shape[0]).all()  # (read as 0, sd would count every sample)
    np.testing.assert_array_equal(np.asarray(extreme), expected)
    assert not np.asarray(sd).any()  # the array is the user's buffer


def test_a_write_into_a_computed_array_is_not_seen_by_a_pending_value_made_before():
    """`p = x * 2 + 1` over a pending `x`, then a write through a view of `x`: the write
    computes `x` first (a small region) and writes its buffer, which `p`'s loop reads once
    `x` is computed; so the write counts `p` as a reader and does not write in place under
    it. (Before, `x` read a new node over the buffer: `p` saw the write.)"""
    x = dnp.arange(100_000.0) * 1.0
    p = x * 2.0 + 1.0
    view = x[10:5000]
    view += 1.0
    expected = np.arange(100_000.0)
    np.testing.assert_array_equal(np.asarray(p), expected * 2.0 + 1.0)
    expected[10:5000] += 1.0
    np.testing.assert_array_equal(np.asarray(x), expected)


def test_a_reduction_reads_a_computed_vector_whole():
    """`area.mean()` over a computed `area` reads area's vector, not area's expression."""
    a = _field(4)
    x = daybreak_input(a)
    area = x.mean(axis=2).sum(axis=1) / 3.0
    centred = dnp.sum(area - area.mean())
    np.asarray(area)
    assert len(_pending(centred)) <= 2  # the mean of area and the sum: nothing under area
    expected = np.sum(a.mean(axis=2).sum(axis=1) / 3.0 - (a.mean(axis=2).sum(axis=1) / 3.0).mean())
    np.testing.assert_allclose(float(centred), expected, rtol=1e-9, atol=1e-12)


def test_a_broadcast_operand_is_read_at_the_loop_position():
    a = _field(5, (8, 6, 9))
    x = daybreak_input(a)
    squares = ((x - x.mean(axis=0)) ** 2).sum(axis=0)
    text = db.explain(squares).split("== after")[0]
    reads = [line for line in text.splitlines() if "lookup(" in line]
    assert reads and not any("%" in line for line in reads), text
    np.testing.assert_allclose(
        np.asarray(squares), ((a - a.mean(axis=0)) ** 2).sum(axis=0), rtol=1e-12
    )


def test_a_scalar_factor_moves_out_of_a_product():
    """`alpha * A @ x` is `alpha * (A @ x)`: NumPy's kernel reads A itself, and no pass makes
    the scaled matrix (values equal to NumPy's up to rounding)."""
    rng = np.random.default_rng(6)
    a, b, v = rng.normal(size=(50, 40)), rng.normal(size=(40, 30)), rng.normal(size=40)
    A, B, x = daybreak_input(a), daybreak_input(b), daybreak_input(v)
    cases = (
        (lambda: 2.5 * A @ x, 2.5 * a @ v),
        (lambda: A @ (x * 0.5), a @ (v * 0.5)),
        (lambda: dnp.dot(A * 3.0, B), np.dot(a * 3.0, b)),
    )
    for make, expected in cases:
        before = db.stats()
        got = make()
        after = db.stats()
        # the scaled operand was never computed: only the product ran (NumPy's kernel, one
        # library run)
        assert after["runs"] == before["runs"]
        assert after["library_runs"] == before["library_runs"] + 1
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12)


def test_writes_through_asarray_reach_the_users_array():
    """`np.asarray(u)` is `u` in NumPy, so writing through it writes `u`; daybreak writes the
    user's buffer in place too (no copy) while nothing lazy reads it, and a lazy value made
    from it before the write keeps the values it was made with."""
    u = np.zeros((300, 400))
    a = dnp.asarray(u)
    a[3, 3] = 7.0
    a[5] = np.arange(400.0)
    a[6, :] = 2.5
    assert u[3, 3] == 7.0 and u[5, 7] == 7.0 and (u[6] == 2.5).all()
    before = a * 2.0  # lazy: made from the values as they are now
    a_again = dnp.asarray(u)
    a_again[3, 3] = -1.0  # the user's buffer again (a new borrow of it)
    assert u[3, 3] == -1.0
    assert float(np.asarray(before)[3, 3]) == 14.0


@pytest.mark.parametrize("seed", range(4))
def test_random_writes_into_computed_arrays_and_their_hand_outs(seed):
    """A computed array rebound, written in place (elements, slices, through a view, `*=`),
    handed out with `np.asarray` and written by the user through that, while lazy values
    (elementwise and reductions) made from it are pending: every value NumPy's, against a
    NumPy mirror of the same script."""
    rng = np.random.default_rng(seed)
    n = 50_000
    x, mirror = dnp.arange(float(n)) * 1.0, np.arange(float(n))
    handed = handed_mirror = None
    pending = []
    for step in range(60):
        op = int(rng.integers(10))
        j = int(rng.integers(n))
        if op == 0:
            pending.append((x * 2.0 + 1.0, mirror * 2.0 + 1.0))
        elif op == 1:
            handed, handed_mirror = np.asarray(x), mirror
        elif op == 2 and handed is not None:
            handed[j], handed_mirror[j] = step, step
        elif op == 3:
            x, mirror = x + 1.0, mirror + 1.0
        elif op == 4:
            x[j], mirror[j] = -step, -step
        elif op == 5:
            view, view_mirror = x[10:5000], mirror[10:5000]
            view += 1.0
            view_mirror += 1.0
        elif op == 6:
            pending.append(((x[::3] * 3.0).sum(), (mirror[::3] * 3.0).sum()))
        elif op == 7:
            x[100:200], mirror[100:200] = 7.0, 7.0
        elif op == 8:
            x *= 0.5
            mirror *= 0.5
        else:
            for got, expected in pending:
                np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12)
            pending.clear()
            np.testing.assert_array_equal(np.asarray(x), mirror)
    for got, expected in pending:
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(x), mirror)
