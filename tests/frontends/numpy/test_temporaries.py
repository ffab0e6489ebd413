"""A call computed at once writes its result into a temporary operand's buffer, as NumPy's
own operators do (`(a * 2) + 1` adds into `a * 2`'s buffer): `methods._binary` tells a
temporary of the user's expression (only the interpreter's stack holds it, and the call comes
from an operator in Python code), `ufuncs._spent_buffer` that its buffer is daybreak's own and
no lazy value reads it. Nothing a user or a lazy value can still see is ever written.

These tests run with the defaults outside tests, every line taught to compute at once
(`frontends/sites.py`: what a line learns when its values are computed on their own, or run
in the library for good); no fallback is allowed."""

from __future__ import annotations

import operator

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import daybreak.numpy as dnp
from daybreak.frontends import scheduler
from daybreak.frontends.numpy import methods, ufuncs
from daybreak.frontends.sites import user_site

from .helpers import defaults_outside_tests

N = 1 << 17  # above the default eager_below


@pytest.fixture(autouse=True)
def outside_tests(monkeypatch):
    scheduler.forget()
    # (every line computes at once: `site_at_once` answers so, for the line it finds)
    monkeypatch.setattr(ufuncs, "site_at_once", lambda depth=1: (user_site(depth + 1), True))
    with defaults_outside_tests():
        yield


@pytest.fixture
def written(monkeypatch):
    """The buffers calls wrote their results into (one entry per call offered a temporary:
    the buffer, or None where it could not be written)."""
    seen: list = []
    real = ufuncs._spent_buffer

    def spy(*args):
        found = real(*args)
        seen.append(found)
        return found

    monkeypatch.setattr(ufuncs, "_spent_buffer", spy)
    return seen


def _taught(code, names: dict, calls: int = 3) -> list:
    """`code` evaluated `calls` times (the values, copied)."""
    out = []
    for _ in range(calls):
        value = eval(code, {"np": dnp}, dict(names))  # noqa: S307 - the tests' own source
        out.append(numpy.array(value, copy=True))
    return out


def test_the_interpreter_shows_temporaries():
    assert methods._TEMPORARY > 0  # (else nothing is written in place: the tests below fail)


def test_a_chain_computed_at_once_writes_into_its_temporaries(written):
    a = numpy.linspace(0.0, 1.0, N)
    x = dnp.array(a)
    code = compile("((x * 2.0) + 1.0) - x", "<chain>", "eval")
    for got in _taught(code, {"x": x}):
        numpy.testing.assert_array_equal(got, ((a * 2.0) + 1.0) - a)
    assert any(found is not None for found in written)
    numpy.testing.assert_array_equal(numpy.asarray(x), a)  # the operand itself: untouched


def test_a_temporary_on_the_right_is_written_too(written):
    a, b = numpy.linspace(0.0, 1.0, N), numpy.linspace(2.0, 3.0, N)
    x, y = dnp.array(a), dnp.array(b)
    code = compile("x - (y * 2.0)", "<right>", "eval")
    for got in _taught(code, {"x": x, "y": y}):
        numpy.testing.assert_array_equal(got, a - (b * 2.0))
    assert any(found is not None for found in written)
    numpy.testing.assert_array_equal(numpy.asarray(x), a)
    numpy.testing.assert_array_equal(numpy.asarray(y), b)


def test_a_held_value_is_never_written(written):
    a = numpy.linspace(0.0, 1.0, N)
    x = dnp.array(a)
    code = compile("t + 1.0", "<held>", "eval")
    t = x * 2.0
    numpy.asarray(t)  # computed
    for got in _taught(code, {"t": t}):
        numpy.testing.assert_array_equal(got, a * 2.0 + 1.0)
    numpy.testing.assert_array_equal(numpy.asarray(t), a * 2.0)
    assert all(found is None for found in written)  # (`t` was never offered)


def test_a_temporary_a_lazy_value_reads_is_never_written(written):
    a = numpy.linspace(0.0, 1.0, N)
    x = dnp.array(a)
    kept = []

    def keep_a_reader(t):
        kept.append(t[::2] * 3.0)  # a lazy value reading `t`'s buffer
        return t

    code = compile("keep(x * 2.0) + 1.0", "<read>", "eval")
    for _ in range(3):
        got = eval(code, {}, {"x": x, "keep": keep_a_reader})  # noqa: S307
        numpy.testing.assert_array_equal(numpy.asarray(got), a * 2.0 + 1.0)
    for value in kept:
        numpy.testing.assert_array_equal(numpy.asarray(value), (a * 2.0)[::2] * 3.0)


def test_a_temporary_held_by_c_code_is_not_offered(written):
    """A call from C code (here `operator.add`) is not an operator of Python code: the caller
    may hold its only reference to the operand and use it again."""
    a = numpy.linspace(0.0, 1.0, N)
    x = dnp.array(a)
    code = compile("add(x * 2.0, 1.0)", "<c>", "eval")
    for _ in range(3):
        got = eval(code, {}, {"x": x, "add": operator.add})  # noqa: S307
        numpy.testing.assert_array_equal(numpy.asarray(got), a * 2.0 + 1.0)
    assert written == []


def test_the_users_memory_is_never_written(written):
    a = numpy.linspace(0.0, 1.0, N)
    u = a.copy()
    code = compile("(x + 0.0) * 2.0 + (x - 1.0)", "<user>", "eval")
    for got in _taught(code, {"x": dnp.asarray(u)}):
        numpy.testing.assert_array_equal(got, (a + 0.0) * 2.0 + (a - 1.0))
    numpy.testing.assert_array_equal(u, a)


_OPERATORS = ["+", "-", "*", "/"]


@st.composite
def expressions(draw, depth: int = 0) -> str:
    """Source of an expression over `x`, `y` (float64 arrays), `i` (an int64 array), `t` (a
    held value) and scalars: nested operators, so that temporaries meet operators."""
    if depth >= 4 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(["x", "y", "t", "i", "2.5", "3", "(-x)", "np.sqrt(y)"]))
    left = draw(expressions(depth + 1))
    right = draw(expressions(depth + 1))
    return f"({left} {draw(st.sampled_from(_OPERATORS))} {right})"


@settings(max_examples=40, deadline=None)
@given(source=expressions(), user_memory=st.booleans())
def test_expressions_agree_with_numpy_and_leave_their_operands_alone(source, user_memory):
    scheduler.forget()
    rng = numpy.random.default_rng(len(source))
    values = {
        "x": rng.random(N) + 0.5,
        "y": rng.random(N) + 0.5,
        "i": rng.integers(-5, 5, N),
    }
    values["t"] = values["x"] * 3.0
    code = compile(source, "<generated>", "eval")
    mine = {k: v.copy() for k, v in values.items()}
    wrap = dnp.asarray if user_memory else dnp.array
    names = {k: wrap(v) for k, v in mine.items()}
    with numpy.errstate(all="ignore"):
        try:
            want = eval(code, {"np": numpy}, dict(values))  # noqa: S307
        except ArithmeticError as error:  # (Python scalars only: `2.5 / (2.5 - 2.5)`)
            with pytest.raises(type(error)):
                _taught(code, names, calls=1)
            return
        for got in _taught(code, names):
            assert got.dtype == numpy.asarray(want).dtype
            numpy.testing.assert_array_equal(got, want)
    for k, v in values.items():
        numpy.testing.assert_array_equal(numpy.asarray(names[k]), v)
        numpy.testing.assert_array_equal(mine[k], v)


_STATEMENTS = [
    "t = (x * 2.0) + y",
    "t = (t - 1.0) * (y + 0.5)",
    "v = t[::2]",
    "w = (t[1:] + 1.0) * 2.0",
    "t += 1.0",
    "x[: N // 2] = (y[: N // 2] * 3.0) - 1.0",
    "y = np.sqrt(x * x + 1.0) / 2.0",
    "c = t.copy()",
    "s = float(((t * 2.0) - x).sum())",
    "v = (v * 0.5) + 1.0",
    "z = np.where((t * 2.0) > 1.0, t, (x + 1.0) * 3.0)",
]


@settings(max_examples=30, deadline=None)
@given(
    steps=st.lists(st.sampled_from(range(len(_STATEMENTS))), min_size=1, max_size=10),
    user_memory=st.booleans(),
)
def test_scripts_with_views_and_updates_agree_with_numpy(steps, user_memory):
    """Scripts whose statements keep values, take views of them and update them in place
    between calls that write into temporaries: every value kept, and the inputs, agree with
    NumPy's at every step."""
    scheduler.forget()
    rng = numpy.random.default_rng(len(steps))
    x0, y0 = rng.random(N), rng.random(N)
    theirs = {"np": numpy, "N": N, "x": x0.copy(), "y": y0.copy(), "t": x0 * 3.0}
    theirs["v"] = theirs["t"][::2]
    wrap = dnp.asarray if user_memory else dnp.array
    mine = {"np": dnp, "N": N, "x": wrap(x0.copy()), "y": wrap(y0.copy())}
    mine["t"] = mine["x"] * 3.0
    mine["v"] = mine["t"][::2]
    for k in steps:
        code = compile(_STATEMENTS[k], "<statement>", "exec")
        exec(code, theirs)  # noqa: S102 - the tests' own statements
        exec(code, mine)  # noqa: S102
        for name, want in theirs.items():
            if isinstance(want, numpy.ndarray | float):
                numpy.testing.assert_array_equal(numpy.asarray(mine[name]), want, err_msg=name)
