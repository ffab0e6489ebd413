"""The LLVM backend against the reference interpreter, on the corpus of tests/backends/corpus/,
plus what only a native backend must get right: zero-copy results, no leaks, argument checks."""

from __future__ import annotations

import copy
import ctypes
import functools
import gc
import os

import numpy as np
import pytest

import daybreak as db
from daybreak.backends.llvm import LLVMBackend
from daybreak.ir.errors import LinearityError, LoweringError, UnsupportedError, WeldRuntimeError

from .corpus import CASES, Case


def _compile(text: str, backend: str):
    """Compile for `backend` itself: strict, so that a construct the llvm backend does not
    compile raises instead of falling back to the interpreter."""
    before = db.config(strict=True)
    try:
        f = db.compile(text, backend=backend)
    finally:
        db.config(**before)
    assert f.backend == backend
    return f


# ----------------------------------------------------------------------------------------------
# Comparing results exactly: same Python/NumPy types, dtypes, shapes, order; floats bit for bit
# (except that every NaN is the same NaN), or within a tight tolerance for `approx` cases.

_RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


def _same_floats(got: np.ndarray, want: np.ndarray, approx: bool) -> bool:
    nan_got, nan_want = np.isnan(got), np.isnan(want)
    if not np.array_equal(nan_got, nan_want):
        return False
    g, w = got[~nan_got], want[~nan_want]
    if np.array_equal(g, w) and np.array_equal(np.signbit(g), np.signbit(w)):
        return True
    if not approx:
        return False
    rtol = _RTOL[want.dtype]
    tiny = np.finfo(want.dtype).tiny
    with np.errstate(all="ignore"):
        close = (g == w) | (np.abs(g - w) <= rtol * np.abs(w) + tiny)
    return bool(np.all(close))


def _same_array(got: np.ndarray, want: np.ndarray, approx: bool) -> bool:
    if not isinstance(got, np.ndarray) or got.dtype != want.dtype or got.shape != want.shape:
        return False
    if want.dtype.names is not None:
        return all(_same_array(got[n], want[n], approx) for n in want.dtype.names)
    if want.dtype.kind == "f":
        return _same_floats(got, want, approx)
    return np.array_equal(got, want)


def _first_difference(got, want: np.ndarray, approx: bool) -> str:
    if not isinstance(got, np.ndarray) or got.dtype != want.dtype or got.shape != want.shape:
        return (
            f"got {type(got).__name__} {getattr(got, 'dtype', '')} {np.shape(got)}, "
            f"want {want.dtype} {want.shape}"
        )
    for k in range(len(want)):
        if not _same_array(got[k : k + 1], want[k : k + 1], approx):
            return f"at [{k}]: got {got[k]!r}, want {want[k]!r}"
    return "?"


def assert_same(got, want, approx: bool = False, path: str = "result") -> None:
    """`got` equals `want` in type and value (see above); the message says where they differ."""
    if isinstance(want, np.ndarray):
        assert _same_array(got, want, approx), f"{path}: {_first_difference(got, want, approx)}"
    elif isinstance(want, np.generic):
        assert type(got) is type(want), f"{path}: {type(got)} != {type(want)}"
        assert _same_array(np.array([got]), np.array([want]), approx), f"{path}: {got} != {want}"
    elif isinstance(want, tuple | list):
        assert type(got) is type(want) and len(got) == len(want), f"{path}: {got!r} != {want!r}"
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, approx, f"{path}[{k}]")
    elif isinstance(want, dict):
        assert isinstance(got, dict) and len(got) == len(want), f"{path}: {got!r} != {want!r}"
        for (gk, gv), (wk, wv) in zip(
            sorted(got.items(), key=repr), sorted(want.items(), key=repr), strict=True
        ):
            assert_same(gk, wk, approx, f"{path} key")
            assert_same(gv, wv, approx, f"{path}[{wk!r}]")
    elif isinstance(want, float):
        assert type(got) is float, f"{path}: {got!r} != {want!r}"
        assert _same_floats(np.array([got]), np.array([want]), approx), f"{path}: {got} != {want}"
    else:
        assert type(got) is type(want) and got == want, f"{path}: {got!r} != {want!r}"


@functools.cache
def _interp_result(case: Case):
    return _run(case, "interp")[0]


def _run(case: Case, backend: str):
    """(result or WeldRuntimeError, the inputs after the run) on `backend`."""
    f = _compile(case.text, backend)
    inputs = copy.deepcopy(case.args)
    try:
        out = f(*inputs)
    except WeldRuntimeError as e:
        out = e
    return out, inputs


def _check_against_interp(case: Case) -> None:
    want = _interp_result(case)
    got, inputs_after = _run(case, "llvm")
    assert_same(list(inputs_after), list(case.args), path="the inputs after the run")
    if case.error is not None:
        assert isinstance(want, WeldRuntimeError), f"the interpreter did not fail: {want!r}"
        assert isinstance(got, WeldRuntimeError), f"llvm did not fail ({case.error}): {got!r}"
        assert got.loc is not None and got.loc == want.loc, f"{got} is not at {want.loc}"
        return
    assert not isinstance(want, WeldRuntimeError), f"the interpreter failed: {want}"
    assert not isinstance(got, WeldRuntimeError), f"llvm failed: {got}"
    assert_same(got, want, case.approx)


def _param(case: Case):
    marks = [pytest.mark.xfail(reason=case.known_bug)] if case.known_bug else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_llvm_matches_interp(case: Case):
    _check_against_interp(case)


@pytest.mark.parametrize("threads", [1, 3, 4])
@pytest.mark.parametrize("case", [_param(c) for c in CASES if "parallel" in c.needs])
def test_results_do_not_depend_on_the_thread_count(case: Case, threads: int):
    before = db.config(threads=threads)
    try:
        _check_against_interp(case)
    finally:
        db.config(**before)


_SMALL = [_param(c) for c in CASES if not c.needs & {"parallel"} and not c.name.startswith("big")]


@pytest.mark.parametrize("case", _SMALL)
def test_llvm_matches_interp_with_every_loop_split(case: Case):
    """Every top-level loop split across 3 threads however short (grain 1): per-thread
    builders, their merging in loop order, and errors in any range."""
    before = db.config(threads=3, grain=1)
    try:
        _check_against_interp(case)
    finally:
        db.config(**before)


def test_corpus_names_are_unique():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)) and len(names) >= 150


# ----------------------------------------------------------------------------------------------
# Native memory: results are NumPy arrays over the blocks the run allocated; inputs are not
# copied.


def _owner(a: np.ndarray):
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    return a


def test_results_own_native_memory_without_copies():
    f = _compile("|v: vec[f64]| map(v, |x| x * 2.0)", "llvm")
    out = f(np.arange(5.0))
    owner = _owner(out)
    # the array's memory is a ctypes view of the native block, not a NumPy-made copy
    assert isinstance(owner, ctypes.Array)
    assert ctypes.addressof(owner) == out.ctypes.data
    assert out.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert out.flags.c_contiguous


@pytest.mark.parametrize("backend", ["llvm", "interp"])
def test_partial_binds_parameters_once(backend: str):
    """`Executable.partial` (what the scheduler calls a cached structure through: its sizes
    and strides bound once) gives what a call with every argument gives, for any split of
    the parameters, and checks the free values as a full call does."""
    f = _compile(
        "|v: vec[f64], k: i64, s: f64, w: vec[i64]| "
        "result(for(zip(v, w), merger[f64, +], |b, i, x| merge(b, x.$0 * s + f64(x.$1 * k))))",
        backend,
    )
    v, w = np.arange(6.0), np.arange(6, dtype=np.int64)[::-1].copy()
    want = f(v, 3, 0.5, w)
    for fixed in ({}, {1: 3}, {1: 3, 2: 0.5}, {0: v, 3: w}, {0: v, 1: 3, 2: 0.5, 3: w}):
        call = f.partial(fixed)
        free = [x for k, x in enumerate((v, 3, 0.5, w)) if k not in fixed]
        for _ in range(2):  # (the native template is copied, never written)
            assert call(free, 1) == want
    with pytest.raises((TypeError, ValueError)):
        f.partial({1: 3})([v, "no", w], 1)


def test_bool_struct_and_nested_results_are_not_copied():
    f = _compile(
        """|v: vec[f64]| {map(v, |x| x > 1.0), [map(v, |x| x * 2.0)],
           map(v, |x| {x, i64(x)}), map(v, |x| {x, i32(x)})}""",
        "llvm",
    )
    flags, nested, records, padded = f(np.arange(3.0))
    for out in (flags, nested[0], records):
        assert isinstance(_owner(out), ctypes.Array)
    assert flags.tolist() == [False, False, True] and nested[0].tolist() == [0.0, 2.0, 4.0]
    assert records.dtype == np.dtype([("f0", "f8"), ("f1", "i8")]) and records["f1"][2] == 2
    # {f64, i32} has padding in LLVM's layout: users get packed records (a copy)
    assert padded.dtype == np.dtype([("f0", "f8"), ("f1", "i4")]) and padded["f1"][2] == 2


def test_struct_of_results_and_nested_results_are_readable_after_the_run():
    f = _compile("|v: vec[i64]| {map(v, |x| x + 1L), [map(v, |x| x * 2L)]}", "llvm")
    first, nested = f(np.arange(3, dtype=np.int64))
    gc.collect()
    assert first.tolist() == [1, 2, 3] and nested[0].tolist() == [0, 2, 4]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_inputs_are_not_copied():
    big = np.ones(10_000_000)  # 80 MB, resident: a copy would show in the resident set
    f = _compile("|v: vec[f64], m: vec[vec[f64]]| {len(v), lookup(v, 9999999L), len(m)}", "llvm")
    before = _rss_bytes()
    n, last, rows = f(big, [big, big[:5_000_000]])
    assert n == 10_000_000 and last == 1.0 and rows == 2
    assert _rss_bytes() - before < 40_000_000


def test_repeated_runs_do_not_leak():
    f = _compile(
        """|v: vec[f64]|
        let m = map(v, |x| x + 1.0);
        let s = sort(m, |a, b| compare(b, a));
        {filter(s, |x| x > 2.0), result(for(m, merger[f64,+], |b, i, x| merge(b, x))),
         [m, s], result(for(m, vecmerger[f64,+](m), |b, i, x| merge(b, {i, x})))}""",
        "llvm",
    )
    data = np.arange(10_000, dtype=np.float64)
    for _ in range(50):  # warm up the allocator
        f(data)
    gc.collect()
    before = _rss_bytes()
    for _ in range(1000):
        f(data)
    gc.collect()
    assert _rss_bytes() - before < 8_000_000


def test_repeated_parallel_runs_do_not_leak():
    f = _compile(
        """|v: vec[i64]|
        {filter(v, |x| x % 3L == 0L), result(for(v, vecmerger[i64,+]([0L, 0L]), |b, i, x|
          merge(b, {x % 2L, 1L})))}""",
        "llvm",
    )
    data = np.arange(100_000, dtype=np.int64)
    before_threads = db.config(threads=4)
    try:
        for _ in range(20):
            f(data)
        gc.collect()
        before = _rss_bytes()
        for _ in range(300):
            f(data)
        gc.collect()
        assert _rss_bytes() - before < 8_000_000
    finally:
        db.config(**before_threads)


def test_failed_runs_do_not_leak():
    f = _compile("|v: vec[i64]| let m = map(v, |x| x * 2L); lookup(m, 100000L)", "llvm")
    data = np.arange(10_000, dtype=np.int64)
    for _ in range(20):
        with pytest.raises(WeldRuntimeError):
            f(data)
    before = _rss_bytes()
    for _ in range(500):
        with pytest.raises(WeldRuntimeError):
            f(data)
    assert _rss_bytes() - before < 8_000_000


# ----------------------------------------------------------------------------------------------
# Arguments.


def test_arguments_by_position_and_name():
    f = _compile("|a: i32, b: f64| f64(a) - b", "llvm")
    assert f(1, 0.5) == 0.5 and f(b=0.5, a=1) == 0.5 and f(1, b=0.25) == 0.75
    with pytest.raises(TypeError, match="takes 2 arguments, got 3"):
        f(1, 2.0, 3)
    with pytest.raises(TypeError, match="is missing 'b'"):
        f(1)
    with pytest.raises(TypeError, match="no parameter 'c'"):
        f(1, 2.0, c=3)


def _objects(*items) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = list(items)
    return out


_STRUCTS = np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])
_BAD_ARGUMENTS = [
    ("|v: vec[f64], n: i32| len(v) + i64(n)", (np.zeros(3, dtype=np.int64), 2)),
    ("|v: vec[f64], n: i32| len(v) + i64(n)", ([1.0, 2.0], 2)),
    ("|v: vec[f64], n: i32| len(v) + i64(n)", (np.zeros((2, 2)), 2)),
    ("|v: vec[f64], n: i32| len(v) + i64(n)", (np.zeros(3), 2.5)),
    ("|v: vec[f64], n: i32| len(v) + i64(n)", (np.zeros(3), np.int64(2))),
    ("|v: vec[f64], n: i32| len(v) + i64(n)", (np.zeros(3), 2**40)),
    ("|v: vec[f64], n: i32| len(v) + i64(n)", (np.zeros(3), True)),
    ("|x: f32| x", (1e300,)),
    ("|x: bool| x", (1,)),
    ("|x: u8| x", (-1,)),
    ("|p: {i32, f64}| p.$0", (1,)),
    ("|p: {i32, f64}| p.$0", ((1, 2.0, 3),)),
    ("|p: {i32, f64}| p.$0", ((1.5, 2.0),)),
    ("|v: vec[{i32,f64}]| len(v)", (np.array([(1, 2.0)], dtype=[("a", "i8"), ("b", "f8")]),)),
    ("|v: vec[{i32,f64}]| len(v)", ([(1.5, 2.0)],)),
    ("|v: vec[{i32,f64}]| len(v)", (np.zeros(2),)),
    ("|m: vec[vec[i8]]| len(m)", ([np.zeros(2)],)),
    ("|m: vec[vec[i8]]| len(m)", (np.zeros(2, dtype=np.int8),)),
    ("|m: vec[vec[f64]]| len(m)", ([np.zeros(2), [1.0]],)),
    ("|m: vec[vec[f64]]| len(m)", ([np.zeros(2), np.zeros(2, dtype=np.float32)],)),
    ("|m: vec[vec[f64]]| len(m)", (np.zeros((2, 2), dtype=np.float32),)),
    ("|m: vec[vec[f64]]| len(m)", (_objects(np.zeros(2), "x"),)),
    ("|v: vec[f64]| len(v)", (np.ma.masked_array([1.0, 2.0], mask=[0, 1]),)),
]


@pytest.mark.parametrize(("text", "args"), _BAD_ARGUMENTS)
def test_bad_arguments_fail_as_in_the_interpreter(text, args):
    """Wrong dtypes, kinds, shapes and ranges: the same exception, naming the parameter."""
    with pytest.raises((TypeError, ValueError)) as want:
        _compile(text, "interp")(*args)
    with pytest.raises((TypeError, ValueError)) as got:
        _compile(text, "llvm")(*args)
    assert type(got.value) is type(want.value)
    assert str(got.value) == str(want.value)
    assert "parameter '" in str(got.value)


_GOOD_ARGUMENTS = [
    ("|v: vec[f64]| v", (np.arange(10.0)[::3],)),  # not contiguous
    ("|v: vec[f64]| v", (np.arange(4.0).astype(">f8"),)),  # big-endian
    ("|v: vec[{i32,f64}]| v", (_STRUCTS,)),
    ("|v: vec[{i32,f64}]| v", ([(1, 2.0), [3, 4]],)),
    ("|v: vec[{i32,{f64,bool}}]| v", ([(1, (2.0, True))],)),
    ("|p: {i32, {f64, bool}}| p", ((1, [2.5, False]),)),
    ("|p: {i32, f64}| p", (_STRUCTS[0],)),
    ("|s: vec[i8]| s", ("héllo",)),
    ("|s: vec[i8]| s", (bytearray(b"ab"),)),
    ("|m: vec[vec[i8]]| m", (np.array(["ab", "c"]),)),
    ("|m: vec[vec[i8]]| m", ([b"ab", "c", np.frombuffer(b"d", np.int8)],)),
    ("|m: vec[vec[i32]]| m", (np.arange(6, dtype=np.int32).reshape(2, 3),)),
    ("|m: vec[vec[i32]]| m", (np.arange(6, dtype=np.int32).reshape(3, 2).T,)),
    ("|m: vec[vec[i32]]| m", (_objects(np.arange(2, dtype=np.int32), np.zeros(0, np.int32)),)),
    ("|m: vec[vec[i32]]| m", (np.zeros((0, 3), dtype=np.int32),)),
    ("|x: f32, y: i64, z: bool| {x, y, z}", (np.float32(0.1), np.int64(-5), np.bool_(True))),
    ("|x: f64, y: u64| {x, y}", (3, 2**64 - 1)),
    ("|x: f64| x", (np.array(2.5),)),
]


@pytest.mark.parametrize(("text", "args"), _GOOD_ARGUMENTS)
def test_accepted_arguments_are_those_of_the_interpreter(text, args):
    want = _compile(text, "interp")(*args)
    got = _compile(text, "llvm")(*args)
    assert_same(got, want)


# ----------------------------------------------------------------------------------------------
# Compiling: equal programs from different texts, non-linear builders, deep programs.


def test_error_locations_follow_the_source_text_of_equal_programs():
    v = np.array([1, 2], dtype=np.int32)
    for text in ("|v: vec[i32]| lookup(v, 5L)", "|v: vec[i32]|\n\n   lookup(v, 5L)"):
        with pytest.raises(WeldRuntimeError) as want:
            _compile(text, "interp")(v)
        with pytest.raises(WeldRuntimeError) as got:
            _compile(text, "llvm")(v)
        assert got.value.loc == want.value.loc


def test_nonlinear_builder_programs_are_rejected():
    """Builders are updated in place, so a builder used twice is the program's mistake:
    `db.compile` raises a located LinearityError whatever the backend (never a quiet run on
    the interpreter), and the llvm backend refuses such a program if handed one directly."""
    text = """let b = merge(appender[i32], 1); let b1 = merge(b, 2); let b2 = merge(b, 3);
      let m = merger[i32,+]; let m1 = merge(m, 2);
      {result(b1), result(b2), result(b), result(m), result(m1)}"""
    for backend in ("llvm", "interp"):
        with pytest.raises(LinearityError, match=r"1:\d+: builder 'b' is used more than once"):
            db.compile(text, backend=backend)
    with pytest.raises((UnsupportedError, LoweringError)):
        LLVMBackend().compile(db.ir.parse(text))


def test_deep_programs_compile():
    n = 3000
    text = "|x0: i64| " + "".join(f"let x{k} = x{k - 1} + 1L; " for k in range(1, n + 1))
    assert _compile(text + f"x{n}", "llvm")(7) == 7 + n


def test_a_failure_inside_lowering_names_the_node_and_falls_back(monkeypatch):
    """An emitter that fails with a Python error (a gap or a bug) becomes a LoweringError
    naming the node and its line:col, so `db.compile` falls back to the interpreter (counted)
    instead of letting a bare TypeError escape."""
    from daybreak.backends.llvm import lower

    def broken(self, node, env):
        raise TypeError("no LLVM layout for something")

    monkeypatch.setitem(lower._NODE_EMITTERS, db.ir.nodes.Cast, broken)
    text = "|v: f64|\n  i64(v) + 2L"
    with pytest.raises(LoweringError, match=r"while lowering Cast: TypeError") as raised:
        LLVMBackend().compile(db.ir.parse(text))
    assert "2:3" in str(raised.value)
    db.stats(reset=True)
    assert db.compile(text, backend="llvm")(5.5) == 7
    assert any("while lowering Cast" in r for r in db.stats()["fallbacks"])


@pytest.mark.parametrize("builder", ["groupmerger[i64,bool]", "dictmerger[i64,i64,+]"])
def test_key_value_merges_at_the_loop_index_are_not_vecmerger_positions(builder):
    """`merge(b, {i, v})` into a groupmerger or dictmerger is a key, not a vecmerger position:
    the loop is not versioned on it (it lowered with a TypeError; found by hypothesis)."""
    value = "false" if "bool" in builder else "1L"
    text = (
        f"|p0: vec[i32]| result(for(iter(p0, 0L, min(3L, len(p0)), 1L), {builder}, "
        f"|b, n, v| merge(b, {{n, {value}}})))"
    )
    data = np.arange(5, dtype=np.int32)
    assert_same(_compile(text, "llvm")(data), _compile(text, "interp")(data))


@pytest.mark.parametrize("kind", ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"])
def test_shifts_are_numpys_on_every_backend(kind):
    """`<<` and `>>` shift as NumPy's left_shift/right_shift do, amounts of the width or more
    (and negative ones, read as unsigned) included: LLVM's own shifts give poison there."""
    text = (
        f"|a: vec[{kind}], n: vec[{kind}]| {{"
        f"result(for(zip(a, n), appender[{kind}], |b, i, p| merge(b, p.$0 << p.$1))), "
        f"result(for(zip(a, n), appender[{kind}], |b, i, p| merge(b, p.$0 >> p.$1)))}}"
    )
    dtype = np.dtype({"i": "int", "u": "uint"}[kind[0]] + kind[1:])
    bits = dtype.itemsize * 8
    a = np.array([5, -3, 100, -128, 7, 1, 2, 3, -1, 0], dtype=np.int64).astype(dtype)
    n = np.array([0, 1, bits - 1, bits, bits + 1, 63, 64, 70, -1, 2], dtype=np.int64).astype(dtype)
    with np.errstate(all="ignore"):
        want = (np.left_shift(a, n), np.right_shift(a, n))
    for backend in ("llvm", "interp"):
        got = _compile(text, backend)(a, n)
        for x, y in zip(got, want, strict=True):
            np.testing.assert_array_equal(np.asarray(x), y)
