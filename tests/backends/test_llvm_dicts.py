"""Dictionaries in the LLVM backend (backends/llvm/dicts.py) against the reference interpreter:
the same program and data through backend="interp" and backend="llvm" must give the same
result (keys, values, their NumPy types, tovec's order), and the same runtime errors."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import daybreak as db
from daybreak.backends.llvm import LLVMBackend, builders, dicts, loops
from daybreak.ir.errors import LinearityError, WeldRuntimeError
from daybreak.ir.parser import parse
from daybreak.ir.types import DictMerger, GroupMerger, Scalar, Struct

NAN = math.nan


def _normal(x):
    """A comparable form of a result: types kept, NaN equal to NaN, -0.0 apart from 0.0,
    dicts as lists of items sorted by key."""
    if isinstance(x, pa.Array):  # strings
        return ("strings", str(x.type), x.to_pylist())
    if isinstance(x, dict):
        items = [(_normal(k), _normal(v)) for k, v in x.items()]
        return ("dict", sorted(items, key=repr))
    if isinstance(x, np.ndarray):
        return ("array", str(x.dtype), x.shape, [_normal(e) for e in x.tolist()])
    if isinstance(x, np.generic):
        return (str(x.dtype), _normal(x.item()))
    if isinstance(x, float):
        return "nan" if math.isnan(x) else (x, math.copysign(1.0, x))
    if isinstance(x, tuple | list):
        return (type(x).__name__, [_normal(e) for e in x])
    return x


def run_both(text: str, *args):
    """Run `text` on both backends; assert they agree; return the result."""
    want = db.compile(text, backend="interp")(*args)
    got = db.compile(text, backend="llvm")(*args)
    assert _normal(got) == _normal(want)
    return got


def i64(*v):
    return np.array(v, dtype=np.int64)


def f64(*v):
    return np.array(v, dtype=np.float64)


# ----------------------------------------------------------------------------------------------
# dictmerger: group-by with every kind of key.

GROUP_SUM = """|k: vec[{K}], v: vec[{V}]|
  let d = result(for(zip(k, v), dictmerger[{K},{V},{OP}], |b, i, x| merge(b, x)));
  {{d, tovec(d), len(d)}}"""


@pytest.mark.parametrize(
    "key, keys",
    [
        ("i64", i64(5, -3, 5, 0, -3, 1 << 40, 5)),
        ("i32", np.array([7, -1, 7, 2, -(2**31), 2**31 - 1, -1], np.int32)),
        ("i8", np.array([-128, 127, 0, -1, 127, 3, 3], np.int8)),
        ("u64", np.array([2**64 - 1, 0, 2**63, 5, 2**64 - 1, 0, 1], np.uint64)),
        ("u8", np.array([255, 0, 128, 255, 7, 7, 1], np.uint8)),
        ("bool", np.array([True, False, True, True, False, True, True])),
        ("f64", f64(NAN, -0.0, 0.0, 1.5, -math.inf, math.inf, -NAN)),
        ("f32", np.array([NAN, -0.0, 0.0, 1.5, -1e30, NAN, 2.5], np.float32)),
    ],
)
@pytest.mark.parametrize("op", ["+", "*", "min", "max"])
def test_dictmerger_scalar_keys(key, keys, op):
    values = np.array([3, -2, 5, 1, 4, -6, 2], dtype=np.int64)
    run_both(GROUP_SUM.format(K=key, V="i64", OP=op), keys, values)


@pytest.mark.parametrize("value", ["f64", "f32", "i32", "u16", "bool"])
def test_dictmerger_value_types(value):
    keys = i64(1, 2, 1, 3, 2, 1)
    values = np.array([1, 0, 1, 1, 1, 0], dtype=Scalar(value).dtype)
    for op in ("+", "min", "max") if value != "bool" else ("min", "max"):
        run_both(GROUP_SUM.format(K="i64", V=value, OP=op), keys, values)


def test_float_values_keep_nan_and_negative_zero():
    keys = i64(1, 2, 2, 3, 3)
    values = f64(-0.0, NAN, 1.0, -0.0, -0.0)
    run_both(GROUP_SUM.format(K="i64", V="f64", OP="+"), keys, values)
    run_both(GROUP_SUM.format(K="i64", V="f64", OP="min"), keys, values)


def test_nan_and_negative_zero_are_one_key_each():
    d = run_both(
        """|k: vec[f64]| let d = result(for(k, dictmerger[f64,i64,+], |b, i, x| merge(b, {x, 1L})));
        {d, lookup(d, -0.0), lookup(d, 0.0), lookup(d, nan), keyexists(d, -nan), len(d)}""",
        f64(NAN, -0.0, 0.0, -NAN, 0.0, float("-nan"), 2.0),
    )
    assert d[5] == 3 and d[1] == 3 and d[3] == 3


def test_struct_keys_and_struct_values():
    text = """|a: vec[i32], s: vec[f64], v: vec[i64]|
      let d = result(for(zip(a, s, v), dictmerger[{i32,f64},{i64,f64},+], |b, i, x|
        merge(b, {{x.$0, x.$1}, {x.$2, x.$1 * 2.0}})));
      {d, tovec(d), lookup(d, {1, 0.0}), optlookup(d, {9, 9.0})}"""
    a = np.array([1, 2, 1, 1, 2, -5], np.int32)
    s = f64(-0.0, NAN, 0.0, 0.5, NAN, 3.0)
    run_both(text, a, s, i64(1, 2, 3, 4, 5, 6))


def test_string_keys():
    words = [b"pear", b"apple", b"", b"pear", b"\xffbyte", b"apple pie", b"apple", b"", b"a" * 40]
    text = """|w: vec[vec[i8]]|
      let d = result(for(w, dictmerger[vec[i8],i64,+], |b, i, s| merge(b, {s, i})));
      {d, tovec(d), lookup(d, "apple"), keyexists(d, "appl"), keyexists(d, "")}"""
    got = run_both(text, words)
    assert got[0][b"apple"] == 1 + 6 and got[2] == 7


def test_vector_and_nested_keys():
    text = """|w: vec[vec[i64]]|
      let d = result(for(w, dictmerger[vec[i64],i64,+], |b, i, s| merge(b, {s, 1L})));
      let e = result(for(w, dictmerger[{vec[i64], i32},i64,max], |b, i, s|
        merge(b, {{s, i32(len(s))}, i})));
      {d, tovec(d), e, tovec(e)}"""
    rows = [i64(1, 2), i64(1), i64(), i64(1, 2), i64(-1, 5, 7), i64(1, 2, 0), i64()]
    run_both(text, rows)


def test_float_vector_keys_are_canonical():
    text = """|w: vec[vec[f64]]|
      let d = result(for(w, dictmerger[vec[f64],i64,+], |b, i, s| merge(b, {s, 1L})));
      {d, tovec(d)}"""
    rows = [f64(-0.0, NAN), f64(0.0, -NAN), f64(1.0), f64(), f64(-0.0), f64(0.0), f64(NAN)]
    got = run_both(text, rows)
    assert got[0][(np.float64(1.0),)] == 1


def test_tovec_order_is_the_total_order():
    text = """|k: vec[{K}]|
      tovec(result(for(k, dictmerger[{K},i64,+], |b, i, x| merge(b, {{x, i}}))))"""
    rng = np.random.default_rng(1)
    ints = rng.integers(-(2**62), 2**62, 300)
    got = run_both(text.format(K="i64"), ints)
    assert list(got["f0"]) == sorted(set(ints.tolist()))
    run_both(text.format(K="u64"), rng.integers(0, 2**64, 300, dtype=np.uint64))
    floats = np.concatenate([rng.normal(size=200), f64(NAN, -math.inf, math.inf, -0.0, 0.0)])
    got = run_both(text.format(K="f64"), floats)
    assert math.isnan(got["f0"][-1]) and got["f0"][0] == -math.inf
    words = [bytes(rng.integers(-128, 128, rng.integers(0, 4)).astype(np.int8)) for _ in range(200)]
    run_both(text.format(K="vec[i8]"), words)
    firsts, seconds = rng.integers(0, 4, 100), rng.integers(0, 3, 100)
    pairs = [(int(a), float(b)) for a, b in zip(firsts, seconds, strict=True)]
    run_both(text.format(K="{i32,f64}"), pairs)


def test_capacity_hints():
    for hint in ("", "(0L)", "(-5L)", "(1000000000000L)", "(3L)"):
        text = f"""|k: vec[i64]|
          result(for(k, dictmerger[i64,i64,+]{hint}, |b, i, x| merge(b, {{x % 97L, x}})))"""
        run_both(text, np.arange(1000, dtype=np.int64))


RANDOM_GROUPS = """|k: vec[{K}], v: vec[i64], probe: vec[{K}]|
  let d = result(for(zip(k, v), dictmerger[{K},i64,+], |b, i, x| merge(b, x)));
  let g = result(for(zip(k, v), groupmerger[{K},i64], |b, i, x| merge(b, x)));
  {{tovec(d), tovec(g), map(probe, |p| {{keyexists(d, p), optlookup(g, p)}})}}"""

_FLOATS = st.sampled_from([NAN, -NAN, -0.0, 0.0, 1.0, -1.0, math.inf, -math.inf, 5e-324, 1e300])
_KEY_COLUMNS = {
    "f64": st.lists(_FLOATS, max_size=30).map(lambda xs: np.array(xs, np.float64)),
    "i8": st.lists(st.integers(-128, 127), max_size=30).map(lambda xs: np.array(xs, np.int8)),
    "vec[i8]": st.lists(st.binary(max_size=9).map(lambda s: s[: len(s) % 10]), max_size=30),
    "{i32,f64}": st.lists(st.tuples(st.integers(-2, 2), _FLOATS), max_size=30),
}


@pytest.mark.parametrize("key", sorted(_KEY_COLUMNS))
def test_random_group_bys(key):
    @settings(max_examples=25)
    @given(data=st.data())
    def check(data):
        keys = data.draw(_KEY_COLUMNS[key])
        values = np.arange(len(keys), dtype=np.int64) * 3 - 7
        probe = data.draw(_KEY_COLUMNS[key])
        run_both(RANDOM_GROUPS.format(K=key), keys, values, probe)

    check()


# ----------------------------------------------------------------------------------------------
# groupmerger: the values of each key in merge order.


def test_groupmerger_keeps_merge_order():
    text = """|k: vec[{K}], v: vec[i64]|
      let g = result(for(zip(k, v), groupmerger[{K},i64], |b, i, x| merge(b, x)));
      {{g, tovec(g), lookup(g, {PROBE}), len(g)}}"""
    rng = np.random.default_rng(2)
    values = rng.integers(-100, 100, 500)
    run_both(text.format(K="i64", PROBE="3L"), rng.integers(0, 20, 500), values)
    run_both(text.format(K="f64", PROBE="nan"), rng.choice(f64(NAN, -0.0, 0.0, 1.0), 500), values)
    words = [rng.choice([b"x", b"yy", b"", b"zzz"]) for _ in range(500)]
    run_both(text.format(K="vec[i8]", PROBE='"yy"'), words, values)


def test_groupmerger_struct_values_and_empty():
    text = """|k: vec[i32], v: vec[f64]|
      result(for(zip(k, v), groupmerger[i32,{f64,i32}], |b, i, x|
        merge(b, {x.$0, {x.$1, x.$0}})))"""
    run_both(text, np.array([3, 1, 3], np.int32), f64(0.5, NAN, -0.0))
    run_both(text, np.array([], np.int32), f64())


def test_groupmerger_in_a_struct_of_builders_and_result_twice():
    text = """|k: vec[i64]|
      let b = for(k, {groupmerger[i64,i64], dictmerger[i64,i64,+], appender[i64]}, |b, i, x|
        {merge(b.$0, {x % 3L, i}), merge(b.$1, {x % 2L, x}), merge(b.$2, x)});
      let r = result(b);
      {r, tovec(r.$0)}"""
    run_both(text, np.arange(50, dtype=np.int64))
    twice = """|k: vec[i64]|
      let g = for(k, groupmerger[i64,i64], |b, i, x| merge(b, {x % 3L, i}));
      {result(g), tovec(result(g))}"""  # not linear: the user's mistake, on every backend
    for backend in ("llvm", "interp"):
        with pytest.raises(LinearityError) as raised:
            db.compile(twice, backend=backend)
        assert "3:" in str(raised.value)  # located at the second use


def test_dicts_built_in_an_inner_loop():
    text = """|rows: vec[vec[i64]]|
      result(for(rows, appender[{i64, i64}], |b, i, row|
        let d = result(for(row, dictmerger[i64,i64,+], |c, j, x| merge(c, {x, 1L})));
        merge(b, {len(d), if(keyexists(d, 1L), lookup(d, 1L), -1L)})))"""
    run_both(text, [i64(1, 1, 2), i64(), i64(5, 6, 7, 5), i64(1)])


# ----------------------------------------------------------------------------------------------
# Reading dicts.


def test_lookup_keyexists_optlookup_len():
    text = """|k: vec[i64], probe: vec[i64]|
      let d = result(for(k, dictmerger[i64,{i64,f64},+], |b, i, x| merge(b, {x, {i, 0.5}})));
      map(probe, |p| {keyexists(d, p), optlookup(d, p), if(keyexists(d, p), lookup(d, p).$0, 0L),
                      len(d)})"""
    run_both(text, i64(4, 8, 4, 15, 16, 23, 42), i64(4, 5, 42, -1, 23, 0))


def test_missing_key_is_a_located_runtime_error():
    text = """|k: vec[i64]|
  let d = result(for(k, dictmerger[i64,i64,+], |b, i, x| merge(b, {x, 1L})));
  lookup(d, 2L) + lookup(d, 5L)"""
    errors = []
    for backend in ("interp", "llvm"):
        with pytest.raises(WeldRuntimeError) as info:
            db.compile(text, backend=backend)(i64(1, 2, 3))
        errors.append(info.value)
    interp, llvm = errors
    assert "not found in dictionary" in llvm.message
    assert (llvm.loc.line, llvm.loc.col) == (interp.loc.line, interp.loc.col) == (3, 19)


def test_optlookup_of_a_missing_dict_value_is_an_empty_dict():
    text = """|d: dict[i64, dict[i64, i64]]|
      let missing = optlookup(d, 7L);
      let e = missing.$1;
      {missing.$0, len(e), keyexists(e, 1L), tovec(e), optlookup(e, 1L), e}"""
    run_both(text, {1: {2: 3}})


# ----------------------------------------------------------------------------------------------
# Dicts crossing the boundary.


def test_dict_parameters_and_results():
    run_both("|d: dict[i64,f64]| {d, len(d), lookup(d, 3L), tovec(d)}", {3: 1.5, -1: NAN, 0: 2.0})
    run_both("|d: dict[i64,f64]| {d, len(d)}", {})
    strings = {b"ab": (1, 2.0), "xyz": (3, -0.0), "": (0, NAN)}
    run_both('|d: dict[vec[i8],{i32,f64}]| {d, lookup(d, "xyz"), keyexists(d, "")}', strings)
    keys = {(1, 2.5): 1, (1, -0.0): 2, (0, NAN): 3}
    run_both("|d: dict[{i64,f64},i32]| {d, lookup(d, {1L, 0.0}), tovec(d)}", keys)
    run_both("|d: dict[vec[i32],bool]| {d, lookup(d, [1, 2])}", {(1, 2): True, (): False})


def test_nested_dicts_cross_both_ways():
    nested = (7, {5: {1: np.array([1.0, 2.0])}, -2: {}, 9: {0: np.array([]), 4: np.array([NAN])}})
    run_both("|d: {i32, dict[i64,dict[i32,vec[f64]]]}| {d, len(d.$1), tovec(d.$1)}", nested)
    many = [{1: 2}, {}, {3: 4, 5: 6}]
    run_both("|v: vec[dict[i64,i64]]| {v, map(v, |d| len(d))}", many)
    run_both(
        "|d: dict[i64,vec[i64]]| {d, lookup(d, 2L)}",
        {2: np.array([1, 2, 3]), 3: np.array([], np.int64)},
    )


def test_groupmerger_result_crosses_to_python():
    got = run_both(
        "|k: vec[i64], v: vec[f64]| result(for(zip(k, v), groupmerger[i64,f64], |b, i, x| "
        "merge(b, x)))",
        i64(2, 1, 2, 2, 1),
        f64(0.5, 1.0, 1.5, -1.0, 2.0),
    )
    assert got[np.int64(2)].tolist() == [0.5, 1.5, -1.0]


def test_bad_dict_arguments_name_the_parameter():
    f = db.compile("|d: dict[f64,i64]| len(d)", backend="llvm")
    with pytest.raises(ValueError, match=r"parameter 'd'.*same key"):
        f({float("nan"): 1, float("-nan"): 2})  # two keys for Python, one for daybreak
    with pytest.raises(TypeError, match=r"parameter 'd'"):
        f([1, 2])
    with pytest.raises(TypeError, match=r"parameter 'd'"):
        f({1.0: "x"})


# ----------------------------------------------------------------------------------------------
# Many keys and many rows (checked against NumPy: the interpreter would be slow here).


def test_growth_to_a_hundred_thousand_keys():
    rng = np.random.default_rng(3)
    keys = rng.permutation(np.arange(100_000, dtype=np.int64) * 7919 - 10**9)
    keys = np.concatenate([keys, keys[:1000]])
    f = db.compile(
        """|k: vec[i64]| let d = result(for(k, dictmerger[i64,i64,+], |b, i, x| merge(b, {x, 1L})));
        {tovec(d), len(d), lookup(d, -1000000000L)}""",
        backend="llvm",
    )
    pairs, count, first = f(keys)
    assert count == 100_000 and first == (2 if -(10**9) in keys[:1000] else 1)
    np.testing.assert_array_equal(pairs["f0"], np.sort(keys[:100_000]))
    assert pairs["f1"].sum() == len(keys)


def test_a_million_rows_into_a_thousand_keys():
    rng = np.random.default_rng(4)
    keys = rng.integers(-500, 500, 1_000_000)
    values = rng.integers(0, 1000, 1_000_000).astype(np.float64)  # sums are exact
    f = db.compile(
        """|k: vec[i64], v: vec[f64]|
        let d = result(for(zip(k, v), dictmerger[i64,f64,+], |b, i, x| merge(b, x)));
        let g = result(for(zip(k, v), groupmerger[i64,f64], |b, i, x| merge(b, x)));
        {tovec(d), lookup(g, 7L)}""",
        backend="llvm",
    )
    pairs, group = f(keys, values)
    unique, inverse = np.unique(keys, return_inverse=True)
    np.testing.assert_array_equal(pairs["f0"], unique)
    np.testing.assert_array_equal(pairs["f1"], np.bincount(inverse, weights=values))
    np.testing.assert_array_equal(group, values[keys == 7])


# ----------------------------------------------------------------------------------------------
# merge_tables: per-thread dict builders merged in loop order give one thread's result. The
# parallel runtime is made to split dict builders here, through dicts.fresh_dict_builder and
# dicts.merge_tables (forwarding everything else to the runtime's own functions).


@pytest.fixture
def parallel_dict_builders(monkeypatch):
    splittable, fresh, merge = loops._splittable, builders.fresh_builder, builders.merge_builders

    def is_dict_builder(t):
        return isinstance(t, DictMerger | GroupMerger)

    def _splittable(t):
        if isinstance(t, Struct):
            return all(_splittable(f) for f in t.fields)
        return is_dict_builder(t) or splittable(t)

    def fresh_builder(L, t, like, hint, *rest, **kwargs):
        if is_dict_builder(t):
            return dicts.fresh_dict_builder(L, t)
        return fresh(L, t, like, hint, *rest, **kwargs)

    def merge_builders(L, t, dst, src):
        if is_dict_builder(t):
            return dicts.merge_tables(L, dst, src, t)
        return merge(L, t, dst, src)

    monkeypatch.setattr(loops, "_splittable", _splittable)
    monkeypatch.setattr(builders, "fresh_builder", fresh_builder)
    monkeypatch.setattr(builders, "merge_builders", merge_builders)
    old = db.config(threads=4)
    yield LLVMBackend()  # a backend of its own: nothing compiled here is cached for others
    db.config(**old)


def test_merge_tables_of_per_thread_builders(parallel_dict_builders):
    text = """|k: vec[i64], w: vec[vec[i8]]|
      let b = for(zip(k, w), {dictmerger[i64,i64,+], groupmerger[vec[i8],i64], appender[i64],
                               dictmerger[i64,{i64,f64},min]}, |b, i, x|
        {merge(b.$0, {x.$0 % 1000L, i}), merge(b.$1, {x.$1, i}), merge(b.$2, x.$0),
         merge(b.$3, {x.$0 % 7L, {-i, f64(i)}})});
      let r = result(b);
      {r.$0, tovec(r.$1), len(r.$2), r.$3}"""
    n = 70_000  # 4 threads of at least loops.MIN_ITERATIONS_PER_THREAD each
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 50_000, n)
    words = [b"w%d" % x for x in rng.integers(0, 300, n)]
    compiled = parallel_dict_builders.compile(parse(text))
    assert "db_parallel_for" in compiled.llvm_ir
    assert "db.groupmerger.merge_tables" in compiled.llvm_ir
    got = compiled(keys, words)
    want = db.compile(text, backend="interp")(keys, words)
    assert _normal(got) == _normal(want)
