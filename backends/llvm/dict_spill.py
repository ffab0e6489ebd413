"""Partitioned aggregation: how a dictmerger stays fast once its table outgrows the cache.

While a dictmerger's table is small, each merge combines into it at once. Past `SPILL_BYTES`
(well inside a core's L2 cache) a merge would probe a slot that is mostly not in cache, about
10 ns a row, so the builder switches to *spilling*: a merge appends its `{key, value}` to one of
`PARTITIONS` buffers, chosen by the top bits of the key's hash, which is a sequential write.
`flush` (dicts.py) later combines the buffers into the table, partition after partition. A
table places keys by the top bits of their hashes (dict_tables.py), so partition p only touches
the p-th 1/PARTITIONS of the table, which stays in cache while it is being filled: this is
radix-partitioned aggregation, as in the group-by and hash-join literature.

Results do not change: the merges of one key are combined in merge order (those before the
switch are in the table already; those after it sit in one partition, in order).

Layout: the table header's `spill` field points at `PARTITIONS` records `{i8* head, i8* tail,
i64 used}`; a partition is a list of chunks `{i8* next, [CHUNK x {K, V}]}`, with `used`
counting the entries of its tail chunk. Chunks come from the run's `db_alloc` and are freed
with the run's other blocks; a flushed partition starts again with no chunk.
"""

from __future__ import annotations

from contextlib import contextmanager

from llvmlite import ir

from .cgutils import alloca_entry, for_range, i64, sizeof, while_loop
from .dict_keys import function
from .dict_tables import (
    CAPACITY,
    SPILL,
    Table,
    field,
    header_of,
    null,
    table_hash,
    top_bits,
)
from .layout import I32, I64, VOIDPTR
from .runtime_interrupt import for_range_checked
from .runtime_ir import CTX_PTR

PARTITION_BITS = 6
PARTITIONS = 1 << PARTITION_BITS
CHUNK = 1024  # entries per chunk: 16 KB for an i64 key and an f64 value
SPILL_BYTES = 1 << 20  # a table bigger than this spills

PARTITION = ir.LiteralStructType([VOIDPTR, VOIDPTR, I64])
HEAD, TAIL, USED = range(3)


def _empty_partition() -> ir.Constant:
    """No chunk yet, and `used` at CHUNK: the first append adds a chunk."""
    return ir.Constant(PARTITION, [None, None, CHUNK])


def _chunk(tt: Table) -> ir.LiteralStructType:
    return ir.LiteralStructType([VOIDPTR, ir.ArrayType(tt.pair, CHUNK)])


def _entry(b: ir.IRBuilder, chunk: ir.Value, index: ir.Value) -> ir.Value:
    return b.gep(chunk, [ir.Constant(I32, 0), ir.Constant(I32, 1), index])


def spilling(L, table: ir.Value) -> ir.Value:
    """Whether the (non-null) table's merges go to partitions (an i1)."""
    b = L.builder
    return b.icmp_unsigned("!=", b.load(field(b, header_of(b, table), SPILL)), null(VOIDPTR))


def start_if_big(L, tt: Table, table: ir.Value) -> None:
    """Switch the table to spilling if it has grown past SPILL_BYTES (call after adding a key)."""
    b = L.builder
    capacity = b.load(field(b, header_of(b, table), CAPACITY))
    big = b.icmp_signed(">", b.mul(capacity, sizeof(b, tt.slot)), i64(SPILL_BYTES))
    with b.if_then(big, likely=False):
        b.call(
            function(L, "db.spill.start", ir.VoidType(), [CTX_PTR, VOIDPTR], _emit_start),
            [L.ctx, table],
        )


def _emit_start(L, ctx, table) -> None:
    b = L.builder
    nbytes = b.mul(sizeof(b, PARTITION), i64(PARTITIONS))
    parts = b.bitcast(L.alloc(nbytes), PARTITION.as_pointer())
    with for_range(b, i64(PARTITIONS), "part") as p:
        b.store(_empty_partition(), b.gep(parts, [p]))
    b.store(b.bitcast(parts, VOIDPTR), field(b, header_of(b, table), SPILL))
    b.ret_void()


def append(L, tt: Table, table: ir.Value, key: ir.Value, value: ir.Value) -> None:
    """Add a merge of `{key, value}` to the partition of the key's hash (the table spills)."""
    b = L.builder
    parts = b.bitcast(b.load(field(b, header_of(b, table), SPILL)), PARTITION.as_pointer())
    h = table_hash(L, key, tt.key)
    part = b.gep(parts, [top_bits(b, h, PARTITION_BITS)])
    with b.if_then(b.icmp_signed("==", b.load(field(b, part, USED)), i64(CHUNK)), likely=False):
        name = f"db.spill.chunk.{tt.tag}"
        b.call(
            function(
                L, name, ir.VoidType(), [CTX_PTR, PARTITION.as_pointer()], _emit_new_chunk(tt)
            ),
            [L.ctx, part],
        )
    used = b.load(field(b, part, USED))
    chunk = b.bitcast(b.load(field(b, part, TAIL)), _chunk(tt).as_pointer())
    pair = b.insert_value(ir.Constant(tt.pair, ir.Undefined), key, 0)
    b.store(b.insert_value(pair, value, 1), _entry(b, chunk, used))
    b.store(b.add(used, i64(1)), field(b, part, USED))


def _emit_new_chunk(tt: Table):
    def emit(L, ctx, part) -> None:
        b = L.builder
        chunk = L.alloc(sizeof(b, _chunk(tt)))
        b.store(null(VOIDPTR), b.bitcast(chunk, VOIDPTR.as_pointer()))  # its `next`
        tail = b.load(field(b, part, TAIL))
        has_tail = b.icmp_unsigned("!=", tail, null(VOIDPTR))
        with b.if_else(has_tail) as (linked, first):
            with linked:
                b.store(chunk, b.bitcast(tail, VOIDPTR.as_pointer()))
            with first:
                b.store(chunk, field(b, part, HEAD))
        b.store(chunk, field(b, part, TAIL))
        b.store(i64(0), field(b, part, USED))
        b.ret_void()

    return emit


def partitions(L, table: ir.Value) -> ir.Value:
    """The partition records of a spilling table."""
    b = L.builder
    return b.bitcast(b.load(field(b, header_of(b, table), SPILL)), PARTITION.as_pointer())


@contextmanager
def each_partition(L, parts: ir.Value, name: str = "part"):
    """Emit the body once per partition, in order; yields (index, record pointer)."""
    with for_range(L.builder, i64(PARTITIONS), name) as p:
        yield p, L.builder.gep(parts, [p])


def entries(L, tt: Table, part: ir.Value, body, limit: ir.Value | None = None) -> None:
    """Emit `body(pair)` for the partition's entries in order (only the first `limit`)."""
    b = L.builder
    current, left = alloca_entry(b, VOIDPTR), alloca_entry(b, I64)
    b.store(b.load(field(b, part, HEAD)), current)
    b.store(i64(1 << 62) if limit is None else limit, left)
    more = lambda: b.and_(  # noqa: E731
        b.icmp_unsigned("!=", b.load(current), null(VOIDPTR)),
        b.icmp_signed(">", b.load(left), i64(0)),
    )
    with while_loop(b, more, "chunks"):
        chunk = b.load(current)
        full = b.icmp_unsigned("!=", chunk, b.load(field(b, part, TAIL)))
        count = b.select(full, i64(CHUNK), b.load(field(b, part, USED)))
        count = b.select(b.icmp_signed("<", b.load(left), count), b.load(left), count)
        typed = b.bitcast(chunk, _chunk(tt).as_pointer())
        with for_range_checked(L, count, "entry") as j:
            body(b.load(_entry(b, typed, j)))
        b.store(b.sub(b.load(left), count), left)
        b.store(b.load(b.bitcast(chunk, VOIDPTR.as_pointer())), current)


class Rewriter:
    """Overwrites a partition's entries from its start (with at most as many as it holds)."""

    def __init__(self, L, tt: Table, part: ir.Value):
        b = L.builder
        self.L, self.tt = L, tt
        self.chunk, self.used = alloca_entry(b, VOIDPTR), alloca_entry(b, I64)
        b.store(b.load(field(b, part, HEAD)), self.chunk)
        b.store(i64(0), self.used)

    def write(self, pair: ir.Value) -> None:
        b = self.L.builder
        with b.if_then(b.icmp_signed("==", b.load(self.used), i64(CHUNK)), likely=False):
            b.store(b.load(b.bitcast(b.load(self.chunk), VOIDPTR.as_pointer())), self.chunk)
            b.store(i64(0), self.used)
        typed = b.bitcast(b.load(self.chunk), _chunk(self.tt).as_pointer())
        b.store(pair, _entry(b, typed, b.load(self.used)))
        b.store(b.add(b.load(self.used), i64(1)), self.used)


def partition_hash(b: ir.IRBuilder, h: ir.Value) -> ir.Value:
    """A stored hash for a table that holds the keys of ONE partition: the partition's bits
    (which all its keys share) shifted out, so that its keys spread over the whole table."""
    return b.or_(b.lshr(b.shl(h, i64(PARTITION_BITS + 1)), i64(1)), i64(-(1 << 63)))


def empty(L, part: ir.Value) -> None:
    L.builder.store(_empty_partition(), part)


__all__ = [
    "CHUNK",
    "PARTITIONS",
    "SPILL_BYTES",
    "Rewriter",
    "append",
    "each_partition",
    "empty",
    "entries",
    "partition_hash",
    "partitions",
    "spilling",
    "start_if_big",
]
