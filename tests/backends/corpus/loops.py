"""Loops and iterators: plain, iter, rangeiter, zip, nested loops, macros, iterate, sort."""

from __future__ import annotations

import math

import numpy as np

from .base import ITER_PROGRAM, RANGE_PROGRAM, WORDS, arr, case, f64, i32, i64

# ----------------------------------------------------------------------------------------------
# Loops and iterators.

case(
    "for_plain_iteration_numbers",
    "|v: vec[f64]| result(for(v, appender[{i64,f64}], |b, i, x| merge(b, {i, x})))",
    f64(0.5, 1.5, 2.5),
)
for _s, _e, _st in [
    (1, 8, 3),
    (4, 4, 1),
    (0, 10, 20),
    (0, 10, 1),
    (9, 10, 2),
    (0, 10, 3),
    (2, 9, 7),
]:
    case(f"iter_{_s}_{_e}_{_st}", ITER_PROGRAM, i32(*range(10)), _s, _e, _st)
case(
    "iter_huge_stride",
    ITER_PROGRAM,
    i32(*range(10)),
    0,
    10,
    2**63 - 1,
)
for _s, _e, _st in [(2, 11, 3), (5, 2, 1), (-3, 0, 1), (0, 0, 1), (-10, 10, 7), (0, 1, 5)]:
    case(f"rangeiter_{_s}_{_e}_{_st}".replace("-", "m"), RANGE_PROGRAM, _s, _e, _st)
case(
    "rangeiter_huge_stride",
    RANGE_PROGRAM,
    0,
    10,
    2**63 - 1,
)
case(
    "rangeiter_huge_span",
    """|s: i64, e: i64, st: i64|
  result(for(rangeiter(s, e, st), merger[i64,+], |b, i, x| merge(b, 1L)))""",
    -(2**62) - 5,
    2**62 + 5,
    2**61,
)
case(
    "zip_vectors",
    """|a: vec[i32], b: vec[f64]|
  result(for(zip(a, b), appender[f64], |bb, i, x| merge(bb, f64(x.$0) * x.$1)))""",
    i32(1, 2, 3),
    f64(0.5, 0.25, -1.0),
)
case(
    "zip_mixed_iterators",
    """|a: vec[i32]|
  result(for(zip(a, rangeiter(10L, 13L, 1L), iter(a, 0L, 3L, 1L)), appender[{i32,i64,i32}],
             |b, i, x| merge(b, x)))""",
    i32(7, 8, 9),
)
case(
    "zip_strided",
    """|a: vec[i64], c: vec[f32]|
  result(for(zip(iter(a, 1L, 7L, 2L), iter(c, 0L, 9L, 3L), rangeiter(100L, 103L, 1L)),
             appender[{i64,i64,f32}], |b, i, x| merge(b, {i, x.$0, x.$1})))""",
    i64(*range(8)),
    arr(range(9), "f32"),
)
case(
    "zip_four",
    """|a: vec[u8], b: vec[i16], c: vec[bool], d: vec[f32]|
  result(for(zip(a, b, c, d), appender[{u8,i16,bool,f32}], |o, i, x| merge(o, x)))""",
    arr([1, 2], "u8"),
    arr([-3, 4], "i16"),
    np.array([True, False]),
    arr([0.5, 1.5], "f32"),
)
case(
    "nested_loops_order",
    """|n: i64|
  result(for(rangeiter(0L, n, 1L), appender[{i64,i64}], |b, i, x|
    for(rangeiter(0L, x, 1L), b, |b2, j, y| merge(b2, {x, y}))))""",
    5,
)
case(
    "nested_loops_matrix_product",
    """|a: vec[vec[f64]], b: vec[vec[f64]]|
  result(for(a, appender[vec[f64]], |rows, i, row|
    merge(rows, result(for(rangeiter(0L, len(lookup(b, 0L)), 1L), appender[f64], |cols, j, c|
      merge(cols, result(for(zip(row, b), merger[f64,+], |acc, k, x|
        merge(acc, x.$0 * lookup(x.$1, c))))))))))""",
    [f64(1, 2), f64(3, 4), f64(5, 6)],
    [f64(1, 0, 2), f64(0, 1, 3)],
)
case(
    "nested_loop_inner_builder_from_outer",
    """|v: vec[i64]|
  result(for(v, appender[vec[i64]], |b, i, n|
    merge(b, result(for(rangeiter(0L, n, 1L), appender[i64], |b2, j, x| merge(b2, x * i))))))""",
    i64(2, 0, 3, 1),
)
case(
    "filter_macro", "|v: vec[i32]| {filter(v, |x| x > 1), filter(v, |x| false)}", i32(1, 2, 3, 0, 5)
)
case(
    "map_macro_types",
    "|v: vec[i32]| {map(v, |x| f32(x) * 0.5f), map(v, |x| {x, x > 1}), "
    "map(map(v, |x| x * 2), |y| i64(y) + 1L)}",
    i32(1, 2, 3),
)
case(
    "flatten_macro",
    "|m: vec[vec[i32]]| {flatten(m), len(flatten(m))}",
    [i32(1, 2), i32(), i32(3), i32()],
)
case(
    "filter_map_chain",
    """|v: vec[f64]|
  let kept = filter(v, |x| x == x && x > 0.0);
  {map(kept, |x| sqrt(x)), result(for(kept, merger[f64,max], |b, i, x| merge(b, x)))}""",
    f64(4.0, -1.0, math.nan, 9.0, 0.0, 2.25),
)
case("iterate_factorial", "|n: i64| iterate({n, 1L}, |s| {{s.$0 - 1L, s.$1 * s.$0}, s.$0 > 2L})", 5)
case("iterate_runs_once", "iterate(10, |x| {x + 1, false})")
case(
    "iterate_collatz",
    """|n: i64|
  iterate({n, 0L}, |s| let m = s.$0;
    {{select(m % 2L == 0L, m / 2L, 3L * m + 1L), s.$1 + 1L}, m != 1L && m != 2L})""",
    27,
)
case(
    "iterate_with_vector_state",
    """|v: vec[i64]|
  iterate({v, 0}, |s|
    {{result(for(s.$0, appender[i64], |b, i, x| if(x > 1L, merge(b, x / 2L), b))), s.$1 + 1},
     len(s.$0) > 0L})""",
    i64(5, 40, 1, 7),
)
case(
    "sort_stable_structs",
    "|v: vec[{i32,i32}]| sort(v, |a, b| compare(a.$0, b.$0))",
    [(2, 0), (1, 1), (2, 2), (1, 3), (0, 4)],
)
case(
    "sort_descending_floats",
    "|v: vec[f64]| {sort(v, |a, b| compare(b, a)), sort(v, |a, b| compare(a, b))}",
    f64(1.0, 3.0, -0.0, 2.0, 0.0, -math.inf, 3.0),
)
case(
    "sort_empty_and_single",
    "|v: vec[f64]| {sort(v, |a, b| compare(a, b)), sort(slice(v, 0L, 1L), |a, b| compare(a, b))}",
    f64(),
)
case(
    "sort_big_random",
    "|v: vec[i64]| sort(v, |a, b| compare(a % 100L, b % 100L))",
    np.random.default_rng(1).integers(-1000, 1000, 5000).astype(np.int64),
)
case(
    "sort_strings",
    "|w: vec[vec[i8]]| sort(w, |a, b| compare(a, b))",
    [np.frombuffer(s, np.int8) for s in WORDS],
)
case(
    "sort_by_key_lambda",
    "|v: vec[i32]| sort(v, |a, b| select(a > b, -1, select(a < b, 1, 0)))",
    i32(3, 1, 4, 1, 5, 9, 2, 6),
)
