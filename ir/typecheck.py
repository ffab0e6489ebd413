"""Type inference and verification.

`typecheck(program)` returns a copy of the program in which every expression carries its type
(`node.ty`), every lambda parameter its type and every builder constructor its full builder
type — or raises `TypeCheckError` at the offending node, naming the types involved:

    >>> from daybreak.ir.parser import parse
    >>> typecheck(parse("|v: vec[i32]| result(for(v, merger[i32,+], |b, i, x| merge(b, 1.5)))"))
    Traceback (most recent call last):
    ...
    daybreak.ir.errors.TypeCheckError: 1:54: cannot merge f64 into merger[i32,+]
    ...

How: one walk over the tree builds the typed copy, giving every unknown type (an untyped lambda
parameter, `appender` without an element type, `[]`) a type variable, and unifying as it goes.
Rules that must see a type's shape (is `v` a vec or a dict?) and meet a variable are deferred
and retried once the walk has learnt more, until nothing changes. A last walk replaces the
variables by what they were bound to; a variable left unbound is an error ("cannot infer").
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace

from . import nodes as N
from .errors import Loc, TypeCheckError
from .ops import OPS, NeedsInference, OpTypeError, Unifier, merge_op_accepts
from .types import (
    BOOL,
    I32,
    I64,
    Appender,
    BuilderType,
    Dict,
    DictMerger,
    Func,
    GroupMerger,
    Merger,
    Scalar,
    Struct,
    Type,
    Unknown,
    Vec,
    VecMerger,
    is_scalar_or_struct_of_scalars,
    result_type,
)


@dataclass(frozen=True, slots=True)
class TVar(Type):
    """A type variable of one inference run."""

    n: int

    def __str__(self) -> str:
        return "?"  # as users write an unknown type


def typecheck(program: N.Program) -> N.Program:
    """Infer and check the types of `program`; return the typed copy."""
    with N.deep_recursion():
        return _Checker().check_program(program)


def typecheck_expr(expr: N.Expr, env: dict[str, Type] | None = None) -> N.Expr:
    """Type a lone expression whose free names have the types in `env`."""
    checker = _Checker()
    with N.deep_recursion():
        typed = checker.infer(expr, dict(env or {}))
        checker.solve()
        return checker.finish(typed)


class _Checker(Unifier):
    def __init__(self):
        self.subst: dict[int, Type] = {}
        self.counter = itertools.count()
        self.pending: list[tuple[Callable[[], Type], TVar, N.Expr, str]] = []

    # -- unification --------------------------------------------------------------------------

    def fresh(self) -> TVar:
        return TVar(next(self.counter))

    def shallow(self, t: Type) -> Type:
        while isinstance(t, TVar) and t.n in self.subst:
            t = self.subst[t.n]
        return t

    def resolve(self, t: Type) -> Type:
        t = self.shallow(t)
        if isinstance(t, (TVar, Scalar)):
            return t
        return _rebuild(t, self.resolve)

    def is_unknown(self, t: Type) -> bool:
        return isinstance(self.shallow(t), TVar)

    def instantiate(self, t: Type) -> Type:
        """Replace every `?` in a written type by a fresh variable."""
        if isinstance(t, Unknown):
            return self.fresh()
        if isinstance(t, Scalar):
            return t
        return _rebuild(t, self.instantiate)

    def unify(self, a: Type, b: Type, what: str) -> Type:
        if not self._unify(a, b):
            ra, rb = self.resolve(a), self.resolve(b)
            raise OpTypeError(f"{what} have different types: {_show(ra)} and {_show(rb)}")
        return self.shallow(a)

    def _unify(self, a: Type, b: Type) -> bool:
        a, b = self.shallow(a), self.shallow(b)
        if a == b:
            return True
        if isinstance(a, TVar) or isinstance(b, TVar):
            var, other = (a, b) if isinstance(a, TVar) else (b, a)
            if self._occurs(var, other):
                return False
            self.subst[var.n] = other
            return True
        if type(a) is not type(b) or isinstance(a, Scalar):
            return False
        if getattr(a, "op", None) != getattr(b, "op", None):
            return False
        ca, cb = _components(a), _components(b)
        return len(ca) == len(cb) and all(self._unify(x, y) for x, y in zip(ca, cb, strict=True))

    def _occurs(self, var: TVar, t: Type) -> bool:
        t = self.shallow(t)
        if t == var:
            return True
        return any(self._occurs(var, c) for c in _components(t))

    def expect(self, actual: Type, expected: Type, node: N.Expr, message: str) -> None:
        """Unify, or fail at `node` with `message` formatted with both (resolved) types."""
        if not self._unify(actual, expected):
            got, want = _show(self.resolve(actual)), _show(self.resolve(expected))
            raise TypeCheckError(message.format(got=got, want=want), node.loc)

    # -- deferred rules -----------------------------------------------------------------------

    def rule(self, compute: Callable[[], Type], node: N.Expr, what: str) -> Type:
        """Run a type rule now, or later if it needs a type not yet known."""
        try:
            return self._run(compute, node)
        except NeedsInference:
            var = self.fresh()
            self.pending.append((compute, var, node, what))
            return var

    def _run(self, compute: Callable[[], Type], node: N.Expr) -> Type:
        try:
            return compute()
        except OpTypeError as e:
            raise TypeCheckError(str(e), node.loc) from None

    def solve(self) -> None:
        while self.pending:
            progress = False
            for item in list(self.pending):
                compute, var, node, _ = item
                try:
                    t = self._run(compute, node)
                except NeedsInference:
                    continue
                self.pending.remove(item)
                self.expect(var, t, node, "conflicting types {got} and {want}")
                progress = True
            if not progress:
                _, _, node, what = self.pending[0]
                raise TypeCheckError(
                    f"cannot infer the type of {what}; add a type annotation", node.loc
                )

    # -- the walk -------------------------------------------------------------------------------

    def check_program(self, program: N.Program) -> N.Program:
        env: dict[str, Type] = {}
        params = []
        for p in program.params:
            if p.type is None or _has_unknown(p.type):
                raise TypeCheckError(f"program parameter '{p.name}' needs a complete type")
            if not p.type.is_value:
                raise TypeCheckError(f"program parameter '{p.name}' must be a value, not {p.type}")
            _check_value_type(p.type, None, f"parameter '{p.name}'")
            env[p.name] = p.type
            params.append(p)
        body = self.infer(program.body, env)
        self.solve()
        body = self.finish(body)
        if not body.ty.is_value:
            raise TypeCheckError(f"a program must return a value, not {_show(body.ty)}", body.loc)
        return N.Program(tuple(params), body)

    def infer(self, node: N.Expr, env: dict[str, Type]) -> N.Expr:
        handler = _HANDLERS.get(type(node))
        if handler is None:
            raise TypeCheckError(f"unknown node {type(node).__name__}", node.loc)
        return handler(self, node, env)

    def infer_lambda(self, lam: N.Expr, env, expected: list[Type], role: str) -> N.Lambda:
        if not isinstance(lam, N.Lambda):
            raise TypeCheckError(f"{role} must be a lambda", lam.loc)
        if len(lam.params) != len(expected):
            raise TypeCheckError(
                f"{role} must take {len(expected)} parameters, not {len(lam.params)}", lam.loc
            )
        inner = dict(env)
        for p, want in zip(lam.params, expected, strict=True):
            if p.type is not None:
                declared = self.instantiate(p.type)
                self.expect(
                    declared,
                    want,
                    lam,
                    f"parameter '{p.name}' is declared {{got}} but receives {{want}}",
                )
            inner[p.name] = want
        body = self.infer(lam.body, inner)
        return replace(lam, body=body, ty=Func(tuple(expected), body.ty))

    # -- resolution -----------------------------------------------------------------------------

    def finish(self, node: N.Expr) -> N.Expr:
        """Replace type variables by their solutions, everywhere; check what needs concrete
        types now that they are known."""
        ty = self.resolve(node.ty)
        if _has_var(ty):
            raise TypeCheckError(
                f"cannot infer the type of this expression (it is {_show(ty)})", node.loc
            )
        out = N.map_children(node, self.finish)
        changes: dict = {"ty": ty}
        if isinstance(out, N.Lambda):
            changes["params"] = tuple(
                N.Param(p.name, t) for p, t in zip(out.params, ty.params, strict=True)
            )
        elif isinstance(out, N.NewBuilder):
            changes["type"] = ty
            _check_builder(ty, node)
        elif isinstance(out, N.Ascribe):
            changes["type"] = ty
        elif isinstance(out, N.CUDF):
            changes["ret"] = ty
        if isinstance(ty, (Vec, Dict, Struct)) and not ty.is_builder:
            _check_value_type(ty, node, "this expression")
        return replace(out, **changes)


# ----------------------------------------------------------------------------------------------
# One handler per node kind.


def _literal(c: _Checker, n: N.Literal, env) -> N.Expr:
    return replace(n, ty=n.type)


def _ident(c: _Checker, n: N.Ident, env) -> N.Expr:
    if n.name not in env:
        raise TypeCheckError(f"undefined name '{n.name}'", n.loc)
    return replace(n, ty=env[n.name])


def _make_vector(c: _Checker, n: N.MakeVector, env) -> N.Expr:
    elems = tuple(c.infer(e, env) for e in n.elems)
    elem = c.fresh()
    for e in elems:
        c.expect(e.ty, elem, e, "vector elements have different types: {want} and {got}")
    return replace(n, elems=elems, ty=Vec(elem))


def _make_struct(c: _Checker, n: N.MakeStruct, env) -> N.Expr:
    elems = tuple(c.infer(e, env) for e in n.elems)
    return replace(n, elems=elems, ty=Struct(tuple(e.ty for e in elems)))


def _get_field(c: _Checker, n: N.GetField, env) -> N.Expr:
    expr = c.infer(n.expr, env)

    def rule() -> Type:
        t = c.shallow(expr.ty)
        if isinstance(t, TVar):
            raise NeedsInference
        if not isinstance(t, Struct):
            raise OpTypeError(f"field access .${n.index} needs a struct, not {_show(c.resolve(t))}")
        if not 0 <= n.index < len(t.fields):
            raise OpTypeError(f"{_show(c.resolve(t))} has no field ${n.index}")
        return t.fields[n.index]

    return replace(n, expr=expr, ty=c.rule(rule, n, f"field ${n.index}"))


def _op(c: _Checker, n: N.Op, env) -> N.Expr:
    decl = OPS.get(n.op)
    if decl is None:
        raise TypeCheckError(f"unknown operator '{n.op}'", n.loc)
    if len(n.args) != decl.arity:
        raise TypeCheckError(
            f"{_op_name(n.op)} takes {decl.arity} arguments, not {len(n.args)}", n.loc
        )
    args = tuple(c.infer(a, env) for a in n.args)
    types = [a.ty for a in args]

    def rule() -> Type:
        try:
            return decl.type_rule(c, types)
        except OpTypeError as e:
            raise OpTypeError(f"{_op_name(n.op)}: {e}") from None

    return replace(n, args=args, ty=c.rule(rule, n, f"the arguments of {_op_name(n.op)}"))


def _cast(c: _Checker, n: N.Cast, env) -> N.Expr:
    expr = c.infer(n.expr, env)

    def rule() -> Type:
        t = c.shallow(expr.ty)
        if isinstance(t, TVar):
            raise NeedsInference
        if not isinstance(t, Scalar):
            raise OpTypeError(
                f"cannot cast {_show(c.resolve(t))} to {n.to}: casts are between scalars"
            )
        return n.to

    return replace(n, expr=expr, ty=c.rule(rule, n, "the cast operand"))


def _ascribe(c: _Checker, n: N.Ascribe, env) -> N.Expr:
    expr = c.infer(n.expr, env)
    declared = c.instantiate(n.type)
    c.expect(expr.ty, declared, n, "expression has type {got} but is declared {want}")
    return replace(n, expr=expr, ty=declared)


def _let(c: _Checker, n: N.Let, env) -> N.Expr:
    value = c.infer(n.value, env)
    body = c.infer(n.body, {**env, n.name: value.ty})
    return replace(n, value=value, body=body, ty=body.ty)


def _if(c: _Checker, n: N.If, env) -> N.Expr:
    cond = c.infer(n.cond, env)
    c.expect(cond.ty, BOOL, cond, "the condition of if must be bool, not {got}")
    then, else_ = c.infer(n.then, env), c.infer(n.else_, env)
    c.expect(else_.ty, then.ty, n, "the branches of if have different types: {want} and {got}")
    return replace(n, cond=cond, then=then, else_=else_, ty=then.ty)


def _lambda(c: _Checker, n: N.Lambda, env) -> N.Expr:
    # A lambda in value position (let-bound, or applied): its parameter types come from their
    # declarations or from the application that uses it.
    params = [c.instantiate(p.type) if p.type is not None else c.fresh() for p in n.params]
    return c.infer_lambda(n, env, params, "this function")


def _apply(c: _Checker, n: N.Apply, env) -> N.Expr:
    func = c.infer(n.func, env)
    args = tuple(c.infer(a, env) for a in n.args)
    ft = c.shallow(func.ty)
    if not isinstance(ft, Func):
        raise TypeCheckError(f"only functions can be applied, not {_show(c.resolve(ft))}", n.loc)
    if len(ft.params) != len(args):
        raise TypeCheckError(
            f"the function takes {len(ft.params)} arguments, not {len(args)}", n.loc
        )
    for i, (a, p) in enumerate(zip(args, ft.params, strict=True)):
        c.expect(a.ty, p, a, f"argument {i + 1} has type {{got}} but the function takes {{want}}")
    return replace(n, func=func, args=args, ty=ft.ret)


def _vector_elem(c: _Checker, t: Type, what: str) -> Callable[[], Type]:
    def rule() -> Type:
        r = c.shallow(t)
        if isinstance(r, TVar):
            raise NeedsInference
        if not isinstance(r, Vec):
            raise OpTypeError(f"{what} must be a vector, not {_show(c.resolve(r))}")
        return r.elem

    return rule


def _for(c: _Checker, n: N.For, env) -> N.Expr:
    iters, elems = [], []
    for it in n.iters:
        typed = _iter(c, it, env, n)
        iters.append(typed)
        if typed.kind == "range":
            elems.append(I64)
        else:
            elems.append(
                c.rule(_vector_elem(c, typed.data.ty, "the data of for"), n, "the loop data")
            )
    elem = elems[0] if len(elems) == 1 else Struct(tuple(elems))
    builder = c.infer(n.builder, env)
    bt = builder.ty
    c.rule(_builder_check(c, bt, "the builder of for"), builder, "the builder of for")
    func = c.infer_lambda(n.func, env, [bt, I64, elem], "the function of for")
    c.expect(func.body.ty, bt, func.body, "the loop body returns {got} but the builder is {want}")
    return replace(n, iters=tuple(iters), builder=builder, func=func, ty=bt)


def _iter(c: _Checker, it: N.Iter, env, loop: N.For) -> N.Iter:
    parts = {}
    if it.data is not None:
        parts["data"] = c.infer(it.data, env)
    for name in ("start", "end", "stride"):
        e = getattr(it, name)
        if e is not None:
            typed = c.infer(e, env)
            c.expect(typed.ty, I64, typed, f"the {name} of an iterator must be i64, not {{got}}")
            parts[name] = typed
    return replace(it, **parts)


def _builder_check(c: _Checker, t: Type, what: str) -> Callable[[], Type]:
    def rule() -> Type:
        r = c.shallow(t)
        if isinstance(r, TVar):
            raise NeedsInference
        if not r.is_builder:
            raise OpTypeError(f"{what} must be a builder, not {_show(c.resolve(r))}")
        return r

    return rule


def _merge(c: _Checker, n: N.Merge, env) -> N.Expr:
    builder = c.infer(n.builder, env)
    value = c.infer(n.value, env)

    def rule() -> Type:
        b = c.shallow(builder.ty)
        if isinstance(b, TVar):
            raise NeedsInference
        if not isinstance(b, BuilderType):
            raise OpTypeError(f"merge needs a builder, not {_show(c.resolve(b))}")
        if not c._unify(value.ty, b.merge_type):
            v, bb = _show(c.resolve(value.ty)), _show(c.resolve(b))
            raise OpTypeError(f"cannot merge {v} into {bb}")
        return b

    return replace(n, builder=builder, value=value, ty=c.rule(rule, n, "the builder of merge"))


def _result(c: _Checker, n: N.Result, env) -> N.Expr:
    builder = c.infer(n.builder, env)

    def rule() -> Type:
        b = c.shallow(builder.ty)
        if isinstance(b, TVar):
            raise NeedsInference
        if isinstance(b, Struct) and any(isinstance(c.shallow(f), TVar) for f in b.fields):
            raise NeedsInference
        b = c.resolve(b)
        if not b.is_builder:
            raise OpTypeError(f"result needs a builder, not {_show(b)}")
        return result_type(b)

    return replace(n, builder=builder, ty=c.rule(rule, n, "the builder of result"))


# What the optional argument of each builder constructor means.
_BUILDER_ARG: dict[type, Callable[[BuilderType], Type | None]] = {
    Appender: lambda t: I64,  # capacity hint
    Merger: lambda t: t.elem,  # initial value
    DictMerger: lambda t: I64,  # capacity hint
    GroupMerger: lambda t: None,  # takes none
    VecMerger: lambda t: Vec(t.elem),  # initial vector (required)
}


def _new_builder(c: _Checker, n: N.NewBuilder, env) -> N.Expr:
    bt = c.instantiate(n.type)
    want = _BUILDER_ARG[type(n.type)](bt)
    arg = None
    if n.arg is not None:
        if want is None:
            raise TypeCheckError(f"{n.type} takes no argument", n.loc)
        arg = c.infer(n.arg, env)
        c.expect(arg.ty, want, arg, f"the argument of {n.type} must be {{want}}, not {{got}}")
    elif isinstance(n.type, VecMerger):
        raise TypeCheckError("vecmerger needs its initial vector: vecmerger[T,op](v)", n.loc)
    return replace(n, arg=arg, ty=bt)


def _iterate(c: _Checker, n: N.Iterate, env) -> N.Expr:
    initial = c.infer(n.initial, env)
    func = c.infer_lambda(n.func, env, [initial.ty], "the function of iterate")
    c.expect(
        func.body.ty,
        Struct((initial.ty, BOOL)),
        func.body,
        "the function of iterate must return {want}, not {got}",
    )
    return replace(n, initial=initial, func=func, ty=initial.ty)


def _sort(c: _Checker, n: N.Sort, env) -> N.Expr:
    data = c.infer(n.data, env)
    elem = c.rule(_vector_elem(c, data.ty, "the data of sort"), n, "the data of sort")
    func = c.infer_lambda(n.func, env, [elem, elem], "the comparator of sort")
    c.expect(func.body.ty, I32, func.body, "the comparator of sort must return i32, not {got}")
    return replace(n, data=data, func=func, ty=data.ty)


def _cudf(c: _Checker, n: N.CUDF, env) -> N.Expr:
    args = tuple(c.infer(a, env) for a in n.args)
    if _has_unknown(n.ret):
        raise TypeCheckError(f"cudf[{n.name}, ...] needs a complete return type", n.loc)
    return replace(n, args=args, ty=n.ret)


_HANDLERS: dict[type, Callable] = {
    N.Literal: _literal,
    N.Ident: _ident,
    N.MakeVector: _make_vector,
    N.MakeStruct: _make_struct,
    N.GetField: _get_field,
    N.Op: _op,
    N.Cast: _cast,
    N.Ascribe: _ascribe,
    N.Let: _let,
    N.If: _if,
    N.Lambda: _lambda,
    N.Apply: _apply,
    N.For: _for,
    N.Merge: _merge,
    N.Result: _result,
    N.NewBuilder: _new_builder,
    N.Iterate: _iterate,
    N.Sort: _sort,
    N.CUDF: _cudf,
}


# ----------------------------------------------------------------------------------------------
# Checks on concrete types.


def _check_builder(t: Type, node: N.Expr) -> None:
    if isinstance(t, (Merger, VecMerger)):
        held, what = t.elem, str(t)
    elif isinstance(t, DictMerger):
        held, what = t.value, str(t)
        _check_value_type(t.key, node, f"the key of {t}")
    elif isinstance(t, GroupMerger):
        _check_value_type(t.key, node, f"the key of {t}")
        _check_value_type(t.value, node, f"the value of {t}")
        return
    else:
        _check_value_type(t.elem, node, f"the element of {t}")
        return
    if not is_scalar_or_struct_of_scalars(held):
        raise TypeCheckError(
            f"{what} must hold a scalar or a struct of scalars, not {held}", node.loc
        )
    if not merge_op_accepts(t.op, held):
        raise TypeCheckError(f"{what}: {t.op} is not defined on {held}", node.loc)


def _check_value_type(t: Type, node: N.Expr | None, what: str) -> None:
    """Vectors, dicts and structs of values hold values (builders are not values)."""
    loc: Loc | None = node.loc if node is not None else None
    if isinstance(t, Vec | Dict):
        for part in _components(t):
            if part.is_builder or isinstance(part, Func):
                raise TypeCheckError(
                    f"{what}: {t} holds a builder or function, which are not values", loc
                )
            _check_value_type(part, node, what)
    elif isinstance(t, Struct) and not t.is_builder:
        for f in t.fields:
            if f.is_builder:
                raise TypeCheckError(f"{what}: {t} mixes builders and values", loc)
            _check_value_type(f, node, what)


# ----------------------------------------------------------------------------------------------
# Helpers.


def _components(t: Type) -> tuple[Type, ...]:
    if isinstance(t, (Vec, Appender, Merger, VecMerger)):
        return (t.elem,)
    if isinstance(t, (Dict, DictMerger, GroupMerger)):
        return (t.key, t.value)
    if isinstance(t, Struct):
        return t.fields
    if isinstance(t, Func):
        return (*t.params, t.ret)
    return ()


def _rebuild(t: Type, fn: Callable[[Type], Type]) -> Type:
    """`t` with `fn` applied to each component type."""
    if isinstance(t, Struct):
        return Struct(tuple(fn(f) for f in t.fields))
    if isinstance(t, Func):
        return Func(tuple(fn(p) for p in t.params), fn(t.ret))
    parts = {}
    for name in ("elem", "key", "value"):
        if hasattr(t, name):
            parts[name] = fn(getattr(t, name))
    return replace(t, **parts) if parts else t


def _has_var(t: Type) -> bool:
    return isinstance(t, TVar) or any(_has_var(x) for x in _components(t))


def _has_unknown(t: Type) -> bool:
    return isinstance(t, Unknown) or any(_has_unknown(x) for x in _components(t))


def _show(t: Type) -> str:
    """A type for an error message (unresolved variables print as `?`)."""
    return str(t)


def _op_name(op: str) -> str:
    decl = OPS.get(op)
    if decl is not None and decl.form != "call":
        return f"'{decl.symbol}'"
    return op
