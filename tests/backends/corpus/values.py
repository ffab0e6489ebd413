"""Binding and control, structs, vectors and strings, lookup, slice and len."""

from __future__ import annotations

import numpy as np

from .base import BOOLS_A, BOOLS_B, arr, case, f64, i32, i64, zip_map

# ----------------------------------------------------------------------------------------------
# Binding and control.

case("let_shadowing", "let x = 1; let y = x + 1; let x = y * 10; x + y")
case("let_typed", "|a: i64| let x: i64 = a * 2L; let x: f64 = f64(x) + 0.5; x", 21)
case(
    "let_in_loop_shadows_param",
    """|v: vec[i32]|
  result(for(v, appender[i32], |b, i, v| let v = v * 2; merge(b, v)))""",
    i32(1, 2, 3),
)
case(
    "if_and_select",
    "|a: i32| {if(a > 0, a, -a), select(a > 0, 1.5, -1.5), "
    "if(a == 0, {1, 2L}, {3, 4L}), if(a > 2, if(a > 4, 2, 1), 0)}",
    -3,
)
case(
    "if_guards_out_of_bounds",
    "|v: vec[i32]| {if(len(v) > 0L, lookup(v, 0L), -1), if(len(v) > 5L, lookup(v, 5L), -2)}",
    i32(7, 8),
)
case(
    "short_circuit_and_guards_lookup",
    "|v: vec[i32], n: i64| n < len(v) && lookup(v, n) > 0",
    i32(1, 2),
    5,
)
case("short_circuit_or_guards_lookup", "|v: vec[i32]| len(v) == 0L || lookup(v, 0L) == 1", i32())
case(
    "short_circuit_values",
    zip_map("a: bool, b: bool", "?", ["a && b", "a || b", "!(a && !b) || a"]),
    BOOLS_A,
    BOOLS_B,
)
case(
    "short_circuit_in_loop",
    """|v: vec[i64], w: vec[f64]|
  result(for(v, merger[i64,+], |b, i, k|
    if(k >= 0L && k < len(w) && lookup(w, k) > 0.0, merge(b, k), b)))""",
    i64(-1, 0, 1, 2, 3, 10),
    f64(1.0, -1.0, 2.0),
)
case("lambda_applied", "(|x: i32, y: i32| x * y)(6, 7)")
case("lambda_let_bound", "let f = |x: i32| x + 1; f(f(2))")
case("lambda_closure", "let y = 10; let f = |x: i32| x + y; let y = 100; f(1) + y")
case("lambda_redefined", "let f = |x: i32| x + 1; let f = |x: i32| f(x) * 10; f(1)")
case(
    "lambda_in_loop_captures",
    """|v: vec[i32]|
  result(for(v, appender[i32], |b, i, x| let k = x * 2; let g = |z: i32| z + k; merge(b, g(1))))""",
    i32(1, 2, 3),
)
case("lambda_returns_struct", "let f = |x: f64| {x, x * x}; let p = f(3.0); p.$0 + p.$1")
case("ascription", "|a: i64| {(a + 1L): i64, [1, 2]: vec[i32], ([]: vec[f64])}", 4)
case(
    "annotations_ignored",
    "|v: vec[i64]| @(predicate: true) "
    "result(@(impl: local) for(v, merger[i64,+], |b, i, x| merge(b, x)))",
    i64(1, 2, 3),
)
case(
    "user_macro",
    "macro twice(x) = x + x; macro sq(y) = let t = y; t * t; "
    "|a: i32| {twice(a), sq(twice(a)), let t = 5; sq(t) + t}",
    3,
)
case("type_alias", "type pt = {f64, f64}; |p: pt| let q: pt = {p.$1, p.$0}; q", (1.5, -2.0))
case("assert_true", "|x: i32| {assert(x > 0), x}", 3)

# ----------------------------------------------------------------------------------------------
# Structs, vectors, strings.

case(
    "struct_nested",
    "|a: i32| let s = {a, {2.5, {true, 7u8}}, [1L, 2L]}; "
    "{s.$1.$1.$1, s.$1.$0, s, lookup(s.$2, 1L)}",
    5,
)
case(
    "struct_params_and_results",
    "|p: {i32, {f64, bool}}, q: {u8}| {q.$0, p.$1.$1, p, q}",
    (1, (2.5, True)),
    (200,),
)
case(
    "vector_literals",
    "{[1, 2, 3], [1.5f], [{1, 2.0}], [[1L], [2L, 3L], []: vec[i64]], [true, false]}",
)
case(
    "vector_of_structs_in_out",
    """|v: vec[{i32,f64,bool}]|
  result(for(v, appender[{f64,i32}], |b, i, x| if(x.$2, merge(b, {x.$1 * 2.0, x.$0}), b)))""",
    np.array(
        [(1, 0.5, True), (2, 1.5, False), (3, -1.0, True)],
        dtype=[("f0", "i4"), ("f1", "f8"), ("f2", "?")],
    ),
)
case("vector_of_structs_from_tuples", "|v: vec[{i64,u8}]| {len(v), v}", [(1, 2), (3, 4)])
case(
    "vector_of_structs_with_vectors",
    """|v: vec[{i32,vec[f64]}]|
  result(for(v, appender[{i32,f64,vec[f64]}], |b, i, x|
    merge(b, {x.$0, result(for(x.$1, merger[f64,+], |m, j, y| merge(m, y))), x.$1})))""",
    [(1, f64(1.0, 2.0)), (2, f64()), (3, f64(0.5))],
)
case(
    "vector_of_vectors",
    """|m: vec[vec[i32]]|
  {len(m), result(for(m, appender[i64], |b, i, r| merge(b, len(r)))), lookup(m, 1L), m}""",
    [i32(1, 2), i32(), i32(3)],
)
case(
    "vector_of_vectors_of_vectors",
    """|m: vec[vec[vec[u16]]]|
  result(for(m, appender[i64], |b, i, r| merge(b, len(r) * 10L + len(lookup(r, 0L)))))""",
    [[arr([1, 2], "u16")], [arr([], "u16"), arr([3], "u16")]],
)
case(
    "vector_of_structs_of_structs",
    "|v: vec[{i32,{f64,i8}}]| "
    "result(for(v, appender[{{f64,i8},i32}], |b, i, x| merge(b, {x.$1, x.$0})))",
    [(1, (0.5, 2)), (-3, (1.5, -4))],
)
case("string_literal", '{"hello", "", "a\\"b\\\\c\\n\\t\\x41\\xff", len("abc")}')
case(
    "string_params",
    '|s: vec[i8], t: vec[i8]| {s == t, s < t, len(s), lookup(s, 0L), slice(s, 1L, 2L), s == "abc"}',
    b"abc",
    "abd",
)
case(
    "strings_in_vectors",
    """|w: vec[vec[i8]]|
  result(for(w, appender[vec[i8]], |b, i, s| if(len(s) > 1L, merge(b, s), b)))""",
    [np.frombuffer(x, np.int8) for x in (b"ab", b"c", b"", b"def")],
)

# ----------------------------------------------------------------------------------------------
# lookup, slice, len.

_v10 = i32(*range(10, 20))
case(
    "lookup_every_index_type",
    "|v: vec[i32]| {lookup(v, 0), lookup(v, 1L), lookup(v, 2c), "
    "lookup(v, 3si), lookup(v, 4u8), lookup(v, 5u16), lookup(v, 6u32), lookup(v, 9u64)}",
    _v10,
)
for _s, _n in [
    (1, 2),
    (-5, 2),
    (2, 100),
    (5, 1),
    (1, -1),
    (0, 0),
    (10, 1),
    (-9223372036854775808, 9223372036854775807),
    (3, 9223372036854775807),
    (9223372036854775807, 5),
]:
    case(
        f"slice_{_s}_{_n}".replace("-", "m"),
        "|v: vec[i32], s: i64, n: i64| {slice(v, s, n), len(slice(v, s, n))}",
        _v10,
        _s,
        _n,
    )
case(
    "slice_unsigned_bounds",
    "|v: vec[i32]| {slice(v, 18446744073709551615u64, 1u64), "
    "slice(v, 2u64, 18446744073709551615u64), slice(v, 250u8, 3u8), slice(v, 1u32, 4294967295u32)}",
    _v10,
)
case(
    "slice_small_int_bounds",
    "|v: vec[i32]| {slice(v, -1c, 3c), slice(v, 8si, 5si), slice(v, 2, -3)}",
    _v10,
)
case(
    "slice_of_slice_and_empty",
    "|v: vec[f64]| let s = slice(v, 1L, 3L); "
    "{slice(s, 1L, 5L), slice(v, 0L, 0L), len(slice(s, 3L, 1L))}",
    f64(1, 2, 3, 4, 5),
)
case(
    "len_of_everything",
    '|v: vec[f64], m: vec[vec[i8]]| {len(v), len(m), len("xyz"), '
    "len([]: vec[i32]), len(lookup(m, 1L))}",
    f64(1, 2),
    [np.frombuffer(b"a", np.int8), np.frombuffer(b"bcd", np.int8)],
)
