"""NumPy's aliasing, kept: `x = np.asarray(u)` IS the user's array `u` (writes through `x`,
its views and in-place ufuncs change `u`, and `x` reads what `u` holds), a lazy value means
what its inputs held at the line that made it (it reads a snapshot of the user's memory,
`Param.snapshot`), and a buffer handed out by `np.asarray(b)` is the user's to write from then
on (`ndarray._handed_out`). Each script runs once with NumPy and once with daybreak.numpy on
equal data; the user's arrays and every value kept must agree, and daybreak's values must be
its own (lazy arrays; the conftest's strict mode fails any fallback)."""

from __future__ import annotations

import weakref

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends.lazy import Param

# every test twice: snapshots held by write guards, and copied (conftest.snapshot_kinds)
pytestmark = pytest.mark.usefixtures("snapshot_kinds")

N = 1000


def _agree(script):
    """Run `script(np, u)` with both libraries on equal `u`; compare `u` and the results."""
    mine, theirs = numpy.linspace(0.0, 1.0, N), numpy.linspace(0.0, 1.0, N)
    got = script(dnp, mine)
    want = script(numpy, theirs)
    numpy.testing.assert_array_equal(mine, theirs, err_msg="the user's array")
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        numpy.testing.assert_array_equal(numpy.asarray(g), w, err_msg=f"result {k}")
    return got


def _write_element(np, u):
    x = np.asarray(u)
    y = x + 1
    x[0] = 5.0  # u[0] is 5; y was made before
    return y, x


def _write_slice_of_pending(np, u):
    x = np.asarray(u)
    x[1:-1] = np.arange(N - 2.0) * 2
    return (x,)


def _write_through_a_view(np, u):
    x = np.asarray(u)
    v = x[1:]
    x[1] = 3.0
    return v * 1, v


def _in_place_operator(np, u):
    x = np.asarray(u)
    y = x * 2
    x += 1.0
    x *= y  # reads the new x and the old one's double
    return y, x


def _ufunc_out(np, u):
    x = np.asarray(u)
    np.multiply(x, 3.0, out=x)
    x[1:] += x[:-1]
    return (x,)


def _time_loop(np, u):
    x = np.asarray(u)
    for _ in range(3):
        x[1:-1] = 0.5 * (x[:-2] + x[2:]) + 1.0
    return (x,)


def _user_write_read_back(np, u):
    x = np.asarray(u)
    y = x + 1  # a lazy value made before the user's write
    u[0] = 7.0  # NumPy's own write: x is u, so x sees it; y does not
    return y, x, x[0] * 1


def _user_write_between_lazy_values(np, u):
    x = np.asarray(u)
    y = x + 1
    u[0] = 7.0  # the snapshot y reads no longer holds what u holds: the next one is new
    return y, x + 2


def _copy_is_not_an_alias(np, u):
    x = np.asarray(u)
    c1, c2 = x.copy(), np.array(x)
    x[0] = 9.0
    return c1, c2, x


def _transpose_of_the_user_array(np, u):
    x = np.asarray(u.reshape(40, 25))
    t = x.T
    s = t * 2
    x[0, 1] = 7.0
    return s, t


def _handed_out_before_a_reader(np, u):
    b = np.asarray(u) + 1  # a computed (lazy) array, not the user's
    h = numpy.asarray(b)
    c = b * 2  # made after the hand-out: reads the buffer as it is now
    h[0] = 100.0  # the user writes the buffer b is
    return c, b, h


def _handed_out_after_a_reader(np, u):
    b = np.asarray(u) + 1
    c = b * 2  # pending, reads b's buffer
    h = numpy.asarray(b)
    h[0] = 100.0
    return c, b


def _write_after_hand_out(np, u):
    b = np.asarray(u) + 1
    h = numpy.asarray(b)
    b += 1  # NumPy's b is h: the write shows in h
    b[3] = -1.0
    return b, h


SCRIPTS = [
    _write_element,
    _write_slice_of_pending,
    _write_through_a_view,
    _in_place_operator,
    _ufunc_out,
    _time_loop,
    _user_write_read_back,
    _user_write_between_lazy_values,
    _copy_is_not_an_alias,
    _transpose_of_the_user_array,
    _handed_out_before_a_reader,
    _handed_out_after_a_reader,
    _write_after_hand_out,
]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda f: f.__name__.strip("_"))
def test_aliasing_as_numpy(script):
    _agree(script)


def test_the_user_array_is_daybreaks_and_lazy_values_read_one_snapshot():
    u = numpy.arange(float(4 * N))  # (32 KB: whole pages for a guard, wherever it starts)
    x = dnp.asarray(u)
    y, z = x * 2, x + 1  # two lazy values: one copy of u between them
    assert type(y) is dnp.ndarray and y.concrete() is None
    (ys,), (zs,) = y._expr.args[:1], z._expr.args[:1]
    assert ys.node is zs.node and not numpy.shares_memory(ys.node.cached, u)
    x[0] = -1.0  # daybreak writes u in place...
    assert u[0] == -1.0 and (x * 1)._expr.args[0].node is not ys.node  # ...and snapshots anew
    assert float(y[0]) == 0.0 and float(z[0]) == 1.0


# A random script of the operations above over one user array, run by both libraries.
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("element"), st.integers(0, N - 1), st.floats(-4, 4)),
        st.tuples(
            st.just("slice"), st.integers(0, N // 2), st.integers(N // 2, N), st.floats(-4, 4)
        ),
        st.tuples(st.just("add"), st.floats(-4, 4)),
        st.tuples(st.just("out"), st.floats(-4, 4)),
        st.tuples(st.just("shift")),
        st.tuples(st.just("lazy"), st.floats(-4, 4)),
        st.tuples(st.just("view"), st.integers(0, N // 2)),
        st.tuples(st.just("view write"), st.floats(-4, 4)),
        st.tuples(st.just("copy")),
        st.tuples(st.just("hand out")),
        st.tuples(st.just("hand-out write"), st.integers(0, N - 1), st.floats(-4, 4)),
        st.tuples(st.just("user write"), st.integers(0, N - 1), st.floats(-4, 4)),
    ),
    max_size=12,
)


def _random_script(ops):
    def script(np, u):
        x, kept, views, handed = np.asarray(u), [], [], []
        for op, *args in ops:
            if op == "element":
                x[args[0]] = args[1]
            elif op == "slice":
                x[args[0] : args[1]] = args[2]
            elif op == "add":
                x += args[0]
            elif op == "out":
                np.multiply(x, args[0], out=x)
            elif op == "shift":
                x[1:] = x[:-1] * 0.5
            elif op == "lazy":
                kept.append(x * args[0] + 1.0)
            elif op == "view":
                views.append(x[args[0] :])
                kept.append(views[-1])
            elif op == "view write" and views:
                views[-1][0] = args[0]
            elif op == "copy":
                kept.append(x.copy())
            elif op == "hand out":
                handed.append(numpy.asarray(x))
            elif op == "hand-out write" and handed:
                handed[-1][args[0]] = args[1]
            elif op == "user write":
                u[args[0]] = args[1]
        return [x, *kept]

    return script


@settings(max_examples=60, deadline=None)
@given(_OPS)
def test_random_writes_and_reads_agree_with_numpy(ops):
    got = _agree(_random_script(ops))
    assert all(type(g) is dnp.ndarray for g in got)  # daybreak's own arrays throughout


def test_a_small_part_of_a_computed_array_is_numpys_view_and_the_user_may_write_it():
    """Below the eager size a part of a computed array is NumPy's own view of its buffer;
    writing it writes the array (as in NumPy), and a value made from the array before the
    part was taken still means what it meant (it is computed before the part is handed out)."""
    before = db.config(eager_below=1 << 16)
    try:
        x = dnp.arange(100_000.0) * 1.0
        float(x[5])  # computed
        y = x * 2  # pending, reads x's buffer
        part = x[:10]
        assert type(part) is numpy.ndarray
        part[0] = 99.0
        z = x + 1  # made after: reads x as it is now
        assert float(x[0]) == 99.0 and float(y[0]) == 0.0 and float(z[0]) == 100.0
    finally:
        db.config(**before)


@pytest.mark.parametrize("seed", range(3))
def test_random_scripts_over_the_users_and_computed_2d_arrays(seed):
    """The user's arrays and computed ones, 300x200: lazy values (a transpose, a reduction
    along an axis, `where`, strided views, a flattened view, a mean kept as a column) made
    while arrays are written (a region from another array, a row, `+=` of another array,
    `*=` through a view of a few rows, a boolean mask, through `np.asarray`, and the user's
    own NumPy writes) and rebound; every value and every array NumPy's, against a NumPy
    mirror of the same script (the user's arrays mirrored by the same objects, as
    `dnp.asarray(u)` is `u`)."""
    rng = numpy.random.default_rng(seed)
    rows, cols = 300, 200
    user = [rng.random((rows, cols)) for _ in range(2)]
    user_mirrors = [u.copy() for u in user]
    arrays = [dnp.asarray(u) for u in user] + [dnp.asarray(user[0]) * 1.0 for _ in range(2)]
    mirrors = user_mirrors + [user_mirrors[0] * 1.0 for _ in range(2)]
    pending: list = []

    def check() -> None:
        for got, expected in pending:
            numpy.testing.assert_allclose(numpy.asarray(got), expected, rtol=1e-12, atol=1e-12)
        pending.clear()
        for got, expected in zip(arrays, mirrors, strict=True):
            numpy.testing.assert_array_equal(numpy.asarray(got), expected)
        for got, expected in zip(user, user_mirrors, strict=True):
            numpy.testing.assert_array_equal(got, expected)

    for _ in range(80):
        op, i, k = (int(v) for v in rng.integers((16, 4, 4)))
        a, m, b, mb = arrays[i], mirrors[i], arrays[k], mirrors[k]
        r, c = int(rng.integers(1, rows // 2)), int(rng.integers(1, cols // 2))
        if op == 0:
            pending.append((a * 2.0 - b, m * 2.0 - mb))
        elif op == 1:
            pending.append((a.T + 1.0, m.T + 1.0))
        elif op == 2:
            pending.append((a.sum(axis=0), m.sum(axis=0)))
        elif op == 3:
            pending.append((dnp.where(a > 0.5, a, b), numpy.where(m > 0.5, m, mb)))
        elif op == 4:
            a[r:, c:] = b[: rows - r, : cols - c] * 0.5
            m[r:, c:] = mb[: rows - r, : cols - c] * 0.5
        elif op == 5:
            a[r], m[r] = -1.0, -1.0
        elif op == 6:
            a += b
            m += mb
        elif op == 7 and i < 2:
            user[i][r, c], user_mirrors[i][r, c] = 9.0, 9.0
        elif op == 8:
            pending.append((a[::2, ::3] * b[::2, ::3], m[::2, ::3] * mb[::2, ::3]))
        elif op == 9:
            arrays[i], mirrors[i] = a * 0.5 + b, m * 0.5 + mb
        elif op == 10:
            view, view_mirror = a[r : r + 20], m[r : r + 20]
            view *= 2.0
            view_mirror *= 2.0
        elif op == 11:
            pending.append((a.reshape(-1)[::7] + 0.0, m.reshape(-1)[::7] + 0.0))
        elif op == 12:
            a[a > 0.9], m[m > 0.9] = 0.25, 0.25
        elif op == 13:
            numpy.asarray(a)[r, :5], m[r, :5] = 3.0, 3.0
        elif op == 14:
            pending.append((a.mean(axis=1, keepdims=True) - a, m.mean(axis=1, keepdims=True) - m))
        else:
            check()
    check()


@pytest.mark.parametrize("seed", range(3))
def test_random_scripts_of_broadcasts_and_outputs(seed):
    """The user's matrix and vectors and a computed matrix: outer broadcasts, transposes and
    their reductions, standardising by column, a maximum kept as a column, products, made
    while NumPy's ufunc writes the computed matrix (`out=`), a column of it is set from a
    vector, rows and vectors are written in place, the user writes the arrays and a vector
    is reversed onto itself; every value and array NumPy's, against a NumPy mirror."""
    rng = numpy.random.default_rng(seed)
    rows, cols = 350, 260
    u, v, w = rng.random((rows, cols)), rng.random(cols), rng.random(rows)
    mu, mv, mw = u.copy(), v.copy(), w.copy()
    a, vec, col = dnp.asarray(u), dnp.asarray(v), dnp.asarray(w)
    x, mx = a * 1.0, mu * 1.0
    pending: list = []

    def check() -> None:
        for got, expected in pending:
            numpy.testing.assert_allclose(numpy.asarray(got), expected, rtol=1e-11, atol=1e-12)
        pending.clear()
        for got, expected in ((a, mu), (vec, mv), (col, mw), (x, mx), (u, mu), (v, mv), (w, mw)):
            numpy.testing.assert_allclose(numpy.asarray(got), expected, rtol=1e-11, atol=1e-12)

    for _ in range(80):
        op, i, j = int(rng.integers(15)), int(rng.integers(rows)), int(rng.integers(cols))
        if op == 0:
            pending.append((a + vec, mu + mv))
        elif op == 1:
            pending.append((col[:, None] * vec[None, :] - x, mw[:, None] * mv[None, :] - mx))
        elif op == 2:
            pending.append((a.T.sum(axis=1), mu.T.sum(axis=1)))
        elif op == 3:
            dnp.add(a, vec, out=x)
            numpy.add(mu, mv, out=mx)
        elif op == 4:
            u[i, j] = mu[i, j] = -3.0
        elif op == 5:
            v[j] = mv[j] = 2.0
        elif op == 6:
            x[:, j], mx[:, j] = col, mw
        elif op == 7:
            pending.append(
                (
                    (x - x.mean(axis=0)) / (x.std(axis=0) + 1.0),
                    (mx - mx.mean(axis=0)) / (mx.std(axis=0) + 1.0),
                )
            )
        elif op == 8:
            a[i] *= 0.5
            mu[i] *= 0.5
        elif op == 9:
            pending.append(
                (
                    dnp.max(a[:, ::2], axis=1, keepdims=True) + col[:, None],
                    numpy.max(mu[:, ::2], axis=1, keepdims=True) + mw[:, None],
                )
            )
        elif op == 10:
            x, mx = x.T.T * 1.0 + a, mx.T.T * 1.0 + mu
        elif op == 11:
            vec[:] = vec[::-1]
            mv[:] = mv[::-1].copy()
        elif op == 12:
            pending.append((dnp.dot(a, vec), mu @ mv))
        elif op == 13:
            col += 1.0
            mw += 1.0
        else:
            check()
    check()


def test_a_copy_of_the_users_array_handed_out_is_no_snapshot_of_theirs():
    """`th = dnp.asarray(u).copy()` whose buffer goes to the user (`np.asarray(th)`, a
    loop's `th[k]`) is theirs to write: where that buffer was also `u`'s last snapshot (a
    copy), it is handed out as it is, not copied again (`snapshots.copied_for`), and a lazy
    value of `u` made afterwards reads `u`'s values, never what the user then writes into
    `th`'s buffer."""
    for size in (100, 5_000):
        w = numpy.linspace(-1.0, 1.0, size)
        t = dnp.asarray(w.copy())
        th = t.copy()
        node = th._held.node
        copied, buffer, node = type(node) is Param, node.cached, weakref.ref(node)
        mine = numpy.asarray(th)  # handed out
        if copied:  # (a copied snapshot: handed out, not copied again)
            assert node().cached is buffer and numpy.shares_memory(mine, buffer)
        made = t * 2.0  # a lazy value of the user's array, made after
        mine[:] = 7.0  # the user writes the array they were handed
        numpy.testing.assert_array_equal(numpy.asarray(made), w * 2.0)
        numpy.testing.assert_array_equal(numpy.asarray(th), numpy.full(size, 7.0))


@pytest.mark.parametrize("made_between", [0, 80])
@pytest.mark.parametrize("reader", ["concatenate", "roll", "shifted"])
def test_values_reading_a_computed_array_keep_it_when_it_is_handed_out_and_written(
    made_between, reader
):
    """A pending value reads a computed array through a re-indexed read (a concatenation, a
    roll, a shifted slice); the array then goes to the user (`np.asarray`), who writes it,
    and is written through daybreak too. The value means what it meant when it was made,
    whether it is among the recent lazy values or older (`made_between` others made since).
    Both failed: the recent reader was not seen through its re-indexed read, and an older one
    read the buffer the writes went to."""
    rng = numpy.random.default_rng(5)
    n = 70_000
    u, w = rng.random(n), rng.random(n)
    x = dnp.asarray(u) * 0.5 + 1.0
    float(x[0])  # computed
    assert x.concrete() is not None
    ux = u * 0.5 + 1.0
    value, expected = {
        "concatenate": (
            dnp.concatenate([dnp.asarray(w), x]) * 0.5,
            numpy.concatenate([w, ux]) * 0.5,
        ),
        "roll": (dnp.roll(x, 3) - 1.0, numpy.roll(ux, 3) - 1.0),
        "shifted": (x[1:] + x[:-1], ux[1:] + ux[:-1]),
    }[reader]
    others = [dnp.asarray(w) * float(k) for k in range(made_between)]
    view = numpy.asarray(x)
    view[100] = -7.0  # the user's write into the handed-out buffer
    x[200] = 3.0  # and one through daybreak
    numpy.testing.assert_array_equal(numpy.asarray(value), expected)
    ux[100], ux[200] = -7.0, 3.0
    numpy.testing.assert_array_equal(numpy.asarray(x), ux)
    del others


@pytest.mark.parametrize("state", ["pending", "computed", "written", "user"])
@pytest.mark.parametrize("key", [(slice(100, 20_000),), (slice(100, 60_000),), "interior"])
def test_numpy_view_of_a_view_is_the_bases_memory(state, key):
    """`np.asarray(a[key])` is a view of `a`'s memory, as in NumPy: the user's writes into it
    reach `a` and the view, lazy values made from the view before them keep the old values,
    and those made after see them. (For a pending or computed `a` this gave a copy.)"""
    rng = numpy.random.default_rng(2)
    u = rng.random(70_000) if key != "interior" else rng.random((300, 240))
    key = key if key != "interior" else (slice(1, -1), slice(1, -1))
    a = dnp.asarray(u.copy()) if state == "user" else dnp.asarray(u) * 1.0
    if state in ("computed", "written"):
        float(a.reshape(-1)[0])
    if state == "written":
        a[(0,) * a.ndim] = 1.0
    mirror = numpy.asarray(a).copy() if state == "user" else numpy.array(numpy.asarray(a))
    view = a[key]
    before = view * 2.0
    expected_before = mirror[key] * 2.0
    handed = numpy.asarray(view)
    handed[(slice(0, 3),) * handed.ndim] = 4.0
    mirror[key][(slice(0, 3),) * handed.ndim] = 4.0
    after = view * 2.0
    numpy.testing.assert_array_equal(numpy.asarray(before), expected_before)
    numpy.testing.assert_array_equal(numpy.asarray(after), mirror[key] * 2.0)
    numpy.testing.assert_array_equal(numpy.asarray(view), mirror[key])
    numpy.testing.assert_array_equal(numpy.asarray(a), mirror)


@pytest.mark.usefixtures("guarded_snapshots")
def test_lazy_copies_of_the_users_memory_written_and_handed_out():
    """`a = u.copy()` is a lazy copy (a write guard's snapshot of `u`); a part of it handed
    out and written, then a copy of it written with a step, over and over (guards of one size
    reuse their reserves): every value NumPy's. Reading a snapshot's reserve before it was
    filled gave stale memory, and handing the reserve out gave the user the guard's memory.
    (With the default sizes: small parts of computed arrays are NumPy's views.)"""
    before = db.config(eager_below=1 << 16)
    try:
        _lazy_copies_written_and_handed_out()
    finally:
        db.config(**before)


def _lazy_copies_written_and_handed_out():
    for it in range(40):
        w = numpy.random.default_rng(it).integers(-50, 50, 70_000)
        u = w.copy()
        a = dnp.asarray(u).copy()
        handed = numpy.asarray(a[69_906:69_967])
        handed[:3] = 4
        mirror = w.copy()
        mirror[69_906:69_909] = 4
        c = a.copy()
        c[::2] = 0
        expected = mirror.copy()
        expected[::2] = 0
        numpy.testing.assert_array_equal(numpy.asarray(c), expected)
        numpy.testing.assert_array_equal(numpy.asarray(a), mirror)
        numpy.testing.assert_array_equal(u, w)  # the user's array, untouched


@pytest.mark.parametrize("made_between", [0, 80])
def test_copies_of_a_pending_value_keep_it_when_what_it_reads_is_handed_out(made_between):
    """`c = a.copy()` shares `a`'s pending expression; `a` reads `x`, which then goes to the
    user (`np.asarray(x)`) and is written. Both `a` and `c` mean what they meant, whether
    they are among the recent lazy values or older: the copy was neither remembered as a
    reader nor seen through the expression it shares."""
    u = numpy.random.default_rng(3).random(70_000)
    x = dnp.asarray(u) * 1.0
    a = x + 1.0
    c = a.copy()
    others = [dnp.asarray(u) * float(k) for k in range(made_between)]
    handed = numpy.asarray(x)
    handed[5] = -9.0
    numpy.testing.assert_array_equal(numpy.asarray(c), u * 1.0 + 1.0)
    numpy.testing.assert_array_equal(numpy.asarray(a), u * 1.0 + 1.0)
    del others
