"""`sort(v, |a, b| c)` in CUDA C++: a stable bottom-up merge sort.

Each pass merges pairs of sorted runs of `width` elements into runs of `2 * width`. Every
element finds its place in the merged run by itself: its position in its own run plus how many
elements of the other run go before it (a binary search with the program's comparator; for an
element of the left run, the right run's elements that compare below it; for one of the right
run, the left run's that compare below or equal, which keeps equal elements in order). So a
pass is one parallel loop over the elements (uniform code: chunked across the grid, then a grid
barrier), and log2(n) passes sort the vector.

    before (IR):   sort(v, |a, b| compare(a, b))
    after (C++):   for (w = 1; w < n; w *= 2) { <each thread places its share of src in dst>;
                   db_sync(g); swap(src, dst); }
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

from ...ir import nodes as N
from ...ir.types import Vec
from .lower import NODES, Lowering


@NODES.register(N.Sort)
def _sort(L: Lowering, n: N.Sort, env):
    v = L.temp(n.ty, L.value(n.data, env), "vec")
    return sorted_vector(L, n.ty, v, lambda a, b: L.apply(n.func, env, [a, b]))


def sorted_vector(L: Lowering, t: Vec, v: str, compare: Callable[[str, str], str]) -> str:
    """A sorted copy of the vector `v` (a variable of type `t`); `compare(a, b)` emits the
    comparison of two element variables and gives its int (negative: a goes first)."""
    size = f"{v}.len"
    src = L.alloc(t.elem, size)
    dst = L.alloc(t.elem, size)
    lo, hi = L.fresh("lo"), L.fresh("hi")
    if L.uniform:
        L.code.emit(f"db_i64 {lo}, {hi}; db_chunk(g, {size}, {lo}, {hi});")
    else:
        L.code.emit(f"db_i64 {lo} = 0, {hi} = {size};")
    L.code.emit(f"for (db_i64 k = {lo}; k < {hi}; ++k) {src}[k] = {v}.data[k];")
    if L.uniform:
        L.code.emit("if (!db_sync(g)) return;")
    w = L.fresh("w")
    with L.code.block(f"for (db_i64 {w} = 1; {w} < {size}; {w} *= 2)"):
        stop = L.fresh("db_stop")
        with L.code.block(""):
            with L.thread_code(f"goto {stop};") if L.uniform else nullcontext():
                _place(L, t, compare, src, dst, size, w, lo, hi)
            L.code.emit(f"{stop}:;")
        if L.uniform:
            L.code.emit("if (!db_sync(g)) return;")
        L.code.emit(f"{{ {L.ctype(t.elem)} *swap = {src}; {src} = {dst}; {dst} = swap; }}")
    return L.temp(t, f"{L.ctype(t)}{{{src}, {size}}}", "v")


def _place(L: Lowering, t: Vec, compare, src: str, dst: str, size: str, w: str, lo, hi):
    """Write each element k of [lo, hi) of `src` where it goes in its merged run of `dst`."""
    k = L.fresh("k")
    with L.code.block(f"for (db_i64 {k} = {lo}; {k} < {hi}; ++{k})"):
        base = L.temp_raw("db_i64", f"({k} / (2 * {w})) * (2 * {w})", "base")
        mid = L.temp_raw("db_i64", f"db_min<db_i64>({base} + {w}, {size})", "mid")
        end = L.temp_raw("db_i64", f"db_min<db_i64>({base} + 2 * {w}, {size})", "end")
        x = L.temp(t.elem, f"{src}[{k}]", "x")
        left = L.temp_raw("bool", f"{k} < {mid}", "left")
        a = L.temp_raw("db_i64", f"{left} ? {mid} : {base}", "a")
        b = L.temp_raw("db_i64", f"{left} ? {end} : {mid}", "b")
        with L.code.block(f"while ({a} < {b})"):
            m = L.temp_raw("db_i64", f"{a} + ({b} - {a}) / 2", "m")
            y = L.temp(t.elem, f"{src}[{m}]", "y")
            c = compare(y, x)
            # left element: count the right run's elements below it; right element: the
            # left run's below or equal (equal elements keep their order)
            below = L.temp_raw("bool", f"{left} ? ({c} < 0) : ({c} <= 0)", "below")
            L.code.emit(f"if ({below}) {a} = {m} + 1; else {b} = {m};")
        own = f"({left} ? {k} - {base} : {k} - {mid})"
        other = f"({left} ? {a} - {mid} : {a} - {base})"
        L.code.emit(f"{dst}[{base} + {own} + {other}] = {x};")
