"""`for` loops: iteration sources, the sequential loop, and parallel top-level loops.

A top-level loop (one not inside another loop's body) is outlined into its own function
`body(ctx, env, start, end, builder)` that runs iterations [start, end) into a builder. At run
time the loop is split into as many contiguous ranges as there are worker threads (never fewer
than MIN_ITERATIONS_PER_THREAD iterations each); thread t runs range t into its own builder
and its own context, threads 1.. on pthreads, thread 0 on the calling thread into the loop's
own builder. After the join, the per-thread builders are merged into the loop's builder in
thread order, so appenders keep loop order and results do not depend on the thread count
(except for the rounding of float sums). Inner loops run sequentially inside their thread.

Inside the outlined body, mergers and appender states are copied into local allocas, so LLVM
keeps them in registers and can vectorise the loop; they are written back at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from llvmlite import ir

from ...ir import nodes as N
from ...ir.substitute import free_vars
from ...ir.types import Appender, Merger, Struct, Type, VecMerger
from . import builders
from .cgutils import alloca_entry, declare, for_range, i64
from .layout import I32, I64, VOIDPTR, lltype
from .runtime_ir import CTX, CTX_PTR

MIN_ITERATIONS_PER_THREAD = 1 << 14


@dataclass(frozen=True)
class Source:
    """One iterator of a loop as values: "vec" (vec,), "strided" (vec, start, stride) or
    "range" (start, stride). Rebuilt from other values inside an outlined body."""

    kind: str
    values: tuple

    def element(self, L, i: ir.Value) -> ir.Value:
        b = L.builder
        if self.kind == "range":
            start, stride = self.values
            return b.add(start, b.mul(i, stride))
        if self.kind == "vec":
            return b.load(L.element_ptr(self.values[0], i))
        vec, start, stride = self.values
        return b.load(L.element_ptr(vec, b.add(start, b.mul(i, stride))))


def iteration_source(L, it: N.Iter, env, loop: N.For) -> tuple[ir.Value, Source]:
    """(count, source) for one iterator; bad bounds record a runtime error and give 0."""
    b = L.builder
    if it.kind == "range":
        start, end, stride = (L.lower(e, env) for e in (it.start, it.end, it.stride))
        positive = b.icmp_signed(">", stride, i64(0))
        L.fail_unless(positive, "rangeiter stride must be > 0", loop.loc)
        safe_stride = b.select(positive, stride, i64(1))
        span = b.sub(end, start)
        count = b.sdiv(b.add(span, b.sub(safe_stride, i64(1))), safe_stride)
        count = b.select(b.icmp_signed(">", span, i64(0)), count, i64(0))
        return count, Source("range", (start, safe_stride))
    vec = L.lower(it.data, env)
    length = b.extract_value(vec, 1)
    if it.start is None:
        return length, Source("vec", (vec,))
    start, end, stride = (L.lower(e, env) for e in (it.start, it.end, it.stride))
    ok = b.and_(
        b.and_(b.icmp_signed("<=", i64(0), start), b.icmp_signed("<=", start, end)),
        b.and_(b.icmp_signed("<=", end, length), b.icmp_signed(">", stride, i64(0))),
    )
    bad_bounds = "iter bounds out of range (need 0 <= start <= end <= len, stride > 0)"
    L.fail_unless(ok, bad_bounds, loop.loc)
    safe_stride = b.select(ok, stride, i64(1))
    count = b.sdiv(b.add(b.sub(end, start), b.sub(safe_stride, i64(1))), safe_stride)
    count = b.select(ok, count, i64(0))
    return count, Source("strided", (vec, start, safe_stride))


def lower_for(L, n: N.For, env) -> ir.Value:
    b = L.builder
    builder = L.lower(n.builder, env)
    counted = [iteration_source(L, it, env, n) for it in n.iters]
    count = counted[0][0]
    for other, _ in counted[1:]:
        same = b.icmp_signed("==", count, other)
        L.fail_unless(same, "the vectors of a zip have different lengths", n.loc)
        count = b.select(same, count, i64(0))
    sources = [s for _, s in counted]
    if L.loop_depth == 0 and _lower_parallel(L, n, env, builder, sources, count):
        return builder
    run_iterations(L, n, env, builder, sources, i64(0), count)
    return builder


def run_iterations(L, n: N.For, env, builder, sources, start, end) -> None:
    """Emit the loop over iterations [start, end) with the body inlined."""
    b = L.builder
    lam = n.func
    L.loop_depth += 1
    with for_range(b, b.sub(end, start), "k") as k:
        i = b.add(start, k)
        elems = [s.element(L, i) for s in sources]
        if len(elems) == 1:
            x = elems[0]
        else:
            x = ir.Constant(lltype(lam.params[2].type), ir.Undefined)
            for pos, e in enumerate(elems):
                x = b.insert_value(x, e, pos)
        L.apply_lambda(lam, [builder, i, x], env)
    L.loop_depth -= 1


# ----------------------------------------------------------------------------------------------
# Parallel top-level loops.


def _splittable(t: Type) -> bool:
    """Builders whose per-thread copies we know how to make and merge."""
    if isinstance(t, Struct):
        return all(_splittable(f) for f in t.fields)
    return isinstance(t, Appender | Merger | VecMerger)


def _lower_parallel(L, n: N.For, env, builder, sources, count) -> bool:
    bt = n.builder.ty
    names = sorted(free_vars(n.func))
    if not _splittable(bt) or any(not isinstance(env.get(x), ir.Value) for x in names):
        return False
    captured = [env[x] for x in names]
    source_values = [v for s in sources for v in s.values]
    env_ty = ir.LiteralStructType([v.type for v in captured + source_values])
    body = _outline(L, n, names, sources, env_ty, builder.type)

    b = L.builder
    env_value = ir.Constant(env_ty, ir.Undefined)
    for pos, v in enumerate(captured + source_values):
        env_value = b.insert_value(env_value, v, pos)
    env_ptr = alloca_entry(b, env_ty)
    b.store(env_value, env_ptr)

    threads = b.load(b.gep(L.ctx, [ir.Constant(I32, 0), ir.Constant(I32, 4)]))
    by_size = b.sdiv(count, i64(MIN_ITERATIONS_PER_THREAD))
    nthreads = b.select(b.icmp_signed("<", by_size, threads), by_size, threads)
    nthreads = b.select(b.icmp_signed("<", nthreads, i64(1)), i64(1), nthreads)
    with b.if_else(b.icmp_signed("<=", nthreads, i64(1))) as (single, multi):
        with single:
            b.call(body, [L.ctx, env_ptr, i64(0), count, builder])
        with multi:
            _run_on_threads(L, bt, body, env_ptr, builder, count, nthreads)
    return True


def _outline(L, n: N.For, names, sources, env_ty, builder_ty) -> ir.Function:
    fnty = ir.FunctionType(ir.VoidType(), [CTX_PTR, env_ty.as_pointer(), I64, I64, builder_ty])
    fn = ir.Function(L.module, fnty, name=L.fresh_name("loop"))
    fn.linkage = "internal"
    ctx, env_ptr, start, end, builder = fn.args
    saved = (L.builder, L.ctx)
    L.builder, L.ctx = ir.IRBuilder(fn.append_basic_block("entry")), ctx
    b = L.builder
    env_value = b.load(env_ptr)
    inner = {name: b.extract_value(env_value, pos) for pos, name in enumerate(names)}
    pos = len(names)
    rebuilt = []
    for s in sources:
        values = tuple(b.extract_value(env_value, pos + k) for k in range(len(s.values)))
        rebuilt.append(Source(s.kind, values))
        pos += len(s.values)
    local, write_back = _localize(L, n.builder.ty, builder)
    run_iterations(L, n, inner, local, rebuilt, start, end)
    write_back()
    b.ret_void()
    L.builder, L.ctx = saved
    return fn


def _localize(L, t: Type, builder: ir.Value):
    """Copy builder state into entry-block allocas (so it lives in registers); returns the
    local builder and a function that writes the state back."""
    b = L.builder
    if isinstance(t, Struct):
        out = ir.Constant(builder.type, ir.Undefined)
        backs = []
        for pos, ft in enumerate(t.fields):
            local, back = _localize(L, ft, b.extract_value(builder, pos))
            out = b.insert_value(out, local, pos)
            backs.append(back)
        return out, lambda: [back() for back in backs]
    if isinstance(t, Appender | Merger | VecMerger):
        slot = alloca_entry(b, builder.type.pointee)
        b.store(b.load(builder), slot)
        return slot, lambda: L.builder.store(L.builder.load(slot), builder)
    return builder, lambda: None


# A task for one worker thread: its context, the loop environment, its range, its builder,
# its pthread id and whether the thread was started.
def _task_type(env_ptr_ty, builder_ty) -> ir.LiteralStructType:
    return ir.LiteralStructType([CTX, env_ptr_ty, I64, I64, builder_ty, I64, I64])


def _worker(L, body: ir.Function, task_ty) -> ir.Function:
    fn = ir.Function(L.module, ir.FunctionType(VOIDPTR, [VOIDPTR]), name=f"{body.name}.worker")
    fn.linkage = "internal"
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    task = b.bitcast(fn.args[0], task_ty.as_pointer())
    fields = [b.gep(task, [ir.Constant(I32, 0), ir.Constant(I32, k)]) for k in range(5)]
    b.call(body, [fields[0], *(b.load(f) for f in fields[1:])])
    b.ret(ir.Constant(VOIDPTR, None))
    return fn


def _run_on_threads(L, bt: Type, body, env_ptr, builder, count, nthreads) -> None:
    b = L.builder
    task_ty = _task_type(env_ptr.type, builder.type)
    worker = _worker(L, body, task_ty)
    create = declare(
        L.module,
        "pthread_create",
        I32,
        [I64.as_pointer(), VOIDPTR, worker.type, VOIDPTR],
    )
    join = declare(L.module, "pthread_join", I32, [I64, VOIDPTR.as_pointer()])
    tasks = L.alloc_array(task_ty, nthreads)
    threads = b.load(b.gep(L.ctx, [ir.Constant(I32, 0), ir.Constant(I32, 4)]))

    def field(task, k):
        return b.gep(task, [ir.Constant(I32, 0), ir.Constant(I32, k)])

    def bound(t):
        return b.sdiv(b.mul(t, count), nthreads)

    with for_range(b, b.sub(nthreads, i64(1)), "spawn") as k:
        t = b.add(k, i64(1))
        task = b.gep(tasks, [t])
        fresh_ctx = ir.Constant(CTX, [ir.Constant(CTX.elements[0], None), *[i64(0)] * 3, i64(0)])
        b.store(b.insert_value(fresh_ctx, threads, 4), field(task, 0))
        b.store(env_ptr, field(task, 1))
        b.store(bound(t), field(task, 2))
        b.store(bound(b.add(t, i64(1))), field(task, 3))
        hint = b.sdiv(count, nthreads)
        b.store(builders.fresh_builder(L, bt, builder, hint), field(task, 4))
        raw = b.bitcast(task, VOIDPTR)
        rc = b.call(create, [field(task, 5), ir.Constant(VOIDPTR, None), worker, raw])
        started = b.icmp_signed("==", rc, ir.Constant(I32, 0))
        b.store(b.zext(started, I64), field(task, 6))
        with b.if_then(b.not_(started), likely=False):
            b.call(worker, [raw])  # no thread to be had: run this range here
    b.call(body, [L.ctx, env_ptr, i64(0), bound(i64(1)), builder])
    with for_range(b, b.sub(nthreads, i64(1)), "join") as k:
        task = b.gep(tasks, [b.add(k, i64(1))])
        with b.if_then(b.icmp_signed("!=", b.load(field(task, 6)), i64(0))):
            b.call(join, [b.load(field(task, 5)), ir.Constant(VOIDPTR.as_pointer(), None)])
        b.call(L.runtime["db_adopt"], [L.ctx, field(task, 0)])
        builders.merge_builders(L, bt, builder, b.load(field(task, 4)))
