"""The reference interpreter: every construct, the defined corner cases of docs/ir.md, and
runtime errors with their locations. Programs are written as text and run on interpreter
values (tuples for vectors and structs, dicts keyed by canonical keys)."""

import functools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daybreak.ir import nodes as N
from daybreak.ir.errors import TypeCheckError, WeldRuntimeError
from daybreak.ir.interp import compile_program, int_to_f32, interpret
from daybreak.ir.ops import int_max, int_min, wrap_int
from daybreak.ir.parser import parse
from daybreak.ir.typecheck import typecheck
from daybreak.ir.types import F64, I32, I64, INTS, SCALARS

SUFFIX = {"i8": "c", "i16": "si", "i32": "", "i64": "L", "u8": "u8", "u16": "u16"}
SUFFIX.update({"u32": "u32", "u64": "u64"})


def typed(text: str) -> N.Program:
    return typecheck(parse(text))


@functools.cache
def compiled(text: str):
    return compile_program(typed(text))


def run(text: str, *args, udfs=None):
    return compiled(text).run(list(args), udfs)


def runtime_error(text: str, *args, op: str | None = None, udfs=None) -> WeldRuntimeError:
    """Run and expect a WeldRuntimeError; when `op` names an Op, the error is located there."""
    program = typed(text)
    with pytest.raises(WeldRuntimeError) as info:
        interpret(program, list(args), udfs)
    err = info.value
    assert err.loc is not None
    if op is not None:
        (node,) = [n for n in program.body.walk() if isinstance(n, N.Op) and n.op == op]
        assert err.loc == node.loc
    assert str(err).startswith(f"{err.loc}: ")
    assert "^" in str(err)  # the excerpt with a caret
    return err


def same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (
        a == b and math.copysign(1, a) == math.copysign(1, b)
    )


# ----------------------------------------------------------------------------------------------
# Integers


@pytest.mark.parametrize("kind", INTS)
def test_integer_wraparound(kind):
    t = SCALARS[kind]
    lo, hi = int_min(t), int_max(t)
    add = f"|a: {kind}, b: {kind}| a + b"
    sub = f"|a: {kind}, b: {kind}| a - b"
    mul = f"|a: {kind}, b: {kind}| a * b"
    one = f"1{SUFFIX[kind]}"
    assert run(add, hi, 1) == lo
    assert run(sub, lo, 1) == hi
    assert run(mul, hi, 2) == wrap_int(hi * 2, t)
    assert run(mul, hi, hi) == wrap_int(hi * hi, t)
    assert run(f"|a: {kind}| -a", lo) == lo  # -MIN == MIN (and -0u == 0)
    assert run(f"|a: {kind}| abs(a)", lo) == lo
    assert run(f"|a: {kind}| a + {one}", hi) == lo


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(INTS), st.data())
def test_integer_ops_match_numpy(kind, data):
    t = SCALARS[kind]
    ints = st.integers(int_min(t), int_max(t))
    a, b = data.draw(ints), data.draw(ints)
    x, y = np.array([a], dtype=t.dtype), np.array([b], dtype=t.dtype)
    with np.errstate(all="ignore"):
        expected = {"+": x + y, "-": x - y, "*": x * y, "&": x & y, "|": x | y, "^": x ^ y}
    for op, want in expected.items():
        assert run(f"|a: {kind}, b: {kind}| a {op} b", a, b) == int(want[0]), op


@pytest.mark.parametrize("kind", INTS)
def test_integer_division_is_c_division_with_defined_corners(kind):
    t = SCALARS[kind]
    div = f"|a: {kind}, b: {kind}| a / b"
    rem = f"|a: {kind}, b: {kind}| a % b"
    assert run(div, 7, 0) == 0 and run(rem, 7, 0) == 0
    assert run(div, 7, 2) == 3 and run(rem, 7, 2) == 1
    if t.is_signed:
        lo = int_min(t)
        assert run(div, -7, 2) == -3  # truncates toward zero
        assert run(rem, -7, 2) == -1  # sign of the dividend
        assert run(rem, 7, -2) == 1
        assert run(div, lo, -1) == lo  # MIN / -1 wraps
        assert run(rem, lo, -1) == 0


def test_min_max_and_bitwise_on_bool():
    assert run("min(3, -4)") == -4 and run("max(3u8, 200u8)") == 200
    assert run("true & false") is False and run("true ^ true") is False
    assert run("min(true, false)") is False and run("max(true, false)") is True


# ----------------------------------------------------------------------------------------------
# Floats


def test_float_specials():
    assert run("1.0 / 0.0") == math.inf
    assert run("-1.0 / 0.0") == -math.inf
    assert math.isnan(run("0.0 / 0.0"))
    assert math.isnan(run("inf - inf"))
    assert run("5.5 % 2.0") == 1.5 and run("-5.5 % 2.0") == -1.5  # fmod
    assert math.isnan(run("1.0 % 0.0"))
    assert math.isnan(run("min(nan, 1.0)")) and math.isnan(run("max(1.0, nan)"))
    assert same_float(run("min(0.0, -0.0)"), -0.0) and same_float(run("max(-0.0, 0.0)"), 0.0)
    assert math.isnan(run("sqrt(-1.0)")) and run("log(0.0)") == -math.inf
    assert run("isnan(nanf)") is True and run("isinf(-inff)") is True
    assert run("isfinite(1.0)") is True
    assert same_float(run("-(0.0)"), -0.0)


def test_f32_arithmetic_is_done_in_f32():
    assert run("16777216.0f + 1.0f") == 16777216.0
    assert run("0.1f + 0.2f") == float(np.float32(0.1) + np.float32(0.2))
    assert run("3.4e38f * 10.0f") == math.inf
    assert run("sqrt(2.0f)") == float(np.sqrt(np.float32(2.0)))
    assert run("exp(1.0f)") == float(np.exp(np.float32(1.0)))


finite32 = st.floats(allow_nan=True, allow_infinity=True, width=32)


@settings(max_examples=80, deadline=None)
@given(finite32, finite32)
def test_f32_ops_match_numpy_float32(a, b):
    x, y = np.float32(a), np.float32(b)
    with np.errstate(all="ignore"):
        expected = {"+": x + y, "-": x - y, "*": x * y, "/": x / y, "%": np.fmod(x, y)}
    for op, want in expected.items():
        got = run(f"|a: f32, b: f32| a {op} b", a, b)
        assert same_float(got, float(want)), (op, got, want)


def test_float_comparisons_with_nan():
    nan_cases = {"==": False, "!=": True, "<": False, "<=": False, ">": False, ">=": False}
    for op, want in nan_cases.items():
        assert run(f"|a: f64| a {op} a", math.nan) is want, op
    assert run("-0.0 == 0.0") is True
    assert run("{1, nan} < {2, nan}") is True  # decided before the NaN
    assert run("{1, nan} < {1, 2.0}") is False  # unordered
    assert run("{1, nan} != {1, nan}") is True


def test_vector_and_struct_comparisons_are_lexicographic():
    assert run("[1, 2] < [1, 3]") is True
    assert run("[1, 2] < [1, 2, 0]") is True  # a shorter vector first
    assert run("[1, 2, 0] > [1, 2]") is True
    assert run("[1, 2] == [1, 2]") is True and run('"ab" < "b"') is True
    assert run("{1, 2.0} >= {1, 2.0}") is True


# ----------------------------------------------------------------------------------------------
# Casts


def test_casts_between_integers_wrap():
    assert run("i8(300)") == 44
    assert run("u8(-1)") == 255
    assert run("i32(4294967295u32)") == -1
    assert run("u64(-1L)") == 2**64 - 1
    assert run("i64(2147483647) + 1L") == 2**31


def test_casts_from_float_truncate_and_saturate():
    assert run("i32(-2.7)") == -2 and run("i32(2.7)") == 2
    assert run("i32(1e10)") == 2**31 - 1 and run("i32(-1e10)") == -(2**31)
    assert run("i32(nan)") == 0 and run("i64(inf)") == 2**63 - 1 and run("i64(-inf)") == -(2**63)
    assert run("u8(-1.5)") == 0 and run("u8(255.9)") == 255 and run("u8(256.0)") == 255
    assert run("u64(1e30f)") == 2**64 - 1
    assert run("i8(-128.9)") == -128


def test_casts_to_float_round_to_nearest():
    assert run("f32(16777217)") == 16777216.0  # tie to even
    assert run("f32(16777219)") == 16777220.0
    assert run("f64(9007199254740993L)") == 9007199254740992.0
    assert run("f32(18446744073709551615u64)") == 2.0**64
    assert run("f32(1e300)") == math.inf and run("f32(-1e300)") == -math.inf
    assert run("f32(0.1)") == float(np.float32(0.1))
    assert run("f64(0.1f)") == float(np.float32(0.1))


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**63), 2**64 - 1))
def test_int_to_f32_matches_numpy(v):
    dtype = np.int64 if v < 2**63 else np.uint64
    assert int_to_f32(v) == float(np.array([v], dtype=dtype).astype(np.float32)[0])


def test_casts_to_and_from_bool():
    assert run("bool(0)") is False and run("bool(-3)") is True
    assert run("bool(0.0)") is False and run("bool(-0.0)") is False and run("bool(nan)") is True
    assert run("i32(true)") == 1 and run("f64(false)") == 0.0 and run("bool(true)") is True


# ----------------------------------------------------------------------------------------------
# Binding and control


def test_let_if_select_and_short_circuit():
    assert run("let x = 1; let y = x + 1; let x = y * 10; x + y") == 22
    prog = "|v: vec[i32], n: i64| n < len(v) && lookup(v, n) > 0"
    assert run(prog, (1, 2), 5) is False  # the lookup is never evaluated
    assert run("|v: vec[i32]| len(v) == 0L || lookup(v, 0L) == 1", ()) is True
    assert run("|v: vec[i32]| if(len(v) > 0L, lookup(v, 0L), -1)", ()) == -1
    runtime_error("|v: vec[i32]| select(len(v) > 0L, lookup(v, 0L), -1)", (), op="lookup")


def test_structs_vectors_slices():
    assert run("{1, 2.5, true}.$1") == 2.5
    assert run("[1, 2, 3]") == (1, 2, 3)
    assert run('"hi"') == (104, 105)
    assert run("|v: vec[i32]| slice(v, 1L, 2L)", (1, 2, 3, 4)) == (2, 3)
    assert run("|v: vec[i32]| slice(v, -5L, 2L)", (1, 2, 3)) == (1, 2)  # clamped
    assert run("|v: vec[i32]| slice(v, 2L, 100L)", (1, 2, 3)) == (3,)
    assert run("|v: vec[i32]| slice(v, 5L, 1L)", (1, 2, 3)) == ()
    assert run("|v: vec[i32]| slice(v, 1L, -1L)", (1, 2, 3)) == ()
    assert run("|v: vec[i32]| len(v)", ()) == 0


def test_let_bound_lambda_and_closures():
    assert run("let f = |x: i32| x + 1; f(f(2))") == 4
    assert run("(|x: i32, y: i32| x * y)(6, 7)") == 42
    # f captures y = 10; the later y does not change it
    assert run("let y = 10; let f = |x: i32| x + y; let y = 100; f(1) + y") == 111
    # a lambda defined inside a loop body captures that iteration's values
    prog = """|v: vec[i32]|
      result(for(v, appender[i32], |b, i, x|
        let k = x * 2;
        let g = |z: i32| z + k;
        merge(b, g(1))))"""
    assert run(prog, (1, 2, 3)) == (3, 5, 7)
    assert run("let f = |x: i32| x + 1; let f = |x: i32| f(x) * 10; f(1)") == 20


def test_assert():
    assert run("assert(1 < 2)") is True
    err = runtime_error("|x: i32| assert(x > 0)", -1, op="assert")
    assert "assertion failed" in str(err)


# ----------------------------------------------------------------------------------------------
# Loops and iterators


def test_plain_loop_with_iteration_numbers():
    prog = "|v: vec[f64]| result(for(v, appender[{i64,f64}], |b, i, x| merge(b, {i, x})))"
    assert run(prog, (0.5, 1.5)) == ((0, 0.5), (1, 1.5))


def test_empty_vectors():
    assert run("|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, x)))", ()) == 0.0
    assert run("|v: vec[i32]| result(for(v, appender[i32], |b, i, x| merge(b, x)))", ()) == ()
    assert run("|v: vec[i32]| result(for(v, merger[i32,max], |b, i, x| merge(b, x)))", ()) == (
        -(2**31)
    )
    assert run("result(for([]: vec[i64], dictmerger[i64,i64,+], |b, i, x| merge(b, {x, x})))") == {}


def test_iter_with_bounds_and_stride():
    prog = """|v: vec[i32], s: i64, e: i64, st: i64|
      result(for(iter(v, s, e, st), appender[{i64,i32}], |b, i, x| merge(b, {i, x})))"""
    v = tuple(range(10))
    assert run(prog, v, 1, 8, 3) == ((0, 1), (1, 4), (2, 7))  # i counts visited elements
    assert run(prog, v, 4, 4, 1) == ()
    assert run(prog, v, 0, 10, 20) == ((0, 0),)
    for s, e, stride in [(-1, 5, 1), (5, 4, 1), (0, 11, 1), (0, 5, 0), (0, 5, -1)]:
        err = runtime_error(prog, v, s, e, stride)
        assert "out of bounds" in str(err)


def test_rangeiter():
    prog = """|s: i64, e: i64, st: i64|
      result(for(rangeiter(s, e, st), appender[i64], |b, i, x| merge(b, x)))"""
    assert run(prog, 2, 11, 3) == (2, 5, 8)
    assert run(prog, 5, 2, 1) == ()  # empty when start >= end
    assert run(prog, -3, 0, 1) == (-3, -2, -1)
    assert "stride > 0" in str(runtime_error(prog, 0, 5, 0))


def test_zip_and_zip_length_mismatch():
    prog = """|a: vec[i32], b: vec[f64]|
      result(for(zip(a, b), appender[f64], |bb, i, x| merge(bb, f64(x.$0) * x.$1)))"""
    assert run(prog, (1, 2), (0.5, 0.25)) == (0.5, 0.5)
    assert "different lengths (2, 3)" in str(runtime_error(prog, (1, 2), (0.5, 0.25, 1.0)))
    mixed = """|a: vec[i32]|
      result(for(zip(a, rangeiter(10L, 13L, 1L), iter(a, 0L, 3L, 1L)), appender[{i32,i64,i32}],
                 |b, i, x| merge(b, x)))"""
    assert run(mixed, (7, 8, 9)) == ((7, 10, 7), (8, 11, 8), (9, 12, 9))


def test_nested_loops_keep_sequential_order():
    flat = "|m: vec[vec[i32]]| flatten(m)"
    assert run(flat, ((1, 2), (), (3,))) == (1, 2, 3)
    pairs = """|n: i64|
      result(for(rangeiter(0L, n, 1L), appender[{i64,i64}], |b, i, x|
        for(rangeiter(0L, x, 1L), b, |b2, j, y| merge(b2, {x, y}))))"""
    assert run(pairs, 3) == ((1, 0), (2, 0), (2, 1))


def test_macros_map_filter():
    assert run("|v: vec[i32]| map(v, |x| x * 2)", (1, 2)) == (2, 4)
    assert run("|v: vec[i32]| filter(v, |x| x > 1)", (1, 2, 3)) == (2, 3)


# ----------------------------------------------------------------------------------------------
# Builders


def test_struct_of_builders_in_one_loop():
    prog = """|v: vec[i32]|
      let r = for(v, {appender[i32], merger[i64,+], merger[i32,max]}, |b, i, x|
        {if(x > 1, merge(b.$0, x), b.$0), merge(b.$1, i64(x)), merge(b.$2, x)});
      result(r)"""
    assert run(prog, (3, 1, 2)) == ((3, 2), 6, 3)


def test_mergers():
    loop = "|v: vec[{t}]| result(for(v, merger[{t},{op}]{init}, |b, i, x| merge(b, x)))"
    cases = [
        ("i32", "+", "", (1, 2, 3), 6),
        ("i32", "+", "(10)", (1, 2, 3), 16),
        ("i64", "*", "", (2, 3, 4), 24),
        ("i64", "*", "(0L)", (2, 3), 0),
        ("i8", "+", "", (100, 100), -56),  # wraps
        ("f64", "min", "", (2.0, -1.0, 5.0), -1.0),
        ("f64", "max", "", (), -math.inf),
        ("u8", "min", "", (), 255),
        ("bool", "min", "", (True, False), False),
        ("bool", "max", "", (False, False), False),
        ("f32", "+", "(0.5f)", (0.25,), 0.75),
    ]
    for t, op, init, data, want in cases:
        assert run(loop.format(t=t, op=op, init=init), data) == want, (t, op, init)


def test_merger_of_structs_combines_field_by_field():
    prog = """|v: vec[{i32,f64}]|
      result(for(v, merger[{i32,f64},+]({100, 0.5}), |b, i, x| merge(b, x)))"""
    assert run(prog, ((1, 1.0), (2, 2.0))) == (103, 3.5)
    prog = "|v: vec[{i32,f64}]| result(for(v, merger[{i32,f64},min], |b, i, x| merge(b, x)))"
    assert run(prog, ((5, -1.0), (2, 3.0))) == (2, -1.0)


def test_dictmerger_with_struct_keys_and_values():
    prog = """|v: vec[{i32,bool,f64}]|
      tovec(result(for(v, dictmerger[{i32,bool},{i64,f64},+], |b, i, x|
        merge(b, {{x.$0, x.$1}, {1L, x.$2}}))))"""
    rows = ((2, True, 1.0), (1, False, 2.0), (2, True, 3.0), (1, True, 4.0))
    assert run(prog, rows) == (((1, False), (1, 2.0)), ((1, True), (1, 4.0)), ((2, True), (2, 4.0)))
    maxed = """|k: vec[i32], x: vec[f64]|
      result(for(zip(k, x), dictmerger[i32,f64,max], |b, i, e| merge(b, e)))"""
    assert run(maxed, (1, 2, 1), (0.5, 2.0, 1.5)) == {1: 1.5, 2: 2.0}


def test_groupmerger_keeps_merge_order():
    prog = """|k: vec[i32], x: vec[f64]|
      result(for(zip(k, x), groupmerger[i32,f64], |b, i, e| merge(b, e)))"""
    assert run(prog, (2, 1, 2, 2), (0.5, 1.0, 1.5, -1.0)) == {2: (0.5, 1.5, -1.0), 1: (1.0,)}


def test_vecmerger():
    prog = """|v: vec[f64], idx: vec[i64], x: vec[f64]|
      result(for(zip(idx, x), vecmerger[f64,+](v), |b, i, e| merge(b, e)))"""
    assert run(prog, (1.0, 2.0, 3.0), (0, 2, 0), (0.5, 1.0, 2.0)) == (3.5, 2.0, 4.0)
    err = runtime_error(prog, (1.0, 2.0), (0, 2), (0.5, 1.0))
    assert "index 2 out of bounds" in str(err)
    minned = """|v: vec[i32]|
      result(merge(merge(vecmerger[i32,min](v), {1L, -5}), {1L, 7}))"""
    assert run(minned, (1, 2)) == (1, -5)


def test_appender_results_are_persistent():
    # Builders are linear in Weld; the interpreter still gives reuse a functional meaning.
    prog = """let b = merge(appender[i32], 1);
      let b1 = merge(b, 2);
      let b2 = merge(b, 3);
      {result(b1), result(b2), result(b), result(merge(merger[i32,+], 4))}"""
    assert run(prog) == ((1, 2), (1, 3), (1,), 4)
    assert run("result(appender[i32](100L))") == ()
    reused = """let d = merge(dictmerger[i32,i32,+], {1, 1});
      let g = merge(groupmerger[i32,i32], {1, 1});
      let v = merge(vecmerger[i32,+]([0, 0]), {0L, 1});
      {result(merge(d, {1, 5})), result(merge(d, {2, 5})), result(d),
       result(merge(g, {1, 2})), result(g), result(merge(v, {1L, 2})), result(v)}"""
    assert run(reused) == (
        {1: 6},
        {1: 1, 2: 5},
        {1: 1},
        {1: (1, 2)},
        {1: (1,)},
        (1, 2),
        (1, 0),
    )


def test_builders_created_in_a_loop_body_start_empty():
    prog = """|v: vec[i64]|
      result(for(v, appender[vec[i64]], |b, i, n|
        merge(b, result(for(rangeiter(0L, n, 1L), appender[i64], |b2, j, x| merge(b2, x))))))"""
    assert run(prog, (2, 0, 3)) == ((0, 1), (), (0, 1, 2))
    assert run(prog, (1,)) == ((0,),)  # and runs do not share builders


# ----------------------------------------------------------------------------------------------
# Dictionaries


def test_dict_lookup_optlookup_keyexists_tovec():
    d = """let d = result(for(zip([3, 1, 2], [30.0, 10.0, 20.0]), dictmerger[i32,f64,+],
                          |b, i, x| merge(b, x)));"""
    assert run(d + "lookup(d, 2)") == 20.0
    assert run(d + "{optlookup(d, 1), optlookup(d, 7)}") == ((True, 10.0), (False, 0.0))
    assert run(d + "{keyexists(d, 3), keyexists(d, 4), len(d)}") == (True, False, 3)
    assert run(d + "tovec(d)") == ((1, 10.0), (2, 20.0), (3, 30.0))
    err = runtime_error(d + "lookup(d, 9)", op="lookup")
    assert "not found" in str(err)


def test_float_keys_nan_and_negative_zero():
    prog = """|k: vec[f64]|
      tovec(result(for(k, dictmerger[f64,i64,+], |b, i, x| merge(b, {x, 1L}))))"""
    out = run(prog, (math.nan, 0.0, -0.0, 1.0, -math.inf, float("nan")))
    assert [k for k, _ in out][:3] == [-math.inf, 0.0, 1.0]
    assert math.isnan(out[3][0]) and [c for _, c in out] == [1, 2, 1, 2]
    assert math.copysign(1.0, out[1][0]) == 1.0  # -0.0 is the key 0.0
    assert (
        run(
            "|k: vec[f64]| keyexists(result(for(k, groupmerger[f64,i32], |b,i,x| "
            "merge(b, {x, 1}))), nan)",
            (math.nan,),
        )
        is True
    )


def test_strings_as_dict_keys():
    prog = """|words: vec[vec[i8]]|
      let counts = result(for(words, dictmerger[vec[i8],i64,+], |b, i, w| merge(b, {w, 1L})));
      {tovec(counts), lookup(counts, "b")}"""
    words = tuple(tuple(w) for w in (b"b", b"a", b"b", b"ab"))
    entries, b_count = run(prog, words)
    assert [(bytes(k), n) for k, n in entries] == [(b"a", 1), (b"ab", 1), (b"b", 2)]
    assert b_count == 2


# ----------------------------------------------------------------------------------------------
# sort, iterate, cudf


def test_sort_is_stable():
    prog = """|v: vec[{i32,i32}]| sort(v, |a, b| compare(a.$0, b.$0))"""
    data = ((2, 0), (1, 1), (2, 2), (1, 3), (0, 4))
    assert run(prog, data) == ((0, 4), (1, 1), (1, 3), (2, 0), (2, 2))
    desc = "|v: vec[f64]| sort(v, |a, b| compare(b, a))"
    assert run(desc, (1.0, 3.0, 2.0)) == (3.0, 2.0, 1.0)
    assert run(desc, ()) == ()


def test_iterate():
    prog = "|n: i64| iterate({n, 1L}, |s| {{s.$0 - 1L, s.$1 * s.$0}, s.$0 > 2L})"
    assert run(prog, 5) == (1, 120)
    assert run("iterate(10, |x| {x + 1, false})") == 11  # runs at least once


def test_cudf_with_udf_mapping():
    prog = "|v: vec[f64], k: f64| cudf[scale, vec[f64]](v, k)"
    udfs = {"scale": lambda v, k: tuple(x * k for x in v)}
    assert run(prog, (1.0, 2.0), 3.0, udfs=udfs) == (3.0, 6.0)
    err = runtime_error(prog, (1.0,), 1.0, udfs={})
    assert "no function is registered as 'scale'" in str(err)


def test_custom_udf_call_hook():
    program = typed("cudf[twice, i32](21)")
    seen = []

    def call_udf(name, fn, values, arg_types, ret_type):
        seen.append((name, values, arg_types, ret_type))
        return fn(*values)

    assert interpret(program, [], {"twice": lambda x: 2 * x}, call_udf=call_udf) == 42
    assert seen == [("twice", [21], (I32,), I32)]


# ----------------------------------------------------------------------------------------------
# Errors carry the location of the node that failed


def test_lookup_out_of_bounds_error_has_the_location():
    text = "|v: vec[i32]|\n  let n = 5L;\n  lookup(v, n)"
    err = runtime_error(text, (1, 2), op="lookup")
    assert err.loc.line == 3
    assert "index 5 out of bounds for a vector of length 2" in str(err)
    assert "lookup(v, n)" in str(err)
    runtime_error("|v: vec[i32]| lookup(v, -1L)", (1, 2), op="lookup")


def test_error_inside_a_loop_body():
    prog = """|v: vec[i64], w: vec[i32]|
      result(for(v, appender[i32], |b, i, x| merge(b, lookup(w, x))))"""
    assert run(prog, (1, 0), (5, 6)) == (6, 5)
    runtime_error(prog, (1, 2), (5, 6), op="lookup")


def test_program_arity_and_untyped_programs_are_rejected():
    compiled = compile_program(typed("|a: i32| a"))
    with pytest.raises(TypeError, match="takes 1 arguments, not 2"):
        compiled.run([1, 2])
    with pytest.raises(TypeCheckError, match="typed program") as raised:
        interpret(parse("|a: i32| a + 1"), [1])
    assert raised.value.loc is not None and "1:10" in str(raised.value)  # located


# ----------------------------------------------------------------------------------------------
# Size: long loops, deep trees


def test_million_element_map_and_sum_match_numpy():
    data = np.random.default_rng(0).random(1_000_000)
    prog = typed("""|v: vec[f64]|
      let m = map(v, |x| x * 2.0 + 1.0);
      {m, result(for(m, merger[f64,+], |b, i, x| merge(b, x)))}""")
    mapped, total = interpret(prog, [tuple(data.tolist())])
    expected = data * 2.0 + 1.0
    assert np.array_equal(np.array(mapped), expected)
    assert total == pytest.approx(expected.sum(), rel=1e-12)


def test_deep_let_chains_and_deep_expressions():
    n = 5000
    body: N.Expr = N.Ident(f"x{n}", ty=I64)
    for k in range(n, 0, -1):
        value = N.Op("+", (N.Ident(f"x{k - 1}", ty=I64), N.Literal(1, I64, ty=I64)), ty=I64)
        body = N.Let(f"x{k}", value, body, ty=I64)
    program = N.Program((N.Param("x0", I64),), body)
    assert interpret(program, [7]) == 7 + n
    expr: N.Expr = N.Ident("a", ty=F64)
    for _ in range(3000):
        expr = N.Op("+", (expr, N.Literal(0.5, F64, ty=F64)), ty=F64)
    assert interpret(N.Program((N.Param("a", F64),), expr), [0.0]) == 1500.0


def test_compiled_program_runs_many_times():
    compiled = compile_program(
        typed("|v: vec[i32]| result(for(v, merger[i32,+], |b,i,x| merge(b,x)))")
    )
    assert [compiled.run([tuple(range(k))]) for k in range(5)] == [0, 0, 1, 3, 6]
