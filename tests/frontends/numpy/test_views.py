"""Views are NumPy's: a view shows every later write to its base (written in place, rebound
by `a += 1`, computed), writes through a view (a slice, a transpose, a reshape, a view of a
view) reach the base, and `np.asarray` of a strided user array (`u[:, 3]`, Fortran order) is
that array. Each script runs with NumPy and with daybreak.numpy on equal data; every value
it keeps must agree, and the user's arrays too. The conftest's strict mode fails any
fallback, so daybreak's own path did the work."""

from __future__ import annotations

import random

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import daybreak as db
import daybreak.numpy as dnp
from daybreak.runtime.config import Settings

pytestmark = pytest.mark.usefixtures("snapshot_kinds")

ROWS, COLS = 40, 30

# (name, script): `a` is the base, `np` the library; the script's variables are compared
CASES = [
    ("element written", "w = a[:, 3]; a[0, 3] = -1"),
    ("row written", "w = a[5]; a[5, :10] = -1"),
    ("base rebound in place", "w = a[:, 3]; a += 1"),
    ("part written by a ufunc", "w = a[2:]; a[:, 3] += 1"),
    ("ufunc out= the base", "w = a[1:]; np.multiply(a, 2, out=a)"),
    ("transpose", "w = a.T; a[0, 3] = -1"),
    ("reshape", "w = a.reshape(-1); a[0, 3] = -1"),
    ("written through a reshape", "w = a[:, 2]; a.reshape(-1)[2] = -1"),
    ("ravel written", "w = a.ravel(); w[3] = -5"),
    ("flatten is a copy", "w = a.flatten(); w[3] = -5; x = a[0, 3] * 1"),
    ("another view written", "w = a[:, 3]; v = a[0]; v[3] = -1"),
    ("view of a view", "w = a[2:][:, 3]; a[2, 3] = -1"),
    ("transpose of a view written", "v = a[1:9, 2:7]; w = v.T; w[1, :] = 7; x = a * 1"),
    ("base filled", "w = a[3]; a.fill(7)"),
    ("base assigned whole", "w = a[3]; a[...] = 7"),
    ("masked write", "w = a[3]; a[a > 5] = 0"),
    ("copyto", "w = a[:, 1:4]; np.copyto(a, a[::-1].copy())"),
    ("lazy value made from a view", "w = a[:, 3]; p = w * 2; a[1, 3] = -1"),
    ("copy of a view", "w = a[:, 3]; p = w.copy(); a[1, 3] = -1; w[2] = 4"),
    ("a view rebound then its base written", "w = a[3:6]; w += 1; a[4, 0] = -9"),
    ("two levels follow a rebinding", "v = a[1:]; w = v[:, ::2]; a *= 3"),
    ("shifted views", "w = a[1:] - a[:-1]; v = a[:-1]; x = a[:, 1:] * 2; a[0, 0] = -1"),
]

BASES = {
    # a computed array of daybreak's own, a pending one, the user's memory
    "computed": "a = np.asarray(u) * 1.0; float(a.sum()); a[0, 0] += 0",
    "pending": "a = np.asarray(u) * 1.0",
    # (views of it compute it once: `indexing._read_computed_once`)
    "pending work": "a = np.sqrt(np.asarray(u) * 2.0 + 1.0)",
    "user": "a = np.asarray(u)",
}


def _run(np, script: str, base: str) -> dict:
    u = numpy.arange(ROWS * COLS, dtype=float).reshape(ROWS, COLS) / 7.0
    env = {"np": np, "u": u}
    exec(base, env)
    exec(script, env)
    return {
        name: numpy.array(numpy.asarray(value), copy=True)
        for name, value in env.items()
        if name in ("a", "u", "w", "v", "p", "x")
    }


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize(
    ("name", "script"),
    [
        *CASES,
        pytest.param(  # NumPy's own (counted), into a copy of the values, then rebound
            "ufunc.at",
            "w = a[1:]; p = a * 1; np.add.at(a, [1, 1, 2], 1.0)",
            marks=pytest.mark.allow_fallbacks("ufunc method add.at"),
        ),
    ],
    ids=[c[0] for c in CASES] + ["ufunc.at"],
)
def test_views_follow_their_bases_as_in_numpy(name, script, base):
    want = _run(numpy, script, BASES[base])
    got = _run(dnp, script, BASES[base])
    assert got.keys() == want.keys()
    for key in want:
        numpy.testing.assert_array_equal(got[key], want[key], err_msg=f"{name}: {key}")


def test_views_of_a_pending_value_read_what_was_computed_once():
    """`flx[1:] - flx[:-1]` of a pending `flx` that does work (hdiff's fluxes): both views
    read the one loop node `flx`'s expression was made into for the first (the second, at
    `flx`'s own coordinates, read the whole expression again: computed twice, by the
    library and in native code)."""
    from daybreak.frontends.elements.expr import Leaf, postorder

    def loops(view):
        return {
            id(e.node)
            for e in postorder(view._held)
            if type(e) is Leaf and e.node is not None and not e.node.is_leaf
        }

    u = numpy.random.default_rng(4).random((60, 50))
    flx = dnp.where(dnp.asarray(u) * 2.0 - 1.0 > 0, 0.0, dnp.asarray(u))
    ahead, behind = flx[1:], flx[:-1]
    assert len(loops(ahead)) == 1
    assert loops(behind) == loops(ahead)
    want = numpy.where(u * 2.0 - 1.0 > 0, 0.0, u)
    numpy.testing.assert_array_equal(numpy.asarray(ahead - behind), want[1:] - want[:-1])
    numpy.testing.assert_array_equal(numpy.asarray(flx), want)


@pytest.mark.parametrize(
    "line",
    [
        lambda np, x: np.diff(np.log(x), axis=1),
        lambda np, x: (lambda e: e[:, 2:] - 2.0 * e[:, 1:-1] + e[:, :-2])(np.exp(x)),
    ],
    ids=["diff of log", "stencil of exp"],
)
def test_one_costly_call_read_two_ways_is_computed_once(line):
    """`np.diff(np.log(x))` reads the logs shifted and not: one costly call (`op_weight`) is
    a loop node of its own that both reads share (pushed into each read, every element's
    log was computed twice: a native diff of logs 2.8 ms against 1.95 at 64 x 8192)."""
    from daybreak.frontends.elements.expr import Leaf, postorder

    u = numpy.random.default_rng(6).random((40, 300)) + 0.5
    got = line(dnp, dnp.asarray(u))
    costly = [
        e.node
        for e in postorder(got._held)
        if type(e) is Leaf and e.node is not None and not e.node.is_leaf
    ]
    assert len({id(n) for n in costly}) == 1  # the logs (or exps), read by both
    # (native log and exp are within an ulp or two of NumPy's, not bit for bit)
    numpy.testing.assert_allclose(numpy.asarray(got), line(numpy, u), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    "part",
    [
        lambda u: u[:, 3],
        lambda u: u[::-1, 2:20:3],
        lambda u: u.T,
        lambda u: numpy.asfortranarray(u),
        lambda u: u[5:30, 1:][::2],
    ],
    ids=["column", "reversed and stepped", "transpose", "fortran", "view of a view"],
)
def test_a_strided_user_array_is_the_users_memory(part):
    """`np.asarray(p)` of a strided NumPy array `p` IS `p` in NumPy: the user's writes show
    in it, its writes reach the user's array, and lazy values made before keep the values
    they were made from."""
    results = []
    for np in (numpy, dnp):
        u = numpy.arange(ROWS * COLS, dtype=float).reshape(ROWS, COLS)
        p = part(u)
        x = np.asarray(p)
        before = x * 2  # made before the writes below
        p[(1,) + (0,) * (p.ndim - 1)] = -1.0  # the user's write through NumPy
        x[(0,) * (p.ndim - 1) + (1,)] = -2.0  # daybreak's write
        x += 0.5
        results.append([numpy.array(numpy.asarray(v), copy=True) for v in (x, before, p, u)])
        if np is dnp:
            assert numpy.shares_memory(numpy.asarray(x), p), "the user's memory itself"
    for got, want in zip(*reversed(results), strict=True):
        numpy.testing.assert_array_equal(got, want)


def _users(rows: int, cols: int) -> dict:
    return {
        "u0": numpy.arange(rows * cols, dtype=float).reshape(rows, cols) / 7.0,
        "u1": numpy.cos(numpy.arange(rows * cols, dtype=float)).reshape(rows, cols),
    }


def _script(rnd: random.Random, steps: int, rows: int = ROWS, cols: int = COLS) -> list[str]:
    """A random script of views, copies, lazy values and writes, generated against NumPy
    (which knows every shape as it goes): what the mirror test replays."""
    env = {"np": numpy, **_users(rows, cols)}
    names, lines = ["u0", "u1"], []

    def part(n: str) -> str:
        dims = []
        for d in env[n].shape:
            start = rnd.randrange(max(1, d // 2))
            stop = rnd.randrange(start + 1, d + 1)
            dims.append(f"{start}:{stop}" + rnd.choice(["", "", ":2"]))
        return ", ".join(dims)

    def like(n: str) -> str:
        return rnd.choice([m for m in names if numpy.shape(env[m]) == numpy.shape(env[n])])

    def line(a: str, v: str, c: float) -> str:
        shape, ndim = env[a].shape, env[a].ndim
        made = [
            f"{v} = np.asarray({rnd.choice(['u0', 'u1'])})",
            f"{v} = {a} * {c} + {like(a)}",
            f"{v} = {a}[{part(a)}]",
            f"{v} = np.asarray({a}[{part(a)}])",
            f"{v} = {a}.copy()",
            f"{v} = {a}.T" if ndim == 2 else f"{v} = {a}[::-1]",
            f"{v} = {a}.sum(axis=0)",
            f"{v} = np.where({a} > {c}, {a}, {like(a)})",
            f"{v} = {a}[{a} > {c}]",
            f"{v} = np.concatenate([{a}, {like(a)}])",
            f"{v} = np.roll({a}, {rnd.randrange(1, 5)})",
            f"{v} = {a}.cumsum(axis=0)",
            f"{v} = {a}.max()",
            f"{v} = {a}[{', '.join(str(rnd.randrange(d)) for d in shape)}]",
            f"{v} = {a}.view()",
            f"{v} = {a}[[{rnd.randrange(shape[0])}, {rnd.randrange(shape[0])}]]",
            f"{v} = np.sort({a}, axis=-1)",
        ]
        root = env[a]
        while isinstance(root.base, numpy.ndarray):
            root = root.base
        # (NumPy's elementwise results follow their inputs' memory order, daybreak's are C
        # order: a reshape of NumPy's F-ordered result is a copy, not compared here)
        c_ordered = root.ndim < 2 or root.flags.c_contiguous
        if c_ordered:
            made += [f"{v} = {a}.reshape(-1)", f"{v} = {a}.ravel()", f"{v} = {a}.flatten()"]
        written = [
            f"{a}[{part(a)}] = {c}",
            f"{a}[{part(a)}] *= {c}",
            f"{a}[...] += {like(a)}",
            f"{a}[{a} > {c}] = {c + 1}",
            f"np.multiply({a}, {c}, out={a})",
            f"{a} += {c}",
            f"{rnd.choice(['u0', 'u1'])}[{rnd.randrange(rows)}] = {c}",
            f"np.copyto({a}, {like(a)})",
            f"{a}.sort()",
            f"np.put({a}, [{rnd.randrange(env[a].size)}, {rnd.randrange(env[a].size)}], {c})",
            f"{a}[[{rnd.randrange(shape[0])}, {rnd.randrange(shape[0])}]] = {c}",
            f"{a}[[{rnd.randrange(shape[0])}, {rnd.randrange(shape[0])}]] += {c}",
            f"np.clip({a}, -1, 1, out={a})",
            f"np.negative({a}, out={a})",
            f"{a}.fill({c})",
            "{0}[{1}] = {0}[{1}] * {2} + 1".format(
                a, ", ".join(str(rnd.randrange(d)) for d in shape), c
            ),
        ]
        if ndim == 2:
            written += [
                f"{a}[:, {rnd.randrange(shape[1])}] = {c}",
                f"{a}[1:] -= {a}[:-1] * {c}",
                f"{a}.T[...] = {a}.T * {c}",
                f"np.fill_diagonal({a}, {c})",
            ]
        if c_ordered:
            written.append(f"{a}.reshape(-1)[{rnd.randrange(env[a].size)}] = {c}")
        return rnd.choice(written if rnd.random() < 0.45 else made)

    while len(lines) < steps:
        arrays = [n for n in names if numpy.ndim(env[n]) and numpy.size(env[n])]
        text = line(rnd.choice(arrays), f"v{len(lines)}", round(rnd.uniform(-2, 2), 2))
        try:
            exec(text, env)
        except (ValueError, IndexError, TypeError):
            continue  # (shapes that do not fit: NumPy says so; another line then)
        lines.append(text)
        names += [n for n in env if n.startswith("v") and n not in names]
    return lines


def _replay(np, lines: list[str], rows: int = ROWS, cols: int = COLS) -> dict:
    env = {"np": np, **_users(rows, cols)}
    for text in lines:
        exec(text, env)
    return {n: numpy.array(numpy.asarray(v), copy=True) for n, v in env.items() if n[0] in "uv"}


@pytest.mark.allow_fallbacks(  # NumPy's own, on the computed values (counted)
    "method sort", "function sort", "method cumsum"
)
@settings(max_examples=40, deadline=None)
@given(st.randoms(use_true_random=False))
def test_random_scripts_of_views_agree_with_numpy(rnd):
    """Random scripts of views (slices, transposes, reshapes, views through `np.asarray`),
    copies, lazy values and writes (in place, through views, `out=`, masks, the user's own
    NumPy writes), against a NumPy mirror: every array and value NumPy's. (Such scripts found
    every bug this file tests, 2026-12-06.)"""
    _mirror(_script(rnd, 30), ROWS, COLS)


@pytest.mark.allow_fallbacks("method sort", "function sort", "method cumsum")
@settings(max_examples=6, deadline=None)
@given(st.randoms(use_true_random=False))
def test_random_scripts_of_views_at_the_default_settings(rnd):
    """The same over 400x300 arrays with the default eager size: what a user's script runs
    (small parts are NumPy's own views, big ones daybreak's)."""
    before = db.config(eager_below=Settings().eager_below)  # (the conftest's is 0)
    try:
        _mirror(_script(rnd, 30, 400, 300), 400, 300)
    finally:
        db.config(**before)


def _mirror(lines: list[str], rows: int, cols: int) -> None:
    want = _replay(numpy, lines, rows, cols)
    try:
        got = _replay(dnp, lines, rows, cols)
    except Exception as error:
        raise AssertionError("daybreak raised on:\n" + "\n".join(lines)) from error
    for name in want:
        numpy.testing.assert_allclose(
            got[name], want[name], rtol=1e-9, atol=1e-9, err_msg=f"{name} in:\n" + "\n".join(lines)
        )


FOUND = [
    # a copy shared its original's leaf: a small part of the copy handed out and written
    # reached the original (a sum along an axis of a roll of the user's transpose)
    """v1 = u1.T
v5 = np.roll(v1, 1)
v7 = v5.sum(axis=0)
w = v5[130:158, 133:335]; w += v1[130:158, 133:335]
v11 = v7.copy()
v11[...] += v11""",
    # a small part of a view handed out made the view alone the user's memory: a copy of
    # its base (`flatten`) then wrote into the part the user held
    """v4 = np.where(u1 > -0.21, u1, u0)
v5 = v4.reshape((300, 400))
v4[:, 148] *= 0.3
v5[33:167, 141:296] *= 1.97
v10 = np.asarray(v5[63:64:2, 7:63])
v13 = v4.flatten()
v13[21103:79532] *= 1.03""",
    # a Fortran-ordered NumPy array (NumPy's result over a transpose) is read through a copy
    # keyed by the array itself: a later copy (after the user's write) was the same
    # parameter of the program that read both
    """v2 = u0.T
v14 = v2 * 0.0 + v2
v19 = np.where(v14 > 0.0, v14, v14)
v14[25:39, 14:385] = 1.13
v26 = np.concatenate([v14, v19])""",
    # two arrays of one pending expression computed by one run got one buffer through two
    # nodes: a write into one (in place, its node unshared) reached the other
    """v1 = np.where(u0 > 0.23, u0, u1)
v2 = np.asarray(v1[:, 199])
v12 = np.sin(v2[[156, 314]]) - v2[[156, 314]]
v12[0] = 0
v14 = np.roll(v12, 4)
v2[0] = 0
v16 = v14.reshape(-1)
v14[...] += v16""",
    # an array written through its transpose reads the transpose's buffer transposed:
    # NumPy's view of it was read-only, so it was never handed out, while a small part of
    # the transpose was handed out writeable; the array's later write went into a copy of
    # its own, unseen by the part
    """v4 = np.where(u0 > 0.0, u0, u0)
v5 = v4.T
v5[0:52, 21:239] = 0.0
v21 = v5[57:297, 184:191]
v4[116:226, 42:219] = 0.0
w = np.asarray(v4); w[190, 100] = -3.0
v22 = v5[95:105, 185:195]""",
    # a view computed with its base (both read memory about to be written, so both were
    # computed first) kept its own copy of the values, over the base's buffer it had been
    # remade over: the base's later write in place never reached it
    """v10 = np.where(u0 > -0.92, u0, u0)
v12 = np.asarray(v10[0:140, 0:160:2])
v16 = np.where(v12 > -0.0, v12, v12)
v18 = v16[0:100, 0:20]
v10[0:110, 0:50] = 1.24
v16.fill(-0.0)
np.negative(v18, out=v18)""",
]


@pytest.mark.parametrize("eager_below", [None, 0], ids=["default", "compiled"])
@pytest.mark.parametrize(
    "script",
    FOUND,
    ids=[
        "copy of a reduction",
        "part of a view",
        "copies of one array",
        "one buffer, two nodes",
        "part of a transpose",
        "view computed with its base",
    ],
)
def test_scripts_random_testing_found(script, eager_below):
    """Scripts over 400x300 arrays (above the default eager size, so that the default
    settings run daybreak's own path too) that random scripts found wrong."""
    before = db.config(**({} if eager_below is None else {"eager_below": eager_below}))
    if eager_below is None:
        db.config(eager_below=Settings().eager_below)  # (the conftest's is 0)
    try:
        results = []
        for np in (numpy, dnp):
            env = {
                "np": np,
                "u0": numpy.arange(120_000, dtype=float).reshape(400, 300) / 7.0,
                "u1": numpy.cos(numpy.arange(120_000, dtype=float)).reshape(400, 300),
            }
            exec(script, env)
            results.append(
                {
                    n: numpy.array(numpy.asarray(v), copy=True)
                    for n, v in env.items()
                    if n[0] in "uvw"
                }
            )
        for name, want in results[0].items():
            numpy.testing.assert_allclose(results[1][name], want, rtol=1e-12, err_msg=name)
    finally:
        db.config(**before)


@pytest.mark.parametrize(
    "script",
    [
        "a = np.asfortranarray(u); v = a[:, 1]; a[0, 1] = -5; r = v.copy(); a.reshape(-1)[0] = 9",
        "a = np.array(u, order='F'); v = a.T; v[0, 0] = 7; r = a.ravel()",
        "a = np.zeros((6, 5), order='F'); a[1] = 3; v = a.ravel(order='K'); r = v * 1",
        "a = np.copy(u, order='F'); v = a.reshape(-1); v[3] = -1; r = a * 1",
        "a = (u * 1).copy(order='F'); v = a.reshape(-1); v[3] = -1; r = np.ravel(a, 'A')",
        "a = np.ones((5, 6), order='F').T; v = a.reshape(-1); v[2] = 0; r = a * 1",
    ],
    ids=["asfortranarray", "array order F", "zeros order F", "copy order F", "method", "T"],
)
def test_fortran_order_is_numpys(script):
    """Arrays NumPy holds in Fortran order (asked for, or a result's): daybreak holds them as
    the transpose of a C-ordered array, so a reshape or ravel of them copies, or is a view,
    as NumPy's does, and `ravel(order="K")` reads their memory order."""
    results = []
    for np in (numpy, dnp):
        env = {"np": np, "u": numpy.arange(30.0).reshape(6, 5)}
        exec(script, env)
        results.append([numpy.array(numpy.asarray(env[n]), copy=True) for n in "avru"])
    for got, want in zip(*reversed(results), strict=True):
        numpy.testing.assert_array_equal(got, want)


def test_a_view_that_adds_axes_to_broadcast_stays_daybreaks():
    """`X[:, None, :]` of the user's array (a part of thousands of elements with an axis
    added: a broadcast's operand) stays daybreak's lazy view, below `eager_below` too, so
    the broadcast it makes (`(X[:, None, :] - C[None]) ** 2`, 4000 x 8 x 8) fuses into the
    reduction that reads it; a small part (a loop's element work) is NumPy's own view.
    NumPy's values either way."""
    from .helpers import defaults_outside_tests

    rng = numpy.random.default_rng(3)
    x, c = rng.normal(size=(4000, 8)), rng.normal(size=(8, 8))
    want = ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
    with defaults_outside_tests():
        X = dnp.asarray(x)
        spread = X[:, None, :]
        assert type(spread) is dnp.ndarray and spread.shape == (4000, 1, 8)
        d2 = ((spread - c[None, :, :]) ** 2).sum(axis=2)
        assert type(d2) is dnp.ndarray and not d2._held.node.is_leaf  # (one pending loop)
        numpy.testing.assert_allclose(numpy.asarray(d2), want, rtol=1e-12)
        small = X[:10, None, :]
        assert type(small) is numpy.ndarray and numpy.shares_memory(small, x)
        for row in (X[5, None], X[None, 7]):  # (through the subscript's fast path too)
            assert type(row) is numpy.ndarray
