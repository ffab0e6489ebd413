"""Scans (`scanner[T,op]`): running sums, products, minima and maxima, as NumPy's `cumsum`,
`cumprod` and `ufunc.accumulate` give them; scans per row inside a parallel loop, and scans
next to the fusions that must (or must not) see through them."""

from __future__ import annotations

import math

import numpy as np

from .base import arr, case, f64, i32, i64

PARALLEL = frozenset({"parallel"})
_SCAN = "|v: vec[{t}]| result(for(v, scanner[{t},{op}], |s, i, x| merge(s, x)))"
_NAN = math.nan

# ----------------------------------------------------------------------------------------------
# One scan per op and type: the first element is x_0 itself (a first -0.0 stays -0.0 under +,
# a first NaN stays NaN), NaN spreads through + * min max, integers wrap.

for _name, _t, _op, _data in [
    ("cumsum_f64_negative_zero_first_nan_inside", "f64", "+", [-0.0, 1.5, -2.25, _NAN, 4.0]),
    ("cumsum_f64_negative_zeros", "f64", "+", [-0.0, -0.0, 0.0, -0.0]),
    ("cumsum_f64_nan_first", "f64", "+", [_NAN, 1.0, 2.0]),
    ("cumsum_f64_infinities", "f64", "+", [1.0, math.inf, 2.0, -math.inf, 3.0]),
    ("cumsum_f64_rounds_in_order", "f64", "+", [1e16, 1.0, 1.0, -1e16, 0.1, 0.2]),
    ("cumsum_f32_rounds_in_f32", "f32", "+", [16777216.0, 1.0, 1.0, 0.1, 3.4e38, 3.4e38]),
    ("cumprod_f64", "f64", "*", [-0.0, 2.0, -3.0, 0.5, _NAN, 2.0]),
    ("cumprod_f64_negative_zero_first", "f64", "*", [-0.0, 5.0]),
    ("cumprod_f64_overflow", "f64", "*", [1e200, 1e200, 0.0, -1.0]),
    ("cummax_f64_nan_inside", "f64", "max", [1.0, 3.0, 2.0, _NAN, 5.0, 0.0]),
    ("cummax_f64_nan_first", "f64", "max", [_NAN, 3.0]),
    ("cummax_f64_zeros", "f64", "max", [-0.0, 0.0, -0.0]),
    ("cummin_f64_nan_inside", "f64", "min", [4.0, -1.0, 2.0, _NAN, -5.0]),
    ("cummin_f64_zeros", "f64", "min", [0.0, -0.0, 0.0]),
    ("cummin_f32", "f32", "min", [3.5, -math.inf, 1.0]),
    ("cumsum_i64_wraps", "i64", "+", [2**63 - 2, 1, 1, 5, -(2**63)]),
    ("cumprod_i64_wraps", "i64", "*", [2**40, 2**30, -1, 3]),
    ("cumsum_i32", "i32", "+", [5, -7, 2**31 - 1, 1, 3]),
    ("cumprod_i32", "i32", "*", [3, -4, 65536, 65536, 7]),
    ("cummax_i32", "i32", "max", [-5, -7, 3, 2, -(2**31), 2**31 - 1]),
    ("cummin_i32", "i32", "min", [5, 7, -3, 2, 2**31 - 1]),
    ("cumsum_u8_wraps", "u8", "+", [200, 100, 3, 255, 1]),
    ("cumprod_u8_wraps", "u8", "*", [16, 16, 3, 2]),
    ("cummax_u8", "u8", "max", [3, 255, 7]),
    ("cummin_u8", "u8", "min", [9, 0, 7]),
    ("cumsum_i8_wraps", "i8", "+", [100, 100, -128, -1]),
    ("cumsum_u64_wraps", "u64", "+", [2**64 - 1, 2, 3]),
    ("cummax_bool", "bool", "max", [False, False, True, False]),
    ("cummin_bool", "bool", "min", [True, True, False, True]),
]:
    case(f"scan_{_name}", _SCAN.format(t=_t, op=_op), arr(_data, _t))

for _t, _op in [("f64", "+"), ("i32", "*"), ("u8", "max"), ("f32", "min"), ("bool", "max")]:
    _opname = {"+": "add", "*": "mul"}.get(_op, _op)
    case(f"scan_empty_{_t}_{_opname}", _SCAN.format(t=_t, op=_op), arr([], _t))

case(
    "scan_one_element",
    "|v: vec[f64]| result(for(v, scanner[f64,max], |s, i, x| merge(s, x)))",
    f64(-0.0),
)

# ----------------------------------------------------------------------------------------------
# Where the merges come from: a filter, the index, several merges per iteration, a nested loop
# (merge order is the sequential order), merges outside a loop, a scan continued by a loop.

case(
    "scan_of_filtered_values",
    "|v: vec[i64]| result(for(v, scanner[i64,+], |s, i, x| if(x % 2L == 0L, merge(s, x), s)))",
    i64(1, 2, 3, 4, 6, 7, 8),
)
case(
    "scan_merges_twice_per_iteration",
    "|v: vec[i32]| result(for(v, scanner[i32,+], |s, i, x| merge(merge(s, x), i32(i))))",
    i32(10, 20, 30),
)
case(
    "scan_over_nested_loops_in_merge_order",
    """|v: vec[i64]|
  result(for(v, scanner[i64,*], |s, i, x|
    for(rangeiter(0L, x, 1L), s, |s2, j, y| merge(s2, y + 2L))))""",
    i64(2, 0, 3, 1),
)
case(
    "scan_merged_outside_a_loop",
    "result(merge(merge(merge(scanner[f64,+], -0.0), 2.5), -1.0))",
)
case(
    "scan_continued_by_a_loop",
    """|v: vec[i32]|
  let s = merge(merge(scanner[i32,max], 4), 1);
  result(for(v, s, |b, i, x| merge(b, x)))""",
    i32(2, 9, 3),
)
case(
    "scan_chosen_by_a_branch",
    """|v: vec[f64], up: bool|
  result(for(v, if(up, merge(scanner[f64,+], 100.0), scanner[f64,+]), |s, i, x| merge(s, x)))""",
    f64(1.0, 2.0, 3.0),
    False,
)
case(
    "scan_of_a_zip",
    """|a: vec[i64], b: vec[i64]|
  result(for(zip(a, b), scanner[i64,min], |s, i, x| merge(s, x.$0 - x.$1)))""",
    i64(5, 1, 9, -4),
    i64(1, 7, 2, 0),
)
case(
    "scan_of_a_strided_slice_and_a_range",
    """|v: vec[i64]|
  {result(for(iter(v, 1L, 7L, 2L), scanner[i64,+], |s, i, x| merge(s, x))),
   result(for(rangeiter(-3L, 4L, 3L), scanner[i64,*], |s, i, x| merge(s, x + 10L)))}""",
    i64(*range(10)),
)

# ----------------------------------------------------------------------------------------------
# Structs of builders holding scanners: the loop runs in order, and the other builders are
# filled as in any loop.

case(
    "scan_struct_with_a_merger",
    """|v: vec[f64]|
  result(for(v, {scanner[f64,+], merger[f64,max], scanner[f64,min]}, |b, i, x|
    {merge(b.$0, x), merge(b.$1, x), merge(b.$2, x)}))""",
    f64(3.0, -0.0, _NAN, -7.5, 2.0),
)
case(
    "scan_struct_with_an_appender_and_a_dictmerger",
    """|v: vec[i64]|
  result(for(v, {appender[i64], scanner[i64,+], dictmerger[i64,i64,+]}, |b, i, x|
    {if(x > 2L, merge(b.$0, x), b.$0), merge(b.$1, x * i), merge(b.$2, {x % 3L, x})}))""",
    i64(4, 1, 5, 9, 2, 6),
)

# ----------------------------------------------------------------------------------------------
# Fusion around scans. A scan over a map or a filter is one loop (fine: the producer's merges
# come in order). A loop over a scan's result reads the running values, not what was merged:
# it must not be fused as if the scan were an appender (vertically, by gather, as a consumer).

case(
    "scan_over_a_map",
    """|v: vec[f64]|
  result(for(map(v, |x| x * 2.0 - 1.0), scanner[f64,+], |s, i, x| merge(s, x)))""",
    f64(-0.0, 0.5, 1.5, _NAN, 3.0),
)
case(
    "scan_over_a_filter_using_the_index",
    """|v: vec[i64]|
  result(for(filter(v, |x| x > 0L), scanner[i64,+], |s, i, x| merge(s, x * 100L + i)))""",
    i64(3, -1, 4, -1, 5),
)
case(
    "scan_result_reduced_by_another_loop",
    """|v: vec[i64]|
  let c = result(for(v, scanner[i64,+], |s, i, x| merge(s, x)));
  result(for(c, merger[i64,+], |m, i, x| merge(m, x)))""",
    i64(1, 2, 3, 4),
)
case(
    "scan_result_mapped_and_filtered",
    """|v: vec[f64]|
  let c = result(for(v, scanner[f64,max], |s, i, x| merge(s, x)));
  {map(c, |x| x * 10.0), filter(c, |x| x > 2.0)}""",
    f64(1.0, 3.0, 2.0, 5.0, 0.0),
)
case(
    "scan_result_kept_and_reduced",
    """|v: vec[i32]|
  let c = result(for(v, scanner[i32,*], |s, i, x| merge(s, x)));
  {c, result(for(c, merger[i32,+], |m, i, x| merge(m, x)))}""",
    i32(2, 3, -1, 4),
)
case(
    "scan_result_looked_up",
    """|v: vec[i64], w: vec[i64]|
  let c = result(for(v, scanner[i64,+], |s, i, x| merge(s, x)));
  result(for(w, appender[i64], |b, i, j| merge(b, lookup(c, j))))""",
    i64(5, 6, 7, 8),
    i64(3, 0, 2),
)
case(
    "scan_of_a_scan",
    """|v: vec[i64]|
  result(for(result(for(v, scanner[i64,+], |s, i, x| merge(s, x))), scanner[i64,+],
    |s, i, x| merge(s, x)))""",
    i64(1, 1, 1, 1, 1),
)
case(
    "scan_kept_map_consumed_by_a_scan",
    """|v: vec[f64]|
  let y = map(v, |x| x + 0.5);
  {y, result(for(y, scanner[f64,+], |s, i, x| merge(s, x)))}""",
    f64(1.0, -0.5, 2.25),
)
case(
    "scan_beside_a_sum_over_the_same_data",
    """|v: vec[f64]|
  {result(for(v, scanner[f64,+], |s, i, x| merge(s, x))),
   result(for(v, merger[f64,+], |m, i, x| merge(m, x))),
   result(for(v, appender[f64], |b, i, x| merge(b, x * 2.0)))}""",
    f64(0.25, -0.0, 8.0, 1.5),
)

# ----------------------------------------------------------------------------------------------
# A scan per row (the rows' loop is parallel: each row's scanner is its iteration's own) and a
# long scan at the top level (it must stay in order, whatever the thread count).

_ROWS = """|v: vec[{t}], rows: i64, n: i64|
  result(for(rangeiter(0L, rows, 1L), appender[{t}], |b, r, _|
    for(result(for(iter(v, r * n, r * n + n, 1L), scanner[{t},{op}], |s, j, x| merge(s, x))),
        b, |b2, k, y| merge(b2, y))))"""
case(
    "scan_per_row",
    _ROWS.format(t="f64", op="+"),
    f64(-0.0, 1.0, 2.0, _NAN, 1.0, 1.0, 3.0, -0.0, -1.0, 0.5, 0.25, 0.125),
    4,
    3,
)
_rng = np.random.default_rng(7)
_rows, _n = 40_000, 5  # rows enough for several threads at the default grain
case(
    "parallel_scan_per_row",
    _ROWS.format(t="i64", op="+"),
    _rng.integers(-1000, 1000, _rows * _n).astype(np.int64),
    _rows,
    _n,
    needs=PARALLEL,
)
case(
    "parallel_cummax_per_row_f64",
    _ROWS.format(t="f64", op="max"),
    np.where(_rng.random(_rows * _n) < 0.01, _NAN, _rng.standard_normal(_rows * _n)),
    _rows,
    _n,
    needs=PARALLEL,
)
case(
    "parallel_top_level_scan_stays_in_order",
    """|v: vec[i64]|
  {result(for(v, scanner[i64,+], |s, i, x| merge(s, x))),
   result(for(v, {scanner[i64,max], merger[i64,+]}, |b, i, x|
     {merge(b.$0, x), merge(b.$1, x)}))}""",
    _rng.integers(-1000, 1000, 150_001).astype(np.int64),
    needs=PARALLEL,
)
case(
    "parallel_cumsum_f64_rounds_in_order",
    "|v: vec[f64]| result(for(v, scanner[f64,+], |s, i, x| merge(s, x)))",
    _rng.standard_normal(150_001) * 1e6,
    needs=PARALLEL,
)
