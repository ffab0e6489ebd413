"""The native runtime, written as LLVM IR with llvmlite and compiled once per process.

Program modules only declare these functions; MCJIT links them to the runtime module.

A run gets a context `ctx` = {i8** allocations, i64 count, i64 capacity, i64 error, i64 threads,
i64 grain}
(each worker thread of a parallel loop gets its own, adopted by the main one after the join):

* `db_alloc(ctx, nbytes)` mallocs and records the block, so that after the run the host frees
  every block the results do not adopt — repeated runs never leak;
* `db_fail(ctx, code)` records the first runtime error (an index out of bounds, a failed
  assert, ...). Code carries on with safe values (an out-of-bounds load reads nothing) and the
  host raises `WeldRuntimeError` with the message and location of that code;
* `db_free(ctx, block)` frees a block before the run ends (an intermediate after its last
  use) and forgets it (searching the recent allocations first);
* `db_adopt(ctx, worker_ctx)` moves a worker's allocations into `ctx` and keeps the first
  error (workers are adopted in loop order, so "first" means first in the loop);
* `db_parallel_for(ctx, body, fresh, merge, env, slot, slot_size, count)` runs a top-level
  loop: it splits [0, count) into one contiguous range per thread (at least `grain`
  iterations each, db.config(grain=...)), gives threads 1.. an empty builder made by
  `fresh`, runs them on pthreads and range 0 on the calling thread into the loop's own
  builder (`slot`), joins, and merges the thread builders into `slot` in thread order;
* `db_pack_strings(strings, n, out)` copies n strings (`{i8*, i64}` each) one after the
  other into `out`: the data buffer of an Arrow binary array, for the host.
"""

from __future__ import annotations

import ctypes
import sys
import threading

from llvmlite import ir

from .cgutils import declare, for_range, i64, memcpy
from .layout import I32, I64, VOIDPTR

CTX = ir.LiteralStructType([VOIDPTR.as_pointer(), I64, I64, I64, I64, I64])
CTX_PTR = CTX.as_pointer()

# void body(ctx*, env*, start, end, builder_slot*)
BODY_FN = ir.FunctionType(ir.VoidType(), [CTX_PTR, VOIDPTR, I64, I64, VOIDPTR])
# void fresh(ctx*, like_slot*, out_slot*, start, end): the builder of iterations [start, end)
FRESH_FN = ir.FunctionType(ir.VoidType(), [CTX_PTR, VOIDPTR, VOIDPTR, I64, I64])
# void merge(ctx*, dst_slot*, src_slot*)
MERGE_FN = ir.FunctionType(ir.VoidType(), [CTX_PTR, VOIDPTR, VOIDPTR])

_SIGNATURES = {
    "db_alloc": ir.FunctionType(VOIDPTR, [CTX_PTR, I64]),
    "db_fail": ir.FunctionType(ir.VoidType(), [CTX_PTR, I64]),
    "db_adopt": ir.FunctionType(ir.VoidType(), [CTX_PTR, CTX_PTR]),
    "db_free": ir.FunctionType(ir.VoidType(), [CTX_PTR, VOIDPTR]),
    "db_parallel_for": ir.FunctionType(
        ir.VoidType(),
        [
            CTX_PTR,
            BODY_FN.as_pointer(),
            FRESH_FN.as_pointer(),
            MERGE_FN.as_pointer(),
            VOIDPTR,
            VOIDPTR,
            I64,
            I64,
        ],
    ),
}


class Context(ctypes.Structure):
    """The host's view of `CTX`."""

    _fields_ = [
        ("allocations", ctypes.POINTER(ctypes.c_void_p)),
        ("count", ctypes.c_int64),
        ("capacity", ctypes.c_int64),
        ("error", ctypes.c_int64),
        ("threads", ctypes.c_int64),
        ("grain", ctypes.c_int64),
    ]


def declare_runtime(module: ir.Module) -> dict[str, ir.Function]:
    """Declarations of the runtime functions in a program module."""
    out = {}
    for name, fnty in _SIGNATURES.items():
        fn = module.globals.get(name) or ir.Function(module, fnty, name)
        out[name] = fn
    return out


def _field(b: ir.IRBuilder, ptr: ir.Value, index: int) -> ir.Value:
    return b.gep(ptr, [ir.Constant(I32, 0), ir.Constant(I32, index)])


def _define(module: ir.Module, name: str) -> tuple[ir.Function, ir.IRBuilder]:
    fn = ir.Function(module, _SIGNATURES.get(name) or ir.FunctionType(ir.VoidType(), []), name)
    return fn, ir.IRBuilder(fn.append_basic_block("entry"))


HUGE_PAGE_BYTES = 1 << 22  # NumPy's threshold for madvise(MADV_HUGEPAGE)
MADV_HUGEPAGE = 14  # Linux's value (other systems number their advice otherwise: not asked)
_LINUX = sys.platform.startswith("linux")


def build_runtime_module() -> str:
    """The LLVM IR text of the runtime module."""
    module = ir.Module(name="daybreak_runtime")
    malloc = declare(module, "malloc", VOIDPTR, [I64])
    realloc = declare(module, "realloc", VOIDPTR, [VOIDPTR, I64])
    free = declare(module, "free", ir.VoidType(), [VOIDPTR])
    madvise = declare(module, "madvise", I32, [VOIDPTR, I64, I32])

    track = ir.Function(module, ir.FunctionType(ir.VoidType(), [CTX_PTR, VOIDPTR]), "db_track")
    track.linkage = "internal"
    ctx, block = track.args
    b = ir.IRBuilder(track.append_basic_block("entry"))
    count_ptr, cap_ptr, list_ptr = _field(b, ctx, 1), _field(b, ctx, 2), _field(b, ctx, 0)
    count, cap = b.load(count_ptr), b.load(cap_ptr)
    with b.if_then(b.icmp_signed(">=", count, cap), likely=False):
        new_cap = b.select(b.icmp_signed("<", cap, i64(64)), i64(64), b.mul(cap, i64(2)))
        old = b.bitcast(b.load(list_ptr), VOIDPTR)
        grown = b.call(realloc, [old, b.mul(new_cap, i64(8))])
        b.store(b.bitcast(grown, VOIDPTR.as_pointer()), list_ptr)
        b.store(new_cap, cap_ptr)
    b.store(block, b.gep(b.load(list_ptr), [count]))
    b.store(b.add(count, i64(1)), count_ptr)
    b.ret_void()

    alloc, b = _define(module, "db_alloc")
    ctx, nbytes = alloc.args
    # malloc(0) may return NULL; ask for at least one byte so NULL always means failure.
    size = b.select(b.icmp_signed("<", nbytes, i64(1)), i64(1), nbytes)
    block = b.call(malloc, [size])
    # Big blocks ask for transparent huge pages, as NumPy's allocator does (same threshold):
    # a fresh 80 MB output otherwise costs 20,000 page faults, 3x the loop that fills it.
    big = b.and_(b.icmp_signed(">=", size, i64(HUGE_PAGE_BYTES if _LINUX else 1 << 62)),
                 b.icmp_unsigned("!=", b.ptrtoint(block, I64), i64(0)))
    with b.if_then(big, likely=False):
        address = b.ptrtoint(block, I64)
        start = b.and_(b.add(address, i64(4095)), i64(~4095))
        b.call(madvise, [b.inttoptr(start, VOIDPTR), b.sub(size, b.sub(start, address)),
                         ir.Constant(I32, MADV_HUGEPAGE)])
    b.call(track, [ctx, block])
    b.ret(block)

    fail, b = _define(module, "db_fail")
    ctx, code = fail.args
    err_ptr = _field(b, ctx, 3)
    with b.if_then(b.icmp_signed("==", b.load(err_ptr), i64(0))):
        b.store(code, err_ptr)
    b.ret_void()

    adopt, b = _define(module, "db_adopt")
    ctx, worker = adopt.args
    n = b.load(_field(b, worker, 1))
    blocks = b.load(_field(b, worker, 0))
    with for_range(b, n, "k") as k:
        b.call(track, [ctx, b.load(b.gep(blocks, [k]))])
    with b.if_then(b.icmp_signed(">", n, i64(0))):
        b.call(free, [b.bitcast(blocks, VOIDPTR)])
    werr = b.load(_field(b, worker, 3))
    with b.if_then(b.icmp_signed("!=", werr, i64(0))):
        b.call(fail, [ctx, werr])
    b.ret_void()

    release, b = _define(module, "db_free")
    ctx, block = release.args
    count = b.load(_field(b, ctx, 1))
    blocks = b.load(_field(b, ctx, 0))
    # newest first: an intermediate is usually among the last blocks allocated
    with for_range(b, count, "k") as k:
        slot = b.gep(blocks, [b.sub(b.sub(count, i64(1)), k)])
        with b.if_then(b.icmp_unsigned("==", b.load(slot), block)):
            b.store(ir.Constant(VOIDPTR, None), slot)
            b.call(free, [block])
    b.ret_void()

    _build_parallel_for(module, malloc, free, adopt)
    _build_pack_strings(module)
    return str(module)


def _build_pack_strings(module) -> None:
    string = ir.LiteralStructType([VOIDPTR, I64])
    fn = ir.Function(
        module,
        ir.FunctionType(ir.VoidType(), [string.as_pointer(), I64, VOIDPTR]),
        "db_pack_strings",
    )
    strings, n, out = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    at = b.alloca(I64)
    b.store(i64(0), at)
    with for_range(b, n, "s") as k:
        item = b.load(b.gep(strings, [k]))
        length = b.extract_value(item, 1)
        memcpy(b, b.gep(out, [b.load(at)]), b.extract_value(item, 0), length)
        b.store(b.add(b.load(at), length), at)
    b.ret_void()


# A worker thread's task: its context, the loop body, the environment, its range, its builder
# slot, its pthread id, and whether the thread started.
TASK = ir.LiteralStructType([CTX, BODY_FN.as_pointer(), VOIDPTR, I64, I64, VOIDPTR, I64, I64])


def _build_parallel_for(module, malloc, free, adopt) -> None:
    worker = ir.Function(module, ir.FunctionType(VOIDPTR, [VOIDPTR]), "db_worker")
    worker.linkage = "internal"
    b = ir.IRBuilder(worker.append_basic_block("entry"))
    task = b.bitcast(worker.args[0], TASK.as_pointer())
    body = b.load(_field(b, task, 1))
    b.call(
        body,
        [
            _field(b, task, 0),
            b.load(_field(b, task, 2)),
            b.load(_field(b, task, 3)),
            b.load(_field(b, task, 4)),
            b.load(_field(b, task, 5)),
        ],
    )
    b.ret(ir.Constant(VOIDPTR, None))

    create = declare(
        module, "pthread_create", I32, [I64.as_pointer(), VOIDPTR, worker.type, VOIDPTR]
    )
    join = declare(module, "pthread_join", I32, [I64, VOIDPTR.as_pointer()])

    fn, b = _define(module, "db_parallel_for")
    ctx, body, fresh, merge, env, slot, slot_size, count = fn.args
    threads = b.load(_field(b, ctx, 4))
    grain = b.load(_field(b, ctx, 5))
    by_size = b.sdiv(count, b.select(b.icmp_signed("<", grain, i64(1)), i64(1), grain))
    nthreads = b.select(b.icmp_signed("<", by_size, threads), by_size, threads)
    nthreads = b.select(b.icmp_signed("<", nthreads, i64(1)), i64(1), nthreads)
    with b.if_else(b.icmp_signed("<=", nthreads, i64(1))) as (single, multi):
        with single:
            b.call(body, [ctx, env, i64(0), count, slot])
        with multi:

            def bound(t):
                return b.sdiv(b.mul(t, count), nthreads)

            task_size = b.ptrtoint(
                b.gep(ir.Constant(TASK.as_pointer(), None), [ir.Constant(I32, 1)]), I64
            )
            tasks = b.bitcast(b.call(malloc, [b.mul(task_size, nthreads)]), TASK.as_pointer())
            slots = b.call(malloc, [b.mul(slot_size, nthreads)])
            with for_range(b, b.sub(nthreads, i64(1)), "spawn") as k:
                t = b.add(k, i64(1))
                task = b.gep(tasks, [t])
                own_slot = b.gep(slots, [b.mul(t, slot_size)])
                zero = ir.Constant(CTX, [ir.Constant(CTX.elements[0], None), *[i64(0)] * 5])
                own_ctx = b.insert_value(b.insert_value(zero, threads, 4), grain, 5)
                b.store(own_ctx, _field(b, task, 0))
                b.store(body, _field(b, task, 1))
                b.store(env, _field(b, task, 2))
                b.store(bound(t), _field(b, task, 3))
                b.store(bound(b.add(t, i64(1))), _field(b, task, 4))
                b.call(fresh, [ctx, slot, own_slot, bound(t), bound(b.add(t, i64(1)))])
                b.store(own_slot, _field(b, task, 5))
                raw = b.bitcast(task, VOIDPTR)
                rc = b.call(create, [_field(b, task, 6), ir.Constant(VOIDPTR, None), worker, raw])
                started = b.icmp_signed("==", rc, ir.Constant(I32, 0))
                b.store(b.zext(started, I64), _field(b, task, 7))
                with b.if_then(b.not_(started), likely=False):
                    b.call(worker, [raw])  # no thread to be had: run this range here
            b.call(body, [ctx, env, i64(0), bound(i64(1)), slot])
            with for_range(b, b.sub(nthreads, i64(1)), "join") as k:
                task = b.gep(tasks, [b.add(k, i64(1))])
                with b.if_then(b.icmp_signed("!=", b.load(_field(b, task, 7)), i64(0))):
                    b.call(
                        join, [b.load(_field(b, task, 6)), ir.Constant(VOIDPTR.as_pointer(), None)]
                    )
                b.call(adopt, [ctx, _field(b, task, 0)])
                b.call(merge, [ctx, slot, b.load(_field(b, task, 5))])
            b.call(free, [b.bitcast(tasks, VOIDPTR)])
            b.call(free, [slots])
    b.ret_void()


_runtime_lock = threading.Lock()
_runtime_addresses: dict[str, int] = {}


def ensure_runtime(compile_ir) -> None:
    """Compile the runtime module into the process's JIT once (before any program module)."""
    with _runtime_lock:
        if not _runtime_addresses:
            _runtime_addresses.update(compile_ir(build_runtime_module()))


def runtime_address(name: str) -> int:
    """The address of a runtime function (after `ensure_runtime`), for host code to call."""
    return _runtime_addresses[name]
