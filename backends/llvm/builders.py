"""Loops and builders in LLVM.

A builder is a pointer to mutable state (builders are linear, as in Weld, so updating in place
is the meaning of `merge`); see layout.py for each builder's state. `for` evaluates its body
once per element with the builder bound; the body's returned builder is the same state.
"""

from __future__ import annotations

from llvmlite import ir

from ...ir import nodes as N
from ...ir.dispatch import BuilderTable
from ...ir.errors import UnsupportedError
from ...ir.ops import MERGE_OP_DECLS, OPS, merge_identity
from ...ir.types import (
    Appender,
    DictMerger,
    GroupMerger,
    Merger,
    Scalar,
    Scanner,
    Struct,
    Type,
    VecMerger,
    result_type,
)
from . import dicts
from .cgutils import alloca_entry, for_range, i64, memcpy, saturating, sizeof
from .layout import appender_state, lltype, scanner_state, vec_type
from .ops import OpSite, emit_op

# ----------------------------------------------------------------------------------------------
# Builder constructors, merges and results, one emitter per builder kind.


_MAX_HINT_BYTES = 1 << 30
_FRESH_MAX = 1 << 16  # elements a thread's fresh appender starts with, at most


def lower_new_builder(L, n: N.NewBuilder, env) -> ir.Value:
    return _NEW[type(n.type)](L, n, env)


def _new_appender(L, n: N.NewBuilder, env) -> ir.Value:
    cap = L.lower(n.arg, env) if n.arg is not None else i64(16)
    return _new_buffer(L, appender_state(lltype(n.type.elem)), cap)


def _new_scanner(L, n: N.NewBuilder, env) -> ir.Value:
    elem = lltype(n.type.elem)
    state = _new_buffer(L, scanner_state(elem), i64(16))
    # (the running value is not read before the first merge, which takes x_0 itself; a
    # defined value all the same)
    L.builder.store(ir.Constant(elem, None), _field(L.builder, state, 3))
    return state


def _new_buffer(L, state_ty: ir.LiteralStructType, cap: ir.Value) -> ir.Value:
    """A new appender-like state of type `state_ty` (data, length, capacity first), with room
    for `cap` elements."""
    b = L.builder
    elem = state_ty.elements[0].pointee
    state = b.bitcast(L.alloc(sizeof(b, state_ty)), state_ty.as_pointer())
    cap = b.select(b.icmp_signed("<", cap, i64(1)), i64(1), cap)
    # The capacity is only a hint (the appender grows as needed): a huge one must neither
    # overflow the byte count nor ask malloc for more than it can give.
    limit = b.sdiv(i64(_MAX_HINT_BYTES), sizeof(b, elem))
    cap = b.select(b.icmp_signed(">", cap, limit), limit, cap)
    b.store(L.alloc_array(elem, cap), _field(b, state, 0))
    b.store(i64(0), _field(b, state, 1))
    b.store(cap, _field(b, state, 2))
    return state


def _new_merger(L, n: N.NewBuilder, env) -> ir.Value:
    b = L.builder
    t = n.type
    slot = alloca_entry(b, lltype(t.elem))
    if n.arg is not None:
        b.store(L.lower(n.arg, env), slot)
    else:
        b.store(_constant(t.elem, merge_identity(t.op, t.elem)), slot)
    return slot


def _new_vecmerger(L, n: N.NewBuilder, env) -> ir.Value:
    b = L.builder
    elem = lltype(n.type.elem)
    init = L.lower(n.arg, env)
    count = b.extract_value(init, 1)
    data = L.alloc_array(elem, count)
    memcpy(b, data, b.extract_value(init, 0), b.mul(count, sizeof(b, elem)))
    state = alloca_entry(b, vec_type(elem))
    value = b.insert_value(ir.Constant(vec_type(elem), ir.Undefined), data, 0)
    b.store(b.insert_value(value, count, 1), state)
    return state


_NEW = BuilderTable("llvm new builder")
_NEW.update(
    {
        Appender: _new_appender,
        Merger: _new_merger,
        VecMerger: _new_vecmerger,
        Scanner: _new_scanner,
        DictMerger: dicts.new_dict_builder,
        GroupMerger: dicts.new_dict_builder,
    }
)


def lower_merge(L, n: N.Merge, env) -> ir.Value:
    builder = L.lower(n.builder, env)
    value = L.lower(n.value, env)
    _MERGE[type(n.builder.ty)](L, n, builder, value)
    return builder


def _merge_appender(L, n, state, value) -> None:
    b = L.builder
    length = b.load(_field(b, state, 1))
    if id(n) not in L.unchecked_merges:  # else the loop reserved room: reserve_appenders
        with b.if_then(b.icmp_signed(">=", length, b.load(_field(b, state, 2))), likely=False):
            _grow(L, state)
    data = b.load(_field(b, state, 0))
    b.store(value, b.gep(data, [length]))
    b.store(b.add(length, i64(1)), _field(b, state, 1))


def _merge_scanner(L, n, state, value) -> None:
    """Append op(running value, x) — x itself for the first merge, so that a first -0.0 or
    NaN is kept bit for bit — and keep it as the running value. A compare and a select more
    than an appender's merge; the room check is the appender's (gone where it is reserved)."""
    b = L.builder
    t = n.builder.ty
    first = b.icmp_signed("==", b.load(_field(b, state, 1)), i64(0))
    before = b.load(_field(b, state, 3))
    running = b.select(first, value, combine(L, t.op, before, value, t.elem, in_order=True))
    _merge_appender(L, n, state, running)
    b.store(running, _field(b, state, 3))


_MIN_GROWN = 16  # elements: growing never ends below this, whatever the capacity was


def _grow(L, state) -> None:
    """Double the capacity (at least _MIN_GROWN elements)."""
    b = L.builder
    doubled = saturating(b, "mul", b.load(_field(b, state, 2)), i64(2))
    _grow_to(
        L, state, b.select(b.icmp_signed("<", doubled, i64(_MIN_GROWN)), i64(_MIN_GROWN), doubled)
    )


def _grow_at_least(L, state, needed: ir.Value) -> None:
    """Grow to `needed` elements or double, whichever is more (when `needed` is more than
    the capacity): growing geometrically keeps appending n elements O(n) in time and memory
    even when each step asks for only what it needs (an inner loop merging into an outer
    appender asks for its own count on every outer iteration)."""
    b = L.builder
    cap = b.load(_field(b, state, 2))
    with b.if_then(b.icmp_signed(">", needed, cap), likely=False):
        doubled = saturating(b, "mul", cap, i64(2))
        _grow_to(L, state, b.select(b.icmp_signed(">", needed, doubled), needed, doubled))


def _grow_to(L, state, new_cap: ir.Value) -> None:
    """Move the appender's elements to a block of `new_cap` elements, which replaces the old
    one (db_grow frees it, or leaves it to the thread that owns it)."""
    b = L.builder
    data = L.grow_array(b.load(_field(b, state, 0)), b.load(_field(b, state, 1)), new_cap)
    b.store(data, _field(b, state, 0))
    b.store(new_cap, _field(b, state, 2))


# The builders whose state starts with an appender's (data, length, capacity): room for their
# merges can be made before a loop in the same way.
_BUFFERED = (Appender, Scanner)


def reserved_merges(t: Type, plan) -> frozenset[int]:
    """The ids of the Merge nodes that `reserve_appenders(plan)` makes room for, which may
    then store without checking (which lets LLVM vectorise the loop)."""
    unchecked: set[int] = set()
    for path, (_, merges) in plan.items():
        if isinstance(_at(t, path), _BUFFERED):
            unchecked |= {id(m) for m in merges}
    return frozenset(unchecked)


def _at(t: Type, path) -> Type:
    for index in path:
        t = t.fields[index]
    return t


def reserve_appenders(L, t: Type, builder: ir.Value, plan, count: ir.Value) -> None:
    """Before `count` iterations of a loop: give each appender (and scanner) of the loop's
    builder `plan` names (reserve.reservable_merges: path -> (k, merges)) room for k * count
    more elements (a count too big to hold, even one that overflows, stops the run out of
    memory)."""
    b = L.builder
    for path, (per_iteration, _) in plan.items():
        state = builder
        for index in path:
            state = b.extract_value(state, index)
        if not isinstance(_at(t, path), _BUFFERED):
            continue
        more = saturating(b, "mul", count, i64(per_iteration))
        _grow_at_least(L, state, saturating(b, "add", b.load(_field(b, state, 1)), more))


def _merge_merger(L, n, slot, value) -> None:
    t = n.builder.ty
    b = L.builder
    b.store(combine(L, t.op, b.load(slot), value, t.elem), slot)


def positions_in_bounds(
    L, t: Type, builder: ir.Value, positional, sources, start, end, lengths=()
) -> ir.Value:
    """An i1: whether every merge of `positional` (reserve.positional_vecmerges: path, merge,
    source) indexes its vecmerger in bounds on every iteration of [start, end), and every
    read of `lengths` ((the length of a vector, source): a positional lookup) its vector:
    the index runs from its first to its last value in steps of one (a `rangeiter` of stride
    1, or the loop index), so checking both ends checks them all. True for an empty range."""
    b = L.builder
    ok = b.icmp_signed("<=", end, start)  # no iterations: nothing to check
    every = ir.Constant(ir.IntType(1), 1)
    last = b.sub(end, i64(1))
    checks = list(lengths)
    for path, _, source in positional:
        state = builder
        for index in path:
            state = b.extract_value(state, index)
        checks.append((b.extract_value(b.load(state), 1), source))
    for length, source in checks:
        if source is None:
            first, final, step_ok = start, last, ir.Constant(ir.IntType(1), 1)
        else:
            base, stride = sources[source].values
            first, final = b.add(base, start), b.add(base, last)
            step_ok = b.icmp_signed("==", stride, i64(1))
        fits = b.and_(
            b.and_(
                b.icmp_signed(">=", first, i64(0)), b.icmp_signed(">=", final, first)
            ),  # (no wrap-around)
            b.and_(b.icmp_signed("<", final, length), step_ok),
        )
        every = b.and_(every, fits)
    return b.or_(ok, every)


def _merge_vecmerger(L, n, state, value) -> None:
    b = L.builder
    t = n.builder.ty
    index, x = b.extract_value(value, 0), b.extract_value(value, 1)
    vec = b.load(state)
    if id(n) in L.unchecked_merges:  # in bounds: checked once before the loop
        ptr = L.element_ptr(vec, index)
        b.store(combine(L, t.op, b.load(ptr), x, t.elem), ptr)
        return
    ok = b.icmp_unsigned("<", index, b.extract_value(vec, 1))
    L.fail_unless(ok, "vecmerger index out of bounds", n.loc)
    with b.if_then(ok):
        ptr = L.element_ptr(vec, index)
        b.store(combine(L, t.op, b.load(ptr), x, t.elem), ptr)


_MERGE = BuilderTable("llvm merge")
_MERGE.update(
    {
        Appender: _merge_appender,
        Merger: _merge_merger,
        VecMerger: _merge_vecmerger,
        Scanner: _merge_scanner,
        DictMerger: dicts.merge_dict_builder,
        GroupMerger: dicts.merge_dict_builder,
    }
)


def lower_result(L, n: N.Result, env) -> ir.Value:
    return result_of(L, L.lower(n.builder, env), n.builder.ty)


def result_of(L, builder: ir.Value, t: Type) -> ir.Value:
    b = L.builder
    if isinstance(t, Struct):
        out = ir.Constant(lltype(result_type(t)), ir.Undefined)
        for i, ft in enumerate(t.fields):
            out = b.insert_value(out, result_of(L, b.extract_value(builder, i), ft), i)
        return out
    if isinstance(t, _BUFFERED):
        vec = ir.Constant(lltype(t.result_type), ir.Undefined)
        vec = b.insert_value(vec, b.load(_field(b, builder, 0)), 0)
        return b.insert_value(vec, b.load(_field(b, builder, 1)), 1)
    if isinstance(t, Merger | VecMerger):
        return b.load(builder)
    if isinstance(t, DictMerger | GroupMerger):
        return dicts.dict_builder_result(L, builder, t)
    raise UnsupportedError(f"result of {t}", "llvm")


# ----------------------------------------------------------------------------------------------
# Per-thread builders of parallel loops: a fresh one, and merging it into the loop's builder.


def fresh_builder(
    L, t: Type, like: ir.Value, size_hint: ir.Value, skip=frozenset(), path=()
) -> ir.Value:
    """An empty builder of type `t` (mergers and vecmerger elements start at the identity);
    `like` is the loop's own builder (a vecmerger copies its length). Appenders at the paths
    in `skip` get a state without a buffer (window_appender gives them one)."""
    b = L.builder
    if isinstance(t, Struct):
        out = ir.Constant(like.type, ir.Undefined)
        for pos, ft in enumerate(t.fields):
            made = fresh_builder(L, ft, b.extract_value(like, pos), size_hint, skip, (*path, pos))
            out = b.insert_value(out, made, pos)
        return out
    if isinstance(t, DictMerger | GroupMerger):
        return dicts.fresh_dict_builder(L, t)
    if isinstance(t, Appender):
        elem = lltype(t.elem)
        state_ty = appender_state(elem)
        state = b.bitcast(L.alloc(sizeof(b, state_ty)), state_ty.as_pointer())
        if path in skip:
            return state
        # The thread's share of the loop says how many elements it may append, not how many
        # it will (a filter keeps few of a huge range): start with at most a chunk's worth;
        # the loop reserves what it is sure to append and grows geometrically from there.
        cap = b.select(b.icmp_signed("<", size_hint, i64(16)), i64(16), size_hint)
        cap = b.select(b.icmp_signed(">", cap, i64(_FRESH_MAX)), i64(_FRESH_MAX), cap)
        b.store(L.alloc_array(elem, cap), _field(b, state, 0))
        b.store(i64(0), _field(b, state, 1))
        b.store(cap, _field(b, state, 2))
        return state
    identity = _constant(t.elem, merge_identity(t.op, t.elem))
    if isinstance(t, Merger):
        slot = b.bitcast(L.alloc(sizeof(b, identity.type)), identity.type.as_pointer())
        b.store(identity, slot)
        return slot
    assert isinstance(t, VecMerger)
    count = b.extract_value(b.load(like), 1)
    data = L.alloc_array(identity.type, count)
    with for_range(b, count, "fill") as k:
        b.store(identity, b.gep(data, [k]))
    vec_ty = vec_type(identity.type)
    state = b.bitcast(L.alloc(sizeof(b, vec_ty)), vec_ty.as_pointer())
    value = b.insert_value(ir.Constant(vec_ty, ir.Undefined), data, 0)
    b.store(b.insert_value(value, count, 1), state)
    return state


def finish_builder(L, t: Type, builder: ir.Value) -> None:
    """Work a thread does on its builder when its share of a parallel loop is done, so that
    it happens in parallel rather than in the merge: dictmergers combine their spilled merges."""
    if isinstance(t, Struct):
        for pos, ft in enumerate(t.fields):
            finish_builder(L, ft, L.builder.extract_value(builder, pos))
    elif isinstance(t, DictMerger):
        dicts.flush(L, builder, t)


def window_appender(L, t: Appender, state: ir.Value, own: ir.Value, start, end) -> None:
    """Point `state` at the stretch of the appender `own` where iterations [start, end) of a
    loop that appends once per iteration put their elements: right after what `own` held
    when the loop began (`own` has room for the whole loop and nothing else appends to it
    before this stretch is merged back)."""
    b = L.builder
    at = b.add(b.load(_field(b, own, 1)), start)
    b.store(b.gep(b.load(_field(b, own, 0)), [at]), _field(b, state, 0))
    b.store(i64(0), _field(b, state, 1))
    b.store(b.sub(end, start), _field(b, state, 2))


def merge_builders(L, t: Type, dst: ir.Value, src: ir.Value) -> None:
    """Merge everything `src` holds into `dst` (appenders: src's elements after dst's)."""
    b = L.builder
    if isinstance(t, Struct):
        for pos, ft in enumerate(t.fields):
            merge_builders(L, ft, b.extract_value(dst, pos), b.extract_value(src, pos))
        return
    if isinstance(t, DictMerger | GroupMerger):
        dicts.merge_tables(L, dst, src, t)
        return
    if isinstance(t, Appender):
        elem = lltype(t.elem)
        have, more = b.load(_field(b, dst, 1)), b.load(_field(b, src, 1))
        total = b.add(have, more)
        # A window (window_appender) already sits where its elements belong: no copy.
        in_place = b.icmp_unsigned(
            "==", b.load(_field(b, src, 0)), b.gep(b.load(_field(b, dst, 0)), [have])
        )
        with b.if_then(b.not_(in_place)):
            _grow_at_least(L, dst, total)
            target = b.gep(b.load(_field(b, dst, 0)), [have])
            memcpy(b, target, b.load(_field(b, src, 0)), b.mul(more, sizeof(b, elem)))
        b.store(total, _field(b, dst, 1))
        return
    if isinstance(t, Merger):
        b.store(combine(L, t.op, b.load(dst), b.load(src), t.elem), dst)
        return
    assert isinstance(t, VecMerger)
    into, other = b.load(dst), b.load(src)
    with for_range(b, b.extract_value(into, 1), "vmerge") as k:
        p = L.element_ptr(into, k)
        b.store(combine(L, t.op, b.load(p), b.load(L.element_ptr(other, k)), t.elem), p)


# ----------------------------------------------------------------------------------------------
# Merge operators on scalars and structs of scalars.


def combine(L, op: str, a: ir.Value, x: ir.Value, t: Type, in_order: bool = False) -> ir.Value:
    """`a op x` for a merge op. Merges combine in an unspecified order (docs/ir.md), so the
    emitter may regroup an op declared associative (float + and *: LLVM may reassociate them,
    which lets it vectorise reductions) — except `in_order` (a scan: every partial result is
    kept, so each must round exactly as written)."""
    b = L.builder
    if isinstance(t, Struct):
        out = a
        for i, ft in enumerate(t.fields):
            field = combine(L, op, b.extract_value(a, i), b.extract_value(x, i), ft, in_order)
            out = b.insert_value(out, field, i)
        return out
    name = MERGE_OP_DECLS[op].combine
    regroup = OPS[name].associative and not in_order
    return emit_op(L, OpSite(name, (t, t), t, reassociate=regroup), [a, x])


def _constant(t: Type, value) -> ir.Constant:
    if isinstance(t, Struct):
        return ir.Constant(
            lltype(t), [_constant(f, v) for f, v in zip(t.fields, value, strict=True)]
        )
    assert isinstance(t, Scalar)
    return ir.Constant(lltype(t), int(value) if not t.is_float else float(value))


def _field(b: ir.IRBuilder, ptr: ir.Value, index: int) -> ir.Value:
    return b.gep(ptr, [ir.Constant(ir.IntType(32), 0), ir.Constant(ir.IntType(32), index)])


__all__ = ["lower_merge", "lower_result", "lower_new_builder", "combine"]


def data_field(b: ir.IRBuilder, state: ir.Value) -> ir.Value:
    """The pointer to an appender state's data pointer (`{T*, i64 length, i64 capacity}*`)."""
    return _field(b, state, 0)


def length_field(b: ir.IRBuilder, state: ir.Value) -> ir.Value:
    """The pointer to an appender state's length."""
    return _field(b, state, 1)


def capacity_field(b: ir.IRBuilder, state: ir.Value) -> ir.Value:
    """The pointer to an appender state's capacity."""
    return _field(b, state, 2)
