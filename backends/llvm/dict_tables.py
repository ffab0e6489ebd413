"""The hash tables behind dicts and the dict builders (see dicts.py for what uses them).

A table is an i8* to a header

    {i64 count, i64 capacity, i8* slots, i8* log, i64 log_len, i64 log_cap, i8* spill,
     i64 base, i64 mode}

over `capacity` slots `{i64 hash, K key, V value}`: open addressing with linear probing, a
power-of-two capacity doubled before the load passes 5/8. A stored hash has its top bit set,
so 0 marks an empty slot, and growth moves slots without hashing keys again. Keys are stored in
canonical form (dict_keys.py). Memory comes from the run's `db_alloc`; the slots a table
grows out of are freed at once (`db_free`). (The log fields belong to groupmergers; the
spill, base and mode fields to dictmergers: dict_spill.py, dict_dense.py.)

A key's home slot is given by the TOP bits of its hash (below the marker bit), not the low
ones: then the slots in table order are in hash order, so a table grows by a sequential pass,
merging two tables walks both in order, and the keys whose hashes share their top bits —
one partition of dict_spill.py — live in one contiguous stretch of the table.

A null table is the empty dict, so every read accepts one.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvmlite import ir

from ...ir.types import Dict, GroupMerger, Scalar, Struct, Type, Vec
from .cgutils import alloca_entry, i64, sizeof, while_loop
from .dict_keys import canonical, function, hash_value, keys_equal, tag
from .layout import I1, I32, I64, VOIDPTR, lltype
from .runtime_interrupt import for_range_checked
from .runtime_ir import CTX_PTR

HEADER = ir.LiteralStructType([I64, I64, VOIDPTR, VOIDPTR, I64, I64, VOIDPTR, I64, I64])
COUNT, CAPACITY, SLOTS, LOG, LOG_LEN, LOG_CAP, SPILL, BASE, MODE = range(9)
HASH, KEY, VALUE = range(3)
_MIN_CAPACITY = 64  # small tables stay sparse: fewer collisions, fewer mispredicted probes
_MAX_HINT = 1 << 22  # keys; a table hinted bigger grows as the keys come
_TOP_BIT = i64(-(1 << 63))


@dataclass(frozen=True)
class Table:
    """The layout of a table whose slots hold `key` and `value` (vec[V] for a groupmerger)."""

    key: Type
    value: Type

    @property
    def key_ll(self) -> ir.Type:
        return lltype(self.key)

    @property
    def value_ll(self) -> ir.Type:
        return lltype(self.value)

    @property
    def slot(self) -> ir.LiteralStructType:
        return ir.LiteralStructType([I64, self.key_ll, self.value_ll])

    @property
    def pair(self) -> ir.Type:
        return lltype(Struct((self.key, self.value)))

    @property
    def tag(self) -> str:
        return tag(Dict(self.key, self.value))


def table_of(t: Type) -> Table:
    """The table layout of a dict, dictmerger or groupmerger type."""
    if isinstance(t, GroupMerger):
        return Table(t.key, Vec(t.value))
    return Table(t.key, t.value)


def field(b: ir.IRBuilder, ptr: ir.Value, index: int) -> ir.Value:
    return b.gep(ptr, [ir.Constant(I32, 0), ir.Constant(I32, index)])


def header_of(b: ir.IRBuilder, table: ir.Value) -> ir.Value:
    return b.bitcast(table, HEADER.as_pointer())


def _slots(b: ir.IRBuilder, header: ir.Value, tt: Table) -> ir.Value:
    return b.bitcast(b.load(field(b, header, SLOTS)), tt.slot.as_pointer())


def table_hash(L, key: ir.Value, t: Type) -> ir.Value:
    """The hash a table stores for `key`: never 0 (the top bit is set)."""
    return L.builder.or_(hash_value(L, key, t), _TOP_BIT)


def top_bits(b: ir.IRBuilder, h: ir.Value, bits: ir.Value | int) -> ir.Value:
    """The `bits` highest bits of a stored hash below its marker bit (1 <= bits <= 63)."""
    shift = b.sub(i64(64), bits) if isinstance(bits, ir.Value) else i64(64 - bits)
    return b.lshr(b.shl(h, i64(1)), shift)


def _home(b: ir.IRBuilder, h: ir.Value, capacity: ir.Value) -> ir.Value:
    """The home slot of stored hash `h` in a table of `capacity` (a power of two >= 64)."""
    log2 = b.sub(i64(63), b.ctlz(capacity, ir.Constant(I1, 1)))
    return top_bits(b, h, log2)


def memset0(b: ir.IRBuilder, ptr: ir.Value, nbytes: ir.Value) -> None:
    fn = b.module.declare_intrinsic("llvm.memset", [VOIDPTR, I64])
    b.call(fn, [b.bitcast(ptr, VOIDPTR), ir.Constant(ir.IntType(8), 0), nbytes, ir.Constant(I1, 0)])


def null(ty: ir.Type) -> ir.Constant:
    return ir.Constant(ty, None)


# ----------------------------------------------------------------------------------------------
# Creating, probing and growing tables.


def capacity_for(L, keys: ir.Value) -> ir.Value:
    """The capacity a table needs for `keys` keys: a power of two >= 64, load <= 5/8."""
    b = L.builder
    capacity = alloca_entry(b, I64)
    b.store(i64(_MIN_CAPACITY), capacity)
    small = lambda: b.icmp_signed("<", b.mul(b.load(capacity), i64(5)), b.mul(keys, i64(8)))  # noqa: E731
    with while_loop(b, small, "capacity"):
        b.store(b.mul(b.load(capacity), i64(2)), capacity)
    return b.load(capacity)


def new_table(L, tt: Table, hint: ir.Value) -> ir.Value:
    """A new empty table with room for about `hint` keys before it grows."""
    fn = function(L, "db.dict.new", VOIDPTR, [CTX_PTR, I64, I64], _emit_new)
    return L.builder.call(fn, [L.ctx, sizeof(L.builder, tt.slot), hint])


def _emit_new(L, ctx, slot_size, hint) -> None:
    b = L.builder
    hint = b.select(b.icmp_signed("<", hint, i64(0)), i64(0), hint)
    limit = i64(_MAX_HINT)
    hint = b.select(b.icmp_signed(">", hint, limit), limit, hint)
    cap = capacity_for(L, hint)
    header = b.bitcast(L.alloc(sizeof(b, HEADER)), HEADER.as_pointer())
    nbytes = b.mul(cap, slot_size)
    slots = L.alloc(nbytes)
    memset0(b, slots, nbytes)
    b.store(ir.Constant(HEADER, [0, None, None, None, 0, 0, None, 0, 0]), header)
    b.store(cap, field(b, header, CAPACITY))
    b.store(slots, field(b, header, SLOTS))
    b.ret(b.bitcast(header, VOIDPTR))


def find(L, tt: Table, table: ir.Value, key: ir.Value) -> ir.Value:
    """The slot of `key` in `table` (a null table is empty), or a null slot pointer."""
    name = f"db.dict.find.{tt.tag}"
    fn = function(L, name, tt.slot.as_pointer(), [VOIDPTR, tt.key_ll, I64], _emit_find(tt))
    return L.builder.call(fn, [table, key, table_hash(L, key, tt.key)])


def _emit_find(tt: Table):
    def emit(L, table, key, h) -> None:
        b = L.builder
        missing = b.append_basic_block("missing")
        search = b.append_basic_block("search")
        b.cbranch(b.icmp_unsigned("==", table, null(VOIDPTR)), missing, search)
        b.position_at_end(search)
        slot = _probe(L, tt, b.bitcast(table, HEADER.as_pointer()), key, h, missing)
        b.ret(slot)
        b.position_at_end(missing)
        b.ret(null(tt.slot.as_pointer()))

    return emit


def _probe(L, tt: Table, header, key, h, on_empty) -> ir.Value:
    """Walk the slots from the key's home and return the slot being looked at: the code
    continues where it holds the key, and branches to `on_empty` (where it is the first empty
    slot) when the key is missing."""
    b = L.builder
    capacity = b.load(field(b, header, CAPACITY))
    mask = b.sub(capacity, i64(1))
    slots = _slots(b, header, tt)
    start, pre = _home(b, h, capacity), b.block
    loop, check, compare, advance, found = (
        b.append_basic_block(n)
        for n in ("probe", "probe.check", "probe.compare", "probe.next", "probe.found")
    )
    b.branch(loop)
    b.position_at_end(loop)
    index = b.phi(I64)
    index.add_incoming(start, pre)
    slot = b.gep(slots, [index])
    stored = b.load(field(b, slot, HASH))
    b.cbranch(b.icmp_unsigned("==", stored, i64(0)), on_empty, check)
    b.position_at_end(check)
    if _plain_int(tt.key):
        # An integer key is its own canonical form: compare it at once (one branch less
        # per probe than comparing the stored hashes first).
        b.branch(compare)
    else:
        b.cbranch(b.icmp_unsigned("==", stored, h), compare, advance)
    b.position_at_end(compare)
    same = keys_equal(L, b.load(field(b, slot, KEY)), key, tt.key)
    b.cbranch(same, found, advance)
    b.position_at_end(advance)
    index.add_incoming(b.and_(b.add(index, i64(1)), mask), advance)
    b.branch(loop)
    b.position_at_end(found)
    return slot


def insert(L, tt: Table, table: ir.Value, key: ir.Value, h: ir.Value | None = None):
    """(slot, is_new): the slot of `key`, added (key stored, value zero) if it was missing."""
    name = f"db.dict.insert.{tt.tag}"
    ret = ir.LiteralStructType([tt.slot.as_pointer(), I1])
    fn = function(L, name, ret, [CTX_PTR, VOIDPTR, tt.key_ll, I64], _emit_insert(tt))
    h = table_hash(L, key, tt.key) if h is None else h
    found = L.builder.call(fn, [L.ctx, table, key, h])
    return L.builder.extract_value(found, 0), L.builder.extract_value(found, 1)


def _plain_int(t: Type) -> bool:
    return isinstance(t, Scalar) and t.is_int


def _emit_insert(tt: Table):
    def emit(L, ctx, table, key, h) -> None:
        b = L.builder
        header = header_of(b, table)
        empty = b.append_basic_block("empty")
        slot = _probe(L, tt, header, key, h, empty)
        ret = ir.LiteralStructType([tt.slot.as_pointer(), I1])
        b.ret(_pair(b, ret, slot, 0))
        b.position_at_end(empty)  # `slot` is the empty slot here: only the probe loop gets here
        # A new key: grow first if it would pass the load limit (then look again), so that a
        # key already present costs no load check.
        count = b.load(field(b, header, COUNT))
        capacity = b.load(field(b, header, CAPACITY))
        full = b.icmp_unsigned(">", b.mul(b.add(count, i64(1)), i64(8)), b.mul(capacity, i64(5)))
        with b.if_then(full, likely=False):
            b.call(_grow_function(L, tt), [ctx, table, b.mul(capacity, i64(2))])
            b.ret(b.call(b.function, [ctx, table, key, h]))
        b.store(h, field(b, slot, HASH))
        b.store(canonical(L, key, tt.key), field(b, slot, KEY))
        b.store(b.add(b.load(field(b, header, COUNT)), i64(1)), field(b, header, COUNT))
        b.ret(_pair(b, ret, slot, 1))

    return emit


def _pair(b, ty, slot, is_new: int):
    out = b.insert_value(ir.Constant(ty, ir.Undefined), slot, 0)
    return b.insert_value(out, ir.Constant(I1, is_new), 1)


def place(b, slots, capacity, h) -> ir.Value:
    """The first empty slot from the home of stored hash `h` (for keys known to be new)."""
    mask = b.sub(capacity, i64(1))
    start, pre = _home(b, h, capacity), b.block
    loop, done = b.append_basic_block("empty.probe"), b.append_basic_block("empty.found")
    b.branch(loop)
    b.position_at_end(loop)
    index = b.phi(I64)
    index.add_incoming(start, pre)
    slot = b.gep(slots, [index])
    index.add_incoming(b.and_(b.add(index, i64(1)), mask), loop)
    b.cbranch(b.icmp_unsigned("==", b.load(field(b, slot, HASH)), i64(0)), done, loop)
    b.position_at_end(done)
    return slot


def reserve(L, tt: Table, table: ir.Value, keys: ir.Value) -> None:
    """Grow the table (once) so that it holds `keys` keys without growing again. Needed before
    adding keys in hash order (merging tables, flushing partitions): placed by the top bits of
    their hashes, they would otherwise all crowd the start of a table that is still small."""
    b = L.builder
    header = header_of(b, table)
    capacity = b.load(field(b, header, CAPACITY))
    target = alloca_entry(b, I64)
    b.store(capacity, target)
    with while_loop(
        b, lambda: b.icmp_signed("<", b.mul(b.load(target), i64(5)), b.mul(keys, i64(8))), "reserve"
    ):
        b.store(b.mul(b.load(target), i64(2)), target)
    bigger = b.load(target)
    with b.if_then(b.icmp_signed(">", bigger, capacity)):
        b.call(_grow_function(L, tt), [L.ctx, table, bigger])


def clear(L, tt: Table, table: ir.Value) -> None:
    """Empty a (non-null) table, keeping its capacity."""
    b = L.builder
    header = header_of(b, table)
    nbytes = b.mul(b.load(field(b, header, CAPACITY)), sizeof(b, tt.slot))
    memset0(b, b.load(field(b, header, SLOTS)), nbytes)
    b.store(i64(0), field(b, header, COUNT))


def _grow_function(L, tt: Table) -> ir.Function:
    """`grow(ctx, table, bigger)`: move the slots into a new array of `bigger` slots."""

    def emit(L, ctx, table, bigger) -> None:
        b = L.builder
        header = header_of(b, table)
        capacity = b.load(field(b, header, CAPACITY))
        old = _slots(b, header, tt)
        nbytes = b.mul(bigger, sizeof(b, tt.slot))
        fresh = L.alloc(nbytes)
        memset0(b, fresh, nbytes)
        slots = b.bitcast(fresh, tt.slot.as_pointer())
        with for_range_checked(L, capacity, "move") as j:
            slot = b.gep(old, [j])
            h = b.load(field(b, slot, HASH))
            with b.if_then(b.icmp_unsigned("!=", h, i64(0))):
                b.store(b.load(slot), place(b, slots, bigger, h))
        b.store(fresh, field(b, header, SLOTS))
        b.store(bigger, field(b, header, CAPACITY))
        L.free(old)  # nothing points into a table's slots between two of its operations
        b.ret_void()

    args = [CTX_PTR, VOIDPTR, I64]
    fn = function(L, f"db.dict.grow.{tt.tag}", ir.VoidType(), args, emit)
    fn.attributes.add("noinline")
    return fn


def each_slot(L, tt: Table, table: ir.Value, name: str):
    """Emit `body(slot)` for every occupied slot of a (non-null) table, in slot order."""
    b = L.builder
    header = header_of(b, table)
    slots = _slots(b, header, tt)

    def run(body) -> None:
        with for_range_checked(L, b.load(field(b, header, CAPACITY)), name) as j:
            slot = b.gep(slots, [j])
            with b.if_then(b.icmp_unsigned("!=", b.load(field(b, slot, HASH)), i64(0))):
                body(slot)

    return run


__all__ = [
    "BASE",
    "MODE",
    "capacity_for",
    "place",
    "CAPACITY",
    "COUNT",
    "HASH",
    "HEADER",
    "KEY",
    "LOG",
    "LOG_CAP",
    "LOG_LEN",
    "SLOTS",
    "SPILL",
    "VALUE",
    "Table",
    "clear",
    "each_slot",
    "field",
    "find",
    "header_of",
    "insert",
    "memset0",
    "new_table",
    "null",
    "reserve",
    "table_hash",
    "table_of",
    "top_bits",
]
