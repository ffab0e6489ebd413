"""The run's memory: `db_alloc`, `db_grow`, `db_free` and `db_adopt` (runtime_ir.py says what
each does for programs).

Every block is recorded in the context's allocation list before anyone can use it, so a run
that stops half-way (runtime_guard.py) leaves nothing the host cannot free. A block that
cannot be had stops the run with OUT_OF_MEMORY: a null block never reaches program code.

Fault injection (tests): while the state's `fail_countdown` is positive, each allocation
(a block, or room in an allocation list) counts it down, and the one that takes it to zero
fails as if malloc had. Off (zero), it costs one load per allocation.
"""

from __future__ import annotations

from llvmlite import ir

from .cgutils import declare, for_range, i64, memcpy
from .layout import I1, I32, I64, VOIDPTR
from .runtime_ir import (
    ALLOCATED_BYTES,
    ALLOCATION_COUNT,
    ALLOCATIONS,
    CAPACITY,
    COUNT,
    CTX_PTR,
    ERROR,
    FAIL_COUNTDOWN,
    HUGE_PAGE_BYTES,
    LINUX,
    LIVE_BLOCKS,
    MADV_HUGEPAGE,
    OUT_OF_MEMORY,
    STOPPED,
    Runtime,
    define,
    field,
    internal,
)

_FIRST_LIST_CAPACITY = 64


def build(rt: Runtime) -> None:
    _build_injected_failure(rt)
    _build_list_room(rt)
    _build_advise(rt)
    _build_find(rt)
    _build_obtain(rt)
    _build_alloc(rt)
    _build_grow(rt)
    _build_free(rt)
    _build_release(rt)
    _build_adopt(rt)


def _out_of_memory(rt: Runtime, b: ir.IRBuilder, ctx: ir.Value) -> None:
    b.call(rt.functions["db_stop"], [ctx, i64(OUT_OF_MEMORY)])
    b.unreachable()


def _build_injected_failure(rt: Runtime) -> None:
    fn, b = internal(rt.module, "db.injected_failure", I1, [])
    countdown = rt.word(b, FAIL_COUNTDOWN)
    armed = b.icmp_signed(">", b.load_atomic(countdown, "monotonic", 8), i64(0))
    with b.if_then(armed, likely=False):
        before = b.atomic_rmw("sub", countdown, i64(1), "monotonic")
        b.ret(b.icmp_signed("==", before, i64(1)))
    b.ret(ir.Constant(I1, 0))
    rt.functions["db.injected_failure"] = fn


def _build_list_room(rt: Runtime) -> None:
    """list_room(ctx, extra): room in ctx's allocation list for `extra` more blocks (grown
    geometrically); false when the list cannot grow (nothing changed then)."""
    fn, b = internal(rt.module, "db.list_room", I1, [CTX_PTR, I64])
    ctx, extra = fn.args
    count, capacity = b.load(field(b, ctx, COUNT)), b.load(field(b, ctx, CAPACITY))
    needed = b.add(count, extra)
    with b.if_then(b.icmp_signed("<=", needed, capacity), likely=True):
        b.ret(ir.Constant(I1, 1))
    with b.if_then(b.call(rt.functions["db.injected_failure"], []), likely=False):
        b.ret(ir.Constant(I1, 0))
    doubled = b.mul(capacity, i64(2))
    new_cap = b.select(b.icmp_signed(">", needed, doubled), needed, doubled)
    first = i64(_FIRST_LIST_CAPACITY)
    new_cap = b.select(b.icmp_signed("<", new_cap, first), first, new_cap)
    slot = field(b, ctx, ALLOCATIONS)
    grown = b.call(rt.realloc, [b.bitcast(b.load(slot), VOIDPTR), b.mul(new_cap, i64(8))])
    with b.if_then(b.icmp_unsigned("==", grown, ir.Constant(VOIDPTR, None)), likely=False):
        b.ret(ir.Constant(I1, 0))
    b.store(b.bitcast(grown, VOIDPTR.as_pointer()), slot)
    b.store(new_cap, field(b, ctx, CAPACITY))
    b.ret(ir.Constant(I1, 1))
    rt.functions["db.list_room"] = fn


def _build_advise(rt: Runtime) -> None:
    """Big blocks ask for transparent huge pages, as NumPy's allocator does (same threshold):
    a fresh 80 MB output otherwise costs 20,000 page faults, 3x the loop that fills it."""
    madvise = declare(rt.module, "madvise", I32, [VOIDPTR, I64, I32])
    fn, b = internal(rt.module, "db.advise", ir.VoidType(), [VOIDPTR, I64])
    block, size = fn.args
    if LINUX:
        with b.if_then(b.icmp_signed(">=", size, i64(HUGE_PAGE_BYTES)), likely=False):
            address = b.ptrtoint(block, I64)
            start = b.and_(b.add(address, i64(4095)), i64(~4095))
            b.call(
                madvise,
                [
                    b.inttoptr(start, VOIDPTR),
                    b.sub(size, b.sub(start, address)),
                    ir.Constant(I32, MADV_HUGEPAGE),
                ],
            )
    b.ret_void()
    rt.functions["db.advise"] = fn


def _build_find(rt: Runtime) -> None:
    """find(ctx, block): the slot of `block` in ctx's allocation list, or null; newest first,
    as the block sought (an intermediate, a builder's buffer) is usually a recent one."""
    slot_ptr = VOIDPTR.as_pointer()
    fn, b = internal(rt.module, "db.find", slot_ptr, [CTX_PTR, VOIDPTR])
    ctx, block = fn.args
    with b.if_then(b.icmp_unsigned("==", block, ir.Constant(VOIDPTR, None))):
        b.ret(ir.Constant(slot_ptr, None))
    count = b.load(field(b, ctx, COUNT))
    blocks = b.load(field(b, ctx, ALLOCATIONS))
    with for_range(b, count, "k") as k:
        slot = b.gep(blocks, [b.sub(b.sub(count, i64(1)), k)])
        with b.if_then(b.icmp_unsigned("==", b.load(slot), block)):
            b.ret(slot)
    b.ret(ir.Constant(slot_ptr, None))
    rt.functions["db.find"] = fn


def _add(b: ir.IRBuilder, counter: ir.Value, amount: ir.Value) -> None:
    b.store(b.add(b.load(counter), amount), counter)


def _count_allocation(b: ir.IRBuilder, ctx: ir.Value, size: ir.Value) -> None:
    _add(b, field(b, ctx, ALLOCATION_COUNT), i64(1))
    _add(b, field(b, ctx, ALLOCATED_BYTES), size)


def _build_obtain(rt: Runtime) -> None:
    """obtain(ctx, nbytes): a new block of at least one byte, not yet recorded, or a stop."""
    fn, b = internal(rt.module, "db.obtain", VOIDPTR, [CTX_PTR, I64])
    ctx, nbytes = fn.args
    # A negative size is one that overflowed (lowering saturates sizes to INT64_MAX, which
    # malloc refuses): never a small block for a big request.
    with b.if_then(b.icmp_signed("<", nbytes, i64(0)), likely=False):
        _out_of_memory(rt, b, ctx)
    with b.if_then(b.call(rt.functions["db.injected_failure"], []), likely=False):
        _out_of_memory(rt, b, ctx)
    # malloc(0) may return NULL; ask for at least one byte so NULL always means failure.
    size = b.select(b.icmp_signed("<", nbytes, i64(1)), i64(1), nbytes)
    block = b.call(rt.malloc, [size])
    with b.if_then(b.icmp_unsigned("==", block, ir.Constant(VOIDPTR, None)), likely=False):
        _out_of_memory(rt, b, ctx)
    b.call(rt.functions["db.advise"], [block, size])
    _count_allocation(b, ctx, size)
    b.ret(block)
    rt.functions["db.obtain"] = fn


def _build_alloc(rt: Runtime) -> None:
    alloc, b = define(rt.module, "db_alloc")
    ctx, nbytes = alloc.args
    block = b.call(rt.functions["db.obtain"], [ctx, nbytes])
    # Recorded before it is used, so the host frees it whatever happens next.
    room = b.call(rt.functions["db.list_room"], [ctx, i64(1)])
    with b.if_then(b.not_(room), likely=False):
        b.call(rt.free, [block])
        _out_of_memory(rt, b, ctx)
    count = field(b, ctx, COUNT)
    b.store(block, b.gep(b.load(field(b, ctx, ALLOCATIONS)), [b.load(count)]))
    b.store(b.add(b.load(count), i64(1)), count)
    _add(b, field(b, ctx, LIVE_BLOCKS), i64(1))
    b.ret(block)
    rt.functions["db_alloc"] = alloc


def _build_grow(rt: Runtime) -> None:
    """db_grow(ctx, block, old_bytes, new_bytes): a block of new_bytes holding the first
    old_bytes of `block`, which it replaces. A block of this thread's context is freed and
    the new one takes its place in the list; any other (a block of the thread that made the
    builder, a window into another builder) is left to its owner.

    Not realloc: glibc moves a big block by remapping its pages, which keeps the copy but
    loses the huge pages (the new mapping is not aligned to them); the growing output then
    faults in 4 KB pages, measured 3x slower on a flatten of 80 MB than copying."""
    grow, b = define(rt.module, "db_grow")
    ctx, block, old_bytes, new_bytes = grow.args
    slot = b.call(rt.functions["db.find"], [ctx, block])
    with b.if_then(b.icmp_unsigned("!=", slot, ir.Constant(slot.type, None))):
        fresh = b.call(rt.functions["db.obtain"], [ctx, new_bytes])
        memcpy(b, fresh, block, _smaller(b, old_bytes, new_bytes))
        b.store(fresh, slot)
        b.call(rt.free, [block])
        b.ret(fresh)
    fresh = b.call(rt.functions["db_alloc"], [ctx, new_bytes])
    memcpy(b, fresh, block, _smaller(b, old_bytes, new_bytes))
    b.ret(fresh)
    rt.functions["db_grow"] = grow


def _smaller(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    return b.select(b.icmp_signed("<", x, y), x, y)


def _build_free(rt: Runtime) -> None:
    release, b = define(rt.module, "db_free")
    ctx, block = release.args
    slot = b.call(rt.functions["db.find"], [ctx, block])
    with b.if_then(b.icmp_unsigned("!=", slot, ir.Constant(slot.type, None))):
        b.store(ir.Constant(VOIDPTR, None), slot)
        b.call(rt.free, [block])
        _add(b, field(b, ctx, LIVE_BLOCKS), i64(-1))
    b.ret_void()
    rt.functions["db_free"] = release


def _build_release(rt: Runtime) -> None:
    """db_release(ctx): free every block of ctx and its list (the host's way out of a run
    that stopped: nothing of it is kept)."""
    fn, b = define(rt.module, "db_release")
    ctx = fn.args[0]
    blocks = b.load(field(b, ctx, ALLOCATIONS))
    null = ir.Constant(VOIDPTR, None)
    with for_range(b, b.load(field(b, ctx, COUNT)), "k") as k:
        block = b.load(b.gep(blocks, [k]))
        with b.if_then(b.icmp_unsigned("!=", block, null)):
            b.call(rt.free, [block])
    b.call(rt.free, [b.bitcast(blocks, VOIDPTR)])
    b.store(ir.Constant(blocks.type, None), field(b, ctx, ALLOCATIONS))
    b.store(i64(0), field(b, ctx, COUNT))
    b.store(i64(0), field(b, ctx, CAPACITY))
    b.ret_void()


def _build_adopt(rt: Runtime) -> None:
    """db_adopt(ctx, worker): the worker's blocks join ctx's list (or, when the list cannot
    grow, are freed at once and the run stops: nothing of the worker is merged then), its
    counters add to ctx's, and its first error and stop carry over."""
    adopt, b = define(rt.module, "db_adopt")
    ctx, worker = adopt.args
    n = b.load(field(b, worker, COUNT))
    blocks = b.load(field(b, worker, ALLOCATIONS))
    null = ir.Constant(VOIDPTR, None)
    room = b.call(rt.functions["db.list_room"], [ctx, n])
    with b.if_else(room) as (moved, lost):
        with moved:
            count = field(b, ctx, COUNT)
            into = b.gep(b.load(field(b, ctx, ALLOCATIONS)), [b.load(count)])
            memcpy(b, into, blocks, b.mul(n, i64(8)))
            b.store(b.add(b.load(count), n), count)
        with lost:
            with for_range(b, n, "k") as k:
                block = b.load(b.gep(blocks, [k]))
                with b.if_then(b.icmp_unsigned("!=", block, null)):
                    b.call(rt.free, [block])
            b.call(rt.functions["db_fail"], [ctx, i64(OUT_OF_MEMORY)])
            _stop_with(b, ctx, i64(OUT_OF_MEMORY))
    with b.if_then(b.icmp_unsigned("!=", b.bitcast(blocks, VOIDPTR), null)):
        b.call(rt.free, [b.bitcast(blocks, VOIDPTR)])
    for index in (ALLOCATION_COUNT, ALLOCATED_BYTES, LIVE_BLOCKS):
        _add(b, field(b, ctx, index), b.load(field(b, worker, index)))
    error = b.load(field(b, worker, ERROR))
    with b.if_then(b.icmp_signed("!=", error, i64(0))):
        b.call(rt.functions["db_fail"], [ctx, error])
    _stop_with(b, ctx, b.load(field(b, worker, STOPPED)))
    b.ret_void()
    rt.functions["db_adopt"] = adopt


def _stop_with(b: ir.IRBuilder, ctx: ir.Value, code: ir.Value) -> None:
    """Mark ctx stopped by `code` (if it is not already, and code is not 0), without jumping:
    the caller passes the stop on once it is safe to (runtime_parallel.py)."""
    stopped = field(b, ctx, STOPPED)
    first = b.and_(b.icmp_signed("==", b.load(stopped), i64(0)), b.icmp_signed("!=", code, i64(0)))
    with b.if_then(first):
        b.store(code, stopped)


__all__ = ["build"]
