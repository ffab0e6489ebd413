"""Dictionaries in CUDA C++: sorted entries, built by sorting and segmenting.

A `dict[K,V]` on the device is its entries `{K,V}` sorted by key in `tovec`'s order (NaN
last; ctypes_layout.entries_of), so `tovec` is the dictionary itself, `len` its length and a
lookup a binary search. A dictmerger or groupmerger collects its merged pairs as an appender
does (in a parallel loop: counted, prefix-summed, written in loop order); `result` then sorts
them by key, stably (sort.py), marks where each key's run starts, numbers the runs with a
prefix sum, and writes one entry per run: the run's values combined in merge order
(dictmerger), or a vector over the run's values (groupmerger, in merge order).

    before (IR):   result(for(v, dictmerger[i64,f64,+], |b, i, x| merge(b, {x.$0, x.$1})))
    after (C++):   <pairs, as an appender>; sorted = <merge sort by key>;
                   <heads per thread, db_grid_scan>; <each head combines its run>; db_sync(g)
"""

from __future__ import annotations

from ...ir import nodes as N
from ...ir.types import Dict, DictMerger, GroupMerger, Struct, Type, Vec
from .ctypes_layout import entries_of
from .lower import OPS_C, Lowering, comparer, zero_of
from .sort import sorted_vector


def pair_type(t: DictMerger | GroupMerger) -> Struct:
    return Struct((t.key, t.value))


def key_order(L: Lowering, t: Type) -> str:
    """A device function ordering two keys: -1, 0 or 1, IEEE order with every NaN equal and
    last; structs and vectors lexicographically (ir/ops.py's `sort_key`)."""
    return comparer(L, t, "key", _NAN_LAST)


# (on integers `a != a` is false, and the compiler drops the test)
_NAN_LAST = (
    "bool an = a != a, bn = b != b; if (an || bn) return an == bn ? 0 : (an ? 1 : -1); "
    "return a < b ? -1 : b < a ? 1 : 0;"
)


def finder(L: Lowering, t: Dict) -> str:
    """A device function: the index of key `k` in dictionary `d`, or -1."""
    name = L.functor_names.get(("find", t))
    if name is not None:
        return name
    order = key_order(L, t.key)
    name = L.functor_names[("find", t)] = L.fresh("db_find")
    L.functors.append(
        f"DB_FN db_i64 {name}(const {L.ctype(t)} &d, const {L.ctype(t.key)} &k) {{ "
        "db_i64 a = 0, b = d.len; while (a < b) { db_i64 m = a + (b - a) / 2; "
        f"if ({order}(d.data[m].f0, k) < 0) a = m + 1; else b = m; }} "
        f"return a < d.len && {order}(d.data[a].f0, k) == 0 ? a : -1; }}"
    )
    return name


# ----------------------------------------------------------------------------------------------
# Operations on dictionaries.


def dict_lookup(L: Lowering, n: N.Op, d: str, k: str, t: Dict) -> str:
    at = L.temp_raw("db_i64", f"{finder(L, t)}({d}, {k})", "at")
    L.fail_if(f"{at} < 0", "key not found in dictionary", n.loc)
    return L.temp(t.value, f"{d}.data[{at}].f1", "e")


@OPS_C.register("keyexists")
def _keyexists(L: Lowering, n: N.Op, args, types) -> str:
    return L.temp(n.ty, f"{finder(L, types[0])}({args[0]}, {args[1]}) >= 0")


@OPS_C.register("optlookup")
def _optlookup(L: Lowering, n: N.Op, args, types) -> str:
    t: Dict = types[0]
    at = L.temp_raw("db_i64", f"{finder(L, t)}({args[0]}, {args[1]})", "at")
    r = L.declare(n.ty, "o")
    L.code.emit(
        f"if ({at} >= 0) {{ {r}.f0 = true; {r}.f1 = {args[0]}.data[{at}].f1; }} "
        f"else {{ {r}.f0 = false; {r}.f1 = {zero_of(L, t.value)}; }}"
    )
    return r


@OPS_C.register("tovec")
def _tovec(L: Lowering, n: N.Op, args, types) -> str:
    return args[0]  # (the same entries, sorted by key: ctypes_layout.entries_of)


# ----------------------------------------------------------------------------------------------
# Building one from merged pairs.


def dict_from_pairs(L: Lowering, t: DictMerger | GroupMerger, pairs: str) -> str:
    """The dictionary of the merged `pairs` (a vector variable of `{K,V}`, in merge order)."""
    pair = pair_type(t)
    order = key_order(L, t.key)
    entries = sorted_vector(L, Vec(pair), pairs, lambda a, b: f"{order}({a}.f0, {b}.f0)")
    data, n = f"{entries}.data", f"{entries}.len"
    lo, hi = L.fresh("lo"), L.fresh("hi")
    if L.uniform:
        L.code.emit(f"db_i64 {lo}, {hi}; db_chunk(g, {n}, {lo}, {hi});")
    else:
        L.code.emit(f"db_i64 {lo} = 0, {hi} = {n};")
    head = f"(k == 0 || {order}({data}[k - 1].f0, {data}[k].f0) != 0)"
    heads = L.temp_raw("db_i64", "0", "heads")
    L.code.emit(f"for (db_i64 k = {lo}; k < {hi}; ++k) if {head} {heads} += 1;")
    if L.uniform:
        from .loops import grid_scan

        offset, total = grid_scan(L, heads)
    else:
        offset, total = "0", heads
    result_t = t.result_type
    out = L.alloc(entries_of(result_t).elem, total)
    values = ""
    if isinstance(t, GroupMerger):
        values = L.alloc(t.value, n)
        L.code.emit(f"for (db_i64 k = {lo}; k < {hi}; ++k) {values}[k] = {data}[k].f1;")
    at = L.temp_raw("db_i64", offset, "at")
    same = f"{order}({data}[j + 1].f0, {data}[k].f0) == 0"
    with L.code.block(f"for (db_i64 k = {lo}; k < {hi}; ++k)"):
        L.code.emit(f"if (!{head}) continue;")
        L.code.emit(f"{out}[{at}].f0 = {data}[k].f0;")
        if isinstance(t, DictMerger):
            from .loops import combine

            acc = L.temp(t.value, f"{data}[k].f1", "acc")
            step = combine(L, t.value, t.op, acc, f"{data}[j].f1")
            L.code.emit(f"for (db_i64 j = k; j + 1 < {n} && {same}; ) {{ ++j; {acc} = {step}; }}")
            L.code.emit(f"{out}[{at}].f1 = {acc};")
        else:
            L.code.emit(f"db_i64 j = k; while (j + 1 < {n} && {same}) ++j;")
            L.code.emit(f"{out}[{at}].f1 = {L.ctype(Vec(t.value))}{{{values} + k, j - k + 1}};")
        L.code.emit(f"{at} += 1;")
    if L.uniform:
        L.code.emit("if (!db_sync(g)) return;")
    return L.temp(result_t, f"{L.ctype(result_t)}{{{out}, {total}}}", "d")
