"""Dense mode: a dictmerger over integer keys that fall in a small range is an array.

Group-by keys are very often small integers (ids, codes, buckets). While the keys a dictmerger
has seen fit in a range of at most `DENSE_SLOTS` values (or fill at least a quarter of a larger
range), its table is an array indexed by `key - base`: a merge is one bounds check and one
combine, with no hashing, no probing and no mispredicted branches. (DuckDB's "perfect hash"
aggregate and ClickHouse's fixed hash maps do the same.) A key outside the range widens it;
a range that would get too sparse turns the table into an ordinary hash table, for good.

A dense table stays dense as a dict: `find` reads it by offset and `tovec` needs no sort (its
slots are in key order). Per-thread dense tables merge slot by slot (`merge_tables`); a dense
table meets a hashed one only as a hash table (`to_hashed`). The array uses the table's
slots, `{hash, key, value}`, a nonzero `hash` marking a key that is present (the real hash is
computed when the table is converted). The header's `base` field holds the first key of the
range and `mode` is DENSE or HASHED.

Keys are compared as unsigned offsets from `base` (modulo 2^64), so one check covers both ends
of the range and every integer type; the range's bounds are worked out in i128 when it grows.
"""

from __future__ import annotations

from llvmlite import ir

from ...ir.types import Scalar, Type
from .cgutils import alloca_entry, i64, memcpy, sizeof, while_loop
from .dict_keys import function
from .dict_tables import (
    BASE,
    CAPACITY,
    COUNT,
    HASH,
    KEY,
    MODE,
    SLOTS,
    Table,
    capacity_for,
    field,
    header_of,
    memset0,
    place,
    table_hash,
)
from .layout import I64, VOIDPTR
from .runtime_interrupt import for_range_checked
from .runtime_ir import CTX_PTR

HASHED, DENSE = 0, 1
DENSE_SLOTS = 1 << 17  # a range this wide is dense whatever its keys (3 MB for {i64, f64})
DENSE_FILL = 4  # a wider range stays dense while it is at most 4 slots per key
_MARK = i64(1)  # the `hash` of a present key in dense mode
I128 = ir.IntType(128)


def eligible(t: Type) -> bool:
    """Whether a dictmerger with keys of type `t` starts in dense mode."""
    return isinstance(t, Scalar) and t.is_int


def start(L, table: ir.Value) -> None:
    """Put a new, empty table in dense mode (its range: `capacity` keys from 0)."""
    b = L.builder
    header = header_of(b, table)
    b.store(i64(0), field(b, header, BASE))
    b.store(i64(DENSE), field(b, header, MODE))


def is_dense(L, table: ir.Value) -> ir.Value:
    b = L.builder
    return b.icmp_signed("==", b.load(field(b, header_of(b, table), MODE)), i64(DENSE))


def _offset(L, tt: Table, header: ir.Value, key: ir.Value) -> ir.Value:
    """key - base as an i64 (modulo 2^64)."""
    b = L.builder
    k = key if key.type.width == 64 else _widen(b, key, tt.key, I64)
    return b.sub(k, b.load(field(b, header, BASE)))


def _widen(b: ir.IRBuilder, x: ir.Value, t: Scalar, to: ir.IntType) -> ir.Value:
    if x.type.width == to.width:
        return x
    return b.sext(x, to) if t.is_signed else b.zext(x, to)


def merge(L, tt: Table, table: ir.Value, key: ir.Value, combine, remerge) -> None:
    """A merge into a dense table: combine in place when the key is in range (`combine(slot,
    is_new)`), else widen the range or turn the table hashed, then `remerge()`."""
    b = L.builder
    header = header_of(b, table)
    offset = _offset(L, tt, header, key)
    inside = b.icmp_unsigned("<", offset, b.load(field(b, header, CAPACITY)))
    with b.if_else(inside, likely=True) as (hit, miss):
        with hit:
            slots = b.bitcast(b.load(field(b, header, SLOTS)), tt.slot.as_pointer())
            slot = b.gep(slots, [offset])
            is_new = b.icmp_unsigned("==", b.load(field(b, slot, HASH)), i64(0))
            with b.if_then(is_new, likely=False):
                b.store(_MARK, field(b, slot, HASH))
                b.store(key, field(b, slot, KEY))
                b.store(b.add(b.load(field(b, header, COUNT)), i64(1)), field(b, header, COUNT))
            combine(slot, is_new)
        with miss:
            name = f"db.dense.widen.{tt.tag}"
            fn = function(L, name, ir.VoidType(), [CTX_PTR, VOIDPTR, tt.key_ll], _emit_widen(tt))
            fn.attributes.add("noinline")
            b.call(fn, [L.ctx, table, key])
            remerge()


def _emit_widen(tt: Table):
    """Make room for `key`: a range at least twice as wide covering the old one and the key,
    if it stays dense enough; otherwise convert the table to hashed mode."""
    kt: Scalar = tt.key

    def emit(L, ctx, table, key) -> None:
        b = L.builder
        header = header_of(b, table)
        base, end = _range(L, tt, header)
        k = _widen(b, key, kt, I128)
        low = b.select(b.icmp_signed("<", k, base), k, base)
        high = b.select(b.icmp_signed(">", b.add(k, _c128(1)), end), b.add(k, _c128(1)), end)
        keys = b.add(b.load(field(b, header, COUNT)), i64(1))
        with b.if_then(b.not_(_cover(L, tt, header, low, high, keys))):
            to_hashed_now(L, tt, table)
        b.ret_void()

    return emit


def _range(L, tt: Table, header) -> tuple[ir.Value, ir.Value]:
    """[base, base + capacity) of a dense table, as i128s."""
    b = L.builder
    base = _widen(b, b.load(field(b, header, BASE)), _base_type(tt.key), I128)
    return base, b.add(base, b.zext(b.load(field(b, header, CAPACITY)), I128))


def _cover(L, tt: Table, header, low, high, keys) -> ir.Value:
    """Rebase the dense table onto a range covering [low, high), at least twice as wide as
    now, if that range stays dense for `keys` keys; returns whether it did (an i1)."""
    b = L.builder
    kt: Scalar = tt.key
    base, _ = _range(L, tt, header)
    span = b.sub(high, low)
    wanted = alloca_entry(b, I128)
    b.store(b.shl(b.zext(b.load(field(b, header, CAPACITY)), I128), _c128(1)), wanted)
    with while_loop(b, lambda: b.icmp_unsigned("<", b.load(wanted), span), "cover"):
        b.store(b.shl(b.load(wanted), _c128(1)), wanted)
    # A narrow key type never needs more slots than it has values.
    values = _c128(1 << (8 if kt.kind == "bool" else kt.bits))
    new_cap = b.load(wanted)
    new_cap = b.select(b.icmp_unsigned(">", new_cap, values), values, new_cap)
    dense = b.or_(
        b.icmp_unsigned("<=", new_cap, _c128(DENSE_SLOTS)),
        b.icmp_unsigned("<=", new_cap, b.mul(b.zext(keys, I128), _c128(DENSE_FILL))),
    )
    with b.if_then(dense):
        _rebase(L, tt, header, base, low, high, new_cap)
    return dense


def merge_tables(L, tt: Table, dst: ir.Value, src: ir.Value, combine) -> ir.Value:
    """Merge dense `src` into dense `dst` slot by slot (`combine(dst_slot, src_slot,
    is_new)`), first widening dst's range to cover src's. Returns whether it could (an i1):
    when the two ranges together are too sparse, both tables are left hashed instead and
    the caller merges them as hash tables."""
    b = L.builder
    dh, sh = header_of(b, dst), header_of(b, src)
    d_base, d_end = _range(L, tt, dh)
    s_base, s_end = _range(L, tt, sh)
    low = b.select(b.icmp_signed("<", s_base, d_base), s_base, d_base)
    high = b.select(b.icmp_signed(">", s_end, d_end), s_end, d_end)
    inside = b.and_(b.icmp_signed("==", low, d_base), b.icmp_signed("==", high, d_end))
    empty = b.icmp_signed("==", b.load(field(b, sh, COUNT)), i64(0))
    keys = b.add(b.load(field(b, dh, COUNT)), b.load(field(b, sh, COUNT)))
    ok = alloca_entry(b, ir.IntType(1))
    b.store(ir.Constant(ir.IntType(1), 1), ok)
    with b.if_then(b.not_(b.or_(inside, empty))):
        b.store(_cover(L, tt, dh, low, high, keys), ok)
    with b.if_else(b.load(ok)) as (merge, give_up):
        with merge:
            with b.if_then(b.not_(empty)):
                shift = b.trunc(b.sub(s_base, _range(L, tt, dh)[0]), I64)
                into = b.bitcast(b.load(field(b, dh, SLOTS)), tt.slot.as_pointer())
                each = b.bitcast(b.load(field(b, sh, SLOTS)), tt.slot.as_pointer())
                with for_range_checked(L, b.load(field(b, sh, CAPACITY)), "dense.merge") as j:
                    slot = b.gep(each, [j])
                    with b.if_then(b.icmp_unsigned("!=", b.load(field(b, slot, HASH)), i64(0))):
                        target = b.gep(into, [b.add(j, shift)])
                        is_new = b.icmp_unsigned("==", b.load(field(b, target, HASH)), i64(0))
                        with b.if_then(is_new):
                            b.store(_MARK, field(b, target, HASH))
                            b.store(b.load(field(b, slot, KEY)), field(b, target, KEY))
                            count = field(b, dh, COUNT)
                            b.store(b.add(b.load(count), i64(1)), count)
                        combine(target, slot, is_new)
        with give_up:
            to_hashed(L, tt, dst)
            to_hashed(L, tt, src)
    return b.load(ok)


def find(L, tt: Table, table: ir.Value, key: ir.Value) -> ir.Value:
    """The slot of `key` in a dense (non-null) table, or a null slot pointer."""
    b = L.builder
    header = header_of(b, table)
    offset = _offset(L, tt, header, key)
    inside = b.icmp_unsigned("<", offset, b.load(field(b, header, CAPACITY)))
    safe = b.select(inside, offset, i64(0))
    slots = b.bitcast(b.load(field(b, header, SLOTS)), tt.slot.as_pointer())
    slot = b.gep(slots, [safe])
    present = b.and_(inside, b.icmp_unsigned("!=", b.load(field(b, slot, HASH)), i64(0)))
    return b.select(present, slot, ir.Constant(slot.type, None))


def _base_type(kt: Scalar) -> Scalar:
    """How the i64 `base` field is read for keys of type kt: unsigned only for u64."""
    return kt if kt.kind == "u64" else Scalar("i64")


def _c128(value: int) -> ir.Constant:
    return ir.Constant(I128, value)


def _rebase(L, tt: Table, header, base, low, high, new_cap) -> None:
    """Move the slots into a new array of `new_cap` slots whose range covers [low, high)."""
    b = L.builder
    kt: Scalar = tt.key
    bits = 8 if kt.kind == "bool" else kt.bits
    smallest = _c128(-(1 << (bits - 1)) if kt.is_signed else 0)
    largest_start = b.sub(_c128(1 << (bits - 1) if kt.is_signed else 1 << bits), new_cap)
    # Growing downwards leaves the new room below (keys keep coming from that side).
    start = b.select(b.icmp_signed("<", low, base), b.sub(high, new_cap), low)
    start = b.select(b.icmp_signed("<", start, smallest), smallest, start)
    start = b.select(b.icmp_signed(">", start, largest_start), largest_start, start)
    cap64 = b.trunc(new_cap, I64)
    nbytes = b.mul(cap64, sizeof(b, tt.slot))
    fresh = L.alloc(nbytes)
    memset0(b, fresh, nbytes)
    shift = b.trunc(b.sub(base, start), I64)
    old = b.load(field(b, header, SLOTS))
    target = b.gep(b.bitcast(fresh, tt.slot.as_pointer()), [shift])
    old_bytes = b.mul(b.load(field(b, header, CAPACITY)), sizeof(b, tt.slot))
    memcpy(b, target, old, old_bytes)
    L.free(old)
    b.store(fresh, field(b, header, SLOTS))
    b.store(cap64, field(b, header, CAPACITY))
    b.store(b.trunc(start, I64), field(b, header, BASE))


def to_hashed(L, tt: Table, table: ir.Value) -> None:
    """Turn a dense table into a hash table (nothing happens to one that is hashed)."""
    name = f"db.dense.to_hashed.{tt.tag}"

    def emit(L, ctx, table) -> None:
        with L.builder.if_then(is_dense(L, table)):
            to_hashed_now(L, tt, table)
        L.builder.ret_void()

    fn = function(L, name, ir.VoidType(), [CTX_PTR, VOIDPTR], emit)
    fn.attributes.add("noinline")
    L.builder.call(fn, [L.ctx, table])


def to_hashed_now(L, tt: Table, table: ir.Value) -> None:
    b = L.builder
    header = header_of(b, table)
    count = b.load(field(b, header, COUNT))
    capacity = capacity_for(L, count)
    nbytes = b.mul(capacity, sizeof(b, tt.slot))
    fresh = L.alloc(nbytes)
    memset0(b, fresh, nbytes)
    slots = b.bitcast(fresh, tt.slot.as_pointer())
    old = b.bitcast(b.load(field(b, header, SLOTS)), tt.slot.as_pointer())
    with for_range_checked(L, b.load(field(b, header, CAPACITY)), "rehash") as j:
        slot = b.gep(old, [j])
        with b.if_then(b.icmp_unsigned("!=", b.load(field(b, slot, HASH)), i64(0))):
            h = table_hash(L, b.load(field(b, slot, KEY)), tt.key)
            b.store(h, field(b, slot, HASH))
            b.store(b.load(slot), place(b, slots, capacity, h))
    b.store(fresh, field(b, header, SLOTS))
    b.store(capacity, field(b, header, CAPACITY))
    b.store(i64(HASHED), field(b, header, MODE))
    L.free(old)


__all__ = [
    "DENSE",
    "DENSE_SLOTS",
    "HASHED",
    "eligible",
    "find",
    "is_dense",
    "merge",
    "merge_tables",
    "start",
    "to_hashed",
]
