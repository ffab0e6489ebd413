"""Large inputs, and loops long enough to run in parallel on compiled backends."""

from __future__ import annotations

import numpy as np

from .base import case, i64

# ----------------------------------------------------------------------------------------------
# Large inputs (10^6 elements).

_rng = np.random.default_rng(0)
_big = _rng.random(1_000_000)
case(
    "big_map_sum",
    """|v: vec[f64]|
  let m = map(v, |x| x * 2.0 + 1.0);
  {m, result(for(m, merger[f64,+], |b, i, x| merge(b, x)))}""",
    _big,
    approx=True,
)
case(
    "big_filtered_count_min_max",
    """|v: vec[i64]|
  result(for(v, {merger[i64,+], merger[i64,min], appender[i64]}, |b, i, x|
    if(x % 1000L == 0L, {merge(b.$0, 1L), merge(b.$1, x), merge(b.$2, i)}, b)))""",
    _rng.integers(-(10**9), 10**9, 1_000_000).astype(np.int64),
)


# ----------------------------------------------------------------------------------------------
# Loops long enough to be split across threads (compiled backends run top-level loops in
# parallel ranges and merge per-thread builders): results must not depend on the split.

PARALLEL = frozenset({"parallel"})
_n = 100_003
_pv = _rng.integers(-1000, 1000, _n).astype(np.int64)
_pf = _rng.standard_normal(_n)
case(
    "parallel_appender_order",
    "|v: vec[i64]| {map(v, |x| x * 3L), filter(v, |x| x % 7L == 0L)}",
    _pv,
    needs=PARALLEL,
)
case(
    "parallel_mergers_with_init",
    """|v: vec[i64]|
  result(for(v, {merger[i64,+](100L), merger[i64,*](3L), merger[i64,min](-5L), merger[i64,max],
                 merger[u8,+](250u8)},
    |b, i, x| {merge(b.$0, x), merge(b.$1, select(i % 1000L == 0L, 3L, 1L)), merge(b.$2, x),
               merge(b.$3, x), merge(b.$4, 1u8)}))""",
    _pv,
    needs=PARALLEL,
)
case(
    "parallel_float_sum",
    "|v: vec[f64]| {result(for(v, merger[f64,+](0.5), |b, i, x| "
    "merge(b, x))), result(for(v, merger[{f64,f32},max], |b, i, x| merge(b, {x, f32(x)})))}",
    _pf,
    approx=True,
    needs=PARALLEL,
)
case(
    "parallel_vecmerger",
    """|v: vec[i64], init: vec[i64]|
  {result(for(v, vecmerger[i64,+](init), |b, i, x| merge(b, {(x + 1000L) % 10L, 1L}))),
   result(for(v, vecmerger[i64,max](init), |b, i, x| merge(b, {(x + 1000L) % 10L, x}))),
   result(for(v, vecmerger[i64,*](init), |b, i, x| merge(b, {(x + 1000L) % 10L, 1L})))}""",
    _pv,
    i64(*range(10)),
    needs=PARALLEL,
)
case(
    "parallel_struct_of_builders",
    """|v: vec[i64], w: vec[f64]|
  result(for(zip(v, w), {appender[{i64,f64}](4L), merger[i64,+], vecmerger[f64,min]([0.0, 0.0])},
    |b, i, x| {if(x.$0 > 900L, merge(b.$0, {i, x.$1}), b.$0), merge(b.$1, x.$0),
               merge(b.$2, {i % 2L, x.$1})}))""",
    _pv,
    _pf,
    needs=PARALLEL,
)
case(
    "parallel_strided_and_range",
    """|v: vec[i64]|
  {result(for(iter(v, 3L, 100000L, 2L), appender[i64], |b, i, x| merge(b, x + i))),
   result(for(rangeiter(-50000L, 50000L, 1L), merger[i64,+], |b, i, x| merge(b, x * i))),
   result(for(zip(v, rangeiter(0L, len(v), 1L)), appender[i64], |b, i, x|
     if(x.$0 == 0L, merge(b, x.$1), b)))}""",
    _pv,
    needs=PARALLEL,
)
case(
    "parallel_nested_inner_loops",
    """|v: vec[i64]|
  result(for(v, appender[i64], |b, i, x|
    for(rangeiter(0L, select(x > 990L, 3L, 0L), 1L), b, |b2, j, y| merge(b2, x * 10L + y))))""",
    _pv,
    needs=PARALLEL,
)
case(
    "parallel_builder_from_outside",
    """|v: vec[i64]|
  let b0 = merge(merge(appender[i64], -1L), -2L);
  let m0 = merge(merger[i64,+], 1000000L);
  let r = for(v, {b0, m0}, |b, i, x| {if(x > 995L, merge(b.$0, x), b.$0), merge(b.$1, 1L)});
  result(r)""",
    _pv,
    needs=PARALLEL,
)
case(
    "parallel_sequence_of_loops",
    """|v: vec[f64]|
  let sq = map(v, |x| x * x);
  let pos = filter(sq, |x| x > 1.0);
  let s = result(for(pos, merger[i64,+], |b, i, x| merge(b, 1L)));
  {s, len(pos), slice(pos, 0L, 5L)}""",
    _pf,
    needs=PARALLEL,
)
case(
    "error_parallel_lookup_late",
    """|v: vec[i64], w: vec[i64]|
  result(for(v, merger[i64,+], |b, i, x| merge(b, select(i > 90000L, lookup(w, i), x))))""",
    _pv,
    i64(1, 2),
    needs=PARALLEL,
    error="the first failing iteration is late in the loop",
)
case(
    "error_parallel_first_in_loop_order",
    """|v: vec[i64]|
  result(for(v, appender[i64], |b, i, x|
    merge(b, select(i == 99000L, i64(assert(false)), 0L) +
             select(i == 20L, lookup(v, -1L), 0L))))""",
    _pv,
    needs=PARALLEL,
    error="two failing iterations: the earlier one is reported",
)
case(
    "parallel_loop_inside_iterate",
    """|v: vec[i64]|
  iterate({0L, 0L}, |s|
    {{s.$0 + 1L, s.$1 + result(for(v, merger[i64,+], |b, i, x| merge(b, x * s.$0)))},
     s.$0 < 2L})""",
    _pv,
    needs=PARALLEL,
)
case(
    "parallel_loop_inside_loop_body_and_sort",
    """|v: vec[i64], keys: vec[i64]|
  {result(for(keys, appender[i64], |b, i, k|
     merge(b, result(for(v, merger[i64,+], |m, j, x| if(x == k, merge(m, 1L), m)))))),
   sort(keys, |a, c| compare(lookup(v, a), lookup(v, c)))}""",
    _pv,
    i64(5, 0, 999, 1234, 7),
    needs=PARALLEL,
)
case(
    "error_parallel_inside_iterate",
    """|v: vec[i64]|
  iterate(0L, |k| {k + 1L, result(for(v, merger[i64,+], |b, i, x|
    merge(b, select(i == 77777L && k == 1L, lookup(v, -5L), 0L)))) == 0L})""",
    _pv,
    needs=PARALLEL,
    error="a lookup in a parallel loop inside iterate",
)
