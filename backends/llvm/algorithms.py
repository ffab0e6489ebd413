"""Algorithms the lowering emits as multi-block LLVM code: comparisons of values of any type
(IEEE on floats, lexicographic on structs and vectors) and a stable merge sort.

They are written on cgutils' control-flow helpers (`for_range`, `while_loop`,
`select_lazily`) and know nothing of nodes: the lowerer hands them values, types and, for
the sort, the comparison as a function that emits it.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from ...ir.errors import LoweringError
from ...ir.types import Scalar, Struct, Type, Vec
from .cgutils import alloca_entry, for_range, for_range_until, i64, select_lazily, while_loop
from .layout import I32, I64
from .runtime_interrupt import SORT_CHECK_PERIOD, check_interrupts_every

# ----------------------------------------------------------------------------------------------
# Comparisons.

LESS, EQUAL, GREATER, UNORDERED = (ir.Constant(I32, v) for v in (-1, 0, 1, 2))


def compare(L, op: str, a: ir.Value, b: ir.Value, t: Type) -> ir.Value:
    """An i1: `a op b` for values of type `t` (IEEE on floats, lexicographic on structs and
    vectors, with NaN making a pair unordered)."""
    bld = L.builder
    if isinstance(t, Scalar):
        return _compare_scalars(bld, op, a, b, t)
    order = three_way(L, a, b, t)
    if op == "!=":  # true when unordered, as IEEE's != is
        return bld.icmp_signed("!=", order, EQUAL)
    ordered = bld.icmp_signed("!=", order, UNORDERED)
    return bld.and_(ordered, bld.icmp_signed(op, order, EQUAL))


def _compare_scalars(bld: ir.IRBuilder, op: str, a: ir.Value, b: ir.Value, t: Scalar):
    if t.is_float:
        if op == "!=":
            return bld.fcmp_unordered("!=", a, b)
        return bld.fcmp_ordered(op, a, b)
    if t.is_signed:
        return bld.icmp_signed(op, a, b)
    return bld.icmp_unsigned(op, a, b)


def three_way(L, a: ir.Value, b: ir.Value, t: Type) -> ir.Value:
    """LESS, EQUAL, GREATER or UNORDERED (-1, 0, 1, 2 as an i32): `a` against `b`."""
    order = _THREE_WAY.get(type(t))
    if order is None:
        raise LoweringError(f"the llvm backend cannot compare values of type {t}")
    return order(L, a, b, t)


def _three_way_scalars(L, a, b, t: Scalar) -> ir.Value:
    bld = L.builder
    lt, gt, eq = (_compare_scalars(bld, op, a, b, t) for op in ("<", ">", "=="))
    order = bld.select(lt, LESS, UNORDERED)
    order = bld.select(gt, GREATER, order)
    return bld.select(eq, EQUAL, order)


def _three_way_structs(L, a, b, t: Struct) -> ir.Value:
    """Field by field; the fields after the first unequal one are not compared."""
    bld = L.builder

    def from_field(k: int) -> ir.Value:
        order = three_way(L, bld.extract_value(a, k), bld.extract_value(b, k), t.fields[k])
        if k + 1 == len(t.fields):
            return order
        differ = bld.icmp_signed("!=", order, EQUAL)
        return select_lazily(bld, differ, order, lambda: from_field(k + 1), "cmp")

    return from_field(0) if t.fields else EQUAL


def _three_way_vectors(L, a, b, t: Vec) -> ir.Value:
    """Element by element up to the first unequal one; a vector that is a prefix of the
    other is the smaller."""
    bld = L.builder
    na, nb = bld.extract_value(a, 1), bld.extract_value(b, 1)
    common = bld.select(bld.icmp_signed("<", na, nb), na, nb)
    order = alloca_entry(bld, I32)
    bld.store(EQUAL, order)
    with for_range_until(bld, common, "vcmp") as (i, leave):
        x = bld.load(bld.gep(bld.extract_value(a, 0), [i]))
        y = bld.load(bld.gep(bld.extract_value(b, 0), [i]))
        element_order = three_way(L, x, y, t.elem)
        bld.store(element_order, order)
        leave(bld.icmp_signed("!=", element_order, EQUAL))
    by_length = bld.select(bld.icmp_signed(">", na, nb), GREATER, EQUAL)
    by_length = bld.select(bld.icmp_signed("<", na, nb), LESS, by_length)
    prefix = bld.load(order)
    return bld.select(bld.icmp_signed("==", prefix, EQUAL), by_length, prefix)


_THREE_WAY = {Scalar: _three_way_scalars, Struct: _three_way_structs, Vec: _three_way_vectors}


# ----------------------------------------------------------------------------------------------
# Sorting.

# right_first(left, right) -> i1: whether `right` goes before `left` (strictly less: ties
# keep their order, which makes the sort stable)
RightFirst = Callable[[ir.Value, ir.Value], ir.Value]


def merge_sort(L, data: ir.Value, spare: ir.Value, count: ir.Value, right_first: RightFirst):
    """Stable bottom-up merge sort of the `count` elements at `data`, through `spare` (room
    for as many); returns the pointer, `data` or `spare`, that holds them sorted. Long sorts
    check for Ctrl-C every SORT_CHECK_PERIOD moves."""
    b = L.builder
    src_slot, dst_slot = alloca_entry(b, data.type), alloca_entry(b, data.type)
    width_slot = alloca_entry(b, I64)
    b.store(data, src_slot)
    b.store(spare, dst_slot)
    b.store(i64(1), width_slot)
    with while_loop(b, lambda: b.icmp_signed("<", b.load(width_slot), count), "sort.pass"):
        width, src, dst = b.load(width_slot), b.load(src_slot), b.load(dst_slot)
        run = b.mul(width, i64(2))
        runs = b.sdiv(b.add(count, b.sub(run, i64(1))), run)
        with for_range(b, runs, "run") as r:
            lo = b.mul(r, run)
            mid = _smaller(b, b.add(lo, width), count)
            hi = _smaller(b, b.add(mid, width), count)
            _merge_runs(L, src, dst, lo, mid, hi, right_first)
        b.store(dst, src_slot)  # this pass's output is the next one's input
        b.store(src, dst_slot)
        b.store(run, width_slot)
    return b.load(src_slot)


def _smaller(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    return b.select(b.icmp_signed("<", x, y), x, y)


def _merge_runs(L, src, dst, lo, mid, hi, right_first: RightFirst) -> None:
    """Merge src[lo:mid] and src[mid:hi] into dst[lo:hi], taking the left one on ties."""
    b = L.builder
    left_slot, right_slot = alloca_entry(b, I64), alloca_entry(b, I64)
    b.store(lo, left_slot)
    b.store(mid, right_slot)
    with for_range(b, b.sub(hi, lo), "k") as k:
        check_interrupts_every(L, b.add(lo, k), SORT_CHECK_PERIOD)
        i, j = b.load(left_slot), b.load(right_slot)
        left_live, right_live = b.icmp_signed("<", i, mid), b.icmp_signed("<", j, hi)

        def compared() -> ir.Value:
            return right_first(b.load(b.gep(src, [i])), b.load(b.gep(src, [j])))

        # The elements are compared only while both runs have some left; else the one that
        # has (at least one has: k < hi - lo) gives the next element.
        use_right = select_lazily(b, b.and_(left_live, right_live), compared, right_live)
        b.store(b.load(b.gep(src, [b.select(use_right, j, i)])), b.gep(dst, [b.add(lo, k)]))
        b.store(b.select(use_right, i, b.add(i, i64(1))), left_slot)
        b.store(b.select(use_right, b.add(j, i64(1)), j), right_slot)


__all__ = ["compare", "three_way", "merge_sort", "LESS", "EQUAL", "GREATER", "UNORDERED"]
