"""`X[region] = value` computed into the region itself (`assignment._computed_into`,
`scheduler.write_into`, the LLVM backend's destinations): the program computing the pending
`value` writes the region of X's buffer instead of a buffer of its own that is then copied
in. Generated regions (any basic slices of 1-D to 3-D arrays, of the user's memory or of
daybreak's own), values reading other arrays or X itself, statements repeated in a loop as
time steps repeat them: X must hold NumPy's values after every statement, the value must
keep its own (later writes of the region do not change it), and the region is written in
place where nothing the value reads lies in it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import daybreak as db
import daybreak.numpy as dnp


@st.composite
def regions(draw):
    ndim = draw(st.integers(1, 3))
    sides = {1: (2000, 6000), 2: (60, 90), 3: (12, 30)}[ndim]
    shape = tuple(draw(st.integers(*sides)) for _ in range(ndim))
    key = []
    for n in shape:
        start = draw(st.integers(0, 3))
        stop = n - draw(st.integers(0, 3))
        step = draw(st.sampled_from([1, 1, 1, 2]))
        key.append(slice(start, stop, step))
    return shape, tuple(key)


def _value(np_, s, x, key, reads_target: bool, k: float):
    """A stencil-like value of the region's shape: shifted reads of `s` (and of `x` itself)."""
    shifted = tuple(
        slice(k.start + 1, k.stop + 1, k.step) if k.stop + 1 <= n else k
        for k, n in zip(key, s.shape, strict=True)
    )
    out = s[key] * k + np_.sqrt(s[shifted] + 1.0)
    if reads_target:
        out = out + x[key] * 0.5
    return out


@settings(max_examples=40, deadline=None)
@given(regions(), st.booleans(), st.booleans(), st.integers(0, 2**31))
def test_regions_written_in_place_agree_with_numpy(region, borrowed, reads_target, seed):
    shape, key = region
    rng = np.random.default_rng(seed)
    s0, x0 = rng.random(shape), rng.random(shape)
    s_np, x_np = s0.copy(), x0.copy()
    wrap = dnp.asarray if borrowed else dnp.array
    s, x = wrap(s0.copy()), wrap(x0.copy())
    db.stats(reset=True)
    kept = []
    for step in range(5):
        k = 0.5 + step
        v_np = _value(np, s_np, x_np, key, reads_target, k)
        x_np[key] = v_np
        v = _value(dnp, s, x, key, reads_target, k)
        x[key] = v
        kept.append((v, v_np.copy()))
        np.testing.assert_array_equal(np.asarray(x), x_np)
    x[...] = -1.0  # the region written again: the values keep their own
    for v, want in kept:
        np.testing.assert_array_equal(np.asarray(v), want)
    if len(shape) == 1 and key[0].step == 1 and not reads_target:
        # a map into a contiguous region (the first runs compile, then it writes in place;
        # what an N-D value's loop writes in place depends on the loop the frontend makes:
        # rows of a strided region, `test_a_time_step_writes_the_interior_in_place`)
        assert db.stats()["written_in_place"] >= 2


def test_a_value_reading_the_region_is_not_written_into_it():
    """The program would write the region while reading it: `write_into` declines (the
    value is computed on its own and copied in, as NumPy's right-hand side is first)."""
    from daybreak.frontends import scheduler

    x = dnp.array(np.random.default_rng(5).random(5000))
    for _ in range(3):  # known and native
        np.asarray(x[1:] * 2.0 + x[:-1])
    buffer = x.concrete()  # (its buffer, not handed out: values read it, not a snapshot)
    db.stats(reset=True)
    for region in (buffer[:-1], buffer[1:], buffer[2000 : 2000 + 4999 - 2000]):
        value = x[1:] * 2.0 + x[:-1]
        if region.shape == value.shape:
            assert not scheduler.write_into(value._lazy_node(), region)
    other = np.zeros(4999)
    value = x[1:] * 2.0 + x[:-1]
    assert scheduler.write_into(value._lazy_node(), other)
    np.testing.assert_array_equal(other, x.concrete()[1:] * 2.0 + x.concrete()[:-1])
    assert db.stats()["written_in_place"] == 1


@pytest.mark.parametrize("wrap", [dnp.asarray, dnp.array], ids=["users", "daybreaks"])
def test_a_time_step_writes_the_interior_in_place(wrap):
    """jacobi_2d's statements: B's interior from A's neighbours and back, on the user's
    arrays or daybreak's own; both hold NumPy's values, and from the second step on no value
    is copied in. (Daybreak's own arrays were computed and copied in: the write asked whether
    anything else read B while holding a reference to B's node itself.)"""
    rng = np.random.default_rng(3)
    a0, b0 = rng.random((120, 130)), rng.random((120, 130))
    a_np, b_np = a0.copy(), b0.copy()
    a, b = wrap(a0), wrap(b0)
    db.stats(reset=True)
    for _ in range(6):
        for p, q in ((a_np, b_np), (a, b)):
            q[1:-1, 1:-1] = 0.2 * (
                p[1:-1, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] + p[2:, 1:-1] + p[:-2, 1:-1]
            )
            p[1:-1, 1:-1] = 0.2 * (
                q[1:-1, 1:-1] + q[1:-1, :-2] + q[1:-1, 2:] + q[2:, 1:-1] + q[:-2, 1:-1]
            )
    np.testing.assert_array_equal(np.asarray(a), a_np)
    np.testing.assert_array_equal(np.asarray(b), b_np)
    if wrap is dnp.asarray:
        np.testing.assert_array_equal(a0, a_np)  # the user's arrays themselves
        np.testing.assert_array_equal(b0, b_np)
    assert db.stats()["written_in_place"] >= 8


def test_updates_of_the_users_memory_are_one_program():
    """`x[r] op= v` on the user's arrays with `v` pending (fdtd_2d's `ey[1:, :] -= 0.5 *
    (hz[1:, :] - hz[:-1, :])`): one program reads the old `x[r]` and `v`'s inputs and writes
    `x[r]`; the user's arrays hold NumPy's values after every step, also where `v` reads
    `x` elsewhere than where it writes (`u[1:-1] += 0.1 * (u[2:] - u[:-2])`: `v` reads
    the snapshot of `x`, filled before the write)."""
    rng = np.random.default_rng(7)
    ey0, hz0, u0 = rng.random((90, 110)), rng.random((90, 110)), rng.random(6000)
    ey_np, hz_np, u_np = ey0.copy(), hz0.copy(), u0.copy()
    ey, hz, u = dnp.asarray(ey0), dnp.asarray(hz0), dnp.asarray(u0)
    db.stats(reset=True)
    for step in range(6):
        for np_, (e, h) in ((np, (ey_np, hz_np)), (dnp, (ey, hz))):
            e[1:, :] -= 0.5 * (h[1:, :] - h[:-1, :])
            h[:-1, :-1] *= 1.0 + 0.01 * (e[1:, :-1] - e[:-1, :-1])
            e[:, 1:] += np_.sqrt(h[:, 1:] + 1.0) * float(step)
        np.testing.assert_array_equal(ey0, ey_np)  # the user's arrays themselves
        np.testing.assert_array_equal(hz0, hz_np)
    assert (
        db.stats()["written_in_place"] >= 6
    )  # (the first runs compile, then the statements are one program each)
    for _ in range(6):
        u_np[1:-1] += 0.1 * (u_np[2:] - u_np[:-2])
        u[1:-1] += 0.1 * (u[2:] - u[:-2])
        np.testing.assert_array_equal(u0, u_np)
