"""Runtime errors (both backends fail at the same node) and dictionaries."""

from __future__ import annotations

import math

import numpy as np

from .base import ITER_PROGRAM, RANGE_PROGRAM, VECMERGER_PROGRAM, case, f64, i32, i64

# ----------------------------------------------------------------------------------------------
# Runtime errors: both backends fail at the same node.

case(
    "error_lookup_out_of_bounds",
    "|v: vec[i32]|\n  let n = 5L;\n  lookup(v, n)",
    i32(1, 2),
    error="lookup index 5 out of bounds",
)
case("error_lookup_negative", "|v: vec[i32]| lookup(v, -1L)", i32(1, 2), error="negative index")
case("error_lookup_empty", "|v: vec[f64]| lookup(v, 0L)", f64(), error="empty vector")
case(
    "error_lookup_u64",
    "|v: vec[f64]| lookup(v, 18446744073709551615u64)",
    f64(1.0),
    error="huge unsigned index",
)
case(
    "error_select_evaluates_both",
    "|v: vec[i32]| select(len(v) > 0L, lookup(v, 0L), -1)",
    i32(),
    error="select evaluates the lookup",
)
case(
    "error_lookup_in_loop",
    """|v: vec[i64], w: vec[i32]|
  result(for(v, appender[i32], |b, i, x| merge(b, lookup(w, x))))""",
    i64(1, 2),
    i32(5, 6),
    error="lookup in a loop body",
)
case(
    "error_lookup_nested_loop",
    """|m: vec[vec[i32]]|
  result(for(m, merger[i32,+], |b, i, r| for(r, b, |b2, j, x| merge(b2, lookup(r, j + 1L)))))""",
    [i32(1, 2), i32(3)],
    error="lookup in a nested loop",
)
for _s, _e, _st in [(-1, 5, 1), (5, 4, 1), (0, 11, 1), (0, 5, 0), (0, 5, -1)]:
    case(
        f"error_iter_{_s}_{_e}_{_st}".replace("-", "m"),
        ITER_PROGRAM,
        i32(*range(10)),
        _s,
        _e,
        _st,
        error="bad iter bounds",
    )
case("error_rangeiter_stride_zero", RANGE_PROGRAM, 0, 5, 0, error="rangeiter stride 0")
case("error_rangeiter_stride_negative", RANGE_PROGRAM, 5, 0, -1, error="rangeiter stride < 0")
case(
    "error_zip_length_mismatch",
    """|a: vec[i32], b: vec[f64]|
  result(for(zip(a, b), appender[f64], |bb, i, x| merge(bb, f64(x.$0) * x.$1)))""",
    i32(1, 2),
    f64(0.5, 0.25, 1.0),
    error="zip of different lengths",
)
case(
    "error_zip_iter_length_mismatch",
    """|a: vec[i32]|
  result(for(zip(a, iter(a, 0L, 2L, 1L)), merger[i32,+], |b, i, x| merge(b, x.$0)))""",
    i32(1, 2, 3),
    error="zip of different lengths",
)
case(
    "error_vecmerger_index",
    VECMERGER_PROGRAM,
    f64(1.0, 2.0),
    i64(0, 2),
    f64(0.5, 1.0),
    error="vecmerger index 2 out of bounds",
)
case(
    "error_vecmerger_negative_index",
    VECMERGER_PROGRAM,
    f64(1.0, 2.0),
    i64(-1),
    f64(0.5),
    error="vecmerger index -1",
)
case(
    "error_vecmerger_positional_past_the_end",
    """|v: vec[i64], w: vec[i64]|
  result(for(zip(v, rangeiter(1L, 4L, 1L)), vecmerger[i64,+](w),
             |b, i, x| merge(b, {x.$1, x.$0})))""",
    i64(5, 6, 7),
    i64(1, 1, 1),
    error="positional vecmerger index 3 out of bounds (checked before the loop)",
)
case(
    "error_vecmerger_loop_index_past_the_end",
    "|v: vec[i32], w: vec[i32]| result(for(v, vecmerger[i32,+](w), |b, i, x| merge(b, {i, x})))",
    i32(1, 2, 3),
    i32(0, 0),
    error="the loop index past the vecmerger's end",
)
case(
    "error_vecmerger_rebound_index",
    """|v: vec[i32], w: vec[i32]|
  result(for(v, vecmerger[i32,+](w), |b, i, x| let i = 10L; merge(b, {i, x})))""",
    i32(1, 2, 3),
    i32(0, 0, 0),
    error="a let rebinding the loop index is not the position",
)
case("error_assert", "|x: i32| assert(x > 0)", -1, error="assertion failed")
case(
    "error_assert_in_loop",
    "|v: vec[i32]| result(for(v, merger[i32,+], |b, i, x| merge(b, select(assert(x != 2), x, 0))))",
    i32(1, 2, 3),
    error="assert in a loop",
)
case(
    "error_assert_stops_iterate",
    "|n: i64| iterate(0L, |x| {x + 1L, assert(x < n)})",
    5,
    error="an assert that ends iterate",
)
case(
    "error_in_sort_comparator",
    "|v: vec[i64]| sort(v, |a, b| compare(lookup(v, a), b))",
    i64(0, 5, 1),
    error="lookup in a comparator",
)
case(
    "error_in_lambda",
    "|v: vec[i32]| let f = |k: i64| lookup(v, k); f(0L) + f(3L)",
    i32(1, 2),
    error="lookup in an applied lambda",
)
case(
    "error_first_of_two",
    "|v: vec[i32]| {lookup(v, 7L), assert(false)}",
    i32(1),
    error="the first error is reported",
)
case(
    "error_in_struct_builder_loop",
    """|v: vec[i64]|
  result(for(v, {appender[i64], vecmerger[i64,+]([0L])}, |b, i, x|
    {merge(b.$0, x), merge(b.$1, {x, 1L})}))""",
    i64(0, 0, 1),
    error="vecmerger index in a struct",
)

# ----------------------------------------------------------------------------------------------
# Dictionaries (backends that lack them raise UnsupportedError).

_DICT = frozenset({"dicts"})
case(
    "dict_dictmerger_tovec",
    """|k: vec[i32], x: vec[f64]|
  tovec(result(for(zip(k, x), dictmerger[i32,f64,+], |b, i, e| merge(b, e))))""",
    i32(3, 1, 3, 2),
    f64(0.5, 1.0, 2.0, -1.0),
    needs=_DICT,
)
case(
    "dict_dictmerger_result",
    """|k: vec[i32], x: vec[f64]|
  result(for(zip(k, x), dictmerger[i32,f64,max], |b, i, e| merge(b, e)))""",
    i32(1, 2, 1),
    f64(0.5, 2.0, 1.5),
    needs=_DICT,
)
case(
    "dict_groupmerger",
    """|k: vec[i32], x: vec[f64]|
  result(for(zip(k, x), groupmerger[i32,f64], |b, i, e| merge(b, e)))""",
    i32(2, 1, 2, 2),
    f64(0.5, 1.0, 1.5, -1.0),
    needs=_DICT,
)
case(
    "dict_lookup_keyexists_len",
    """|k: vec[i64]|
  let d = result(for(k, dictmerger[i64,i64,+], |b, i, x| merge(b, {x, 1L})));
  {lookup(d, 2L), keyexists(d, 9L), len(d), optlookup(d, 1L), optlookup(d, 7L)}""",
    i64(1, 2, 2, 3),
    needs=_DICT,
)
case(
    "dict_float_keys",
    """|k: vec[f64]|
  tovec(result(for(k, dictmerger[f64,i64,+], |b, i, x| merge(b, {x, 1L}))))""",
    f64(math.nan, 0.0, -0.0, 1.0, -math.inf, math.nan),
    needs=_DICT,
)
case(
    "dict_string_keys",
    """|w: vec[vec[i8]]|
  tovec(result(for(w, dictmerger[vec[i8],i64,+], |b, i, s| merge(b, {s, 1L}))))""",
    [np.frombuffer(s, np.int8) for s in (b"b", b"a", b"b", b"ab")],
    needs=_DICT,
)
case(
    "error_dict_missing_key",
    """|k: vec[i64]|
  lookup(result(for(k, dictmerger[i64,i64,+], |b, i, x| merge(b, {x, 1L}))), 5L)""",
    i64(1, 2),
    needs=_DICT,
    error="missing key",
)
case(
    "dict_struct_keys_values_hint",
    """|v: vec[{i32,bool,f64}]|
  tovec(result(for(v, dictmerger[{i32,bool},{i64,f64},+](16L), |b, i, x|
    merge(b, {{x.$0, x.$1}, {1L, x.$2}}))))""",
    [(2, True, 1.0), (1, False, 2.0), (2, True, 3.0), (1, True, 4.0)],
    needs=_DICT,
)
case(
    "dict_parameter",
    "|d: dict[i64,f64], k: vec[i64]| {map(k, |x| optlookup(d, x)), len(d), d}",
    {1: 0.5, -3: 2.5, 7: -1.0},
    i64(1, 2, -3),
    needs=_DICT,
)
case(
    "dict_groupmerger_string_keys",
    """|w: vec[vec[i8]]|
  let g = result(for(w, groupmerger[vec[i8],i64], |b, i, s| merge(b, {s, i})));
  {tovec(g), lookup(g, "b"), keyexists(g, "zz")}""",
    [np.frombuffer(s, np.int8) for s in (b"b", b"a", b"b", b"ab")],
    needs=_DICT,
)
