"""Builders (appender, merger, vecmerger, structs of builders) and empty inputs."""

from __future__ import annotations

import math

import numpy as np

from .base import CASES, VECMERGER_PROGRAM, arr, case, f64, i32, i64

# ----------------------------------------------------------------------------------------------
# Builders.

_merger = "|v: vec[{t}]| result(for(v, merger[{t},{op}]{init}, |b, i, x| merge(b, x)))"
for _t, _op, _init, _data in [
    ("i32", "+", "", [1, 2, 3]),
    ("i32", "+", "(10)", [1, 2, 3]),
    ("i64", "*", "", [2, 3, 4]),
    ("i64", "*", "(0L)", [2, 3]),
    ("i8", "+", "", [100, 100]),
    ("u8", "*", "", [16, 16, 3]),
    ("f64", "min", "", [2.0, -1.0, 5.0]),
    ("f64", "max", "", []),
    ("f64", "min", "", [1.0, math.nan, -5.0]),
    ("f64", "max", "(-0.0)", [0.0]),
    ("u8", "min", "", []),
    ("i16", "max", "", []),
    ("u64", "max", "(5u64)", [3, 18446744073709551615]),
    ("bool", "min", "", [True, False]),
    ("bool", "max", "", [False, False]),
    ("bool", "min", "", []),
    ("f32", "+", "(0.5f)", [0.25]),
    ("f32", "*", "", [1.5, -2.0, math.inf]),
    ("i32", "min", "(-5)", [1, 2]),
]:
    _opname = {"+": "add", "*": "mul"}.get(_op, _op)
    _name = f"merger_{_t}_{_opname}_{len(CASES)}"
    case(_name, _merger.format(t=_t, op=_op, init=_init), arr(_data, _t))
case(
    "merger_struct_add_init",
    """|v: vec[{i32,f64}]|
  result(for(v, merger[{i32,f64},+]({100, 0.5}), |b, i, x| merge(b, x)))""",
    [(1, 1.0), (2, 2.0)],
)
case(
    "merger_struct_min_max",
    """|v: vec[{i32,f64,u8}]|
  {result(for(v, merger[{i32,f64,u8},min], |b, i, x| merge(b, x))),
   result(for(v, merger[{i32,f64,u8},max], |b, i, x| merge(b, x)))}""",
    [(5, -1.0, 3), (2, 3.0, 200), (7, math.nan, 0)],
)
case("merger_direct_merges", "result(merge(merge(merger[i64,+](1L), 2L), 3L))")
case(
    "appender_capacity_hint",
    "|n: i64| {result(for(rangeiter(0L, n, 1L), appender[i64](2L), "
    "|b, i, x| merge(b, x * x))), result(appender[i32](100L)), result(appender[f64](0L))}",
    50,
)
case(
    "appender_grows_from_one",
    "|n: i64| len(result(for(rangeiter(0L, n, 1L), appender[i8](1L), |b, i, x| merge(b, i8(x)))))",
    1000,
)
case("appender_direct_merges", "result(merge(merge(appender[{i32,bool}], {1, true}), {2, false}))")
case(
    "appender_of_vectors",
    "|v: vec[i64]| result(for(v, appender[vec[i64]], |b, i, n| "
    "merge(b, result(for(rangeiter(0L, n, 1L), appender[i64], |b2, j, x| merge(b2, x))))))",
    i64(2, 0, 3),
)
case(
    "appender_element_type_inferred",
    "|v: vec[f32]| result(for(v, appender, |b, i, x| merge(b, {x, i})))",
    arr([1.5, 2.5], "f32"),
)
case("vecmerger_add", VECMERGER_PROGRAM, f64(1.0, 2.0, 3.0), i64(0, 2, 0), f64(0.5, 1.0, 2.0))
case(
    "vecmerger_min_direct",
    "|v: vec[i32]| result(merge(merge(vecmerger[i32,min](v), {1L, -5}), {1L, 7}))",
    i32(1, 2),
)
case(
    "vecmerger_does_not_modify_input",
    """|v: vec[i32]|
  {result(for(v, vecmerger[i32,*](v), |b, i, x| merge(b, {i, x}))), v}""",
    i32(2, 3, -4),
)
# Merges at the loop's own position (the loop index, or a rangeiter of stride 1): checked
# once per loop, then merged without checks (backends/llvm/reserve.positional_vecmerges).
case(
    "vecmerger_rows_positional",
    """|m: vec[f64], rows: i64, cols: i64|
  result(for(rangeiter(0L, rows, 1L),
    vecmerger[f64,+](result(for(rangeiter(0L, cols, 1L), appender[f64], |b, i, x| merge(b, 0.0)))),
    |b1, i1, x1| for(zip(iter(m, i1 * cols, i1 * cols + cols, 1L), rangeiter(0L, cols, 1L)), b1,
                     |b2, i2, x2| merge(b2, {x2.$1, x2.$0}))))""",
    f64(*range(12)),
    4,
    3,
)
case(
    "vecmerger_positional_offset_range",
    """|v: vec[i64], w: vec[i64]|
  result(for(zip(v, rangeiter(1L, 4L, 1L)), vecmerger[i64,+](w),
             |b, i, x| merge(b, {x.$1, x.$0})))""",
    i64(5, 6, 7),
    i64(1, 1, 1, 1, 1),
)
case(
    "vecmerger_positional_stride_two",
    """|v: vec[i64], w: vec[i64]|
  result(for(zip(v, rangeiter(0L, 6L, 2L)), vecmerger[i64,max](w),
             |b, i, x| merge(b, {x.$1, x.$0})))""",
    i64(5, 6, 7),
    i64(0, 0, 0, 0, 0, 0),
)
case(
    "vecmerger_positional_empty_loop",
    """|v: vec[i64], w: vec[i64]|
  result(for(v, vecmerger[i64,+](w), |b, i, x| merge(b, {i, x})))""",
    i64(),
    i64(3),
)
case(
    "vecmerger_struct_elements",
    """|v: vec[{i32,f64}], k: vec[i64]|
  result(for(k, vecmerger[{i32,f64},max](v), |b, i, j| merge(b, {j, {i32(i), f64(i) * 0.5}})))""",
    [(0, 0.0), (5, 5.0), (-1, -1.0)],
    i64(2, 2, 0, 1),
)
case(
    "vecmerger_empty_initial",
    "|v: vec[u8]| result(for(v, vecmerger[u8,+](v), |b, i, x| merge(b, {i, x})))",
    arr([], "u8"),
)
case(
    "struct_of_builders",
    """|v: vec[i32]|
  let r = for(v, {appender[i32], merger[i64,+], merger[i32,max]}, |b, i, x|
    {if(x > 1, merge(b.$0, x), b.$0), merge(b.$1, i64(x)), merge(b.$2, x)});
  result(r)""",
    i32(3, 1, 2),
)
case(
    "struct_of_builders_nested",
    """|v: vec[f64]|
  result(for(v, {{appender[f64], merger[f64,min]}, vecmerger[i64,+]([0L, 0L])}, |b, i, x|
    {{merge(b.$0.$0, x * 2.0), merge(b.$0.$1, x)}, merge(b.$1, {select(x > 0.0, 1L, 0L), 1L})}))""",
    f64(1.0, -2.0, 3.5),
)
case(
    "struct_of_builders_result_fields",
    """|v: vec[i64]|
  let b = for(v, {merger[i64,+], appender[i64]}, |b, i, x| {merge(b.$0, x), merge(b.$1, x + 1L)});
  {result(b.$0), len(result(b.$1))}""",
    i64(1, 2, 3),
)
case(
    "builder_through_if",
    """|v: vec[i64]|
  result(for(v, appender[i64], |b, i, x| if(x % 2L == 0L, merge(b, x), if(x > 5L, b,
    merge(b, -x)))))""",
    i64(*range(10)),
)
case(
    "builder_through_let",
    """|v: vec[i64]|
  result(for(v, merger[i64,+], |b, i, x| let b2 = merge(b, x); let b3 = merge(b2, 1L); b3))""",
    i64(1, 2, 3),
)
case(
    "builder_loop_over_builder_result",
    """|v: vec[i64]|
  let squares = result(for(v, appender[i64], |b, i, x| merge(b, x * x)));
  result(for(squares, merger[i64,+], |b, i, x| merge(b, x)))""",
    i64(1, 2, 3, 4),
)
case(
    "merge_in_nested_loop_into_outer_merger",
    """|m: vec[vec[f64]]|
  result(for(m, merger[f64,+], |b, i, row| for(row, b, |b2, j, x| merge(b2, x * f64(i)))))""",
    [f64(1, 2), f64(), f64(3)],
)
case(
    "builders_created_in_loop_start_empty",
    """|v: vec[i64]|
  result(for(v, appender[i64], |b, i, n|
    merge(b, result(for(rangeiter(0L, n, 1L), merger[i64,+](100L), |m, j, x| merge(m, x))))))""",
    i64(2, 0, 3, 1),
)

case(
    "appender_huge_capacity_hints",
    "|a: i64, b: i64, c: i64| "
    "{result(merge(appender[i64](a), 1L)), result(merge(appender[{i64,f64}](b), {2L, 0.5})), "
    "result(merge(merge(appender[i8](c), 3c), 4c))}",
    10**12,
    2**62,
    -5,
)
case(
    "builder_passed_to_lambda",
    """|v: vec[i64]|
  let add = |b: appender[i64], x: i64| merge(b, x * 2L);
  let count = |m: merger[i64,+], x: i64| if(x > 1L, merge(m, 1L), m);
  result(for(v, {appender[i64], merger[i64,+]}, |b, i, x| {add(b.$0, x), count(b.$1, x)}))""",
    i64(1, 2, 3),
)
case(
    "if_on_struct_of_builders",
    """|v: vec[i64]|
  result(for(v, {appender[i64], merger[i64,max]}, |b, i, x|
    if(x % 2L == 0L, {merge(b.$0, x), b.$1}, {b.$0, merge(b.$1, x)})))""",
    i64(1, 2, 3, 4, 7),
)
case(
    "select_of_aggregates",
    "|c: bool| {select(c, [1, 2], [3]), select(!c, {1, 2.5}, {3, 4.5}), "
    'select(c, "yes", "no"), if(c, [[1L]], []: vec[vec[i64]])}',
    True,
)
case(
    "results_sharing_blocks",
    """|v: vec[f64]|
  let m = map(v, |x| x + 1.0);
  {m, m, slice(m, 1L, 2L), [m, slice(m, 0L, 1L)], v, slice(v, 1L, 1L)}""",
    f64(1.0, 2.0, 3.0),
)
case(
    "deep_let_chain",
    "|x0: i64| " + "".join(f"let x{k} = x{k - 1} + 1L; " for k in range(1, 301)) + "x300",
    7,
)
case("long_sum_chain", "|a: f64| " + "a" + " + 0.5" * 300, 0.25)
case(
    "many_parameters",
    "|"
    + ", ".join(
        f"p{k}: {t}"
        for k, t in enumerate(
            ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64", "bool"] * 2
        )
    )
    + "| "
    + "{"
    + ", ".join(f"p{k}" for k in range(22))
    + "}",
    *([-1, 255, -300, 60000, -70000, 4000000000, -(2**40), 2**63, 0.5, 1e100, True] * 2),
)
case(
    "big_vector_literal",
    "{"
    + "["
    + ", ".join(str(k) for k in range(2000))
    + "]"
    + ", "
    + "["
    + ", ".join(f"{k}.5" for k in range(500))
    + "]}",
)

# ----------------------------------------------------------------------------------------------
# Empty inputs.

case("empty_sum", "|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, x)))", f64())
case("empty_map_filter", "|v: vec[i32]| {map(v, |x| x + 1), filter(v, |x| x > 0), len(v)}", i32())
case("empty_max", "|v: vec[i32]| result(for(v, merger[i32,max], |b, i, x| merge(b, x)))", i32())
case("empty_nested", "|m: vec[vec[i32]]| {flatten(m), len(m)}", [])
case("empty_inner_vectors", "|m: vec[vec[i32]]| flatten(m)", [i32(), i32()])
case(
    "empty_zip",
    "|a: vec[i32], b: vec[f64]| result(for(zip(a, b), appender[f64], "
    "|o, i, x| merge(o, f64(x.$0) + x.$1)))",
    i32(),
    f64(),
)
case(
    "empty_struct_vector",
    "|v: vec[{i32,f64}]| {v, len(v)}",
    np.array([], dtype=[("f0", "i4"), ("f1", "f8")]),
)
case("empty_literal_vectors", '{[]: vec[f64], []: vec[{i32,bool}], []: vec[vec[i8]], ""}')
case(
    "loop_in_if_in_loop_body",
    """|m: vec[vec[i64]]|
  result(for(m, appender[i64], |b, i, row|
    if(len(row) > 1L, for(row, b, |b2, j, x| merge(b2, x + i)), merge(b, -1L))))""",
    [i64(1, 2), i64(5), i64(), i64(7, 8, 9)],
)
case(
    "body_returns_builder_unchanged",
    "|v: vec[i64]| result(for(v, appender[i64], |b, i, x| b))",
    i64(1, 2),
)
