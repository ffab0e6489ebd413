"""Loops and builders in CUDA C++: `for`, `merge`, `result` and new builders.

A `for` in uniform code is a *parallel loop*: each thread of the grid runs a contiguous share
of the iterations (`db_chunk`), so thread r's merges come before thread r+1's and loop order is
kept without sorting. Its builders become per-thread state:

- an appender is written in place. When the body merges exactly once per iteration (a map) a
  thread's share starts at its first iteration; otherwise a first pass counts each thread's
  merges, a prefix sum over the grid gives each thread its offset, and a second pass writes.
- a merger keeps a private partial; partials are combined per block, then the block results
  in block order, by every thread alike (so the value is uniform and deterministic).
- a vecmerger copies its initial vector, then merges with compare-and-swap atomics.
- a struct of builders: each field as above, in one loop.

A `for` in thread code (inside a loop body) runs sequentially on its thread; its builders are
local: a merger a variable, an appender a buffer grown in the arena, a vecmerger a copy.

    before (IR):   result(for(v, merger[f64,+], |b, i, x| merge(b, x * x)))
    after (C++):   db_chunk(g, n, lo, hi); db_f64 acc = 0; for (i = lo; i < hi; ++i) acc += ...;
                   part[g.rank] = acc; db_sync(g); <block sums>; db_sync(g); <sum of blocks>
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from ...ir import nodes as N
from ...ir.dispatch import BuilderTable, IterTable
from ...ir.types import (
    FLOATS,
    Appender,
    BuilderType,
    DictMerger,
    GroupMerger,
    Merger,
    Scalar,
    Scanner,
    Struct,
    Type,
    Vec,
    VecMerger,
    result_type,
)
from .dicts import dict_from_pairs, pair_type
from .lower import NODES, Lowering, scalar_literal, unsupported

# ----------------------------------------------------------------------------------------------
# Builder values.


def is_builder(t: Type | None) -> bool:
    if isinstance(t, BuilderType):
        return True
    return isinstance(t, Struct) and bool(t.fields) and all(is_builder(f) for f in t.fields)


@dataclass(frozen=True)
class Handle:
    """A builder that code on one thread updates in place: `kind` says how (`MERGES`), `var`
    is its C++ state, `extra` a second variable some kinds need."""

    kind: str
    type: BuilderType
    var: str
    extra: str = ""


@dataclass(frozen=True)
class BuilderStruct:
    fields: tuple


@dataclass(frozen=True)
class UniformBuilder:
    """A builder in uniform code, by what it holds so far (`value`, a C++ variable): a
    merger its value (None: nothing merged, no initial value); an appender, dictmerger or
    groupmerger the vector of what was merged into it (None: empty); a vecmerger its vector,
    `owned` once it is the program's own copy (the initial vector is the caller's)."""

    type: BuilderType
    value: str | None = None
    owned: bool = False


# ----------------------------------------------------------------------------------------------
# Combining merged values (mergers, vecmergers).


def combine(L: Lowering, t: Type, op: str, a: str, b: str) -> str:
    """The C++ expression `op(a, b)` on values of type `t` (field by field on structs)."""
    if isinstance(t, Struct):
        parts = [combine(L, f, op, f"{a}.f{k}", f"{b}.f{k}") for k, f in enumerate(t.fields)]
        return f"{L.ctype(t)}{{{', '.join(parts)}}}"
    if not isinstance(t, Scalar):
        raise unsupported(f"merger[{t},{op}]")
    kind, floating = t.kind, t.kind in FLOATS
    if op == "+":
        return f"({a} + {b})" if floating else f"db_iadd<db_{kind}>({a}, {b})"
    if op == "*":
        return f"({a} * {b})" if floating else f"db_imul<db_{kind}>({a}, {b})"
    prefix = "db_f" if floating else "db_"
    return f"{prefix}{op}<db_{kind}>({a}, {b})"


def identity(L: Lowering, t: Type, op: str) -> str:
    """The value a merger with no initial value starts at (docs/ir.md)."""
    if isinstance(t, Struct):
        return f"{L.ctype(t)}{{{', '.join(identity(L, f, op) for f in t.fields)}}}"
    kind = t.kind
    if op in ("+", "*"):
        return scalar_literal(0 if op == "+" else 1, t)
    largest = op == "min"
    if kind in FLOATS:
        return scalar_literal(float("inf") if largest else float("-inf"), t)
    if kind == "bool":
        return "true" if largest else "false"
    info = np.iinfo(t.dtype)
    return scalar_literal(int(info.max if largest else info.min), t)


def combiner(L: Lowering, t: Type, op: str) -> str:
    """A functor struct whose `apply` combines two `t`s with `op` (for atomic merges)."""
    name = L.functor_names.get((t, op))
    if name is None:
        name = L.fresh("db_op")
        L.functors.append(
            f"struct {name} {{ DB_FN static {L.ctype(t)} apply({L.ctype(t)} a, "
            f"{L.ctype(t)} b) {{ return {combine(L, t, op, 'a', 'b')}; }} }};"
        )
        L.functor_names[(t, op)] = name
    return name


# ----------------------------------------------------------------------------------------------
# Merges into handles, by kind.


def _merge_acc(L: Lowering, h: Handle, v: str, n: N.Merge) -> None:
    L.code.emit(f"{h.var} = {combine(L, h.type.elem, h.type.op, h.var, v)};")


def pushed_type(t: BuilderType) -> Type:
    """What an appender-like builder keeps per merge (a dictionary builder: its pairs)."""
    return pair_type(t) if isinstance(t, DictMerger | GroupMerger) else t.elem


def _merge_push(L: Lowering, h: Handle, v: str, n: N.Merge) -> None:
    L.code.emit(f"if (!db_push(g, {h.var}, ({L.ctype(pushed_type(h.type))}){v})) {L.stop}")


def _merge_count(L: Lowering, h: Handle, v: str, n: N.Merge) -> None:
    L.code.emit(f"{h.var} += 1;")


def _merge_skip(L: Lowering, h: Handle, v: str, n: N.Merge) -> None:
    """The counting pass of a parallel loop: builders it does not count take no merges."""


def _merge_write(L: Lowering, h: Handle, v: str, n: N.Merge) -> None:
    L.code.emit(f"{h.var}[{h.extra}++] = {v};")


def _vecmerger_index(L: Lowering, h: Handle, v: str, n: N.Merge) -> str:
    k = L.temp_raw("db_i64", f"{v}.f0", "k")
    L.fail_if(f"{k} < 0 || {k} >= {h.var}.len", "vecmerger index out of bounds", n.loc)
    return k


def _merge_vec_local(L: Lowering, h: Handle, v: str, n: N.Merge) -> None:
    k = _vecmerger_index(L, h, v, n)
    slot = f"{h.var}.data[{k}]"
    L.code.emit(f"{slot} = {combine(L, h.type.elem, h.type.op, slot, f'{v}.f1')};")


def _merge_vec_atomic(L: Lowering, h: Handle, v: str, n: N.Merge) -> None:
    k = _vecmerger_index(L, h, v, n)
    elem, slot = h.type.elem, f"{h.var}.data[{k}]"
    # (a struct field by field: each field combines on its own)
    fields = [(elem, "")] if isinstance(elem, Scalar) else [
        (f, f".f{j}") for j, f in enumerate(elem.fields)
    ]  # fmt: skip
    for t, part in fields:
        op = combiner(L, t, h.type.op)
        L.code.emit(f"db_atomic_merge<{L.ctype(t)}, {op}>(&{slot}{part}, {v}.f1{part});")


MERGES = {
    "acc": _merge_acc,
    "push": _merge_push,
    "count": _merge_count,
    "skip": _merge_skip,
    "write": _merge_write,
    "vec_local": _merge_vec_local,
    "vec_atomic": _merge_vec_atomic,
}


def _handle_result(L: Lowering, h: Handle) -> str:
    if h.kind in ("acc",):
        return h.var
    if h.kind == "push":
        pushed = Vec(pushed_type(h.type))
        v = L.temp(pushed, f"{L.ctype(pushed)}{{{h.var}.data, {h.var}.len}}", "v")
        if isinstance(h.type, DictMerger | GroupMerger):
            return dict_from_pairs(L, h.type, v)
        return v
    if h.kind == "vec_local":
        return h.var
    raise unsupported("result", "of the builder a loop is still filling")


def result_of(L: Lowering, b) -> str:
    if isinstance(b, BuilderStruct):
        values = [result_of(L, f) for f in b.fields]
        t = result_type(_builder_type(b))
        return L.temp(t, f"{L.ctype(t)}{{{', '.join(values)}}}", "s")
    if isinstance(b, Handle):
        return _handle_result(L, b)
    t = b.type
    if isinstance(t, Merger):
        return b.value if b.value is not None else identity(L, t.elem, t.op)
    if isinstance(t, VecMerger):
        return b.value if b.owned else _copy_vector(L, t, b.value)
    if b.value is None:
        return f"{L.ctype(t.result_type)}{{0, 0}}"
    if isinstance(t, DictMerger | GroupMerger):
        return dict_from_pairs(L, t, b.value)
    return b.value


def _builder_type(b) -> Type:
    if isinstance(b, BuilderStruct):
        return Struct(tuple(_builder_type(f) for f in b.fields))
    return b.type


def _copy_vector(L: Lowering, t: VecMerger, vec: str) -> str:
    """A copy of `vec` (uniform code: every thread copies its share, then a barrier)."""
    data = L.alloc(t.elem, f"{vec}.len")
    if L.uniform:
        lo, hi = L.fresh("lo"), L.fresh("hi")
        L.code.emit(f"db_i64 {lo}, {hi}; db_chunk(g, {vec}.len, {lo}, {hi});")
        L.code.emit(f"for (db_i64 k = {lo}; k < {hi}; ++k) {data}[k] = {vec}.data[k];")
        L.code.emit("if (!db_sync(g)) return;")
    else:
        L.code.emit(f"db_copy({data}, {vec}.data, {vec}.len);")
    return L.temp(t.result_type, f"{L.ctype(t.result_type)}{{{data}, {vec}.len}}", "v")


def uniform_branches(L: Lowering, n: N.If, env, cond: str):
    """`if(c, b1, b2)` choosing builders in uniform code: the state of each builder is held
    in variables both branches assign (a vecmerger's made the program's own copy)."""
    holders = {}
    for path, b in _leaves(_shape(n.ty)):
        t = b.type
        held = t.elem if isinstance(t, Merger) else Vec(pushed_type(t)) if not isinstance(
            t, VecMerger) else t.result_type  # fmt: skip
        holders[path] = (t, L.declare(held, "h"))
    for branch, head in ((n.then, f"if ({cond})"), (n.else_, "else")):
        with L.code.block(head):
            for path, b in _leaves(L.value(branch, env)):
                t, var = holders[path]
                if isinstance(t, Merger):
                    value = b.value if b.value is not None else identity(L, t.elem, t.op)
                elif isinstance(t, VecMerger):
                    value = b.value if b.owned else _copy_vector(L, t, b.value)
                else:
                    value = (
                        b.value
                        if b.value is not None
                        else f"{L.ctype(Vec(pushed_type(t)))}{{0, 0}}"
                    )
                L.code.emit(f"{var} = {value};")
    return _rebuild(
        _shape(n.ty), {p: UniformBuilder(t, value=v, owned=True) for p, (t, v) in holders.items()}
    )


def join_branches(L: Lowering, then, other, before, then_end, other_end):
    """`if(c, b1, b2)` in thread code whose branches give different builders (each its own
    new one): variables declared before the `if` (at `before`) take each branch's state at
    its end (`then_end`, `other_end`), and hold the builder after it."""
    declared, from_then, from_other, joined = [], [], [], {}
    pairs = list(zip(_leaves(then), _leaves(other), strict=True))
    for (path, a), (_, b) in pairs:
        if a == b:
            joined[path] = a
            continue
        if not (isinstance(a, Handle) and isinstance(b, Handle)) or a.kind != b.kind:
            raise unsupported("if", "branches that give different kinds of builders")
        if a.kind not in _HELD:
            raise unsupported("if", "branches that give different builders of a loop")
        var = L.fresh("held")
        declared.append(f"{_HELD[a.kind](L, a.type)} {var};")
        from_then.append(f"{var} = {a.var};")
        from_other.append(f"{var} = {b.var};")
        joined[path] = Handle(a.kind, a.type, var)
    L.code.insert([(before, declared), (then_end, from_then), (other_end, from_other)])
    return _rebuild(then, joined)


# The C++ type of each kind of handle's state, for `join_branches`.
_HELD = {
    "acc": lambda L, t: L.ctype(t.elem),
    "push": lambda L, t: f"db_tbuf<{L.ctype(pushed_type(t))}>",
    "vec_local": lambda L, t: L.ctype(t.result_type),
}


def _shape(t: Type):
    """A builder value of type `t` with nothing in it (what `_leaves` and `_rebuild` walk)."""
    if isinstance(t, Struct):
        return BuilderStruct(tuple(_shape(f) for f in t.fields))
    return UniformBuilder(t)


# ----------------------------------------------------------------------------------------------
# Node handlers.


@NODES.register(N.NewBuilder)
def _new_builder(L: Lowering, n: N.NewBuilder, env):
    t = n.type
    hint = isinstance(t, Appender | DictMerger | GroupMerger)  # (their argument: a capacity)
    arg = L.value(n.arg, env) if n.arg is not None and not hint else None
    if L.uniform:
        return UniformBuilder(t, value=arg)
    return new_local(L, t, arg)


def new_local(L: Lowering, t: BuilderType, arg: str | None) -> Handle:
    """A builder of code on one thread."""
    return NEW_LOCAL[type(t)](L, t, arg)


NEW_LOCAL = BuilderTable("cuda new builder")


@NEW_LOCAL.register(Merger)
def _new_merger(L: Lowering, t: Merger, arg: str | None) -> Handle:
    init = arg if arg is not None else identity(L, t.elem, t.op)
    return Handle("acc", t, L.temp(t.elem, init, "acc"))


@NEW_LOCAL.register(Appender, DictMerger, GroupMerger)
def _new_appender(L: Lowering, t: BuilderType, arg: str | None) -> Handle:
    var = L.fresh("buf")
    L.code.emit(f"db_tbuf<{L.ctype(pushed_type(t))}> {var} = {{0, 0, 0}};")
    return Handle("push", t, var)


def _no_scan(t: Scanner):
    """A scan's merges go one after another, each reading the one before: on a GPU that
    wants a parallel prefix scan (not written yet), or a loop on one thread (not wanted)."""
    return unsupported(str(t), "scans run in merge order; the CPU backend runs them")


@NEW_LOCAL.register(Scanner)
def _new_scanner(L: Lowering, t: Scanner, arg: str | None) -> Handle:
    raise _no_scan(t)


@NEW_LOCAL.register(VecMerger)
def _new_vecmerger(L: Lowering, t: VecMerger, arg: str | None) -> Handle:
    return Handle("vec_local", t, _copy_vector(L, t, arg))


@NODES.register(N.Merge)
def _merge(L: Lowering, n: N.Merge, env):
    b = L.value(n.builder, env)
    v = L.value(n.value, env)
    if isinstance(b, Handle):
        MERGES[b.kind](L, b, v, n)
        return b
    if isinstance(b, UniformBuilder):
        return UNIFORM_MERGES[type(b.type)](L, b, v, n)
    raise unsupported("merge", f"into a {_builder_type(b)} outside a loop body")


# Merges in uniform code (outside loops): every thread computes the same new state. Memory
# they all write holds the same values; a vecmerger's element, read and written, is updated
# by one thread, then a barrier.
UNIFORM_MERGES = BuilderTable("cuda uniform merge")


@UNIFORM_MERGES.register(Merger)
def _uniform_merge_merger(L: Lowering, b: UniformBuilder, v: str, n: N.Merge):
    t = b.type
    start = b.value if b.value is not None else identity(L, t.elem, t.op)
    return UniformBuilder(t, value=L.temp(t.elem, combine(L, t.elem, t.op, start, v), "m"))


@UNIFORM_MERGES.register(Appender, DictMerger, GroupMerger)
def _uniform_push(L: Lowering, b: UniformBuilder, v: str, n: N.Merge):
    t = Vec(pushed_type(b.type))
    size = f"{b.value}.len" if b.value is not None else "0"
    data = L.alloc(t.elem, f"{size} + 1")
    if b.value is not None:  # (each thread copies its share, then a barrier)
        lo, hi = L.fresh("lo"), L.fresh("hi")
        L.code.emit(f"db_i64 {lo}, {hi}; db_chunk(g, {size}, {lo}, {hi});")
        L.code.emit(f"for (db_i64 k = {lo}; k < {hi}; ++k) {data}[k] = {b.value}.data[k];")
        L.code.emit("if (!db_sync(g)) return;")
    L.code.emit(f"{data}[{size}] = {v};")
    return UniformBuilder(b.type, value=L.temp(t, f"{L.ctype(t)}{{{data}, {size} + 1}}", "v"))


@UNIFORM_MERGES.register(VecMerger)
def _uniform_merge_vecmerger(L: Lowering, b: UniformBuilder, v: str, n: N.Merge):
    vec = b.value if b.owned else _copy_vector(L, b.type, b.value)
    h = Handle("vec_local", b.type, vec)
    k = _vecmerger_index(L, h, v, n)
    slot = f"{vec}.data[{k}]"
    with L.code.block("if (g.rank == 0)"):
        L.code.emit(f"{slot} = {combine(L, b.type.elem, b.type.op, slot, f'{v}.f1')};")
    L.code.emit("if (!db_sync(g)) return;")
    return UniformBuilder(b.type, value=vec, owned=True)


@UNIFORM_MERGES.register(Scanner)
def _uniform_merge_scanner(L: Lowering, b: UniformBuilder, v: str, n: N.Merge):
    raise _no_scan(b.type)


@NODES.register(N.Result)
def _result(L: Lowering, n: N.Result, env):
    return result_of(L, L.value(n.builder, env))


@NODES.register(N.For)
def _for(L: Lowering, n: N.For, env):
    count, element = iteration(L, n, env)
    builder = L.value(n.builder, env)
    if L.uniform:
        return parallel_loop(L, n, env, builder, count, element)
    i = L.fresh("i")
    with L.code.block(f"for (db_i64 {i} = 0; {i} < {count}; ++{i})"):
        after = L.apply(n.func, env, [builder, i, element(i)])
    if after != builder:
        raise unsupported("for", "a body that gives another builder than it was given")
    return builder


# ----------------------------------------------------------------------------------------------
# Iterators: the iteration count (a C++ variable) and each iteration's element.


def iteration(L: Lowering, n: N.For, env):
    sources = [ITERATORS[it.kind](L, it, env, n) for it in n.iters]
    count = sources[0][0]
    for other, _ in sources[1:]:
        L.fail_if(f"{other} != {count}", "the vectors of a zip have different lengths", n.loc)

    def element(i: str) -> str:
        parts = [read(i) for _, read in sources]
        if len(parts) == 1:
            return L.temp(_elem_type(n, 0), parts[0], "x")
        t = Struct(tuple(_elem_type(n, k) for k in range(len(parts))))
        return L.temp(t, f"{L.ctype(t)}{{{', '.join(parts)}}}", "x")

    return count, element


def _elem_type(n: N.For, k: int) -> Type:
    it = n.iters[k]
    if it.kind == "range":
        return Scalar("i64")
    return it.data.ty.elem


def _vector_iter(L: Lowering, it: N.Iter, env, loop: N.For):
    v = L.temp(it.data.ty, L.value(it.data, env), "vec")
    if it.start is None:
        return f"{v}.len", lambda i: f"{v}.data[{i}]"
    s, e, st = (L.temp_raw("db_i64", L.value(x, env), "b") for x in (it.start, it.end, it.stride))
    L.fail_if(
        f"!(0 <= {s} && {s} <= {e} && {e} <= {v}.len && {st} > 0)",
        "iter bounds out of range (need 0 <= start <= end <= len, stride > 0)",
        loop.loc,
    )
    count = L.temp_raw("db_i64", f"({e} - {s}) / {st} + (({e} - {s}) % {st} != 0)", "n")
    return count, lambda i: f"{v}.data[{s} + {i} * {st}]"


def _range_iter(L: Lowering, it: N.Iter, env, loop: N.For):
    s, e, st = (L.temp_raw("db_i64", L.value(x, env), "b") for x in (it.start, it.end, it.stride))
    L.fail_if(f"{st} <= 0", "rangeiter stride must be > 0", loop.loc)
    # (the span of two i64s fits in a u64)
    count = L.temp_raw(
        "db_i64",
        f"{e} > {s} ? (db_i64)(((db_u64){e} - (db_u64){s} - 1) / (db_u64){st} + 1) : 0",
        "n",
    )
    return count, lambda i: f"(db_i64)((db_u64){s} + (db_u64){i} * (db_u64){st})"


ITERATORS = IterTable("cuda iterator")
ITERATORS["scalar"], ITERATORS["range"] = _vector_iter, _range_iter


# ----------------------------------------------------------------------------------------------
# Parallel loops.


def _leaves(b, path=()):
    """(path, builder) for each builder of a builder value, struct fields by index."""
    if isinstance(b, BuilderStruct):
        for k, f in enumerate(b.fields):
            yield from _leaves(f, (*path, k))
    else:
        yield path, b


def _rebuild(b, handles: dict, path=()):
    if isinstance(b, BuilderStruct):
        return BuilderStruct(
            tuple(_rebuild(f, handles, (*path, k)) for k, f in enumerate(b.fields))
        )
    return handles[path]


def merges_once(body: N.Expr, b: str) -> set:
    """The paths of the builders that `body` (a loop body whose builder is `b`) merges into
    exactly once, whatever the data: those appenders need no counting pass."""
    once: set = set()

    def path_of(e: N.Expr):
        if isinstance(e, N.Ident) and e.name == b:
            return ()
        if isinstance(e, N.GetField):
            inner = path_of(e.expr)
            return None if inner is None else (*inner, e.index)
        return None

    def simple(e: N.Expr) -> bool:  # a value computed without loops or branches on builders
        return not any(isinstance(x, N.For | N.Merge | N.If | N.Iterate) for x in e.walk())

    def visit(e: N.Expr) -> None:
        while isinstance(e, N.Let) and simple(e.value):
            e = e.body
        if isinstance(e, N.Merge) and simple(e.value):
            path = path_of(e.builder)
            if path is not None:
                once.add(path)
        elif isinstance(e, N.MakeStruct):
            for x in e.elems:
                visit(x)

    visit(body)
    return once


class _Parallel(abc.ABC):
    """One builder of a parallel loop: its state before, during and after the loop."""

    counted = False  # whether the loop needs a counting pass for it

    def __init__(self, L: Lowering, b: UniformBuilder, lo: str, n: str):
        self.type, self.held = b.type, b.value

    def count_handle(self, L: Lowering) -> Handle:
        return Handle("skip", self.type, "")

    @abc.abstractmethod
    def write_handle(self, L: Lowering) -> Handle:
        raise NotImplementedError

    def prologue(self, L: Lowering, i: str) -> None:  # noqa: B027 - optional hook
        """At the start of each iteration `i` of the writing pass."""

    def after_pass(self, L: Lowering) -> None:  # noqa: B027 - optional hook
        """In each thread after its share, before the loop's barrier."""

    def reduce(self, L: Lowering) -> None:  # noqa: B027 - optional hook
        """In the threads `g.rank < g.blocks` after the barrier (one block's worth each)."""

    @abc.abstractmethod
    def done(self, L: Lowering) -> UniformBuilder:
        raise NotImplementedError


class _ParallelAppender(_Parallel):
    def __init__(self, L: Lowering, b: UniformBuilder, lo: str, n: str, once: bool):
        super().__init__(L, b, lo, n)
        self.counted = not once
        self.offset, self.total = lo, n  # (a counting pass replaces them)
        self.counter = L.temp_raw("db_i64", "0", "cnt") if self.counted else ""

    def count_handle(self, L: Lowering) -> Handle:
        if not self.counted:
            return super().count_handle(L)
        return Handle("count", self.type, self.counter)

    def write_handle(self, L: Lowering) -> Handle:
        # (what was merged before the loop comes first: every thread copies its share)
        before = f"{self.held}.len" if self.held is not None else "0"
        self.size = L.temp_raw("db_i64", f"{before} + {self.total}", "size")
        self.out = L.alloc(pushed_type(self.type), self.size)
        if self.held is not None:
            lo, hi = L.fresh("lo"), L.fresh("hi")
            L.code.emit(f"db_i64 {lo}, {hi}; db_chunk(g, {before}, {lo}, {hi});")
            L.code.emit(
                f"for (db_i64 k = {lo}; k < {hi}; ++k) {self.out}[k] = {self.held}.data[k];"
            )
        # one merge per iteration (a map): iteration i writes element i, whichever thread
        # runs it; counted merges: each thread from its offset on
        self.before = before
        self.pos = L.temp_raw("db_i64", f"{before} + {self.offset}", "pos")
        return Handle("write", self.type, self.out, self.pos)

    def prologue(self, L: Lowering, i: str) -> None:  # noqa: B027 - optional hook
        if not self.counted:
            L.code.emit(f"{self.pos} = {self.before} + {i};")

    def done(self, L: Lowering) -> UniformBuilder:
        t = Vec(pushed_type(self.type))
        v = L.temp(t, f"{L.ctype(t)}{{{self.out}, {self.size}}}", "v")
        return UniformBuilder(self.type, value=v)


class _ParallelMerger(_Parallel):
    def write_handle(self, L: Lowering) -> Handle:
        t = self.type
        self.parts = L.alloc(t.elem, "g.size")
        self.blocks = L.alloc(t.elem, "g.blocks")
        self.acc = L.temp(t.elem, identity(L, t.elem, t.op), "acc")
        return Handle("acc", t, self.acc)

    def after_pass(self, L: Lowering) -> None:  # noqa: B027 - optional hook
        L.code.emit(f"{self.parts}[g.rank] = {self.acc};")

    def reduce(self, L: Lowering) -> None:  # noqa: B027 - optional hook
        t = self.type
        s = L.temp(t.elem, f"{self.parts}[g.rank * g.width]", "s")
        with L.code.block("for (db_i64 k = 1; k < g.width; ++k)"):
            part = f"{self.parts}[g.rank * g.width + k]"
            L.code.emit(f"{s} = {combine(L, t.elem, t.op, s, part)};")
        L.code.emit(f"{self.blocks}[g.rank] = {s};")

    def done(self, L: Lowering) -> UniformBuilder:
        t = self.type
        r = L.temp(t.elem, self.held if self.held is not None else identity(L, t.elem, t.op), "r")
        with L.code.block("for (db_i64 k = 0; k < g.blocks; ++k)"):
            L.code.emit(f"{r} = {combine(L, t.elem, t.op, r, f'{self.blocks}[k]')};")
        return UniformBuilder(t, value=r)


class _ParallelVecMerger(_Parallel):
    def __init__(self, L: Lowering, b: UniformBuilder, lo: str, n: str):
        super().__init__(L, b, lo, n)
        self.vec = b.value if b.owned else _copy_vector(L, self.type, b.value)

    def write_handle(self, L: Lowering) -> Handle:
        return Handle("vec_atomic", self.type, self.vec)

    def done(self, L: Lowering) -> UniformBuilder:
        return UniformBuilder(self.type, value=self.vec, owned=True)


def parallel_loop(L: Lowering, n: N.For, env, builder, count: str, element) -> object:
    leaves = list(_leaves(builder))
    n_var = L.temp_raw("db_i64", count, "n")
    lo, hi = L.fresh("lo"), L.fresh("hi")
    L.code.emit(f"db_i64 {lo}, {hi};")
    once = merges_once(n.func.body, n.func.params[0].name)
    plans: dict = {}
    for path, b in leaves:
        if isinstance(b.type, Appender | DictMerger | GroupMerger):
            plans[path] = _ParallelAppender(L, b, lo, n_var, path in once)
        elif isinstance(b.type, Merger):
            plans[path] = _ParallelMerger(L, b, lo, n_var)
        elif isinstance(b.type, VecMerger):
            plans[path] = _ParallelVecMerger(L, b, lo, n_var)
        elif isinstance(b.type, Scanner):
            raise _no_scan(b.type)
        else:  # pragma: no cover - every builder kind is one of the above
            raise unsupported(type(b.type).__name__.lower())
    counted = {p: plan for p, plan in plans.items() if plan.counted}
    # Counted merges keep loop order by giving each thread a contiguous share; otherwise
    # the block's threads interleave (coalesced reads and writes).
    interleaved = not counted
    L.code.emit(f"{'db_block_chunk' if interleaved else 'db_chunk'}(g, {n_var}, {lo}, {hi});")
    if counted:
        handles = {p: plan.count_handle(L) for p, plan in plans.items()}
        _loop_pass(L, n, env, _rebuild(builder, handles), (lo, hi, False), element, [])
        _prefix_sums(L, counted)
    handles = {p: plan.write_handle(L) for p, plan in plans.items()}
    share = (lo, hi, interleaved)
    _loop_pass(L, n, env, _rebuild(builder, handles), share, element, list(plans.values()))
    for plan in plans.values():
        plan.after_pass(L)
    L.code.emit("if (!db_sync(g)) return;")
    if any(isinstance(plan, _ParallelMerger) for plan in plans.values()):
        with L.code.block("if (g.rank < g.blocks)"):
            for plan in plans.values():
                plan.reduce(L)
        L.code.emit("if (!db_sync(g)) return;")
    return _rebuild(builder, {p: plan.done(L) for p, plan in plans.items()})


def _loop_pass(L: Lowering, n: N.For, env, builder, share, element, plans) -> None:
    """One pass of a thread over its share (lo, hi, interleaved: every width-th iteration
    from lo + lane, else all of [lo, hi)), with the body merging into `builder`'s handles; a
    failure ends the thread's share (the loop's barrier tells the others)."""
    lo, hi, interleaved = share
    stop = L.fresh("db_stop")
    i = L.fresh("i")
    head = (
        f"for (db_i64 {i} = {lo} + g.lane; {i} < {hi}; {i} += g.width)"
        if interleaved
        else f"for (db_i64 {i} = {lo}; {i} < {hi}; ++{i})"
    )
    with L.code.block(""):
        with L.thread_code(f"goto {stop};"):
            with L.code.block(head):
                L.code.emit(f"g.iteration = {i};")
                for plan in plans:
                    plan.prologue(L, i)
                after = L.apply(n.func, env, [builder, i, element(i)])
        L.code.emit(f"{stop}:;")
    L.code.emit("g.iteration = 0;")
    if after != builder:
        raise unsupported("for", "a body that gives another builder than it was given")


def _prefix_sums(L: Lowering, counted: dict) -> None:
    """Each thread's offset (the merges of the threads before it) and the total, for every
    counted appender (`db_grid_scan`)."""
    for plan in counted.values():
        plan.offset, plan.total = grid_scan(L, plan.counter)


def grid_scan(L: Lowering, mine: str) -> tuple[str, str]:
    """(offset, total) of `mine` over the grid, in uniform code (prelude.cuh)."""
    per_thread = L.alloc_raw("db_i64", "g.size")
    per_block = L.alloc_raw("db_i64", "g.blocks")
    off, total = L.fresh("off"), L.fresh("total")
    L.code.emit(f"db_i64 {off}, {total};")
    L.code.emit(f"if (!db_grid_scan(g, {mine}, {per_thread}, {per_block}, {off}, {total})) return;")
    return off, total
