"""`db_parallel_for(ctx, body, fresh, merge, env, slot, slot_size, count, weight, scale)`: a
top-level loop on native threads.

It splits [0, count) into one contiguous range per thread (at least `grain` units of work
each, db.config(grain=...), an iteration being `weight` units: the length of a row loop
nested in it, `loops.inner_length`), gives threads 1.. an empty builder made by `fresh` (for
iterations [start, end) it is given [start * scale, end * scale): where the elements of a
loop appending `scale` per iteration go, `loops._lower_parallel`), runs them on
pthreads and range 0 on the calling thread into the loop's own builder (`slot`), joins, and
merges the thread builders into `slot` in thread order.

A stop (runtime_guard.py) in any thread must not leave a thread running on memory that the
host is about to free, so:

* each worker runs its share under a guard of its own context: a stop ends the thread;
* the calling thread starts the workers and runs its share under a guard too (`db.launch`):
  a stop there comes back to `db_parallel_for`, which still joins every worker it started;
* after the join, the workers' blocks and stops are adopted; if any thread stopped, the
  stop is passed on (to the next guard out) instead of merging builders that are half done.

The tasks and the thread builders' slots are blocks of the run (db_alloc), so a stop frees
them with the rest.
"""

from __future__ import annotations

from llvmlite import ir

from .cgutils import declare, for_range, i64, saturating
from .layout import I32, I64, VOIDPTR
from .runtime_ir import (
    ABORT,
    BODY_FN,
    CTX,
    CTX_PTR,
    FRESH_FN,
    GRAIN,
    INTERRUPTS,
    OUT_BASE,
    OUT_COUNT,
    OUT_ROW_LEN,
    OUT_ROWS,
    OUT_USED,
    SEEN,
    STOPPED,
    THREADS,
    UNTIL_WATCH,
    Runtime,
    define,
    field,
    internal,
)

# A worker thread's task: its context, the loop body, the environment, its range, its builder
# slot, its pthread id, and whether the thread started.
TASK = ir.LiteralStructType([CTX, BODY_FN.as_pointer(), VOIDPTR, I64, I64, VOIDPTR, I64, I64])
T_CTX, T_BODY, T_ENV, T_START, T_END, T_SLOT, T_THREAD, T_STARTED = range(8)

# What the calling thread needs to start the workers and run its own share (db.launch), in
# this order (db_parallel_for packs it and db.launch unpacks it position by position): body,
# fresh, env, slot, slot size, count, threads, tasks, slots, scale.
LAUNCH = ir.LiteralStructType(
    [
        BODY_FN.as_pointer(),
        FRESH_FN.as_pointer(),
        VOIDPTR,
        VOIDPTR,
        I64,
        I64,
        I64,
        TASK.as_pointer(),
        VOIDPTR,
        I64,
    ]
)


def build(rt: Runtime) -> None:
    worker = _build_worker(rt)
    launch = _build_launch(rt, worker)
    _build_parallel_for(rt, launch)


def _build_worker(rt: Runtime) -> ir.Function:
    """db.worker(task): the thread's share, guarded by its own context."""
    share, b = internal(rt.module, "db.worker_share", ir.VoidType(), [CTX_PTR, VOIDPTR])
    ctx, raw = share.args
    task = b.bitcast(raw, TASK.as_pointer())
    args = [b.load(field(b, task, index)) for index in (T_ENV, T_START, T_END, T_SLOT)]
    b.call(b.load(field(b, task, T_BODY)), [ctx, *args])
    b.ret_void()

    worker, b = internal(rt.module, "db.worker", VOIDPTR, [VOIDPTR])
    task = b.bitcast(worker.args[0], TASK.as_pointer())
    b.call(rt.functions["db_guard"], [field(b, task, T_CTX), share, worker.args[0]])
    b.ret(ir.Constant(VOIDPTR, None))
    return worker


def _worker_context(b: ir.IRBuilder, ctx: ir.Value) -> ir.Value:
    """An empty context for a worker, with the run's settings and Ctrl-C watch."""
    zero = ir.Constant(CTX, None)
    out = zero
    for index in (
        THREADS,
        GRAIN,
        INTERRUPTS,
        SEEN,
        UNTIL_WATCH,
        ABORT,
        OUT_BASE,
        OUT_ROWS,
        OUT_COUNT,
        OUT_ROW_LEN,
        OUT_USED,
    ):
        out = b.insert_value(out, b.load(field(b, ctx, index)), index)
    return out


def _build_launch(rt: Runtime, worker: ir.Function) -> ir.Function:
    """db.launch(ctx, launch): start threads 1.. (each with a fresh builder), then run range
    0 on this thread. A thread that cannot be started runs its range here."""
    create = declare(
        rt.module, "pthread_create", I32, [I64.as_pointer(), VOIDPTR, worker.type, VOIDPTR]
    )
    fn, b = internal(rt.module, "db.launch", ir.VoidType(), [CTX_PTR, VOIDPTR])
    ctx, raw = fn.args
    launch = b.load(b.bitcast(raw, LAUNCH.as_pointer()))
    body, fresh, env, slot, slot_size, count, nthreads, tasks, slots, scale = (
        b.extract_value(launch, k) for k in range(10)
    )

    def bound(t):
        return b.sdiv(b.mul(t, count), nthreads)

    with for_range(b, b.sub(nthreads, i64(1)), "spawn") as k:
        t = b.add(k, i64(1))
        task = b.gep(tasks, [t])
        own_slot = b.gep(slots, [b.mul(t, slot_size)])
        start, end = bound(t), bound(b.add(t, i64(1)))
        b.store(_worker_context(b, ctx), field(b, task, T_CTX))
        for index, value in ((T_BODY, body), (T_ENV, env), (T_START, start), (T_END, end)):
            b.store(value, field(b, task, index))
        b.call(fresh, [ctx, slot, own_slot, b.mul(start, scale), b.mul(end, scale)])
        b.store(own_slot, field(b, task, T_SLOT))
        task_raw = b.bitcast(task, VOIDPTR)
        rc = b.call(
            create, [field(b, task, T_THREAD), ir.Constant(VOIDPTR, None), worker, task_raw]
        )
        started = b.icmp_signed("==", rc, ir.Constant(I32, 0))
        b.store(b.zext(started, I64), field(b, task, T_STARTED))
        with b.if_then(b.not_(started), likely=False):
            b.call(worker, [task_raw])  # no thread to be had: run this range here
    b.call(body, [ctx, env, i64(0), bound(i64(1)), slot])
    b.ret_void()
    return fn


def _build_parallel_for(rt: Runtime, launch_fn: ir.Function) -> None:
    join = declare(rt.module, "pthread_join", I32, [I64, VOIDPTR.as_pointer()])
    memset = rt.module.declare_intrinsic("llvm.memset", [VOIDPTR, I64])
    fn, b = define(rt.module, "db_parallel_for")
    ctx, body, fresh, merge, env, slot, slot_size, count, weight, scale = fn.args
    threads = b.load(field(b, ctx, THREADS))
    grain = b.load(field(b, ctx, GRAIN))
    work = saturating(b, "mul", count, b.select(b.icmp_signed("<", weight, i64(1)), i64(1), weight))
    by_size = b.sdiv(work, b.select(b.icmp_signed("<", grain, i64(1)), i64(1), grain))
    nthreads = b.select(b.icmp_signed("<", by_size, threads), by_size, threads)
    nthreads = b.select(b.icmp_signed("<", nthreads, i64(1)), i64(1), nthreads)
    with b.if_then(b.icmp_signed("<=", nthreads, i64(1))):
        b.call(body, [ctx, env, i64(0), count, slot])  # a stop goes straight to the next guard
        b.ret_void()

    alloc = rt.functions["db_alloc"]
    task_size = b.ptrtoint(b.gep(ir.Constant(TASK.as_pointer(), None), [ir.Constant(I32, 1)]), I64)
    tasks_raw = b.call(alloc, [ctx, b.mul(task_size, nthreads)])
    # Zeroed: a task the launch never reached has not started and owns nothing.
    b.call(
        memset,
        [
            tasks_raw,
            ir.Constant(ir.IntType(8), 0),
            b.mul(task_size, nthreads),
            ir.Constant(ir.IntType(1), 0),
        ],
    )
    tasks = b.bitcast(tasks_raw, TASK.as_pointer())
    slots = b.call(alloc, [ctx, b.mul(slot_size, nthreads)])

    launch = ir.Constant(LAUNCH, ir.Undefined)
    packed = (body, fresh, env, slot, slot_size, count, nthreads, tasks, slots, scale)
    for pos, value in enumerate(packed):
        launch = b.insert_value(launch, value, pos)
    launch_slot = b.alloca(LAUNCH)
    b.store(launch, launch_slot)
    b.call(rt.functions["db_guard"], [ctx, launch_fn, b.bitcast(launch_slot, VOIDPTR)])

    workers = b.sub(nthreads, i64(1))
    with for_range(b, workers, "join") as k:
        task = b.gep(tasks, [b.add(k, i64(1))])
        with b.if_then(b.icmp_signed("!=", b.load(field(b, task, T_STARTED)), i64(0))):
            b.call(
                join, [b.load(field(b, task, T_THREAD)), ir.Constant(VOIDPTR.as_pointer(), None)]
            )
    with for_range(b, workers, "adopt") as k:
        b.call(rt.functions["db_adopt"], [ctx, field(b, b.gep(tasks, [b.add(k, i64(1))]), T_CTX)])
    stopped = b.load(field(b, ctx, STOPPED))
    with b.if_then(b.icmp_signed("!=", stopped, i64(0)), likely=False):
        b.call(rt.functions["db_stop"], [ctx, stopped])  # every thread is joined: pass it on
        b.unreachable()
    with for_range(b, workers, "merge") as k:
        task = b.gep(tasks, [b.add(k, i64(1))])
        b.call(merge, [ctx, slot, b.load(field(b, task, T_SLOT))])
    b.call(rt.functions["db_free"], [ctx, tasks_raw])
    b.call(rt.functions["db_free"], [ctx, slots])
    b.ret_void()


__all__ = ["build"]
