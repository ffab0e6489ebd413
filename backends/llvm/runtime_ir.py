"""The native runtime every compiled module carries, written as LLVM IR with llvmlite.

A run gets a context `ctx` = {i8** allocations, i64 count, i64 capacity, i64 error, i64 threads}
(each worker thread of a parallel loop gets its own, adopted by the main one after the join):

* `db_alloc(ctx, nbytes)` mallocs and records the block, so that after the run the host frees
  every block the results do not adopt — repeated runs never leak;
* `db_fail(ctx, code)` records the first runtime error (an index out of bounds, a failed
  assert, ...). Code carries on with safe values (an out-of-bounds load reads nothing) and the
  host raises `WeldRuntimeError` with the message and location of that code;
* `db_adopt(ctx, worker_ctx)` moves a worker's allocations into `ctx` and keeps the first
  error (workers are adopted in loop order, so "first" means first in the loop).
"""

from __future__ import annotations

import ctypes

from llvmlite import ir

from .cgutils import declare, for_range, i64
from .layout import I64, VOIDPTR

CTX = ir.LiteralStructType([VOIDPTR.as_pointer(), I64, I64, I64, I64])
CTX_PTR = CTX.as_pointer()


class Context(ctypes.Structure):
    """The host's view of `CTX`."""

    _fields_ = [
        ("allocations", ctypes.POINTER(ctypes.c_void_p)),
        ("count", ctypes.c_int64),
        ("capacity", ctypes.c_int64),
        ("error", ctypes.c_int64),
        ("threads", ctypes.c_int64),
    ]


def _field(b: ir.IRBuilder, ptr: ir.Value, index: int) -> ir.Value:
    return b.gep(ptr, [ir.Constant(ir.IntType(32), 0), ir.Constant(ir.IntType(32), index)])


def define_runtime(module: ir.Module) -> dict[str, ir.Function]:
    """Define the runtime functions in `module` (internal linkage: each module has its own)."""
    malloc = declare(module, "malloc", VOIDPTR, [I64])
    realloc = declare(module, "realloc", VOIDPTR, [VOIDPTR, I64])
    free = declare(module, "free", ir.VoidType(), [VOIDPTR])

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
    slot = b.gep(b.load(list_ptr), [count])
    b.store(block, slot)
    b.store(b.add(count, i64(1)), count_ptr)
    b.ret_void()

    alloc = ir.Function(module, ir.FunctionType(VOIDPTR, [CTX_PTR, I64]), "db_alloc")
    alloc.linkage = "internal"
    ctx, nbytes = alloc.args
    b = ir.IRBuilder(alloc.append_basic_block("entry"))
    # malloc(0) may return NULL; ask for at least one byte so NULL always means failure.
    size = b.select(b.icmp_signed("<", nbytes, i64(1)), i64(1), nbytes)
    block = b.call(malloc, [size])
    b.call(track, [ctx, block])
    b.ret(block)

    fail = ir.Function(module, ir.FunctionType(ir.VoidType(), [CTX_PTR, I64]), "db_fail")
    fail.linkage = "internal"
    ctx, code = fail.args
    b = ir.IRBuilder(fail.append_basic_block("entry"))
    err_ptr = _field(b, ctx, 3)
    with b.if_then(b.icmp_signed("==", b.load(err_ptr), i64(0))):
        b.store(code, err_ptr)
    b.ret_void()
    fail.attributes.add("noinline")
    fail.attributes.add("cold")

    adopt = ir.Function(module, ir.FunctionType(ir.VoidType(), [CTX_PTR, CTX_PTR]), "db_adopt")
    adopt.linkage = "internal"
    ctx, worker = adopt.args
    b = ir.IRBuilder(adopt.append_basic_block("entry"))
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
    return {"db_alloc": alloc, "db_fail": fail, "db_adopt": adopt}
