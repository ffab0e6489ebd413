"""Leaving a run: errors that let code carry on (`db_fail`), and stops that cannot (`db_stop`).

After a failed allocation there is no block to write into, and after Ctrl-C nothing should
run on; neither has a safe value to carry on with. So a stop jumps (longjmp) out of whatever
the thread is doing, back to the innermost guard of that thread: `db_guard(ctx, fn, arg)`
runs `fn(ctx, arg)` with a jmp_buf of its own in `ctx.jmp` (a setjmp), and returns 1 when
the run stopped inside it, 0 when `fn` returned. Guards sit where a stop must be caught:

* `db_run`, around a whole program (the host's entry point);
* each worker thread of a parallel loop, around its share;
* the main thread's part of a parallel loop (starting the workers, its own share), so that it
  still joins every worker it started before passing the stop on (runtime_parallel.py).

A stop also sets the run's abort word (`ctx.abort`, shared by the threads of a run: db_run
points it at a word of its own context, workers copy the pointer), and every thread checks it
where it checks for Ctrl-C (runtime_interrupt.py): when one thread cannot allocate, the others
stop at their next check instead of finishing their shares for nothing.

Nothing is lost by jumping: every block is in a context's allocation list from the moment
it is malloc'd, and the host frees them all. A jmp_buf is only valid while its guard's frame
is live, which is exactly while `ctx.jmp` points at it (the guard puts the outer one back).
"""

from __future__ import annotations

from llvmlite import ir

from .cgutils import declare, i64
from .layout import I32, I64, VOIDPTR
from .runtime_interrupt import WATCH_AFTER
from .runtime_ir import (
    ABORT,
    ABORT_WORD,
    CTX_PTR,
    ENTRY_FN,
    ERROR,
    INTERRUPTS,
    JMP,
    SEEN,
    STOPPED,
    UNTIL_WATCH,
    Runtime,
    define,
    field,
    internal,
)

JMP_BUF = ir.ArrayType(I64, 64)  # 512 bytes: room for any libc's jmp_buf (glibc's is 200)


def build(rt: Runtime) -> None:
    _build_fail(rt)
    _build_stop(rt)
    _build_guard(rt)
    _build_run(rt)


def _build_fail(rt: Runtime) -> None:
    fail, b = define(rt.module, "db_fail")
    ctx, code = fail.args
    error = field(b, ctx, ERROR)
    with b.if_then(b.icmp_signed("==", b.load(error), i64(0))):
        b.store(code, error)
    b.ret_void()
    rt.functions["db_fail"] = fail


def _build_stop(rt: Runtime) -> None:
    longjmp = declare(rt.module, "longjmp", ir.VoidType(), [VOIDPTR, I32])
    longjmp.attributes.add("noreturn")
    stop, b = define(rt.module, "db_stop")
    stop.attributes.add("noinline")
    stop.attributes.add("cold")
    ctx, code = stop.args
    b.call(rt.functions["db_fail"], [ctx, code])
    stopped = field(b, ctx, STOPPED)
    with b.if_then(b.icmp_signed("==", b.load(stopped), i64(0))):
        b.store(code, stopped)
    # The run's other threads stop too, at their next check (runtime_interrupt.py): their
    # work can no longer be returned.
    abort = b.load(field(b, ctx, ABORT))
    with b.if_then(b.icmp_unsigned("!=", abort, ir.Constant(abort.type, None))):
        b.store_atomic(code, abort, "monotonic", 8)
    jmp = b.load(field(b, ctx, JMP))
    with b.if_then(b.icmp_unsigned("==", jmp, ir.Constant(VOIDPTR, None)), likely=False):
        b.call(rt.abort, [])  # a stop outside every guard: a bug of the runtime, not data's
        b.unreachable()
    b.call(longjmp, [jmp, ir.Constant(I32, 1)])
    b.unreachable()
    rt.functions["db_stop"] = stop


def _build_guard(rt: Runtime) -> None:
    setjmp = declare(rt.module, "_setjmp", I32, [VOIDPTR])  # saves no signal mask: no syscall
    setjmp.attributes.add("returns_twice")
    guard, b = define(rt.module, "db_guard")
    # Kept out of its callers: what is live across the setjmp stays within this small frame.
    guard.attributes.add("noinline")
    ctx, fn, arg = guard.args
    jmp = field(b, ctx, JMP)
    outer = b.load(jmp)
    buf = b.alloca(JMP_BUF)
    buf.align = 16
    b.store(b.bitcast(buf, VOIDPTR), jmp)
    jumped = b.call(setjmp, [b.bitcast(buf, VOIDPTR)])  # returns_twice: the declaration says
    with b.if_else(b.icmp_signed("==", jumped, ir.Constant(I32, 0))) as (first, stopped):
        with first:
            b.call(fn, [ctx, arg])
            b.store(outer, jmp)
            b.ret(i64(0))
        with stopped:
            b.store(outer, jmp)
            b.ret(i64(1))
    b.unreachable()
    rt.functions["db_guard"] = guard


_ENTRY_CALL = ir.LiteralStructType([ENTRY_FN.as_pointer(), VOIDPTR, VOIDPTR])


def _build_run(rt: Runtime) -> None:
    """db_run(ctx, entry, args, out): notes the Ctrl-C count the run starts from (a long run
    makes sure Ctrl-C reaches it: runtime_interrupt.py), then runs entry guarded."""
    call_entry, b = internal(rt.module, "db.call_entry", ir.VoidType(), [CTX_PTR, VOIDPTR])
    ctx, raw = call_entry.args
    packed = b.load(b.bitcast(raw, _ENTRY_CALL.as_pointer()))
    entry, args, out = (b.extract_value(packed, k) for k in range(3))
    b.call(entry, [ctx, args, out])
    b.ret_void()

    run, b = define(rt.module, "db_run")
    ctx, entry, args, out = run.args
    b.store(i64(0), field(b, ctx, ABORT_WORD))
    b.store(field(b, ctx, ABORT_WORD), field(b, ctx, ABORT))  # the threads it starts share it
    interrupts = b.load(field(b, ctx, INTERRUPTS))
    b.store(b.load_atomic(interrupts, "monotonic", 8), field(b, ctx, SEEN))
    b.store(i64(WATCH_AFTER), field(b, ctx, UNTIL_WATCH))
    slot = b.alloca(_ENTRY_CALL)
    value = ir.Constant(_ENTRY_CALL, ir.Undefined)
    for pos, v in enumerate((entry, args, out)):
        value = b.insert_value(value, v, pos)
    b.store(value, slot)
    b.call(rt.functions["db_guard"], [ctx, call_entry, b.bitcast(slot, VOIDPTR)])
    b.ret_void()


__all__ = ["build"]
