"""Scalars: integer and float arithmetic, math functions, casts, comparisons."""

from __future__ import annotations

import math

import numpy as np

from daybreak.ir.types import FLOATS, INTS, SCALAR_DTYPES, SIGNED_INTS

from .base import (
    BOOLS_A,
    BOOLS_B,
    SUFFIX,
    WORDS,
    arr,
    case,
    f64,
    i64,
    int_range,
    interesting_floats,
    interesting_ints,
    numbers,
    pairs,
    zip_map,
)

# ----------------------------------------------------------------------------------------------
# Integers: every operator on every pair of interesting values, for each integer type.

for _k in INTS:
    _a, _b = pairs(interesting_ints(_k), _k)
    _ops = ["a + b", "a - b", "a * b", "a / b", "a % b", "a & b", "a | b", "a ^ b"]
    _ops += ["-a", "abs(a)", "min(a, b)", "max(a, b)"]
    case(f"int_arith_{_k}", zip_map(f"a: {_k}, b: {_k}", "?", _ops), _a, _b)
    _cmps = ["a == b", "a != b", "a < b", "a <= b", "a > b", "a >= b"]
    case(f"int_compare_{_k}", zip_map(f"a: {_k}, b: {_k}", "?", _cmps), _a, _b)
    _lo, _hi = int_range(_k)
    _s = SUFFIX[_k]
    case(
        f"int_scalar_params_{_k}",
        f"|a: {_k}, b: {_k}| {{a + b, a - b, a * b, a / b, a % b, -a, a + 1{_s}}}",
        _hi,
        _lo if _lo else 1,
    )
    case(
        f"int_literals_{_k}",
        f"{{{_lo}{_s} / -1{_s} + 0{_s}, {_hi}{_s} + 1{_s}}}"
        if _k in SIGNED_INTS
        else f"{{{_hi}{_s} + 1{_s}, 0{_s} - 1{_s}, {_hi}{_s} * {_hi}{_s}}}",
    )

case("int_div_by_zero_literals", "{7 / 0, 7 % 0, -7L / 0L, 5u8 % 0u8, -2147483648 / -1}")
case("int_min_rem_minus_one", "|a: i64, b: i64| {a % b, a / b}", -(2**63), -1)
case("int_div_truncates", "{-7 / 2, -7 % 2, 7 % -2, 7 / -2, -7 / -2, -7 % -2}")
case("hex_and_binary_literals", "{0xff, 0xffL, 0b101c, 0x7fu8, -0x80c}")
_bool_ops = ["a & b", "a | b", "a ^ b", "!a", "min(a, b)", "max(a, b)", "a == b", "a < b"]
_bool_ops += ["a >= b", "a != b"]
case("bool_bitwise", zip_map("a: bool, b: bool", "?", _bool_ops), BOOLS_A, BOOLS_B)

# ----------------------------------------------------------------------------------------------
# Floats: IEEE arithmetic on every pair of special values, in f32 and in f64.

for _k in FLOATS:
    _a, _b = pairs(interesting_floats(_k), _k)
    _ops = ["a + b", "a - b", "a * b", "a / b", "a % b", "-a", "abs(a)"]
    _ops += ["min(a, b)", "max(a, b)"]
    case(f"float_arith_{_k}", zip_map(f"a: {_k}, b: {_k}", "?", _ops), _a, _b)
    _cmps = ["a == b", "a != b", "a < b", "a <= b", "a > b", "a >= b", "select(a < b, a, b)"]
    case(f"float_compare_{_k}", zip_map(f"a: {_k}, b: {_k}", "?", _cmps), _a, _b)
    _preds = ["isnan(a)", "isinf(a)", "isfinite(a)"]
    case(
        f"float_predicates_{_k}", zip_map(f"a: {_k}", "?", _preds), arr(interesting_floats(_k), _k)
    )

case("f32_rounding", "{16777216.0f + 1.0f, 0.1f + 0.2f, 3.4e38f * 10.0f, 1.0f / 3.0f, 0.1f * 3.0f}")
case(
    "f32_rounding_params",
    "|a: f32, b: f32| {a + b, a * b, a / b, a - b}",
    np.float32(0.1),
    np.float32(0.7),
)
case("float_literal_specials", "{inf, -inf, nan, inff, -inff, nanf, -(0.0), -(0.0f), 1e-320}")
case(
    "float_division_by_zero",
    "{1.0 / 0.0, -1.0 / 0.0, 0.0 / 0.0, 1.0 / -0.0, 1.0 % 0.0, "
    "5.5 % 2.0, -5.5 % 2.0, 5.5 % -2.0, inf % 2.0, 2.0 % inf}",
)
case(
    "float_min_max_signed_zero",
    "{min(0.0, -0.0), min(-0.0, 0.0), max(0.0, -0.0), "
    "max(-0.0, 0.0), min(nan, 1.0), max(1.0, nan), min(-inff, nanf), max(0.0f, -0.0f)}",
)

# Every unary math function on special and ordinary values; libm and NumPy may differ in the
# last bits, so these compare approximately.
_MATH_INPUTS = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, 3.7, -3.7, 10.0, 100.0, 1e-8, 0.999]
_MATH_INPUTS += [math.inf, -math.inf, math.nan, 1e300, -1e300, 2.5, -2.5, 3.5, 4.5]
for _fn in (
    "exp log log2 log10 log1p expm1 sqrt cbrt sin cos tan asin acos atan sinh cosh tanh "
    "asinh acosh atanh erf erfc floor ceil trunc rint abs"
).split():
    case(
        f"math_{_fn}",
        f"|v: vec[f64], w: vec[f32]| {{map(v, |x| {_fn}(x)), map(w, |x| {_fn}(x))}}",
        f64(*_MATH_INPUTS),
        arr(_MATH_INPUTS, "f32"),
        approx=True,
    )
_pa, _pb = pairs([0.0, -0.0, 0.5, -1.0, 2.0, -2.5, 3.0, math.inf, -math.inf, math.nan], "f64")
# C99 (Annex F) pins down pow(-inf, 0.5) = inf and pow(-0.0, 0.5) = 0.0, where NumPy's AVX-512
# loops give nan and -0.0: they are in the pairs above, and spelled out below.
case(
    "math_pow_atan2_hypot_f64",
    zip_map("a: f64, b: f64", "?", ["pow(a, b)", "atan2(a, b)", "hypot(a, b)", "copysign(a, b)"]),
    _pa,
    _pb,
    approx=True,
)
case(
    "math_pow_atan2_hypot_f32",
    zip_map("a: f32, b: f32", "?", ["pow(a, b)", "atan2(a, b)", "hypot(a, b)", "copysign(a, b)"]),
    _pa.astype(np.float32),
    _pb.astype(np.float32),
    approx=True,
)
case(
    "math_pow_negative_base_specials",
    "|a: f64, b: f32| {pow(-inf, 0.5), pow(-0.0, 0.5), "
    "pow(a, 0.5), pow(b, 0.5f), pow(-inf, 3.0), pow(-0.0, 3.0)}",
    -math.inf,
    np.float32(-0.0),
)
case(
    "math_exact_values",
    "{sqrt(4.0), floor(-2.5), ceil(-2.5), trunc(-2.5), rint(2.5), "
    "rint(3.5), rint(-0.5), abs(-0.0), sqrt(-0.0), sqrt(-1.0), log(0.0), exp(-inf)}",
)

# ----------------------------------------------------------------------------------------------
# Casts: from every scalar kind to every scalar kind.

_KINDS = tuple(SCALAR_DTYPES)
_CAST_SOURCES = {
    "bool": [True, False],
    "f64": numbers(
        "0.0 -0.0 0.5 -0.5 1.0 -1.0 2.7 -2.7 127.9 128.0 -128.9 -129.0 255.9 256.0 -1.5 65535.5 "
        "65536.0 2147483647.9 2147483648.0 -2147483649.0 1e10 -1e10 9.3e18 -9.3e18 1.8e19 1e30 "
        "-1e30 1e300 inf -inf nan 16777217.0 1e-300 9007199254740993.0"
    ),
}
_CAST_SOURCES["f32"] = [
    float(np.float32(v)) for v in _CAST_SOURCES["f64"] if abs(v) < 3e38 or not math.isfinite(v)
]
_INT_CAST_VALUES = numbers(
    "0 1 -1 127 128 255 256 300 65535 65536 2147483647 2147483648 9007199254740993 16777217 "
    "16777219 -2147483648 9223372036854775807 18446744073709551615"
)
for _k in INTS:
    _lo, _hi = int_range(_k)
    _CAST_SOURCES[_k] = sorted(
        {_lo, _lo + 1, _hi - 1, _hi} | {v for v in _INT_CAST_VALUES if _lo <= v <= _hi}
    )
for _src in _KINDS:
    case(
        f"cast_from_{_src}",
        zip_map(f"a: {_src}", "?", [f"{_dst}(a)" for _dst in _KINDS]),
        arr(_CAST_SOURCES[_src], _src),
    )
case(
    "cast_literals",
    "{i8(300), u8(-1), i32(4294967295u32), u64(-1L), i32(nan), i64(inf), "
    "u8(-1.5), u64(1e30f), f32(16777217), f32(1e300), bool(-0.0), bool(nan), i32(true)}",
)

# ----------------------------------------------------------------------------------------------
# Comparisons of structs and vectors: lexicographic, NaN makes a pair unordered.

case(
    "struct_compare",
    "{{1, nan} < {2, nan}, {1, nan} < {1, 2.0}, {1, nan} != {1, nan}, "
    "{1, nan} == {1, nan}, {1, 2.0} >= {1, 2.0}, {2, -1.0} > {1, 5.0}, {0.0, 1} == {-0.0, 1}, "
    "{{1, 2L}, 3} < {{1, 3L}, 0}, {true, 1u8} > {false, 255u8}}",
)
case(
    "vector_compare",
    "{[1, 2] < [1, 3], [1, 2] < [1, 2, 0], [1, 2, 0] > [1, 2], "
    '[1, 2] == [1, 2], "ab" < "b", "" < "a", "a" <= "", [nan] == [nan], [1.0, nan] < [2.0, 0.0], '
    "[1.0, nan] < [1.0, 0.0], [[1], [2, 3]] < [[1], [2, 4]], [{1, 2.0}] > [{1, 1.0}]}",
)
case(
    "string_compare_all_pairs",
    """|w: vec[vec[i8]]|
  result(for(w, appender[{i32,i32,bool,bool,bool}], |o, i, x|
    for(w, o, |o2, j, y| merge(o2, {i32(i), i32(j), x < y, x == y, x >= y}))))""",
    [np.frombuffer(s, np.int8) for s in WORDS],
)
_vl = [[1, 2], [1], [], [1, 2, 3], [2], [1, -2]]
case(
    "vector_compare_all_pairs",
    """|v: vec[vec[i64]]|
  result(for(v, appender[{bool,bool,bool,bool}], |o, i, x|
    for(v, o, |o2, j, y| merge(o2, {x < y, x <= y, x != y, x > y}))))""",
    [i64(*x) for x in _vl],
)
case(
    "struct_vector_compare_params",
    "|a: vec[{i32,f64}], b: vec[{i32,f64}]| {a < b, a == b, a > b, b < a}",
    np.array([(1, 0.5), (2, math.nan)], dtype=[("f0", "i4"), ("f1", "f8")]),
    np.array([(1, 0.5), (2, 1.0)], dtype=[("f0", "i4"), ("f1", "f8")]),
)
case(
    "unsigned_compare",
    "{255u8 > 1u8, 18446744073709551615u64 > 0u64, 4294967295u32 < 1u32, "
    "max(255u8, 1u8), min(65535u16, 2u16)}",
)
case(
    "compare_macro",
    "{compare(1, 2), compare(2, 1), compare(3, 3), compare(nan, 1.0), compare([1L], [1L, 0L])}",
)
