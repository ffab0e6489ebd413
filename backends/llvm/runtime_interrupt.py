"""Ctrl-C during a native run.

Native code runs with the GIL released, so Python's SIGINT handler only runs once the run
returns; a long run used to go on for as long as it took. Now:

* the runtime chains a SIGINT handler of its own in front of Python's (`db_on_sigint`): it
  counts the signal in the state's `sigints` word, then calls Python's handler as before (so
  Python still raises KeyboardInterrupt, once the run has returned);
* a run that watches Ctrl-C (the host's choice: runs on the main thread while SIGINT means
  KeyboardInterrupt) has `ctx.interrupts` pointing at that word and `ctx.seen` holding its
  value when the run started; other runs point at a word that never changes;
* loops compare the two once per chunk of iterations (loops.py), `iterate` once per step and
  sort once per 64K elements moved (`check_interrupts`): a change stops the run with
  INTERRUPTED (runtime_guard.py), every thread at its next check. The host frees the run's
  blocks and lets Python's pending handler raise KeyboardInterrupt.

The handler is put in place (`db.watch_sigint`) by each run that watches, once it has done
`WATCH_AFTER` iterations (`ctx.until_watch` counts them down at the checks): then a run
that Ctrl-C might want to stop pays for the system call that asks which handler is
installed, and the many short runs do not (it cost 5% of a 10-element run). Asking on every
long run puts it back whenever someone (Python's `signal.signal`) has replaced it. It copies
the installed handler's flags and mask, so system calls behave as they did. It is
async-signal-safe: an atomic add and a call of the handler it replaced.

Only where the C library's `struct sigaction` is known to start with the handler (Linux on
x86-64 and AArch64); elsewhere runs do not watch, and Ctrl-C waits for the run as before.
"""

from __future__ import annotations

import platform
from contextlib import contextmanager

from llvmlite import ir

from .cgutils import declare, for_range, i64
from .layout import I32, I64, VOIDPTR
from .runtime_ir import (
    ABORT,
    INTERRUPTED,
    INTERRUPTS,
    LINUX,
    PREVIOUS_HANDLER,
    SEEN,
    SIGINTS,
    UNTIL_WATCH,
    Runtime,
    define,
    field,
    internal,
)

SIGINT = 2
WATCH_AFTER = 1 << 20  # iterations a run does before it makes sure Ctrl-C reaches it
CAN_WATCH = LINUX and platform.machine() in ("x86_64", "AMD64", "aarch64", "arm64")
_SIGACTION = ir.ArrayType(I64, 32)  # 256 bytes: room for any libc's struct sigaction
# void handler(int, siginfo_t*, void*): what the kernel calls with SA_SIGINFO; a handler
# installed without it is called with the signal number alone (the rest is ignored).
_HANDLER = ir.FunctionType(ir.VoidType(), [I32, VOIDPTR, VOIDPTR])


_NEVER = (1 << 63) - 1


def build(rt: Runtime) -> None:
    handler = _build_handler(rt)
    _build_watch(rt, handler)
    _build_poll(rt)


def _build_poll(rt: Runtime) -> None:
    """db_poll(ctx): what a check calls when Ctrl-C was pressed (stop), or when the run has
    used up `until_watch` (watch SIGINT if this run is one to watch; not again this run)."""
    fn, b = define(rt.module, "db_poll")
    fn.attributes.add("noinline")
    fn.attributes.add("cold")
    ctx = fn.args[0]
    aborted = b.load_atomic(b.load(field(b, ctx, ABORT)), "monotonic", 8)
    with b.if_then(b.icmp_signed("!=", aborted, i64(0)), likely=False):
        b.call(rt.functions["db_stop"], [ctx, aborted])  # another thread of the run stopped
        b.unreachable()
    word = b.load(field(b, ctx, INTERRUPTS))
    with b.if_then(_moved(b, ctx, word), likely=False):
        b.call(rt.functions["db_stop"], [ctx, i64(INTERRUPTED)])
        b.unreachable()
    b.store(i64(_NEVER), field(b, ctx, UNTIL_WATCH))
    with b.if_then(b.icmp_unsigned("==", word, rt.word(b, SIGINTS))):
        b.call(rt.functions["db.watch_sigint"], [])
    b.ret_void()


def _moved(b: ir.IRBuilder, ctx: ir.Value, word: ir.Value) -> ir.Value:
    """Whether Ctrl-C was pressed since the run started (an i1)."""
    return b.icmp_signed("!=", b.load_atomic(word, "monotonic", 8), b.load(field(b, ctx, SEEN)))


def _build_handler(rt: Runtime) -> ir.Function:
    fn = ir.Function(rt.module, _HANDLER, "db_on_sigint")
    sig, info, context = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    b.atomic_rmw("add", rt.word(b, SIGINTS), i64(1), "seq_cst")
    previous = b.load(rt.word(b, PREVIOUS_HANDLER))
    with b.if_then(b.icmp_unsigned("!=", previous, ir.Constant(VOIDPTR, None))):
        b.call(b.bitcast(previous, _HANDLER.as_pointer()), [sig, info, context])
    b.ret_void()
    return fn


def _build_watch(rt: Runtime, handler: ir.Function) -> None:
    """db.watch_sigint(): make `db_on_sigint` SIGINT's handler, in front of the one installed
    (nothing to do when it already is; nothing to chain to when that is SIG_DFL or SIG_IGN)."""
    fn, b = internal(rt.module, "db.watch_sigint", ir.VoidType(), [])
    rt.functions["db.watch_sigint"] = fn
    if not CAN_WATCH:
        b.ret_void()
        return
    sigaction = declare(rt.module, "sigaction", I32, [I32, VOIDPTR, VOIDPTR])
    action = b.alloca(_SIGACTION)
    raw = b.bitcast(action, VOIDPTR)
    b.store(ir.Constant(_SIGACTION, None), action)
    b.call(sigaction, [ir.Constant(I32, SIGINT), ir.Constant(VOIDPTR, None), raw])
    handler_slot = b.bitcast(action, VOIDPTR.as_pointer())
    installed = b.load(handler_slot)
    ours = b.bitcast(handler, VOIDPTR)
    settled = b.or_(
        b.icmp_unsigned("==", installed, ours),
        b.icmp_unsigned("<=", b.ptrtoint(installed, I64), i64(1)),
    )  # DFL, IGN
    with b.if_then(settled, likely=True):
        b.ret_void()
    b.store(installed, rt.word(b, PREVIOUS_HANDLER))
    b.store(ours, handler_slot)
    b.call(sigaction, [ir.Constant(I32, SIGINT), raw, ir.Constant(VOIDPTR, None)])
    b.ret_void()


SORT_CHECK_PERIOD = 1 << 16  # elements a merge sort moves between two Ctrl-C checks


def check_interrupts_every(L, counter: ir.Value, period: int) -> None:
    """The Ctrl-C check, on the iterations whose `counter` is a multiple of `period` (a
    power of two): for loops too branchy to vectorise anyway, which need no chunks."""
    b = L.builder
    due = b.icmp_signed("==", b.and_(counter, i64(period - 1)), i64(0))
    with b.if_then(due, likely=False):
        check_interrupts(L, i64(period))


@contextmanager
def for_range_checked(L, count: ir.Value, name: str = "i", period: int = SORT_CHECK_PERIOD):
    """`cgutils.for_range` with the Ctrl-C check every `period` iterations: the runtime's
    own loops over a whole table or vector (dict merges, rehashes, results, conversions),
    which are as long as the data. No check where the code has no run context."""
    with for_range(L.builder, count, name) as i:
        if L.ctx is not None:
            check_interrupts_every(L, i, period)
        yield i


def check_interrupts(L, iterations: ir.Value) -> None:
    """Emit the Ctrl-C check of a program, before `iterations` more iterations: a few loads
    and a count down; db_poll when Ctrl-C was pressed or the count ran out."""
    b = L.builder
    until = field(b, L.ctx, UNTIL_WATCH)
    left = b.sub(b.load(until), iterations)
    b.store(left, until)
    word = b.load(field(b, L.ctx, INTERRUPTS))
    aborted = b.load_atomic(b.load(field(b, L.ctx, ABORT)), "monotonic", 8)
    due = b.or_(_moved(b, L.ctx, word), b.icmp_signed("<", left, i64(0)))
    due = b.or_(due, b.icmp_signed("!=", aborted, i64(0)))
    with b.if_then(due, likely=False):
        b.call(L.runtime["db_poll"], [L.ctx])


__all__ = [
    "CAN_WATCH",
    "SORT_CHECK_PERIOD",
    "WATCH_AFTER",
    "build",
    "check_interrupts",
    "check_interrupts_every",
    "for_range_checked",
]
