"""Loops and builders for the program generator: `for` over every kind of iterator, builder
bodies (merge, filter, let, nested loops, struct of builders), and the scopes that let a loop
counter index vectors safely. `LoopGen` is a mixin of the generator in `tests.ir.generators`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from daybreak.ir.nodes import (
    Cast,
    Expr,
    For,
    GetField,
    Ident,
    If,
    Iter,
    Lambda,
    Let,
    Literal,
    MakeStruct,
    Merge,
    NewBuilder,
    Op,
    Param,
    Result,
)
from daybreak.ir.ops import merge_op_accepts
from daybreak.ir.types import (
    BOOL,
    I32,
    I64,
    MERGE_OPS,
    Appender,
    Dict,
    DictMerger,
    Func,
    GroupMerger,
    Merger,
    Scalar,
    Scanner,
    Struct,
    Type,
    Vec,
    VecMerger,
    is_scalar_or_struct_of_scalars,
    result_type,
)

from .gen_types import dict_types

# ----------------------------------------------------------------------------------------------
# Scopes: what a sub-expression may refer to.


@dataclass(frozen=True)
class Scope:
    vars: dict  # name -> (type, binding id); the binding id tells shadowed bindings apart
    funcs: dict  # name -> (Func type, binding id) of let-bound lambdas
    # (counter name, counter bid, vector name, vector bid): the counter indexes the vector safely
    facts: tuple = ()

    def bind(self, name: str, ty: Type, bid: int) -> Scope:
        funcs = {k: v for k, v in self.funcs.items() if k != name}
        return replace(self, vars={**self.vars, name: (ty, bid)}, funcs=funcs)

    def bind_func(self, name: str, ty: Func, bid: int) -> Scope:
        vars_ = {k: v for k, v in self.vars.items() if k != name}
        return replace(self, vars=vars_, funcs={**self.funcs, name: (ty, bid)})

    def of_type(self, ty: Type) -> list[str]:
        return [n for n, (t, _) in self.vars.items() if t == ty]

    def holds(self, name: str, bid: int) -> bool:
        return name in self.vars and self.vars[name][1] == bid

    def safe_counters(self, vec: str) -> list[str]:
        """Loop counters that are valid indices of vector `vec` here."""
        return [
            c for c, cb, v, vb in self.facts if v == vec and self.holds(c, cb) and self.holds(v, vb)
        ]


@dataclass
class BuilderSpec:
    """A builder type with what its merges need: a vecmerger's initial vector (by name)."""

    type: Type
    init_vec: tuple | None = None  # (name, bid) of the vecmerger's initial vector
    fields: tuple = field(default_factory=tuple)  # struct of builders: one spec per field


def lit(value, ty: Scalar) -> Literal:
    return Literal(value, ty, ty=ty)


def i64_lit(v: int) -> Literal:
    return lit(v, I64)


def op_node(name: str, ty: Type, *args: Expr) -> Op:
    return Op(name, tuple(args), ty=ty)


def len_of(e: Expr) -> Op:
    return op_node("len", I64, e)


class LoopGen:
    """Loop and builder producers; the host class provides expr, pick, chance, small, fresh,
    bid, draw_type and note (see `_Gen` in tests.ir.generators)."""

    def result_loop(self, t: Type, scope: Scope, depth: int) -> Expr:
        """`result(for(...))` with a builder whose result has type t."""
        specs = builders_for(t) if self.cfg.dicts or not isinstance(t, Dict) else []
        if not specs:
            return self.base(t, scope, depth)
        bt = self.pick(specs)
        lets: list[tuple[str, Expr]] = []
        spec = self._spec(bt, scope, lets, depth)
        inner = scope
        for name, value in lets:
            inner = inner.bind(name, value.ty, spec_bid(spec, name))
        out: Expr = Result(self.builder_expr(spec, inner, depth), ty=t)
        for name, value in reversed(lets):
            out = Let(name, value, out, ty=t)
        return out

    def builder_expr(self, spec: BuilderSpec, scope: Scope, depth: int) -> Expr:
        """A builder of spec's type, filled by a loop (usually), by merges outside any loop, or
        by a loop over a let-bound builder."""
        form = self.pick(["loop", "loop", "loop", "merge", "let"])
        if form == "merge":
            return self.merged_outside(spec, scope, depth)
        if form == "let":
            name = self.fresh("b")
            init = self.new_builder(spec, scope, depth)
            loop = self._for(Ident(name, ty=spec.type), spec, scope, depth)
            return Let(name, init, self.note(loop), ty=spec.type)
        return self.loop(spec, scope, depth)

    def merged_outside(self, spec: BuilderSpec, scope: Scope, depth: int) -> Expr:
        """`merge(appender[T], e)`, outside any loop; a struct of builders field by field, so
        that no builder is built and then dropped."""
        if spec.fields:
            parts = tuple(self.merged_outside(f, scope, depth) for f in spec.fields)
            return MakeStruct(parts, ty=spec.type)
        return self.merge_into(self.new_builder(spec, scope, depth), spec, scope, depth)

    def _spec(self, bt: Type, scope: Scope, lets: list, depth: int) -> BuilderSpec:
        if isinstance(bt, Struct):
            parts = tuple(self._spec(f, scope, lets, depth) for f in bt.fields)
            return BuilderSpec(bt, fields=parts)
        if isinstance(bt, VecMerger):
            vt = Vec(bt.elem)
            names = [n for n in scope.of_type(vt) if n.startswith("p")]
            if names and self.chance(0.5):
                name = self.pick(sorted(names))
                return BuilderSpec(bt, init_vec=(name, scope.vars[name][1]))
            name = self.fresh("t")
            value = self.expr(vt, scope, depth)
            lets.append((name, value))
            return BuilderSpec(bt, init_vec=(name, self.bid()))
        return BuilderSpec(bt)

    def new_builder(self, spec: BuilderSpec, scope: Scope, depth: int) -> Expr:
        bt = spec.type
        if spec.fields:
            return MakeStruct(tuple(self.new_builder(f, scope, depth) for f in spec.fields), ty=bt)
        arg = None
        if isinstance(bt, VecMerger):
            arg = Ident(spec.init_vec[0], ty=Vec(bt.elem))
        elif isinstance(bt, Merger) and self.chance(0.3):
            arg = self.expr(bt.elem, scope, depth)
        elif isinstance(bt, (Appender, DictMerger)) and self.chance(0.2):
            arg = i64_lit(self.small(0, 16))
        return self.note(NewBuilder(bt, arg, ty=bt))

    def loop(self, spec: BuilderSpec, scope: Scope, depth: int) -> Expr:
        """A `for` producing a builder of spec's type; its initial builder may itself be a loop."""
        if depth > 0 and self.chance(0.15):
            builder = self.loop(spec, scope, depth - 1)
        else:
            builder = self.new_builder(spec, scope, depth)
        return self.note(self._for(builder, spec, scope, depth))

    def _for(self, builder: Expr, spec: BuilderSpec, scope: Scope, depth: int) -> For:
        iters, elem, aligned = self.iters(scope, depth)
        bt = spec.type
        bn, i_n, xn = (
            ("b", "i", "x")
            if self.chance(0.5)
            else (self.fresh("b"), self.fresh("n"), self.var_name())
        )
        i_bid = self.bid()
        inner = scope.bind(i_n, I64, i_bid).bind(xn, elem, self.bid())
        inner = replace(inner, vars={k: v for k, v in inner.vars.items() if k != bn})
        facts = [(i_n, i_bid, v, inner.vars[v][1]) for v in aligned if v in inner.vars]
        inner = replace(inner, facts=inner.facts + tuple(facts))
        body = self.body(Ident(bn, ty=bt), spec, inner, depth)
        typed = not self.cfg.untyped_lambda_params or self.chance(0.3)
        named = ((bn, bt), (i_n, I64), (xn, elem))
        params = tuple(Param(n, t if typed else None) for n, t in named)
        lam = Lambda(params, body, ty=Func((bt, I64, elem), bt))
        return For(tuple(iters), builder, lam, ty=bt)

    def iters(self, scope: Scope, depth: int) -> tuple[list[Iter], Type, list[str]]:
        """The iterators of a loop, its element type, and the vectors its counter indexes."""
        vec_vars = sorted(n for n, (t, _) in scope.vars.items() if isinstance(t, Vec))
        params = [n for n in vec_vars if n.startswith("p")]
        kind = self.pick(["plain", "plain", "iter", "range", "zip"])
        if kind == "plain" or (kind in ("iter", "zip") and not vec_vars):
            if vec_vars and self.chance(0.7):
                name = self.pick(vec_vars)
                vt = scope.vars[name][0]
                aligned = params if name in params else [name]
                return [Iter("scalar", Ident(name, ty=vt))], vt.elem, aligned
            if self.cfg.dicts and self.chance(0.25):
                # The entries of a dictionary, sorted by key: the usual group-by pattern.
                dt = self.draw(dict_types(1))
                vt = Vec(Struct((dt.key, dt.value)))
                data = Op("tovec", (self.expr(dt, scope, depth),), ty=vt)
                return [Iter("scalar", data)], vt.elem, []
            vt = Vec(self.draw_type(1))
            return [Iter("scalar", self.expr(vt, scope, depth))], vt.elem, []
        if kind == "iter":
            name = self.pick(vec_vars)
            return [self._strided(name, scope)], scope.vars[name][0].elem, []
        if kind == "range":
            start = i64_lit(self.small(-3, 4))
            if vec_vars and self.chance(0.5):
                name = self.pick(vec_vars)
                end = len_of(Ident(name, ty=scope.vars[name][0]))
            else:
                end = i64_lit(self.small(-2, 8))
            return [Iter("range", None, start, end, i64_lit(self.small(1, 3)))], I64, []
        # zip: params are all one length; other vectors are cut to a common length.
        names = [self.pick(vec_vars) for _ in range(self.small(2, 3))]
        unsafe = self.cfg.allow_runtime_errors and self.chance(0.3)  # lengths may differ
        if (unsafe or all(n in params for n in names)) and self.chance(0.6):
            its = [Iter("scalar", Ident(n, ty=scope.vars[n][0])) for n in names]
            aligned = params
        else:
            common = len_of(Ident(names[0], ty=scope.vars[names[0]][0]))
            for n in names[1:]:
                common = op_node("min", I64, common, len_of(Ident(n, ty=scope.vars[n][0])))
            its = [
                Iter("scalar", Ident(n, ty=scope.vars[n][0]), i64_lit(0), common, i64_lit(1))
                for n in names
            ]
            aligned = []
        if self.chance(0.3):
            count = its[0].end or len_of(its[0].data)
            its.append(Iter("range", None, i64_lit(0), count, i64_lit(1)))
        elems = [I64 if it.kind == "range" else it.data.ty.elem for it in its]
        return its, Struct(tuple(elems)), aligned

    def _strided(self, name: str, scope: Scope) -> Iter:
        vec = Ident(name, ty=scope.vars[name][0])
        n = len_of(vec)
        if self.cfg.allow_runtime_errors and self.chance(0.3):
            # Bounds that may fall outside the vector, and a stride that may not be positive.
            start, end = i64_lit(self.small(-1, 3)), i64_lit(self.small(0, 6))
            return Iter("scalar", vec, start, end, i64_lit(self.small(0, 2)))
        if self.chance(0.5):
            start, end = op_node("min", I64, i64_lit(self.small(0, 3)), n), n
        else:
            start, end = i64_lit(0), op_node("min", I64, i64_lit(self.small(0, 6)), n)
        return Iter("scalar", vec, start, end, i64_lit(self.small(1, 3)))

    def body(self, b: Expr, spec: BuilderSpec, scope: Scope, depth: int) -> Expr:
        """A loop body: returns builder `b` with values merged in (each path uses b once)."""
        leafy = depth <= 0 or self.nodes >= self.cfg.max_nodes
        forms = [self.merge_into, self.merge_into, self.keep] + (
            []
            if leafy
            else [
                self.merge_into,
                self.filter,
                self.let_in_body,
                self.nested_loop,
                self.nested_loop,
                self.merge_twice,
            ]
        )
        return self.note(self.pick(forms)(b, spec, scope, depth - 1))

    def keep(self, b: Expr, spec: BuilderSpec, scope: Scope, depth: int) -> Expr:
        return b

    def merge_into(self, b: Expr, spec: BuilderSpec, scope: Scope, depth: int) -> Expr:
        if spec.fields:
            parts = tuple(
                self.body(GetField(b, k, ty=f.type), f, scope, depth)
                for k, f in enumerate(spec.fields)
            )
            return MakeStruct(parts, ty=spec.type)
        bt = spec.type
        if isinstance(bt, (DictMerger, GroupMerger)):
            value = MakeStruct(
                (self.small_key(bt.key, scope, depth), self.expr(bt.value, scope, depth)),
                ty=bt.merge_type,
            )
        elif isinstance(bt, VecMerger):
            return self._vecmerge(b, spec, scope, depth)
        else:
            value = self.expr(bt.merge_type, scope, depth)
        return Merge(b, value, ty=bt)

    def _vecmerge(self, b: Expr, spec: BuilderSpec, scope: Scope, depth: int) -> Expr:
        bt = spec.type
        name, bid = spec.init_vec
        vec = Ident(name, ty=Vec(bt.elem))
        value = self.expr(bt.elem, scope, depth)
        counters = scope.safe_counters(name) if scope.holds(name, bid) else []
        if counters and self.chance(0.6):
            pair = MakeStruct((Ident(self.pick(sorted(counters)), ty=I64), value), ty=bt.merge_type)
            return Merge(b, pair, ty=bt)
        if self.cfg.allow_runtime_errors and self.chance(0.3):
            raw = MakeStruct((self.expr(I64, scope, depth), value), ty=bt.merge_type)
            return Merge(b, raw, ty=bt)
        idx = safe_index(self.expr(I64, scope, depth), vec)
        merged = Merge(b, MakeStruct((idx, value), ty=bt.merge_type), ty=bt)
        return If(op_node(">", BOOL, len_of(vec), i64_lit(0)), merged, b, ty=bt)

    def filter(self, b: Expr, spec: BuilderSpec, scope: Scope, depth: int) -> Expr:
        cond = self.expr(BOOL, scope, depth)
        then = self.body(b, spec, scope, depth)
        other = b if self.chance(0.7) else self.body(b, spec, scope, depth)
        return If(cond, then, other, ty=spec.type)

    def let_in_body(self, b: Expr, spec: BuilderSpec, scope: Scope, depth: int) -> Expr:
        u = self.draw_type(1)
        value = self.expr(u, scope, depth)
        name = self.shadow_or_fresh(scope)
        return Let(
            name, value, self.body(b, spec, scope.bind(name, u, self.bid()), depth), ty=spec.type
        )

    def nested_loop(self, b: Expr, spec: BuilderSpec, scope: Scope, depth: int) -> Expr:
        return self._for(b, spec, scope, depth)

    def merge_twice(self, b: Expr, spec: BuilderSpec, scope: Scope, depth: int) -> Expr:
        return self.merge_into(self.merge_into(b, spec, scope, depth), spec, scope, depth)

    def small_key(self, t: Type, scope: Scope, depth: int) -> Expr:
        """A dictionary key drawn from a small domain, so that keys repeat."""
        if isinstance(t, Struct):
            return MakeStruct(tuple(self.small_key(f, scope, depth) for f in t.fields), ty=t)
        if self.chance(0.3):
            return self.expr(t, scope, depth)
        if t.is_int:
            return op_node("%", t, self.expr(t, scope, depth), lit(self.small(2, 4), t))
        if t == BOOL:
            return self.expr(BOOL, scope, depth)
        return Cast(t, op_node("%", I32, self.expr(I32, scope, depth), lit(3, I32)), ty=t)


def spec_bid(spec: BuilderSpec, name: str) -> int:
    """The binding id a spec recorded for the let-bound initial vector `name`."""
    if spec.init_vec and spec.init_vec[0] == name:
        return spec.init_vec[1]
    for f in spec.fields:
        try:
            return spec_bid(f, name)
        except KeyError:
            pass
    raise KeyError(name)


def safe_index(raw: Expr, vec: Expr) -> Expr:
    """((i64(raw) % len(v)) + len(v)) % len(v): in range whenever len(v) > 0."""
    i = raw if raw.ty == I64 else Cast(I64, raw, ty=I64)
    n = len_of(vec)
    return op_node("%", I64, op_node("+", I64, op_node("%", I64, i, n), n), n)


def dict_value_ok(t: Type) -> bool:
    return is_scalar_or_struct_of_scalars(t) or isinstance(t, Vec)


def is_entry_struct(t: Type, dicts: bool) -> bool:
    """Is t the entry type {K, V} of a dictionary the generator can build?"""
    return (
        dicts
        and isinstance(t, Struct)
        and len(t.fields) == 2
        and is_scalar_or_struct_of_scalars(t.fields[0])
        and dict_value_ok(t.fields[1])
    )


def builders_for(t: Type) -> list[Type]:
    """Builder types (or structs of them) whose result has type t."""
    out: list[Type] = []
    if isinstance(t, Vec):
        out.append(Appender(t.elem))
        if is_scalar_or_struct_of_scalars(t.elem):
            out += [VecMerger(t.elem, op) for op in MERGE_OPS if merge_op_accepts(op, t.elem)]
        if isinstance(t.elem, Scalar):
            out += [Scanner(t.elem, op) for op in MERGE_OPS if merge_op_accepts(op, t.elem)]
    if is_scalar_or_struct_of_scalars(t):
        out += [Merger(t, op) for op in MERGE_OPS if merge_op_accepts(op, t)]
    if isinstance(t, Dict) and is_scalar_or_struct_of_scalars(t.key):
        if is_scalar_or_struct_of_scalars(t.value):
            out += [
                DictMerger(t.key, t.value, op) for op in MERGE_OPS if merge_op_accepts(op, t.value)
            ]
        if isinstance(t.value, Vec):
            out.append(GroupMerger(t.key, t.value.elem))
    if isinstance(t, Struct) and t.fields and not is_scalar_or_struct_of_scalars(t):
        per_field = [builders_for(f) for f in t.fields]
        leaves = [[b for b in bs if not isinstance(b, Struct)] for bs in per_field]
        if all(leaves):
            out.append(Struct(tuple(bs[0] for bs in leaves)))
    assert all(result_type(b) == t for b in out)
    return out
