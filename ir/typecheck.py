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
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from . import nodes as N
from .dispatch import BuilderTable, NodeTable
from .errors import Loc, TypeCheckError
from .ops import OPS, NeedsInference, OpTypeError, Unifier, merge_op_accepts
from .trampoline import Walk, trampoline
from .types import (
    BOOL,
    I32,
    I64,
    MAX_TYPE_DEPTH,
    Appender,
    BuilderType,
    Dict,
    DictMerger,
    Func,
    GroupMerger,
    Merger,
    Scalar,
    Scanner,
    Struct,
    Type,
    Unknown,
    Vec,
    VecMerger,
    is_scalar_or_struct_of_scalars,
    result_type,
    type_depth,
)


@dataclass(frozen=True, slots=True)
class TVar(Type):
    """A type variable of one inference run."""

    n: int

    def __str__(self) -> str:
        return "?"  # as users write an unknown type


def typecheck(program: N.Program) -> N.Program:
    """Infer and check the types of `program`; return the typed copy."""
    return _Checker().check_program(program)


def typecheck_expr(expr: N.Expr, env: dict[str, Type] | None = None) -> N.Expr:
    """Type a lone expression whose free names have the types in `env`."""
    checker = _Checker()
    typed = trampoline(checker.infer(expr, dict(env or {})))
    checker.solve()
    return trampoline(checker.finish(typed))


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

    def bounded(self, ty: Type, node: N.Expr) -> Type:
        """`ty`, built at `node`, unless it nests deeper than types may (types.py says why);
        checked where a node builds a type out of others, so no deeper one ever exists."""
        if type(ty) is not Scalar and type_depth(ty, self.shallow) > MAX_TYPE_DEPTH:
            raise TypeCheckError(
                f"the type of this expression nests more than {MAX_TYPE_DEPTH} levels deep",
                node.loc,
            )
        return ty

    def expect(self, actual: Type, expected: Type, node: N.Expr, message: str) -> None:
        """Unify, or fail at `node` with `message`, its `{got}` and `{want}` replaced by the
        two (resolved) types. Only those two are replaced: the rest of the message may hold
        braces of its own (`appender[{i64,f64}]`)."""
        if not self._unify(actual, expected):
            types = {"got": _show(self.resolve(actual)), "want": _show(self.resolve(expected))}
            text = _PLACEHOLDER.sub(lambda m: types[m[1]], message)
            raise TypeCheckError(text, node.loc)

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
                self.expect(var, self.bounded(t, node), node, "conflicting types {got} and {want}")
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
            if p.type is not None and type_depth(p.type) > MAX_TYPE_DEPTH:
                raise TypeCheckError(
                    f"the type of parameter '{p.name}' nests more than {MAX_TYPE_DEPTH} levels "
                    "deep", p.loc
                )  # fmt: skip
            if p.type is None or _has_unknown(p.type):
                raise TypeCheckError(f"program parameter '{p.name}' needs a complete type", p.loc)
            if not p.type.is_value:
                raise TypeCheckError(
                    f"program parameter '{p.name}' must be a value, not {p.type}", p.loc
                )
            _check_value_type(p.type, p.loc, f"parameter '{p.name}'")
            env[p.name] = p.type
            params.append(p)
        body = trampoline(self.infer(program.body, env))
        self.solve()
        body = trampoline(self.finish(body))
        if not body.ty.is_value:
            raise TypeCheckError(f"a program must return a value, not {_show(body.ty)}", body.loc)
        return N.Program(tuple(params), body)

    def infer(self, node: N.Expr, env: dict[str, Type]) -> Walk[N.Expr]:
        """The typed copy of `node` (a walk for `trampoline`, or the copy itself for a leaf).

        `env` maps the names in scope to their types; binders add theirs while their scope
        is checked and take them out after (`_bound`), so a long chain of lets does not copy
        the scope at every let."""
        handler = _TYPE_RULES.get(type(node))
        if handler is None:
            raise TypeCheckError(f"unknown node {type(node).__name__}", node.loc)
        return handler(self, node, env)

    def infer_all(self, nodes, env) -> Walk[tuple[N.Expr, ...]]:
        typed = []
        for node in nodes:
            typed.append((yield self.infer(node, env)))
        return tuple(typed)

    def infer_lambda(self, lam: N.Expr, env, expected: list[Type], role: str) -> Walk[N.Lambda]:
        if not isinstance(lam, N.Lambda):
            raise TypeCheckError(f"{role} must be a lambda", lam.loc)
        if len(lam.params) != len(expected):
            raise TypeCheckError(
                f"{role} must take {len(expected)} parameters, not {len(lam.params)}", lam.loc
            )
        for p, want in zip(lam.params, expected, strict=True):
            if p.type is not None:
                declared = self.instantiate(p.type)
                self.expect(
                    declared,
                    want,
                    lam,
                    f"parameter '{p.name}' is declared {{got}} but receives {{want}}",
                )
        names = [p.name for p in lam.params]
        with _bound(env, names, expected):
            body = yield self.infer(lam.body, env)
        return N.with_fields(lam, body=body, ty=Func(tuple(expected), body.ty))

    # -- resolution -----------------------------------------------------------------------------

    def finish(self, node: N.Expr) -> Walk[N.Expr] | N.Expr:
        """Replace type variables by their solutions, everywhere; check what needs concrete
        types now that they are known. Whether a type is known is checked at a parent first,
        what a type may hold at its children first (the innermost node that built a wrong
        value is the one to show). A leaf is finished at once; other nodes give a walk."""
        ty = self.resolve(node.ty)
        if _has_var(ty):
            raise TypeCheckError(
                f"cannot infer the type of this expression (it is {_show(ty)})", node.loc
            )
        kids = node.children()
        if not kids:
            return N.with_fields(node, **_finished_fields(node, ty))
        return self._finish_kids(node, kids, ty)

    def _finish_kids(self, node: N.Expr, kids, ty: Type) -> Walk[N.Expr]:
        finished = []
        for kid in kids:
            finished.append((yield self.finish(kid)))
        return N.rebuild(node, finished, **_finished_fields(node, ty))


def _finished_fields(node: N.Expr, ty: Type) -> dict:
    """The fields of `node` that its solved type `ty` fills in, once `ty` is checked."""
    changes: dict = {"ty": ty}
    if isinstance(node, N.Lambda):
        changes["params"] = tuple(
            replace(p, type=t) for p, t in zip(node.params, ty.params, strict=True)
        )
    elif isinstance(node, N.NewBuilder):
        changes["type"] = ty
        _check_builder(ty, node)
    elif isinstance(node, N.Ascribe):
        changes["type"] = ty
    elif isinstance(node, N.CUDF):
        changes["ret"] = ty
    if isinstance(ty, (Vec, Dict, Struct)) and not ty.is_builder:
        _check_value_type(ty, node.loc, "this expression")
    return changes


# ----------------------------------------------------------------------------------------------
# One handler per node kind.


_TYPE_RULES = NodeTable("typecheck")


@_TYPE_RULES.register(N.Literal)
def _literal(c: _Checker, n: N.Literal, env) -> N.Expr:
    return N.with_fields(n, ty=n.type)


@_TYPE_RULES.register(N.Ident)
def _ident(c: _Checker, n: N.Ident, env) -> N.Expr:
    if n.name not in env:
        raise TypeCheckError(f"undefined name '{n.name}'", n.loc)
    return N.with_fields(n, ty=env[n.name])


@_TYPE_RULES.register(N.MakeVector)
def _make_vector(c: _Checker, n: N.MakeVector, env) -> Walk[N.Expr]:
    elems = yield c.infer_all(n.elems, env)
    elem = c.fresh()
    for e in elems:
        c.expect(e.ty, elem, e, "vector elements have different types: {want} and {got}")
    return N.with_fields(n, elems=elems, ty=c.bounded(Vec(elem), n))


@_TYPE_RULES.register(N.MakeStruct)
def _make_struct(c: _Checker, n: N.MakeStruct, env) -> Walk[N.Expr]:
    elems = yield c.infer_all(n.elems, env)
    return N.with_fields(n, elems=elems, ty=c.bounded(Struct(tuple(e.ty for e in elems)), n))


@_TYPE_RULES.register(N.GetField)
def _get_field(c: _Checker, n: N.GetField, env) -> Walk[N.Expr]:
    expr = yield c.infer(n.expr, env)

    def rule() -> Type:
        t = c.shallow(expr.ty)
        if isinstance(t, TVar):
            raise NeedsInference
        if not isinstance(t, Struct):
            raise OpTypeError(f"field access .${n.index} needs a struct, not {_show(c.resolve(t))}")
        if not 0 <= n.index < len(t.fields):
            raise OpTypeError(f"{_show(c.resolve(t))} has no field ${n.index}")
        return t.fields[n.index]

    return N.with_fields(n, expr=expr, ty=c.rule(rule, n, f"field ${n.index}"))


@_TYPE_RULES.register(N.Op)
def _op(c: _Checker, n: N.Op, env) -> Walk[N.Expr]:
    decl = OPS.get(n.op)
    if decl is None:
        raise TypeCheckError(f"unknown operator '{n.op}'", n.loc)
    if len(n.args) != decl.arity:
        raise TypeCheckError(
            f"{_op_name(n.op)} takes {decl.arity} arguments, not {len(n.args)}", n.loc
        )
    args = []
    for a in n.args:  # (not infer_all: operators are the commonest nodes)
        args.append((yield c.infer(a, env)))
    args = tuple(args)
    types = [a.ty for a in args]

    def rule() -> Type:
        try:
            return decl.type_rule(c, types)
        except OpTypeError as e:
            raise OpTypeError(f"{_op_name(n.op)}: {e}") from None

    ty = c.rule(rule, n, f"the arguments of {_op_name(n.op)}")
    return N.with_fields(n, args=args, ty=c.bounded(ty, n))


@_TYPE_RULES.register(N.Cast)
def _cast(c: _Checker, n: N.Cast, env) -> Walk[N.Expr]:
    expr = yield c.infer(n.expr, env)

    def rule() -> Type:
        t = c.shallow(expr.ty)
        if isinstance(t, TVar):
            raise NeedsInference
        if not isinstance(t, Scalar):
            raise OpTypeError(
                f"cannot cast {_show(c.resolve(t))} to {n.to}: casts are between scalars"
            )
        return n.to

    return N.with_fields(n, expr=expr, ty=c.rule(rule, n, "the cast operand"))


@_TYPE_RULES.register(N.Ascribe)
def _ascribe(c: _Checker, n: N.Ascribe, env) -> Walk[N.Expr]:
    expr = yield c.infer(n.expr, env)
    declared = c.instantiate(n.type)
    c.expect(expr.ty, declared, n, "expression has type {got} but is declared {want}")
    return N.with_fields(n, expr=expr, ty=c.bounded(declared, n))


@_TYPE_RULES.register(N.Let)
def _let(c: _Checker, n: N.Let, env) -> Walk[N.Expr]:
    value = yield c.infer(n.value, env)
    with _bound(env, (n.name,), (value.ty,)):
        body = yield c.infer(n.body, env)
    return N.with_fields(n, value=value, body=body, ty=body.ty)


@_TYPE_RULES.register(N.If)
def _if(c: _Checker, n: N.If, env) -> Walk[N.Expr]:
    cond = yield c.infer(n.cond, env)
    c.expect(cond.ty, BOOL, cond, "the condition of if must be bool, not {got}")
    then = yield c.infer(n.then, env)
    else_ = yield c.infer(n.else_, env)
    c.expect(else_.ty, then.ty, n, "the branches of if have different types: {want} and {got}")
    return N.with_fields(n, cond=cond, then=then, else_=else_, ty=then.ty)


@_TYPE_RULES.register(N.Lambda)
def _lambda(c: _Checker, n: N.Lambda, env) -> Walk[N.Expr]:
    # A lambda in value position (let-bound, or applied): its parameter types come from their
    # declarations or from the application that uses it.
    params = [c.instantiate(p.type) if p.type is not None else c.fresh() for p in n.params]
    return c.infer_lambda(n, env, params, "this function")


@_TYPE_RULES.register(N.Apply)
def _apply(c: _Checker, n: N.Apply, env) -> Walk[N.Expr]:
    func = yield c.infer(n.func, env)
    args = yield c.infer_all(n.args, env)
    ft = c.shallow(func.ty)
    if not isinstance(ft, Func):
        raise TypeCheckError(f"only functions can be applied, not {_show(c.resolve(ft))}", n.loc)
    if len(ft.params) != len(args):
        raise TypeCheckError(
            f"the function takes {len(ft.params)} arguments, not {len(args)}", n.loc
        )
    for i, (a, p) in enumerate(zip(args, ft.params, strict=True)):
        c.expect(a.ty, p, a, f"argument {i + 1} has type {{got}} but the function takes {{want}}")
    return N.with_fields(n, func=func, args=args, ty=ft.ret)


def _vector_elem(c: _Checker, t: Type, what: str) -> Callable[[], Type]:
    def rule() -> Type:
        r = c.shallow(t)
        if isinstance(r, TVar):
            raise NeedsInference
        if not isinstance(r, Vec):
            raise OpTypeError(f"{what} must be a vector, not {_show(c.resolve(r))}")
        return r.elem

    return rule


@_TYPE_RULES.register(N.For)
def _for(c: _Checker, n: N.For, env) -> Walk[N.Expr]:
    iters, elems = [], []
    for it in n.iters:
        typed = yield _iter(c, it, env, n)
        iters.append(typed)
        if N.ITER_KINDS[typed.kind].reads_data:
            elems.append(
                c.rule(_vector_elem(c, typed.data.ty, "the data of for"), n, "the loop data")
            )
        else:  # its positions themselves
            elems.append(I64)
    elem = elems[0] if len(elems) == 1 else c.bounded(Struct(tuple(elems)), n)
    builder = yield c.infer(n.builder, env)
    bt = builder.ty
    c.rule(_builder_check(c, bt, "the builder of for"), builder, "the builder of for")
    func = yield c.infer_lambda(n.func, env, [bt, I64, elem], "the function of for")
    c.expect(func.body.ty, bt, func.body, "the loop body returns {got} but the builder is {want}")
    return N.with_fields(n, iters=tuple(iters), builder=builder, func=func, ty=bt)


def _iter(c: _Checker, it: N.Iter, env, loop: N.For) -> Walk[N.Iter]:
    parts = {}
    if it.data is not None:
        parts["data"] = yield c.infer(it.data, env)
    for name in ("start", "end", "stride"):
        e = getattr(it, name)
        if e is not None:
            typed = yield c.infer(e, env)
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


@_TYPE_RULES.register(N.Merge)
def _merge(c: _Checker, n: N.Merge, env) -> Walk[N.Expr]:
    builder = yield c.infer(n.builder, env)
    value = yield c.infer(n.value, env)

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

    ty = c.rule(rule, n, "the builder of merge")
    return N.with_fields(n, builder=builder, value=value, ty=ty)


@_TYPE_RULES.register(N.Result)
def _result(c: _Checker, n: N.Result, env) -> Walk[N.Expr]:
    builder = yield c.infer(n.builder, env)

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

    ty = c.rule(rule, n, "the builder of result")
    return N.with_fields(n, builder=builder, ty=c.bounded(ty, n))


# What the optional argument of each builder constructor means.
_BUILDER_ARG = BuilderTable("typecheck builder argument")
_BUILDER_ARG.register(Appender, DictMerger)(lambda t: I64)  # capacity hint
_BUILDER_ARG.register(Merger)(lambda t: t.elem)  # initial value
_BUILDER_ARG.register(GroupMerger, Scanner)(lambda t: None)  # takes none
_BUILDER_ARG.register(VecMerger)(lambda t: Vec(t.elem))  # initial vector (required)


@_TYPE_RULES.register(N.NewBuilder)
def _new_builder(c: _Checker, n: N.NewBuilder, env) -> Walk[N.Expr]:
    bt = c.instantiate(n.type)
    want = _BUILDER_ARG[type(n.type)](bt)
    arg = None
    if n.arg is not None:
        if want is None:
            raise TypeCheckError(f"{n.type} takes no argument", n.loc)
        arg = yield c.infer(n.arg, env)
        c.expect(arg.ty, want, arg, f"the argument of {n.type} must be {{want}}, not {{got}}")
    elif isinstance(n.type, VecMerger):
        raise TypeCheckError("vecmerger needs its initial vector: vecmerger[T,op](v)", n.loc)
    return N.with_fields(n, arg=arg, ty=c.bounded(bt, n))


@_TYPE_RULES.register(N.Iterate)
def _iterate(c: _Checker, n: N.Iterate, env) -> Walk[N.Expr]:
    initial = yield c.infer(n.initial, env)
    func = yield c.infer_lambda(n.func, env, [initial.ty], "the function of iterate")
    c.expect(
        func.body.ty,
        Struct((initial.ty, BOOL)),
        func.body,
        "the function of iterate must return {want}, not {got}",
    )
    return N.with_fields(n, initial=initial, func=func, ty=initial.ty)


@_TYPE_RULES.register(N.Sort)
def _sort(c: _Checker, n: N.Sort, env) -> Walk[N.Expr]:
    data = yield c.infer(n.data, env)
    elem = c.rule(_vector_elem(c, data.ty, "the data of sort"), n, "the data of sort")
    func = yield c.infer_lambda(n.func, env, [elem, elem], "the comparator of sort")
    c.expect(func.body.ty, I32, func.body, "the comparator of sort must return i32, not {got}")
    return N.with_fields(n, data=data, func=func, ty=data.ty)


@_TYPE_RULES.register(N.CUDF)
def _cudf(c: _Checker, n: N.CUDF, env) -> Walk[N.Expr]:
    args = yield c.infer_all(n.args, env)
    if _has_unknown(n.ret):
        raise TypeCheckError(f"cudf[{n.name}, ...] needs a complete return type", n.loc)
    return N.with_fields(n, args=args, ty=c.bounded(n.ret, n))


# ----------------------------------------------------------------------------------------------
# Checks on concrete types.


def _check_builder(t: Type, node: N.Expr) -> None:
    loc = node.loc
    if isinstance(t, Scanner):
        # Scalars only: a scan of structs is a struct of scanners, one per field, in one loop.
        if not isinstance(t.elem, Scalar):
            raise TypeCheckError(f"{t} must hold a scalar, not {t.elem}", loc)
        held, what = t.elem, str(t)
    elif isinstance(t, (Merger, VecMerger)):
        held, what = t.elem, str(t)
    elif isinstance(t, DictMerger):
        held, what = t.value, str(t)
        _check_value_type(t.key, loc, f"the key of {t}")
    elif isinstance(t, GroupMerger):
        _check_value_type(t.key, loc, f"the key of {t}")
        _check_value_type(t.value, loc, f"the value of {t}")
        return
    else:
        _check_value_type(t.elem, loc, f"the element of {t}")
        return
    if not is_scalar_or_struct_of_scalars(held):
        raise TypeCheckError(f"{what} must hold a scalar or a struct of scalars, not {held}", loc)
    if not merge_op_accepts(t.op, held):
        raise TypeCheckError(f"{what}: {t.op} is not defined on {held}", loc)


def _check_value_type(t: Type, loc: Loc | None, what: str) -> None:
    """Vectors, dicts and structs of values hold values (builders are not values)."""
    stack = [t]
    while stack:  # types nest as deep as the expressions that build them
        t = stack.pop()
        if isinstance(t, Vec | Dict):
            for part in _components(t):
                if part.is_builder or isinstance(part, Func):
                    raise TypeCheckError(
                        f"{what}: {t} holds a builder or function, which are not values", loc
                    )
                stack.append(part)
        elif isinstance(t, Struct) and not t.is_builder:
            for f in t.fields:
                if f.is_builder:
                    raise TypeCheckError(f"{what}: {t} mixes builders and values", loc)
                stack.append(f)


# ----------------------------------------------------------------------------------------------
# Helpers.


_PLACEHOLDER = re.compile(r"\{(got|want)\}")


class _bound:  # noqa: N801 - used as `with _bound(env, names, types):`
    """`env` with `names` bound to `types` while the `with` body runs (then as it was)."""

    __slots__ = ("env", "names", "types", "saved")

    def __init__(self, env: dict[str, Type], names: Sequence[str], types: Sequence[Type]):
        self.env, self.names, self.types = env, names, types

    def __enter__(self):
        env = self.env
        self.saved = [(name, env.get(name, _UNBOUND)) for name in self.names]
        env.update(zip(self.names, self.types, strict=True))

    def __exit__(self, *exc):
        env = self.env
        for name, old in reversed(self.saved):
            if old is _UNBOUND:
                del env[name]
            else:
                env[name] = old
        return False


_UNBOUND = object()


def _components(t: Type) -> tuple[Type, ...]:
    if isinstance(t, (Vec, Appender, Merger, VecMerger, Scanner)):
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
