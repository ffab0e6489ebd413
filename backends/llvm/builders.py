"""Loops and builders in LLVM.

A builder is a pointer to mutable state (builders are linear, as in Weld, so updating in place
is the meaning of `merge`); see layout.py for each builder's state. `for` evaluates its body
once per element with the builder bound; the body's returned builder is the same state.
"""

from __future__ import annotations

from llvmlite import ir

from ...ir import nodes as N
from ...ir.errors import UnsupportedError
from ...ir.ops import merge_identity
from ...ir.types import (
    Appender,
    Dict,
    DictMerger,
    GroupMerger,
    Merger,
    Scalar,
    Struct,
    Type,
    VecMerger,
    result_type,
)
from .cgutils import alloca_entry, for_range, i64, memcpy, sizeof
from .layout import appender_state, lltype, vec_type

# ----------------------------------------------------------------------------------------------
# for


def lower_for(L, n: N.For, env) -> ir.Value:
    b = L.builder
    builder = L.lower(n.builder, env)
    sources = [_iteration_source(L, it, env, n) for it in n.iters]
    count = sources[0][0]
    for other, _ in sources[1:]:
        same = b.icmp_signed("==", count, other)
        L.fail_unless(same, "the vectors of a zip have different lengths", n.loc)
        count = b.select(same, count, i64(0))
    lam = n.func
    with for_range(b, count, "i") as i:
        elems = [element(i) for _, element in sources]
        if len(elems) == 1:
            x = elems[0]
        else:
            x = ir.Constant(lltype(lam.params[2].type), ir.Undefined)
            for k, e in enumerate(elems):
                x = b.insert_value(x, e, k)
        L.apply_lambda(lam, [builder, i, x], env)
    return builder


def _iteration_source(L, it: N.Iter, env, loop: N.For):
    """(count, element(i)) for one iterator; bad bounds record a runtime error and give 0."""
    b = L.builder
    if it.kind == "range":
        start, end, stride = (L.lower(e, env) for e in (it.start, it.end, it.stride))
        L.fail_unless(b.icmp_signed(">", stride, i64(0)), "rangeiter stride must be > 0", loop.loc)
        safe_stride = b.select(b.icmp_signed(">", stride, i64(0)), stride, i64(1))
        span = b.sub(end, start)
        count = b.sdiv(b.add(span, b.sub(safe_stride, i64(1))), safe_stride)
        count = b.select(b.icmp_signed(">", span, i64(0)), count, i64(0))
        return count, lambda i: b.add(start, b.mul(i, safe_stride))
    vec = L.lower(it.data, env)
    length = b.extract_value(vec, 1)
    if it.start is None:
        return length, lambda i: b.load(L.element_ptr(vec, i))
    start, end, stride = (L.lower(e, env) for e in (it.start, it.end, it.stride))
    ok = b.and_(
        b.and_(b.icmp_signed("<=", i64(0), start), b.icmp_signed("<=", start, end)),
        b.and_(b.icmp_signed("<=", end, length), b.icmp_signed(">", stride, i64(0))),
    )
    L.fail_unless(
        ok, "iter bounds out of range (need 0 <= start <= end <= len, stride > 0)", loop.loc
    )
    safe_stride = b.select(ok, stride, i64(1))
    count = b.sdiv(b.add(b.sub(end, start), b.sub(safe_stride, i64(1))), safe_stride)
    count = b.select(ok, count, i64(0))
    return count, lambda i: b.load(L.element_ptr(vec, b.add(start, b.mul(i, safe_stride))))


# ----------------------------------------------------------------------------------------------
# Builder constructors, merges and results, one emitter per builder kind.


def lower_new_builder(L, n: N.NewBuilder, env) -> ir.Value:
    return _NEW[type(n.type)](L, n, env)


def _new_appender(L, n: N.NewBuilder, env) -> ir.Value:
    b = L.builder
    elem = lltype(n.type.elem)
    state_ty = appender_state(elem)
    state = b.bitcast(L.alloc(sizeof(b, state_ty)), state_ty.as_pointer())
    cap = L.lower(n.arg, env) if n.arg is not None else i64(16)
    cap = b.select(b.icmp_signed("<", cap, i64(1)), i64(1), cap)
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


def _dict_builders_unsupported(L, n, *rest):
    raise UnsupportedError(type(n.type).__name__ if hasattr(n, "type") else "dict", "llvm")


_NEW = {
    Appender: _new_appender,
    Merger: _new_merger,
    VecMerger: _new_vecmerger,
    DictMerger: _dict_builders_unsupported,
    GroupMerger: _dict_builders_unsupported,
}


def lower_merge(L, n: N.Merge, env) -> ir.Value:
    builder = L.lower(n.builder, env)
    value = L.lower(n.value, env)
    _MERGE[type(n.builder.ty)](L, n, builder, value)
    return builder


def _merge_appender(L, n, state, value) -> None:
    b = L.builder
    length = b.load(_field(b, state, 1))
    with b.if_then(b.icmp_signed(">=", length, b.load(_field(b, state, 2))), likely=False):
        _grow(L, state, value.type)
    data = b.load(_field(b, state, 0))
    b.store(value, b.gep(data, [length]))
    b.store(b.add(length, i64(1)), _field(b, state, 1))


def _grow(L, state, elem: ir.Type) -> None:
    """Double the capacity: a new block, the old contents copied (the old block is freed with
    the run's other allocations)."""
    b = L.builder
    cap = b.load(_field(b, state, 2))
    new_cap = b.mul(cap, i64(2))
    data = L.alloc_array(elem, new_cap)
    memcpy(
        b, data, b.load(_field(b, state, 0)), b.mul(b.load(_field(b, state, 1)), sizeof(b, elem))
    )
    b.store(data, _field(b, state, 0))
    b.store(new_cap, _field(b, state, 2))


def _merge_merger(L, n, slot, value) -> None:
    t = n.builder.ty
    b = L.builder
    b.store(combine(L, t.op, b.load(slot), value, t.elem), slot)


def _merge_vecmerger(L, n, state, value) -> None:
    b = L.builder
    t = n.builder.ty
    index, x = b.extract_value(value, 0), b.extract_value(value, 1)
    vec = b.load(state)
    ok = b.icmp_unsigned("<", index, b.extract_value(vec, 1))
    L.fail_unless(ok, "vecmerger index out of bounds", n.loc)
    with b.if_then(ok):
        ptr = L.element_ptr(vec, index)
        b.store(combine(L, t.op, b.load(ptr), x, t.elem), ptr)


_MERGE = {
    Appender: _merge_appender,
    Merger: _merge_merger,
    VecMerger: _merge_vecmerger,
    DictMerger: _dict_builders_unsupported,
    GroupMerger: _dict_builders_unsupported,
}


def lower_result(L, n: N.Result, env) -> ir.Value:
    return result_of(L, L.lower(n.builder, env), n.builder.ty)


def result_of(L, builder: ir.Value, t: Type) -> ir.Value:
    b = L.builder
    if isinstance(t, Struct):
        out = ir.Constant(lltype(result_type(t)), ir.Undefined)
        for i, ft in enumerate(t.fields):
            out = b.insert_value(out, result_of(L, b.extract_value(builder, i), ft), i)
        return out
    if isinstance(t, Appender):
        vec = ir.Constant(lltype(t.result_type), ir.Undefined)
        vec = b.insert_value(vec, b.load(_field(b, builder, 0)), 0)
        return b.insert_value(vec, b.load(_field(b, builder, 1)), 1)
    if isinstance(t, Merger | VecMerger):
        return b.load(builder)
    raise UnsupportedError(f"result of {t}", "llvm")


# ----------------------------------------------------------------------------------------------
# Merge operators on scalars and structs of scalars.


def combine(L, op: str, a: ir.Value, x: ir.Value, t: Type) -> ir.Value:
    b = L.builder
    if isinstance(t, Struct):
        out = a
        for i, ft in enumerate(t.fields):
            field = combine(L, op, b.extract_value(a, i), b.extract_value(x, i), ft)
            out = b.insert_value(out, field, i)
        return out
    from .ops import OP_EMITTERS

    name = {"+": "+", "*": "*", "min": "min", "max": "max"}[op]
    return OP_EMITTERS[name](L, name, [a, x], [t, t], t)


def _constant(t: Type, value) -> ir.Constant:
    if isinstance(t, Struct):
        return ir.Constant(
            lltype(t), [_constant(f, v) for f, v in zip(t.fields, value, strict=True)]
        )
    assert isinstance(t, Scalar)
    return ir.Constant(lltype(t), int(value) if not t.is_float else float(value))


def _field(b: ir.IRBuilder, ptr: ir.Value, index: int) -> ir.Value:
    return b.gep(ptr, [ir.Constant(ir.IntType(32), 0), ir.Constant(ir.IntType(32), index)])


# ----------------------------------------------------------------------------------------------
# Dictionaries: not lowered yet (the interpreter runs them).


def dict_len(L, d, t: Dict):
    raise UnsupportedError("len of a dict", "llvm")


def dict_lookup(L, n, args, types):
    raise UnsupportedError("lookup in a dict", "llvm")


def dict_optlookup(L, n, args, types):
    raise UnsupportedError("optlookup", "llvm")


def dict_keyexists(L, n, args, types):
    raise UnsupportedError("keyexists", "llvm")


def dict_tovec(L, n, args, types):
    raise UnsupportedError("tovec", "llvm")


__all__ = ["lower_for", "lower_merge", "lower_result", "lower_new_builder", "combine"]
