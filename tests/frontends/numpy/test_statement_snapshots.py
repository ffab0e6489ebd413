"""Unarmed snapshots (`frontends/statements.py`, `snapshots.take`): a statement that runs
nothing but daybreak's operators (and NumPy's on numbers) until it stores into a daybreak
array reads the user's memory unguarded until its store, where a snapshot still read is
guarded. Every script here runs against NumPy on equal data: values, and the user's arrays,
must agree; the counters say which snapshots were guarded."""

from __future__ import annotations

import sys

import numpy
import pytest

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends import snapshots, statements

from .helpers import threads_stepping

pytestmark = pytest.mark.usefixtures("guarded_snapshots")

SHAPE = (120, 130)


def _users():
    rng = numpy.random.default_rng(11)
    return rng.random(SHAPE), rng.random(SHAPE)


def _step(A, B):
    B[1:-1, 1:-1] = 0.2 * (A[1:-1, 1:-1] + A[1:-1, :-2] + A[1:-1, 2:] + A[2:, 1:-1] + A[:-2, 1:-1])
    A[1:, :] -= 0.5 * (B[1:, :] - B[:-1, :])


def test_a_stored_statement_reads_the_users_memory_unguarded():
    """jacobi_2d's and fdtd_2d's statements on the user's arrays: no guard, no copy, and
    NumPy's values in the user's arrays after every step."""
    a0, b0 = _users()
    a_np, b_np = a0.copy(), b0.copy()
    a, b = dnp.asarray(a0), dnp.asarray(b0)
    before = db.stats()
    for _ in range(6):
        _step(a_np, b_np)
        _step(a, b)
        numpy.testing.assert_array_equal(a0, a_np)
        numpy.testing.assert_array_equal(b0, b_np)
    after = db.stats()
    assert after["snapshots_guarded"] == before["snapshots_guarded"]
    assert after["snapshots_copied"] == before["snapshots_copied"]
    assert after["runs"] > before["runs"]  # (daybreak's programs computed the steps)


def test_a_snapshot_still_read_after_the_store_is_guarded():
    """`b[1:] = a[1:] * 2.0` into a pending `b`: `b`'s blend reads the value after the
    store, so `a`'s snapshot is guarded there; a write to `a` after it does not reach `b`."""
    a0, b0 = _users()
    a = dnp.asarray(a0)
    b = dnp.asarray(b0) * 1.0  # pending
    guarded = db.stats()["snapshots_guarded"]
    b[1:] = a[1:] * 2.0
    assert db.stats()["snapshots_guarded"] == guarded + 1
    want = b0.copy()
    want[1:] = a0[1:] * 2.0
    a0[:] = -7.0  # the user's write, after the statement
    numpy.testing.assert_array_equal(numpy.asarray(b), want)


class _Writes:
    """A user object whose add writes the user's array first."""

    def __init__(self, target):
        self.target = target

    def __add__(self, other):
        self.target[:] = 100.0
        return other


def test_a_statement_that_may_run_user_code_is_guarded():
    """`b[:] = a * 2.0 + (w + 1.0)` with `w` a user object (its `__add__` writes `a`'s
    memory after `a * 2.0` was made): guarded, and NumPy's value (the product before the
    write)."""
    a0, b0 = _users()
    want = a0 * 2.0 + 1.0
    a, b = dnp.asarray(a0), dnp.asarray(b0)
    w = _Writes(a0)
    guarded = db.stats()["snapshots_guarded"]
    b[:] = a * 2.0 + (w + 1.0)
    assert db.stats()["snapshots_guarded"] == guarded + 1
    numpy.testing.assert_array_equal(b0, want)


def test_a_statement_that_raised_leaves_no_snapshot_unguarded():
    """A statement raising between two recorded calls (its exception kept, with the frames
    that hold its first value) leaves an unarmed snapshot alive: the next snapshot of the
    same memory, in a statement that stores into a name, guards it first."""
    a0, b0 = _users()
    a, b = dnp.asarray(a0), dnp.asarray(b0)
    kept = []
    try:
        b[:] = a * 2.0 + a[:5]  # NumPy's broadcast error, after `a * 2.0` was recorded
    except ValueError as why:
        kept.append(why)
    x = a * 3.0  # a name: not a statement that stores at once
    want = a0 * 3.0
    a0[:] = -1.0  # the user's write, while `x` is pending
    numpy.testing.assert_array_equal(numpy.asarray(x), want)
    assert kept


def test_under_a_trace_function_statements_are_guarded():
    """A debugger stops between a statement's lines: with a trace function set, no
    statement is taken to store at once."""
    a0, b0 = _users()
    a, b = dnp.asarray(a0), dnp.asarray(b0)
    guarded = db.stats()["snapshots_guarded"]
    sys.settrace(lambda *args: None)
    try:
        b[:] = a * 2.0 + 1.0
    finally:
        sys.settrace(None)
    assert db.stats()["snapshots_guarded"] == guarded + 1
    numpy.testing.assert_array_equal(b0, a0 * 2.0 + 1.0)


SCRIPTS = [  # (statement, whether it stores at once); `a`, `b` daybreak arrays
    ("b[1:-1] = 0.5 * (a[2:] + a[:-2])", True),
    ("b[1:] -= 0.5 * (a[1:] - a[:-1])", True),
    ("b[:, 1:] = -(a[:, 1:] * k) + a[:, :-1] ** 2", True),
    ("b[:] = a > k", True),
    ("b[:] = np.sqrt(a)", True),  # daybreak's ufunc
    ("b[:] = np.minimum(b, np.add.outer(a[:, 3], a[3, :])[:, :130])", True),  # (floyd's)
    ("b[1:] = a.T.T[1:] + a[:-1].sum(axis=0)", True),  # daybreak's arrays' own attributes
    ("b[:] = np.sqrt(a, out=None) * 2.0", True),  # a keyword
    ("b[:] = f(a)", False),  # a call of any other function
    ("b[:] = np.vectorize(f)(a)", False),  # a function handed to one of daybreak's
    ("b[:] = o.pop() * a", False),  # a method of any other object
    ("x = a * 2.0", False),  # stores into a name
    ("b[:] = a * 2.0 if k > 0 else a", False),  # a jump
    ("b[:1] = c[:1] = a[:1] * 2.0", False),  # two stores
    ("b[:] = a * o", False),  # `o` is a list (any object: its methods may run anything)
    ("u[:] = a * 2.0", False),  # a NumPy array's store
]


@pytest.mark.parametrize(("script", "at_once"), SCRIPTS, ids=[s for s, _ in SCRIPTS])
@pytest.mark.parametrize("where", ["function", "module"])
def test_which_statements_store_at_once(script, at_once, where, monkeypatch):
    """What `stores_at_once` says of the statement making the first snapshot of `a` (or of
    every statement asking, where none may store at once), in a function (fast locals) and
    at a module's top level (names)."""
    seen = []
    real = snapshots.stores_at_once

    def spy(frame):
        found = real(frame)
        seen.append(found is not None)
        return found

    monkeypatch.setattr(snapshots, "stores_at_once", spy)
    a0, b0 = _users()
    names = {
        "np": dnp,
        "a": dnp.asarray(a0),
        "b": dnp.asarray(b0),
        "c": dnp.asarray(b0.copy()),
        "u": b0.copy(),
        "k": 0.5,
        "o": [2.0],
        "f": lambda v: v * 2.0,
    }
    source = script
    if where == "function":
        source = "def run():\n    global x\n    " + script + "\nrun()\n"
    exec(compile(source, "<script>", "exec"), names)  # noqa: S102 - the tests' own source
    if at_once:
        assert seen and seen[0]
    else:
        assert not any(seen)  # (no snapshot asked for at all: computed at once, say)
    assert statements.stores_at_once(None) is None


def _script(rnd, steps: int) -> list[str]:
    """Lines over the user's arrays `u0`, `u1` (NumPy's, also seen through daybreak's `a`,
    `b`): stores that run only operators (unarmed snapshots), stores into names (pending
    values that must keep what they read), stores with a call, the user's own writes
    through NumPy, and reads."""
    lines = []
    shifts = [("[1:, :]", "[:-1, :]"), ("[:, 1:]", "[:, :-1]")]
    for k in range(steps):
        src, dst = rnd.sample(["a", "b", "va"], 2)
        s1, s2 = rnd.sample(rnd.choice(shifts), 2)
        c = round(rnd.uniform(-2, 2), 2)
        lines.append(
            rnd.choice(
                [
                    f"{dst}[1:-1, 1:-1] = {c} * ({src}[2:, 1:-1] + {src}[:-2, 1:-1])"
                    f" - {dst}[1:-1, 1:-1]",
                    f"{dst}{s1} -= {c} * ({src}{s1} - {src}{s2})",
                    f"{dst}[:] = ({src} > {c}) * {src} + {dst}",
                    f"p{k} = {src}{s1} * {c} + {dst}{s2}",  # a name: must keep its values
                    f"{dst}[1:] = np.sqrt(abs({src}[1:])) + {c}",
                    f"{dst}[:] = np.maximum({dst}, np.multiply({src}, {c}))",
                    f"{dst}{s1} = np.sqrt({src}{s1} * {src}{s2}) - {dst}{s2}.T.T",
                    f"r{k} = np.minimum({src}{s1}, {c})",  # a name, over a call
                    f"{src}{s1} = {src}{s2} * {c} + {dst}{s1}",  # reads what it writes
                    f"{src}{s2} += {src}{s1} * {c}",
                    f"u{rnd.randrange(2)}[{rnd.randrange(40)}, :] = {c}",  # the user's NumPy
                    f"u{rnd.randrange(2)}[:, {rnd.randrange(40)}] += {c}",
                    f"q{k} = float({src}[{rnd.randrange(40)}, {rnd.randrange(40)}])",
                    f"u2[{rnd.randrange(42)}, :] = {c}",  # the user's write under a view
                    f"try:\n    {dst}[:] = {src} * {c} + {src}[:3]\nexcept ValueError:\n    pass",
                ]
            )
        )
    return lines


def _run_script(np, lines: list[str]) -> dict:
    rng = numpy.random.default_rng(5)
    u0, u1, u2 = rng.random((40, 50)), rng.random((40, 50)), rng.random((42, 52))
    env = {"np": np, "abs": abs, "u0": u0, "u1": u1, "u2": u2}
    wrap = np.asarray if np is dnp else (lambda x: x)
    env["a"], env["b"], env["va"] = wrap(u0), wrap(u1), wrap(u2)[1:-1, 1:-1]
    for text in lines:
        exec(text, env)  # noqa: S102 - the tests' own source
    return {n: numpy.array(numpy.asarray(v), copy=True) for n, v in env.items() if n[0] in "upqrv"}


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("where", ["function", "module"])
def test_random_scripts_of_stores_and_user_writes_agree_with_numpy(seed, where):
    """Random lines over the user's arrays, at a module's top level and in a function:
    every array, the user's too, and every value kept in a name agree with NumPy's."""
    import random

    lines = _script(random.Random(seed), 24)
    if where == "function":
        body = "\n".join("    " + text.replace("\n", "\n    ") for text in lines)
        names = sorted({t.split(" =")[0] for t in lines if t[0] in "pqr"})
        declared = f"    global {', '.join(names)}\n" if names else ""
        lines = ["def f():\n" + declared + body, "f()"]
    want = _run_script(numpy, lines)
    got = _run_script(dnp, lines)
    assert got.keys() == want.keys()
    for name in want:
        numpy.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=0, err_msg=name)


def test_what_a_call_may_be():
    """Calls a statement may hold: daybreak's ufuncs and functions, and those with NumPy's
    ufuncs or values bound (`dnp.add.outer`); not a function of the user's, bound in a
    partial or not, and not NumPy's own modules."""
    import functools

    assert statements.kind_of(dnp.sqrt)[0] == statements.FUNCTION
    assert statements.kind_of(dnp.add.outer)[0] == statements.FUNCTION
    assert statements.kind_of(functools.partial(dnp.where, 1.0))[0] == statements.FUNCTION
    assert statements.kind_of(dnp)[0] == statements.MODULE
    assert statements.kind_of(functools.partial(dnp.where, lambda v: v)) is None
    assert statements.kind_of(lambda v: v) is None
    assert statements.kind_of(numpy) is None
    assert statements.kind_of(numpy.sqrt) is None  # (NumPy's ufunc: not a daybreak name)


def test_threads_storing_at_once_agree_with_numpy():
    """Four threads run time steps at once, each over its own arrays and a shared source
    the user writes between rounds (no data race: nothing writes what another thread's
    statement reads while it runs): every array agrees with NumPy's. One statement's
    unarmed snapshots meet another thread's statements asking theirs (`_statement` is one
    for the process: a statement not its own arms them)."""
    threads_stepping(SHAPE, 5)


def test_names_of_another_mapping_are_not_trusted():
    """`exec` with locals of a mapping other than a dict: its lookups may differ from what
    the walk reads, so the statement is guarded."""

    class Names(dict):
        """A mapping of names other than a dict (exactly what it holds, otherwise)."""

    a0, b0 = _users()
    names = Names(a=dnp.asarray(a0), b=dnp.asarray(b0))
    guarded = db.stats()["snapshots_guarded"]
    exec("b[:] = a * 2.0 + 1.0", {"np": dnp}, names)  # noqa: S102 - the tests' own source
    assert db.stats()["snapshots_guarded"] == guarded + 1
    numpy.testing.assert_array_equal(b0, a0 * 2.0 + 1.0)
