"""Build IR programs from Python, without writing IR text.

Frontends construct programs with these helpers; nobody concatenates IR strings. An `E` wraps
a node and gives it Python operators (`+ - * / % & | ^`, unary `-`, `< <= > >=`; equality is
`.eq()`/`.ne()` because `==` on nodes is structural equality). Lambdas are Python functions:
the builder invents their parameter names.

>>> from daybreak.ir import builder as B
>>> from daybreak.ir.types import F64, Vec
>>> B.reset_names()
>>> pb = B.ProgramBuilder()
>>> v = pb.param("v", Vec(F64))
>>> total = B.result(B.for_(v, B.merger(F64, "+"), lambda b, i, x: B.merge(b, x * x)))
>>> from daybreak.ir.printer import format
>>> print(format(pb.build(total)))
|v: vec[f64]|
  result(for(v, merger[f64,+], |b0, i0, x0| merge(b0, x0 * x0)))
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from . import nodes as N
from .ops import OPS
from .types import (
    BOOL,
    F64,
    I64,
    STRING,
    Appender,
    BuilderType,
    DictMerger,
    GroupMerger,
    Merger,
    Scalar,
    Scanner,
    Type,
    Unknown,
    VecMerger,
)


class E:
    """An expression under construction: a node plus Python operators."""

    __slots__ = ("node",)

    def __init__(self, node: N.Expr):
        self.node = node

    def __repr__(self) -> str:
        return f"E({self.node!r})"

    # arithmetic, bitwise and ordering operators build Op nodes
    def _bin(self, op: str, other, swap: bool = False) -> E:
        a, b = self, lift(other, like=self)
        if swap:
            a, b = b, a
        return E(N.Op(op, (a.node, b.node)))

    def __add__(self, o):
        return self._bin("+", o)

    def __radd__(self, o):
        return self._bin("+", o, swap=True)

    def __sub__(self, o):
        return self._bin("-", o)

    def __rsub__(self, o):
        return self._bin("-", o, swap=True)

    def __mul__(self, o):
        return self._bin("*", o)

    def __rmul__(self, o):
        return self._bin("*", o, swap=True)

    def __truediv__(self, o):
        return self._bin("/", o)

    def __rtruediv__(self, o):
        return self._bin("/", o, swap=True)

    def __mod__(self, o):
        return self._bin("%", o)

    def __and__(self, o):
        return self._bin("&", o)

    def __or__(self, o):
        return self._bin("|", o)

    def __xor__(self, o):
        return self._bin("^", o)

    def __lt__(self, o):
        return self._bin("<", o)

    def __le__(self, o):
        return self._bin("<=", o)

    def __gt__(self, o):
        return self._bin(">", o)

    def __ge__(self, o):
        return self._bin(">=", o)

    def __neg__(self):
        return E(N.Op("neg", (self.node,)))

    def eq(self, o) -> E:
        return self._bin("==", o)

    def ne(self, o) -> E:
        return self._bin("!=", o)

    def field(self, index: int) -> E:
        return E(N.GetField(self.node, index))

    def cast(self, to: Scalar) -> E:
        return E(N.Cast(to, self.node))

    __hash__ = None  # mutable-looking wrapper: not a dict key (use .node)


Like = E | N.Expr | int | float | bool | bytes


def lift(x: Like, like: E | None = None) -> E:
    """Wrap a node or a Python scalar. A Python number next to a literal of known type takes
    that type; otherwise ints are i64, floats f64 (say `lit(v, ty)` to choose)."""
    if isinstance(x, E):
        return x
    if isinstance(x, N.Expr):
        return E(x)
    ty = _literal_type(like.node) if like is not None else None
    return lit(x, ty)


def _literal_type(node: N.Expr) -> Scalar | None:
    if node.ty is not None and isinstance(node.ty, Scalar):
        return node.ty
    if isinstance(node, N.Literal) and isinstance(node.type, Scalar):
        return node.type
    return None


def lit(value: int | float | bool | bytes | str, ty: Type | None = None) -> E:
    """A literal; `ty` defaults to bool, i64, f64 or vec[i8] (for bytes/str)."""
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return E(N.Literal(value, STRING))
    if ty is None:
        ty = BOOL if isinstance(value, bool) else I64 if isinstance(value, int) else F64
    if isinstance(ty, Scalar):
        if ty.is_float:
            value = float(value)
        elif ty.kind == "bool":
            value = bool(value)
        else:
            value = int(value)
    return E(N.Literal(value, ty))


def ident(name: str) -> E:
    return E(N.Ident(name))


def op(name: str, *args: Like) -> E:
    """Any operator of the OPS table by name: `op("exp", x)`, `op("lookup", v, i)`."""
    if name not in OPS:
        raise KeyError(f"unknown operator {name!r}")
    return E(N.Op(name, tuple(lift(a).node for a in args)))


def call(name: str) -> Callable[..., E]:
    return lambda *args: op(name, *args)


length, lookup, select = call("len"), call("lookup"), call("select")


def struct(*elems: Like) -> E:
    return E(N.MakeStruct(tuple(lift(e).node for e in elems)))


def vector(*elems: Like) -> E:
    return E(N.MakeVector(tuple(lift(e).node for e in elems)))


def if_(cond: Like, then: Like, else_: Like) -> E:
    return E(N.If(lift(cond).node, lift(then).node, lift(else_).node))


def ascribe(expr: Like, ty: Type) -> E:
    return E(N.Ascribe(lift(expr).node, ty))


# ----------------------------------------------------------------------------------------------
# Binders. Names are generated per kind (`b0`, `x3`, `t1`) so that printed programs read well;
# they never repeat within one process, so nested lambdas cannot capture each other's names.

_counters: dict[str, itertools.count] = {}


def fresh_name(prefix: str) -> str:
    counter = _counters.setdefault(prefix, itertools.count())
    return f"{prefix}{next(counter)}"


def reset_names() -> None:
    """Restart name numbering (for deterministic output in tests and golden files)."""
    _counters.clear()


def lambda_(fn: Callable[..., Like], prefixes: Sequence[str], types=None) -> N.Lambda:
    names = [fresh_name(p) for p in prefixes]
    types = types or [None] * len(names)
    body = lift(fn(*(ident(n) for n in names))).node
    return N.Lambda(tuple(N.Param(n, t) for n, t in zip(names, types, strict=True)), body)


def let(value: Like, body: Callable[[E], Like], name: str | None = None) -> E:
    """`let t = value; body(t)`."""
    name = name or fresh_name("t")
    return E(N.Let(name, lift(value).node, lift(body(ident(name))).node))


def _i64(x: Like) -> N.Expr:
    return lift(x, like=lit(0, I64)).node  # Python ints become i64 literals


def iter_(data: Like, start: Like = None, end: Like = None, stride: Like = 1) -> N.Iter:
    """`iter(data, start, end, stride)`, or the plain vector when no bounds are given."""
    if start is None:
        return N.Iter("scalar", lift(data).node)
    return N.Iter("scalar", lift(data).node, _i64(start), _i64(end), _i64(stride))


def range_iter(start: Like, end: Like, stride: Like = 1) -> N.Iter:
    return N.Iter("range", None, _i64(start), _i64(end), _i64(stride))


def for_(data, builder: Like, fn: Callable[[E, E, E], Like]) -> E:
    """`for(data, builder, |b, i, x| fn(b, i, x))`; `data` is an expression, an `N.Iter`, or a
    list of them (zipped: `x` is a struct)."""
    items = data if isinstance(data, list | tuple) else [data]
    iters = tuple(it if isinstance(it, N.Iter) else N.Iter("scalar", lift(it).node) for it in items)
    func = lambda_(fn, ("b", "i", "x"))
    return E(N.For(iters, lift(builder).node, func))


def merge(builder: Like, value: Like) -> E:
    return E(N.Merge(lift(builder).node, lift(value).node))


def result(builder: Like) -> E:
    return E(N.Result(lift(builder).node))


def new_builder(ty: BuilderType, arg: Like | None = None) -> E:
    return E(N.NewBuilder(ty, None if arg is None else lift(arg).node))


def appender(elem: Type | None = None, capacity: Like | None = None) -> E:
    return new_builder(Appender(elem or Unknown()), capacity)


def merger(elem: Type, op_: str, init: Like | None = None) -> E:
    return new_builder(Merger(elem, op_), init)


def scanner(elem: Type, op_: str) -> E:
    """A running scan (`scanner[T,op]`): `result` gives every value combined so far, in merge
    order (a cumulative sum for `+`).

    >>> from daybreak.ir.types import F64
    >>> scanner(F64, "+").node.type
    Scanner(elem=Scalar(kind='f64'), op='+')
    """
    return new_builder(Scanner(elem, op_))


def dictmerger(key: Type, value: Type, op_: str) -> E:
    return new_builder(DictMerger(key, value, op_))


def groupmerger(key: Type, value: Type) -> E:
    return new_builder(GroupMerger(key, value))


def vecmerger(elem: Type, op_: str, init: Like) -> E:
    return new_builder(VecMerger(elem, op_), init)


def iterate(initial: Like, fn: Callable[[E], Like]) -> E:
    return E(N.Iterate(lift(initial).node, lambda_(fn, ("s",))))


def sort(data: Like, cmp: Callable[[E, E], Like]) -> E:
    return E(N.Sort(lift(data).node, lambda_(cmp, ("a", "c"))))


def cudf(name: str, ret: Type, *args: Like) -> E:
    return E(N.CUDF(name, ret, tuple(lift(a).node for a in args)))


class ProgramBuilder:
    """Collects a program's parameters; `build(body)` makes the Program."""

    def __init__(self):
        self.params: list[N.Param] = []

    def param(self, name: str, ty: Type) -> E:
        if any(p.name == name for p in self.params):
            raise ValueError(f"parameter {name!r} declared twice")
        self.params.append(N.Param(name, ty))
        return ident(name)

    def build(self, body: Like) -> N.Program:
        return N.Program(tuple(self.params), lift(body).node)
