"""`for` loops: iteration sources, the sequential loop, and parallel top-level loops.

A top-level loop (one not inside another loop's body) is outlined into three small functions —
`body(ctx, env, start, end, slot)` runs iterations [start, end) into the builder in `slot`,
`fresh` makes an empty builder like it, `merge` merges one builder into another — and handed
to the runtime's `db_parallel_for` (runtime_ir.py), which splits the iterations into one
contiguous range per thread and merges the per-thread builders back in thread order, so
appenders keep loop order and results do not depend on the thread count (except for the
rounding of float sums). Inner loops run sequentially inside their thread, and so does a
top-level loop into a scanner (whose merges must follow one another: `_splittable`).

Inside the outlined body, mergers and appender states are copied into local allocas, so LLVM
keeps them in registers and can vectorise the loop; they are written back at the end.

Every loop runs its iterations in chunks of `CHUNK`: before each chunk it checks for Ctrl-C
(runtime_interrupt.py) and reserves the chunk's room in the appenders (reserve.py), so the
vectorisable inner loop has neither check, a long loop stops within one chunk, and a loop
that may append up to k elements per iteration reserves k per iteration of one chunk at a
time — never k times a huge iteration count that it may not fill (a filter over 10^12).
What a loop is sure to append (a map: one per iteration) is reserved before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from llvmlite import ir

from ...ir import nodes as N
from ...ir.dispatch import IterTable
from ...ir.substitute import alpha_canonical
from ...ir.types import (
    Appender,
    DictMerger,
    GroupMerger,
    Merger,
    Struct,
    Type,
    VecMerger,
    in_merge_order,
)
from . import builders
from .cgutils import alloca_entry, for_chunks, for_range, i64, saturating, sizeof
from .layout import I64, VOIDPTR, lltype
from .reserve import (
    Path,
    exact_merges,
    guaranteed_merges,
    positional_lookups,
    positional_vecmerges,
    reservable_merges,
    row_loop,
)
from .runtime_interrupt import check_interrupts
from .runtime_ir import (
    BODY_FN,
    FRESH_FN,
    MERGE_FN,
    OUT_BASE,
    OUT_COUNT,
    OUT_ROW_LEN,
    OUT_ROWS,
    OUT_USED,
    field,
)

# Iterations between two Ctrl-C checks: 65 us of a 1 ns body, 7 ms of a 100 ns one.
CHUNK = 1 << 16


@dataclass(frozen=True)
class Source:
    """One iterator of a loop as LLVM values, from which each iteration's element comes.
    Rebuilt (`type(source)(values)`) from other values inside an outlined body."""

    values: tuple
    # Whether the element is the position start + i * stride itself (`values` are (start,
    # stride)): a vecmerger merge at that index is positional (reserve.positional_vecmerges).
    positions: ClassVar[bool] = False

    def element(self, L, i: ir.Value) -> ir.Value:
        """The element of iteration `i` (each source kind below says how)."""
        raise NotImplementedError  # pragma: no cover - an abstract method: every kind overrides


class VectorSource(Source):
    """A whole vector: (vec,)."""

    def element(self, L, i: ir.Value) -> ir.Value:
        return L.builder.load(L.element_ptr(self.values[0], i))


class StridedSource(Source):
    """A vector between bounds: (vec, start, stride)."""

    def element(self, L, i: ir.Value) -> ir.Value:
        b = L.builder
        vec, start, stride = self.values
        return b.load(L.element_ptr(vec, b.add(start, b.mul(i, stride))))


class RangeSource(Source):
    """The positions themselves: (start, stride)."""

    positions = True

    def element(self, L, i: ir.Value) -> ir.Value:
        start, stride = self.values
        return L.builder.add(start, L.builder.mul(i, stride))


# How each iterator kind becomes (count, source) before its loop.
_SOURCES = IterTable("llvm iterator")


def iteration_source(L, it: N.Iter, env, loop: N.For) -> tuple[ir.Value, Source]:
    """(count, source) for one iterator; bad bounds record a runtime error and give 0."""
    return _SOURCES[it.kind](L, it, env, loop)


@_SOURCES.register("scalar")
def _vector_source(L, it: N.Iter, env, loop: N.For) -> tuple[ir.Value, Source]:
    b = L.builder
    vec = L.lower(it.data, env)
    length = b.extract_value(vec, 1)
    if it.start is None:
        return length, VectorSource((vec,))
    start, end, stride = (L.lower(e, env) for e in (it.start, it.end, it.stride))
    ok = b.and_(
        b.and_(b.icmp_signed("<=", i64(0), start), b.icmp_signed("<=", start, end)),
        b.and_(b.icmp_signed("<=", end, length), b.icmp_signed(">", stride, i64(0))),
    )
    bad_bounds = "iter bounds out of range (need 0 <= start <= end <= len, stride > 0)"
    L.fail_unless(ok, bad_bounds, loop.loc)
    safe_stride = b.select(ok, stride, i64(1))
    count = b.select(ok, _count(b, start, end, safe_stride), i64(0))
    return count, StridedSource((vec, start, safe_stride))


@_SOURCES.register("range")
def _range_source(L, it: N.Iter, env, loop: N.For) -> tuple[ir.Value, Source]:
    b = L.builder
    start, end, stride = (L.lower(e, env) for e in (it.start, it.end, it.stride))
    positive = b.icmp_signed(">", stride, i64(0))
    L.fail_unless(positive, "rangeiter stride must be > 0", loop.loc)
    safe_stride = b.select(positive, stride, i64(1))
    return _count(b, start, end, safe_stride), RangeSource((start, safe_stride))


def _count(b: ir.IRBuilder, start, end, stride) -> ir.Value:
    """ceil((end - start) / stride) for stride > 0, 0 when end <= start — without overflow:
    the span of two i64s fits in a u64, and (span - 1) / stride + 1 never exceeds it."""
    span = b.sub(end, start)  # exact as an unsigned number when end > start
    count = b.add(b.udiv(b.sub(span, i64(1)), stride), i64(1))
    return b.select(b.icmp_signed(">", end, start), count, i64(0))


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
    if not L.in_loop_body and L.destination is not None and L.destination[0] == id(n):
        _destination_prologue(L, n, env, builder, count)
    if not L.in_loop_body and _lower_parallel(L, n, env, builder, sources, count):
        return builder
    run_iterations(L, n, env, builder, sources, i64(0), count)
    return builder


def run_iterations(L, n: N.For, env, builder, sources, start, end) -> None:
    """Emit the loop over iterations [start, end) with the body inlined."""
    b = L.builder
    lam = n.func
    plan = reservable_merges(lam)
    unchecked = builders.reserved_merges(n.builder.ty, plan)
    guaranteed = guaranteed_merges(lam)
    sure = {path: (k, []) for path, k in guaranteed.items()}
    builders.reserve_appenders(L, n.builder.ty, builder, sure, b.sub(end, start))
    # per chunk: the room that may be needed beyond what was reserved for sure (a map's is
    # all reserved already)
    maybe = {path: v for path, v in plan.items() if guaranteed.get(path, 0) < v[0]}
    ranges = frozenset(k for k, s in enumerate(sources) if s.positions)
    positional = positional_vecmerges(lam, plan, ranges, len(sources)) if plan else []
    reads = positional_lookups(lam, ranges, len(sources))
    if not positional and not reads:
        _emit_iterations(L, n, env, builder, sources, start, end, maybe, unchecked)
        return
    # Loop versioning: when every positional vecmerger index and lookup index of [start,
    # end) is in bounds (checked here, once), a copy of the loop merges and reads without
    # checks and vectorises; the other copy fails where and as the program says.
    lengths = [(b.extract_value(env[op.args[0].name], 1), source) for op, source in reads]
    in_bounds = builders.positions_in_bounds(
        L, n.builder.ty, builder, positional, sources, start, end, lengths
    )
    with b.if_else(in_bounds) as (fast, checked):
        with fast, L.reading_unchecked(frozenset(id(op) for op, _ in reads)):
            merges = unchecked | {id(m) for _, m, _ in positional}
            _emit_iterations(L, n, env, builder, sources, start, end, maybe, merges)
        with checked:
            _emit_iterations(L, n, env, builder, sources, start, end, maybe, unchecked)


def _emit_iterations(L, n: N.For, env, builder, sources, start, end, plan, unchecked) -> None:
    """The loop over [start, end), chunk by chunk: Ctrl-C check and the room `plan` makes
    before each chunk, then the chunk's iterations (the merges in `unchecked` have room)."""
    b = L.builder
    lam = n.func
    with for_chunks(b, b.sub(end, start), CHUNK) as (first, size):
        check_interrupts(L, size)
        builders.reserve_appenders(L, n.builder.ty, builder, plan, size)
        rows = L.destination is not None and L.destination == (id(n), "rows")
        with L.entering_loop_body(unchecked), for_range(b, size, "k") as k:
            i = b.add(b.add(start, first), k)
            if rows:
                _destination_row(L, builder, i)
            elems = [s.element(L, i) for s in sources]
            if len(elems) == 1:
                x = elems[0]
            else:
                x = ir.Constant(lltype(lam.params[2].type), ir.Undefined)
                for pos, e in enumerate(elems):
                    x = b.insert_value(x, e, pos)
            L.apply_lambda(lam, [builder, i, x], env)


# ----------------------------------------------------------------------------------------------
# Parallel top-level loops.


def _splittable(t: Type) -> bool:
    """Builders whose per-thread copies we know how to make and merge. Never one that holds
    a builder merged in merge order (a scanner: element k of a scan needs element k - 1,
    which another thread's share would compute), whatever else it holds: such a loop runs
    sequentially, in order. (A scanner made inside a parallel loop's body is the body's own,
    filled by an inner loop that runs in order on its thread.)"""
    if in_merge_order(t):
        return False
    if isinstance(t, Struct):
        return all(_splittable(f) for f in t.fields)
    return isinstance(t, Appender | Merger | VecMerger | DictMerger | GroupMerger)


def _lower_parallel(L, n: N.For, env, builder, sources, count) -> bool:
    """Outline the loop into body/fresh/merge functions and hand it to db_parallel_for."""
    bt = n.builder.ty
    canonical, names = alpha_canonical(n.func)
    if not _splittable(bt) or any(not isinstance(env.get(x), ir.Value) for x in names):
        return False
    captured = [env[x] for x in names]
    source_values = [v for s in sources for v in s.values]
    env_ty = ir.LiteralStructType([v.type for v in captured + source_values])
    # Loops that differ only in names (the same step of a frontend's loop, repeated) share
    # their outlined functions: the code depends on the body up to renaming, the kinds of
    # its iterators and the types of what it captures. Source locations are part of the key
    # where there are any, so that runtime errors keep pointing at their own loop.
    rows = _rows(L, n, env)  # (elements per iteration, known before the loop) or None
    key = (
        canonical,
        tuple(type(s) for s in sources),
        str(env_ty),
        str(builder.type),
        bt,
        _locations(n.func),
        rows is None,
        L.destination is not None and L.destination[0] == id(n),
    )
    if key not in L.outlined:
        body = _outline(L, n, names, sources, env_ty, builder.type)
        windows = _windows(n) if rows is None else frozenset({()})
        destination = L.destination is not None and L.destination[0] == id(n)
        L.outlined[key] = (
            body,
            *_fresh_and_merge(L, bt, builder.type, body.name, windows, destination),
            windows,
        )
    body, fresh, merge, windows = L.outlined[key]
    scale = i64(1) if rows is None else rows
    # Room for the whole loop in each windowed appender, before threads write into it.
    elements = count if rows is None else saturating(L.builder, "mul", count, rows)
    builders.reserve_appenders(L, bt, builder, {p: (1, []) for p in windows}, elements)

    b = L.builder
    env_value = ir.Constant(env_ty, ir.Undefined)
    for pos, v in enumerate(captured + source_values):
        env_value = b.insert_value(env_value, v, pos)
    env_ptr = alloca_entry(b, env_ty)
    b.store(env_value, env_ptr)
    slot = alloca_entry(b, builder.type)
    b.store(builder, slot)
    b.call(
        L.runtime["db_parallel_for"],
        [
            L.ctx,
            body,
            fresh,
            merge,
            b.bitcast(env_ptr, VOIDPTR),
            b.bitcast(slot, VOIDPTR),
            sizeof(b, builder.type),
            count,
            scale if rows is not None else inner_length(L, n, env),
            scale,
        ],
    )
    return True


def _rows(L, n: N.For, env) -> ir.Value | None:
    """For a loop whose iterations each append one row to its appender (`reserve.row_loop`),
    the exact number of elements a row has, when that is known before the loop (the same
    for every row: the frontends' strided regions); None for every other loop. Threads then
    fill windows of the loop's buffer, `rows` elements per iteration (`_fresh_and_merge`)."""
    if not isinstance(n.builder.ty, Appender):
        return None
    inner = row_loop(n.func)
    if inner is None:
        return None
    return _zip_iterations(L, inner, env, {x for e in n.func.walk() for x in N.binders(e)})


def _zip_iterations(L, inner: N.For, env, local: set[str]) -> ir.Value | None:
    """`_iterations` of the first iterator of `inner` that can be counted before the outer
    loop (a zip's iterators all give as many, or the loop fails and runs none)."""
    for it in inner.iters:
        found = _iterations(L, it, env, local)
        if found is not None:
            return found
    return None


def destination_loop(body: N.Expr) -> tuple[int, str] | None:
    """(id, kind) of the loop whose fresh appender is the program's whole result, when the
    host may ask it to write into a destination of its own instead (`executable`'s `into`):
    a map, appending once per iteration ("map": element i at the destination's i), or a
    row loop ("rows": row i at the destination's row offset i). None for other programs."""
    while isinstance(body, N.Let):  # (values computed before the loop: sizes, hoisted parts)
        body = body.body
    if not isinstance(body, N.Result):
        return None
    loop = body.builder
    while isinstance(loop, N.Let):
        loop = loop.body
    if not (
        isinstance(loop, N.For)
        and isinstance(loop.builder, N.NewBuilder)
        and isinstance(loop.builder.type, Appender)
    ):
        return None
    if row_loop(loop.func) is not None:
        return id(loop), "rows"
    if exact_merges(loop.func) == frozenset({()}):
        return id(loop), "map"
    return None


_UNBOUNDED = 1 << 60  # the capacity of an appender writing the host's destination


def _destination_prologue(L, n: N.For, env, builder: ir.Value, count: ir.Value) -> None:
    """Before the result loop: whether the host's destination (`OUT_BASE`) fits what the loop
    will write, exactly (as many rows of exactly as many elements, or as many elements), into
    `OUT_USED`; when it does, the appender never grows (its room is the destination's) and a
    map's elements start at the destination. Otherwise the run writes its own buffer."""
    b = L.builder
    base = b.load(field(b, L.ctx, OUT_BASE))
    asked = b.icmp_unsigned("!=", base, ir.Constant(VOIDPTR, None))
    fits = b.icmp_signed("==", b.load(field(b, L.ctx, OUT_COUNT)), count)
    if L.destination[1] == "rows":
        length = _rows(L, n, env)
        if length is None:
            fits = ir.Constant(ir.IntType(1), 0)
        else:
            same = b.icmp_signed("==", b.load(field(b, L.ctx, OUT_ROW_LEN)), length)
            fits = b.and_(fits, same)
    used = b.and_(asked, fits)
    b.store(b.zext(used, I64), field(b, L.ctx, OUT_USED))
    with b.if_then(used):
        state = builder
        data = builders.data_field(b, state)
        b.store(i64(_UNBOUNDED), builders.capacity_field(b, state))
        if L.destination[1] == "map":
            b.store(b.bitcast(base, data.type.pointee), data)


def _destination_row(L, builder: ir.Value, i: ir.Value) -> None:
    """In a row loop writing the host's destination: before row `i`, point the appender at
    that row's place (its elements go at data + length: data = base + offset_i - length)."""
    b = L.builder
    with b.if_then(b.icmp_signed("!=", b.load(field(b, L.ctx, OUT_USED)), i64(0))):
        data = builders.data_field(b, builder)
        base = b.bitcast(b.load(field(b, L.ctx, OUT_BASE)), data.type.pointee)
        offset = b.load(b.gep(b.load(field(b, L.ctx, OUT_ROWS)), [i]))
        at = b.sub(offset, b.load(builders.length_field(b, builder)))
        b.store(b.gep(base, [at]), data)


def inner_length(L, n: N.For, env) -> ir.Value:
    """How many iterations of work one iteration of the top-level loop `n` holds, for the
    runtime's split (`db_parallel_for`'s weight): the length of the first loop nested in its
    body (parents first) whose length is known before `n` runs, else 1. A frontend's loop
    over the rows of a strided region nests one over each row (`iter(v, s, s + k, 1L)` with
    `s` from the row): counted by its rows alone, a 700 x 700 stencil never reached the grain
    and ran on one thread. A scan per row nests that loop in the data of the one that
    appends the row (`for(result(for(iter(v, s, s + k, 1L), scanner, ..)), b, ..)`), whose
    own length is not known before. An estimate: only the number of threads depends on it,
    never a result."""
    local = {name for e in n.func.walk() for name in N.binders(e)}
    for inner in (e for e in n.func.body.walk() if isinstance(e, N.For)):
        found = _zip_iterations(L, inner, env, local)
        if found is not None:
            return found
    return i64(1)


def _iterations(L, it: N.Iter, env, local: set[str]) -> ir.Value | None:
    """The number of elements the iterator `it` of a loop nested in another gives, computed
    before the outer loop, exactly as `iteration_source` counts them: a whole vector from
    outside (its length), or bounds `start` and `start + k` with `k` (and the stride) known
    outside — whatever `start` is; None when it cannot be told there. (An iterator whose
    bounds or stride are bad gives no more: its loop records the error and runs none.)"""
    if it.start is None and it.end is None:
        if it.data is None or not _known_outside(it.data, env, local):
            return None
        return L.builder.extract_value(L.lower(it.data, env), 1)
    end = it.end
    if not (isinstance(end, N.Op) and end.op == "+" and len(end.args) == 2):
        return None
    span = next((b for a, b in (end.args, end.args[::-1]) if a == it.start), None)
    if span is None or it.stride is None:
        return None
    if not (_known_outside(span, env, local) and _known_outside(it.stride, env, local)):
        return None
    b, one = L.builder, i64(1)
    k, stride = L.lower(span, env), L.lower(it.stride, env)
    if k.type != one.type or stride.type != one.type:
        return None
    # (a stride that is not positive: the loop runs as if it were 1, `_range_source`)
    stride = b.select(b.icmp_signed(">", stride, i64(0)), stride, one)
    return _count(b, i64(0), k, stride)


_ARITHMETIC = frozenset({"+", "-", "*"})  # (no division: it could fail where the loop did not)


def _known_outside(e: N.Expr, env, local: set[str]) -> bool:
    """Whether `e` is arithmetic on names bound outside the loop (and literals): it can be
    computed before the loop, at no risk (no lookups, no calls)."""
    for x in e.walk():
        if isinstance(x, N.Ident):
            if x.name in local or not isinstance(env.get(x.name), ir.Value):
                return False
        elif isinstance(x, N.Op):
            if x.op not in _ARITHMETIC:
                return False
        elif not isinstance(x, N.Literal):
            return False
    return True


def _locations(e: N.Expr) -> tuple | None:
    locs = tuple(x.loc for x in e.walk())
    return locs if any(loc is not None for loc in locs) else None


def _outline(L, n: N.For, names, sources, env_ty, builder_ty) -> ir.Function:
    """`void body(ctx, env, start, end, slot)`: iterations [start, end) into *slot."""
    fn = ir.Function(L.module, BODY_FN, name=L.fresh_name("loop"))
    fn.linkage = "internal"
    ctx, env_raw, start, end, slot = fn.args
    with L.emitting_into(fn, ctx):
        b = L.builder
        env_value = b.load(b.bitcast(env_raw, env_ty.as_pointer()))
        inner = {name: b.extract_value(env_value, pos) for pos, name in enumerate(names)}
        pos = len(names)
        rebuilt = []
        for s in sources:
            values = tuple(b.extract_value(env_value, pos + k) for k in range(len(s.values)))
            rebuilt.append(type(s)(values))
            pos += len(s.values)
        builder = b.load(b.bitcast(slot, builder_ty.as_pointer()))
        local, write_back = _localize(L, n.builder.ty, builder)
        run_iterations(L, n, inner, local, rebuilt, start, end)
        write_back()
        builders.finish_builder(L, n.builder.ty, builder)
        b.ret_void()
    return fn


def _windows(n: N.For) -> frozenset[Path]:
    """The appenders of a top-level loop that threads fill in place: those merged exactly once
    per iteration, whose element i therefore goes at a known position (the loop's builder
    itself must not be one of several appenders in a vector or dict; paths lead to fields)."""
    if not isinstance(n.builder.ty, Struct | Appender):
        return frozenset()
    return frozenset(p for p in exact_merges(n.func) if _is_appender(n.builder.ty, p))


def _is_appender(t: Type, path: Path) -> bool:
    for index in path:
        if not isinstance(t, Struct):
            return False
        t = t.fields[index]
    return isinstance(t, Appender)


def _fresh_and_merge(
    L, bt: Type, builder_ty, prefix: str, windows: frozenset[Path], destination: bool = False
):
    """The loop's `fresh(ctx, like, out, start, end)` and `merge(ctx, dst, src)` functions.

    A windowed appender's fresh copy appends straight into the loop's own buffer, at the
    place of iteration `start`'s element (room for the whole loop was reserved before the
    threads started), so merging it back only adds its length: no copy. For the loop that
    writes the host's destination (`destination`), a run that does (`OUT_USED`) merges
    lengths only: every thread wrote its rows where they belong."""
    ptr = builder_ty.as_pointer()
    fresh = ir.Function(L.module, FRESH_FN, name=f"{prefix}.fresh")
    fresh.linkage = "internal"
    ctx, like, out, start, end = fresh.args
    with L.emitting_into(fresh, ctx):
        b = L.builder
        own = b.load(b.bitcast(like, ptr))
        made = builders.fresh_builder(L, bt, own, b.sub(end, start), skip=windows)
        for path in sorted(windows):
            ft, state, made_state = bt, own, made
            for index in path:
                ft = ft.fields[index]
                state = b.extract_value(state, index)
                made_state = b.extract_value(made_state, index)
            builders.window_appender(L, ft, made_state, state, start, end)
        b.store(made, b.bitcast(out, ptr))
        b.ret_void()

    merge = ir.Function(L.module, MERGE_FN, name=f"{prefix}.merge")
    merge.linkage = "internal"
    ctx, dst, src = merge.args
    with L.emitting_into(merge, ctx):
        b = L.builder
        into, other = b.load(b.bitcast(dst, ptr)), b.load(b.bitcast(src, ptr))
        if destination:
            used = b.icmp_signed("!=", b.load(field(b, ctx, OUT_USED)), i64(0))
            with b.if_else(used) as (written, own):
                with written:
                    length = builders.length_field(b, into)
                    b.store(b.add(b.load(length), b.load(builders.length_field(b, other))), length)
                with own:
                    builders.merge_builders(L, bt, into, other)
        else:
            builders.merge_builders(L, bt, into, other)
        b.ret_void()
    return fresh, merge


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
