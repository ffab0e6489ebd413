"""Statements replayed (`frontends/numpy/replay.py`): a statement that stored natively runs
again as its program while its names hold what they held, with NumPy's values whatever the
names come to hold — other shapes, one buffer for two names, other numbers, NumPy arrays,
a rebound function — and whatever else reads what the statement writes (pending values,
views, the user's own writes, other threads)."""

import random
import sys

import numpy
import pytest

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends.numpy import replay

from .helpers import threads_stepping

SHAPE = (60, 70)


def _step(A, B):
    B[1:-1, 1:-1] = 0.2 * (A[1:-1, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:] + A[2:, 1:-1] + A[:-2, 1:-1])
    A[1:-1, 1:-1] = 0.2 * (B[1:-1, 1:-1] + B[1:-1, :-2] + B[1:-1, 2:] + B[2:, 1:-1] + B[:-2, 1:-1])


def _users(seed=3, shape=SHAPE):
    rng = numpy.random.default_rng(seed)
    return rng.random(shape), rng.random(shape)


def _replayed() -> int:
    return db.stats()["statements_replayed"]


@pytest.mark.parametrize("wrap", [dnp.asarray, dnp.array], ids=["users", "daybreaks"])
def test_a_time_step_is_replayed_with_numpys_values(wrap):
    """jacobi_2d's two statements: recorded, then replayed, on the user's arrays or
    daybreak's own; the arrays (and the user's themselves) hold NumPy's values."""
    a0, b0 = _users()
    a_np, b_np = a0.copy(), b0.copy()
    a, b = wrap(a0), wrap(b0)
    before = _replayed()
    for _ in range(8):
        _step(a_np, b_np)
        _step(a, b)
        numpy.testing.assert_array_equal(numpy.asarray(a), a_np)
        numpy.testing.assert_array_equal(numpy.asarray(b), b_np)
    assert _replayed() - before >= 8  # (from the third step on, both statements)
    if wrap is dnp.asarray:
        numpy.testing.assert_array_equal(a0, a_np)


def test_replay_can_be_turned_off():
    a0, b0 = _users()
    a, b = dnp.asarray(a0), dnp.asarray(b0)
    before = db.config(replay=False)
    try:
        counted = _replayed()
        for _ in range(6):
            _step(a, b)
        assert _replayed() == counted
    finally:
        db.config(**before)


def _stencil(A, B, c):
    B[1:-1] = c * (A[2:] - A[:-2]) + A[1:-1]


def test_names_that_hold_something_else_are_not_replayed_wrongly():
    """After the statement is recorded, its names hold arrays of another shape, one buffer
    for both names (reading what it writes), another number, a NumPy array, a view with
    another offset: NumPy's values every time."""
    rng = numpy.random.default_rng(7)
    x0, y0 = rng.random(5000), rng.random(5000)
    x, y = dnp.array(x0), dnp.array(y0)
    xn, yn = x0.copy(), y0.copy()
    counted = _replayed()
    for _ in range(6):  # compiled, written in place, recorded, then replayed
        _stencil(x, y, 0.5)
        _stencil(xn, yn, 0.5)
    assert _replayed() > counted
    big0 = rng.random(8000)
    cases = [
        ((dnp.array(big0), dnp.array(big0 * 2)), (big0.copy(), big0 * 2), 0.5),  # a shape
        ((x, x), (xn, xn), 0.5),  # one buffer for both names
        ((x, y), (xn, yn), -1.25),  # another number
        ((x, y), (xn, yn), 0.5),  # the first again
        ((x0.copy(), y), (x0.copy(), yn), 0.5),  # a NumPy array for A
        ((x[1:], y[:-1]), (xn[1:], yn[:-1]), 0.5),  # views: other offsets, other length
        ((x, y), (xn, yn), 0),  # an int
        ((x, y), (xn, yn), -0.0),  # a zero of the other sign
    ]
    for (a, b), (an, bn), c in cases:
        for _ in range(3):
            _stencil(a, b, c)
            _stencil(an, bn, c)
        numpy.testing.assert_array_equal(numpy.asarray(b), bn)
        numpy.testing.assert_array_equal(numpy.asarray(a), an)
    numpy.testing.assert_array_equal(numpy.asarray(x), xn)
    numpy.testing.assert_array_equal(numpy.asarray(y), yn)


def test_a_pending_value_keeps_what_it_read_and_views_see_the_write():
    """A lazy value made from B before a replayed store writes B keeps B's old values; a
    view of B held by the user shows the write, as NumPy's views do."""
    for wrap in (dnp.asarray, dnp.array):
        a0, b0 = _users(5)
        a, b = wrap(a0.copy()), wrap(b0.copy())
        an, bn = a0.copy(), b0.copy()
        for _ in range(4):
            _step(a, b)
            _step(an, bn)
        old = b * 1.0  # pending: reads B as it is now
        old_want = bn.copy()
        view = b[2:5]
        counted = _replayed()
        _step(a, b)
        _step(an, bn)
        assert _replayed() == counted + 2
        numpy.testing.assert_array_equal(numpy.asarray(old), old_want)
        numpy.testing.assert_array_equal(numpy.asarray(view), bn[2:5])
        numpy.testing.assert_array_equal(numpy.asarray(b), bn)


def test_a_rebound_function_is_read_again(monkeypatch):
    """`np.sqrt` of daybreak.numpy rebound to another ufunc between runs of a replayed
    statement: the new function's values."""
    x0 = numpy.random.default_rng(9).random(3000)
    x, y = dnp.array(x0), dnp.array(numpy.zeros(3000))

    def run(np, a, b):
        b[1:] = np.sqrt(a[1:]) * 2.0

    counted = _replayed()
    for _ in range(6):
        run(dnp, x, y)
    assert _replayed() > counted
    monkeypatch.setattr(dnp, "sqrt", dnp.exp)
    run(dnp, x, y)
    numpy.testing.assert_allclose(numpy.asarray(y)[1:], numpy.exp(x0[1:]) * 2.0, rtol=1e-15)


def test_a_trace_function_stops_replays():
    a0, b0 = _users()
    a, b = dnp.asarray(a0), dnp.asarray(b0)
    an, bn = a0.copy(), b0.copy()
    for _ in range(4):
        _step(a, b)
        _step(an, bn)
    counted = _replayed()
    sys.settrace(lambda *args: None)
    try:
        _step(a, b)
    finally:
        sys.settrace(None)
    _step(an, bn)
    assert _replayed() == counted
    numpy.testing.assert_array_equal(a0, an)


def test_the_users_writes_between_replays_are_read():
    """The user writes the arrays through NumPy between replayed statements: each replay
    reads what the buffer holds then."""

    def write(t, a, b):
        a[t, :] = t
        b[:, t] *= -1.0

    _steps_agree_and_replay(2, 10, write)


def test_threads_replaying_agree_with_numpy():
    """Four threads run time steps over arrays of their own reading a shared one: one
    statement is replayed at a time (another thread's calls record as always)."""
    threads_stepping(SHAPE, 6)


def test_statements_at_a_modules_top_level_are_replayed():
    a0, b0 = _users(4)
    code = "for t in range(6):\n    b[1:-1] = 0.5 * (a[2:] + a[:-2]) * c\n    c = c + 0.25\n"
    env = {"a": dnp.asarray(a0), "b": dnp.asarray(b0), "c": 1.0}
    want = {"a": a0.copy(), "b": b0.copy(), "c": 1.0}
    counted = _replayed()
    exec(code, env)  # noqa: S102 - the tests' own source
    exec(code, want)  # noqa: S102
    numpy.testing.assert_array_equal(b0, want["b"])
    # (`c` changes every step: each step is recorded again, none replayed with a stale c)
    assert _replayed() == counted
    code = "for t in range(6):\n    b[1:-1] = 0.5 * (a[2:] + a[:-2]) * c\n"
    exec(code, env)  # noqa: S102
    exec(code, want)  # noqa: S102
    numpy.testing.assert_array_equal(b0, want["b"])
    assert _replayed() > counted


def _script(rnd, steps: int) -> list[str]:
    """A loop body over names `a`, `b`, `v` (the user's arrays through daybreak, a view)
    and a number `k`: stores the replay may take, stores it must not (calls of the user's,
    reading what they write), names rebound (swapped, one array for two, a copy, the user's
    array again), the number changed, pending values kept in names, the user's NumPy
    writes."""
    lines = []
    for j in range(steps):
        src, dst = rnd.sample(["a", "b", "v"], 2)
        c = round(rnd.uniform(-2, 2), 2)
        lines.append(
            rnd.choice(
                [
                    f"{dst}[1:-1, 1:-1] = {c} * ({src}[2:, 1:-1] + {src}[:-2, 1:-1])",
                    f"{dst}[:, :-1] = np.exp({src}[:, 1:] * {c}) - {src}[:, :-1] ** 2",
                    f"{dst}[1:, :] = ({src}[1:, :] > {c}) * {src}[:-1, :]",
                    f"{dst}[1:-1, :] = k * {src}[2:, :] - {src}[:-2, :] * {c}",
                    f"{dst}[:, 1:] = np.sqrt(np.abs({src}[:, 1:])) + -{src}[:, :-1]",
                    f"{dst}[1:-1, 1:-1] = {c} * {src}[1:-1, 1:-1] - {dst}[1:-1, 1:-1]",
                    f"{dst}[1:] = abs({src}[1:]) * {c}",  # a builtin's call: not replayed
                    f"{dst}[:] = np.maximum({dst}, {src} * {c})",
                    f"{src}, {dst} = {dst}, {src}",
                    f"{dst} = {src}",  # one array for two names
                    f"{dst} = np.array({src})",  # daybreak's own copy
                    f"{dst} = np.asarray(u{rnd.randrange(2)})",  # the user's array again
                    f"k = k * {c} + 0.5",
                    f"p{j} = {src}[1:, :] * {c} + {dst}[:-1, :]",  # pending: keeps its values
                    f"u{rnd.randrange(3)}[{rnd.randrange(40)}, :] = {c}",  # the user's NumPy
                ]
            )
        )
    return lines


def _run_script(np, lines: list[str], rounds: int) -> dict:
    rng = numpy.random.default_rng(5)
    u0, u1, u2 = rng.random((40, 50)), rng.random((40, 50)), rng.random((42, 52))
    env = {"np": np, "u0": u0, "u1": u1, "u2": u2, "k": 1.0}
    env["a"], env["b"], env["v"] = np.asarray(u0), np.asarray(u1), np.asarray(u2)[1:-1, 1:-1]
    names = sorted({t.split(" =")[0] for t in lines if t[0] in "p"} | {"a", "b", "v", "k"})
    body = "\n".join("        " + text for text in lines)
    source = f"def f():\n    global {', '.join(names)}\n    for t in range({rounds}):\n{body}\nf()"
    exec(source, env)  # noqa: S102 - the tests' own source
    return {n: numpy.array(numpy.asarray(v), copy=True) for n, v in env.items() if n[0] in "upabvk"}


@pytest.mark.parametrize("seed", range(24))
def test_random_loops_agree_with_numpy(seed):
    """Random loop bodies run six times: every array (the user's too) and every value kept
    in a name agrees with NumPy's, replayed or not."""
    lines = _script(random.Random(seed), 8)
    want = _run_script(numpy, lines, 6)
    got = _run_script(dnp, lines, 6)
    assert got.keys() == want.keys()
    for name in want:
        numpy.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-12, err_msg=name)


def test_random_loops_replay():
    """(The random loops are not vacuous: most of them replay some statement.)"""
    counted = _replayed()
    replaying = 0
    for seed in range(24):
        before = _replayed()
        _run_script(dnp, _script(random.Random(seed), 8), 6)
        replaying += _replayed() > before
    assert replaying >= 8, replaying
    assert _replayed() > counted
    assert not replay.ACTIVE[0]  # (no statement left half replayed)


def _heat(A, B):
    B[1:-1] = 0.125 * (A[2:] - 2.0 * A[1:-1] + A[:-2]) + A[1:-1] * 0.5 - A[1:-1] ** 2


def _heat_steps(x0, y0, steps: int, background: bool) -> None:
    """`steps` of `_heat` over daybreak's arrays of the user's `x0` and `y0`, each checked
    against NumPy's, the user writing `x0` between them; the settings as they were after
    every statement."""
    x, y = dnp.asarray(x0), dnp.asarray(y0)
    assert type(y) is dnp.ndarray
    xn, yn = x0.copy(), y0.copy()
    eager_below = db.config()["eager_below"]
    for _ in range(steps):
        _heat(x, y)
        _heat(xn, yn)
        assert db.config()["eager_below"] == eager_below
        if background:
            from daybreak.frontends import scheduler

            scheduler.wait_for_compiles()
        numpy.testing.assert_allclose(y0, yn, rtol=1e-14)
        x0[:] = y0 * 0.5  # (the user's write, read by the next step)
        xn[:] = yn * 0.5


@pytest.mark.parametrize("background", [False, True])
def test_a_statement_computed_at_once_is_recorded_lazily_then_replayed(background):
    """Views a little smaller than `eager_below` compute at once in NumPy; the statement
    holds enough work (`replay.WORTH`) that its next run records lazily, runs natively
    once compiled, and is replayed — with NumPy's values all along, and the settings as
    they were after every statement."""
    before = db.config(eager_below=20000, compile_in_background=background)
    try:
        x0, y0 = numpy.random.default_rng(1).random(20000), numpy.zeros(20000)
        counted = _replayed()
        _heat_steps(x0, y0, 12, background)
        assert _replayed() > counted
    finally:
        db.config(**before)


@pytest.mark.parametrize("background", [False, True])
def test_the_users_arrays_from_a_quarter_of_eager_below_are_daybreaks_and_replayed(background):
    """`np.asarray` makes the user's array daybreak's from a quarter of `eager_below`
    (`creation.USERS_ARRAYS_FROM`), NumPy's below: the views of a daybreak one below
    `eager_below` are NumPy's, computed at once, and a statement of enough of them stores
    into the daybreak array, which marks it: recorded lazily, compiled and replayed, with
    NumPy's values at every step."""
    before = db.config(eager_below=1 << 16, compile_in_background=background)
    try:
        n = 1 << 14  # a quarter of eager_below
        assert type(dnp.asarray(numpy.ones(n - 1))) is numpy.ndarray
        x0 = numpy.random.default_rng(2).random(n)
        x = dnp.asarray(x0)
        assert type(x) is dnp.ndarray
        assert type(x[1:-1] * 2.0) is numpy.ndarray  # (a small result: NumPy's own)
        counted = _replayed()
        _heat_steps(x0, numpy.zeros(n), 16, background)
        assert _replayed() > counted
    finally:
        db.config(**before)


def _fdtd(ex, ey, hz, t):
    ey[0, :] = t * 0.5
    ey[1:, :] -= 0.5 * (hz[1:, :] - hz[:-1, :])
    ex[:, 1:] -= 0.5 * (hz[:, 1:] - hz[:, :-1])
    hz[:-1, :-1] -= 0.7 * (ex[:-1, 1:] - ex[:-1, :-1] + ey[1:, :-1] - ey[:-1, :-1])


@pytest.mark.parametrize("wrap", [dnp.asarray, dnp.array], ids=["users", "daybreaks"])
def test_updates_in_place_are_replayed_on_the_arrays_of_each_call(wrap):
    """fdtd_2d's `x[r] -= f(...)` statements (the program reads the region it writes, at
    the very elements it writes): replayed, and called again on other arrays of the same
    shapes the replays write those, reading theirs (not the first call's buffers)."""
    rng = numpy.random.default_rng(8)
    counted = _replayed()
    for _call in range(3):
        ex0, ey0, hz0 = rng.random(SHAPE), rng.random(SHAPE), rng.random(SHAPE)
        want = [ex0.copy(), ey0.copy(), hz0.copy()]
        got = [wrap(ex0), wrap(ey0), wrap(hz0)]
        for t in range(6):
            _fdtd(*want, t)
            _fdtd(*got, t)
        for g, w in zip(got, want, strict=True):
            numpy.testing.assert_array_equal(numpy.asarray(g), w)
        if wrap is dnp.asarray:
            numpy.testing.assert_array_equal(ey0, want[1])
    assert _replayed() > counted


def _total(np, a, c):
    return float((a * c + 1.0).sum())


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64"])
def test_a_value_statement_is_replayed(dtype):
    """`float(...)` of a reduction (the fixed cost's pipeline), `int(...)` and `bool(...)`:
    replayed once their statement ran natively, with the library's values — the user's
    writes read, other numbers taken as another statement."""
    u = (numpy.arange(20000) % 97).astype(dtype)
    a = dnp.asarray(u)
    counted = _replayed()
    for k in range(10):
        u[k] = k  # (the user's write, read by the next call)
        c = 2 if dtype == "int64" else 2.0
        assert _total(dnp, a, c) == pytest.approx(_total(numpy, u, c), rel=1e-6)
        got = int(a[1:].max())
        assert type(got) is int and got == int(u[1:].max())
        assert bool((a > 95).any()) is True
    assert _replayed() > counted
    for c in (3.0, -1.0, 3.0):  # another number: recorded again, then replayed again
        for _ in range(6):
            assert _total(dnp, a, c) == pytest.approx(_total(numpy, u, c), rel=1e-6)


def test_a_value_statement_ends_at_its_conversion():
    """The statement goes on after the conversion (arithmetic, a comparison, a branch):
    only its part up to `float(...)` is replayed."""
    u = numpy.linspace(0.0, 1.0, 30000)
    a = dnp.asarray(u)
    counted = _replayed()
    for _ in range(8):
        x = float((a * a).sum()) * 0.5 + 1.0
        assert x == pytest.approx(float(numpy.sum(u * u)) * 0.5 + 1.0, rel=1e-12)
        if float((a * 3.0).max()) > 2.0:
            flag = True
        else:
            flag = False
        assert flag
    assert _replayed() > counted


def test_a_finalizer_running_daybreak_mid_statement_leaves_the_replay_alone():
    """The cyclic collector runs a finalizer of the user's, which calls daybreak, while a
    statement is replayed (collections forced after 1 to 39 allocations: some land in the
    replay, its store's run among them): the finalizer's calls run as always, the statement
    goes on being replayed, every value NumPy's."""
    import gc

    side = dnp.asarray(numpy.ones(5000))
    seen = []

    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            seen.append(float((side * 2.0).sum()))

    a0, b0 = _users(6)
    a, b = dnp.asarray(a0), dnp.asarray(b0)
    an, bn = a0.copy(), b0.copy()
    before = gc.get_threshold()
    counted = _replayed()
    try:
        for _ in range(8):
            _step(a, b)
            _step(an, bn)
        for threshold in range(1, 40):  # (one of them collects mid-statement)
            gc.disable()
            for _ in range(5):
                Cycle()
            gc.set_threshold(threshold, 1, 1)
            gc.enable()
            _step(a, b)
            gc.set_threshold(*before)
            _step(an, bn)
    finally:
        gc.set_threshold(*before)
        gc.enable()
        gc.collect()
    numpy.testing.assert_array_equal(a0, an)
    numpy.testing.assert_array_equal(b0, bn)
    assert seen and all(v == 10000.0 for v in seen)
    assert _replayed() > counted


def test_names_of_another_mapping_are_read_as_the_interpreter_reads_them():
    """One compiled loop run by `exec` with a dict of names (recorded, replayed), then with
    a mapping whose lookups differ from its `.get`: the interpreter's lookups decide, so
    that statement is not replayed."""

    class Names(dict):
        def __getitem__(self, name):
            return other if name == "a" else dict.__getitem__(self, name)

    code = compile("for t in range(8):\n    b[1:-1] = 0.5 * (a[2:] + a[:-2])\n", "<loop>", "exec")
    rng = numpy.random.default_rng(12)
    a0, b0, o0 = rng.random(5000), numpy.zeros(5000), rng.random(5000)
    a, b, other = dnp.asarray(a0), dnp.asarray(b0), dnp.asarray(o0)
    counted = _replayed()
    exec(code, {}, {"a": a, "b": b})  # noqa: S102 - the tests' own source
    assert _replayed() > counted
    exec(code, {}, Names(a=a, b=b))  # noqa: S102
    numpy.testing.assert_array_equal(b0[1:-1], 0.5 * (o0[2:] + o0[:-2]))


def test_a_region_picked_by_data_is_not_replayed():
    """A key computed from an array's values (`a[: ix.max()]`): another region when the data
    changes, so the statement is never replayed; NumPy's values as the data changes."""
    rng = numpy.random.default_rng(13)
    ix0 = numpy.full(5000, 3000, dtype=numpy.int64)
    a0, b0 = rng.random(5000), numpy.zeros(5000)
    ix, a, b = dnp.asarray(ix0), dnp.asarray(a0), dnp.asarray(b0)
    want = b0.copy()
    counted = _replayed()
    for k in range(10):
        ix0[0] = 3000 + 100 * (k // 5)  # (the user's write: the region grows)
        b[: ix.max()] = a[: ix.max()] * 2.0 + 1.0
        want[: ix0.max()] = a0[: ix0.max()] * 2.0 + 1.0
        numpy.testing.assert_array_equal(b0, want)
    assert _replayed() == counted


def test_numpys_own_reductions_and_where_are_replayed():
    """`np.sum(...)` (NumPy's function, handing daybreak's arrays to daybreak) inside a value
    statement, `np.where` inside a store: replayed, with NumPy's values as the user's data
    changes."""

    def f(np, a, b):
        b[1:] = np.where(a[1:] > 0.5, a[:-1] * 2.0, -a[1:])
        return float(np.sum(np.sqrt(a) * 2.0 + b))

    rng = numpy.random.default_rng(14)
    u, v = rng.random(10000), numpy.zeros(10000)
    a, b = dnp.asarray(u), dnp.asarray(v)
    un, vn = u.copy(), v.copy()
    counted = _replayed()
    for k in range(10):
        u[k] = un[k] = 0.25 * k  # (the user's write)
        got, want = f(dnp, a, b), f(numpy, un, vn)
        assert got == pytest.approx(want, rel=1e-12)
        numpy.testing.assert_array_equal(v, vn)
    assert _replayed() - counted >= 10


def test_statements_interrupted_mid_replay_leave_nothing_behind():
    """A signal handler raises at random instructions while statements are replayed (some
    land between a replay's calls): each interrupted statement raises the handler's error,
    never daybreak's own, and the statements replay again with NumPy's values after."""
    import signal

    class Stop(Exception):
        """The handler's error."""

    armed = [True]
    mid = [0]

    def handler(signum, frame):
        # (in the statement's frame, or in daybreak's code it called: mid-statement, as a
        # Ctrl-C may come; not in a finalizer the statement's frame ran, whose exception
        # Python reports as unraisable, nor in pytest's hook reporting it: raising there
        # is pytest's "Failed to process unraisable exception")
        caller = frame.f_back
        if (
            armed[0]
            and frame.f_code.co_name not in ("__del__", "unraisable_hook")
            and (
                frame.f_code is _step.__code__
                or (caller is not None and caller.f_code is _step.__code__)
            )
        ):
            mid[0] += type(replay.ACTIVE[0]) is replay.Replay
            raise Stop

    a0, b0 = _users(9)
    a, b = dnp.asarray(a0), dnp.asarray(b0)
    for _ in range(6):
        _step(a, b)  # (recorded, then replayed)
    old = signal.signal(signal.SIGALRM, handler)
    stopped = steps = 0
    try:
        signal.setitimer(signal.ITIMER_REAL, 2e-5, 3e-5)
        while steps < 300:
            steps += 1
            try:
                _step(a, b)
            except Stop:
                stopped += 1
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert stopped > 0 and mid[0] > 0
    _steps_agree_and_replay(10)


def test_a_replayed_statements_names_start_their_handover_count_again():
    """The arrays a replayed statement's program reads are not NumPy's to take: their
    count of reads in statements run at once (`replay.read_at_once`, `handover.py`) starts
    again at each replay, so a loop that also reads them at once never hands them over."""
    a, b = (dnp.asarray(x) for x in _users(8))
    for _ in range(4):
        _step(a, b)
    counted = _replayed()
    a._hot = b._hot = 40
    _step(a, b)
    assert _replayed() - counted == 2
    assert a._hot == 0 and b._hot == 0


def _steps_agree_and_replay(seed: int, steps: int = 6, write=None) -> None:
    """Time steps on fresh arrays of the user's, `write(t, a, b)` by the user through NumPy
    before each (on both copies): NumPy's values, and replays."""
    a1, b1 = _users(seed)
    a, b = dnp.asarray(a1), dnp.asarray(b1)
    an, bn = a1.copy(), b1.copy()
    counted = _replayed()
    for t in range(steps):
        if write is not None:
            write(t, a1, b1)
            write(t, an, bn)
        _step(a, b)
        _step(an, bn)
    numpy.testing.assert_array_equal(a1, an)
    numpy.testing.assert_array_equal(b1, bn)
    assert _replayed() > counted


def test_a_statement_that_raised_while_recorded_lazily_restores_the_settings():
    """A lazily recorded statement raises (its recording lowered `eager_below`): the user's
    next call ends the recording and puts the setting back; a setting the user changed
    with `db.config` after such a raise stays as the user set it."""
    before = db.config(eager_below=20000)
    try:
        x, y = dnp.asarray(numpy.ones(20000)), dnp.asarray(numpy.zeros(20000))
        short = dnp.asarray(numpy.ones(3))
        for changed in (None, 12345):
            db.config(eager_below=20000)
            raised = 0
            for k in range(12):
                c = short if k > 5 else 0.0  # (a name: its statement recorded again, raises)
                try:
                    y[1:-1] = (x[2:] * 2.0 + x[:-2] * 3.0 - x[1:-1]) * 0.5 + c
                except ValueError:
                    raised += 1
                    break
            assert raised and type(replay.ACTIVE[0]) is replay.Recording  # (stale: it raised)
            if changed is not None:
                db.config(eager_below=changed)
            z = x * 1.0  # (a call from the user's code: the recording is over)
            del z
            assert db.config()["eager_below"] == (changed or 20000)
    finally:
        db.config(**before)
