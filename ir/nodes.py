"""The nodes of the IR: small immutable values with structural equality.

Every node is a frozen dataclass. Three fields ride along without taking part in equality or
hashing: `ty` (filled in by type inference), `loc` (where the node came from in program text)
and nothing else; `annotations` (`@(name: value)` in the text) do take part, because passes and
backends act on them.

First-order pure operators (`+`, `exp`, `lookup`, `len`, ...) are all one node, `Op`, whose
`op` names an entry of `daybreak.ir.ops.OPS`; that table is the one declaration that the parser,
printer, type checker and interpreter read. Everything with binders or builders (`let`, lambdas,
`for`, `merge`, ...) has its own node.

>>> from daybreak.ir.nodes import Op, Ident, Literal
>>> from daybreak.ir.types import I32
>>> Op("+", (Ident("x"), Literal(1, I32))) == Op("+", (Ident("x"), Literal(1, I32)))
True
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace

from .errors import Loc
from .types import BuilderType, Scalar, Type, Vec

Annotations = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Expr:
    """Base of all expression nodes."""

    ty: Type | None = field(default=None, compare=False, repr=False, kw_only=True)
    loc: Loc | None = field(default=None, compare=False, repr=False, kw_only=True)
    annotations: Annotations = field(default=(), repr=False, kw_only=True)

    def children(self) -> tuple[Expr, ...]:
        """The direct sub-expressions, in evaluation (and printing) order."""
        out: list[Expr] = []
        for name in _child_fields(type(self)):
            v = getattr(self, name)
            if isinstance(v, Expr):
                out.append(v)
            elif isinstance(v, tuple):
                for item in v:
                    if isinstance(item, Expr):
                        out.append(item)
                    elif isinstance(item, Iter):
                        out.extend(item.children())
            elif isinstance(v, Iter):
                out.extend(v.children())
        return tuple(out)

    def walk(self) -> Iterator[Expr]:
        """Every node of the tree, parents before children."""
        stack: list[Expr] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children()))

    def with_type(self, ty: Type) -> Expr:
        return replace(self, ty=ty)

    def annotation(self, name: str, default: str | None = None) -> str | None:
        for k, v in self.annotations:
            if k == name:
                return v
        return default


_META = ("ty", "loc", "annotations")
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(cls: type) -> tuple[str, ...]:
    """The names of a node class's own fields (not ty/loc/annotations), computed once:
    `dataclasses.fields` is slow, and tree walks ask for every node."""
    names = _CHILD_FIELDS.get(cls)
    if names is None:
        names = _CHILD_FIELDS[cls] = tuple(f.name for f in fields(cls) if f.name not in _META)
    return names


def _float_key(value: float) -> tuple:
    # NaN != NaN would break structural equality (and parse(format(p)) == p); compare bits.
    return ("f", struct.pack("<d", value)) if isinstance(value, float) else ("v", value)


@dataclass(frozen=True, slots=True, eq=False)
class Literal(Expr):
    """A scalar literal (`1`, `2.5f`, `7L`, `true`) or a string literal (`"abc"`: vec[i8]).

    `value` is a Python int, float or bool for scalars and `bytes` for strings; `type` is its
    type. Floats compare by bits, so NaN literals are equal to themselves.
    """

    value: int | float | bool | bytes
    type: Scalar | Vec

    def _key(self):
        return (_float_key(self.value), self.type, self.annotations)

    def __eq__(self, other):
        return type(other) is Literal and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    @property
    def is_nan(self) -> bool:
        return isinstance(self.value, float) and math.isnan(self.value)


@dataclass(frozen=True, slots=True)
class Ident(Expr):
    name: str


@dataclass(frozen=True, slots=True)
class MakeVector(Expr):
    """`[a, b, c]`. The element type comes from the elements (or from context when empty)."""

    elems: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class MakeStruct(Expr):
    """`{a, b}`."""

    elems: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class GetField(Expr):
    """`e.$i`."""

    expr: Expr
    index: int


@dataclass(frozen=True, slots=True)
class Op(Expr):
    """A first-order pure operator from `ops.OPS`: infix (`a + b`), prefix (`-a`) or call
    syntax (`exp(a)`, `lookup(v, i)`, `min(a, b)`)."""

    op: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Cast(Expr):
    """`i64(x)`: convert a scalar to another scalar type (C rules, see docs/ir.md)."""

    to: Scalar
    expr: Expr


@dataclass(frozen=True, slots=True)
class Ascribe(Expr):
    """`e: T` — states the type of `e` (also written `let x: T = e;`)."""

    expr: Expr
    type: Type


@dataclass(frozen=True, slots=True)
class Let(Expr):
    """`let name = value; body`."""

    name: str
    value: Expr
    body: Expr


@dataclass(frozen=True, slots=True)
class If(Expr):
    """`if(cond, then, else)`: evaluates only the branch taken (unlike `select`)."""

    cond: Expr
    then: Expr
    else_: Expr


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: Type | None = None  # None: to be inferred from context


@dataclass(frozen=True, slots=True)
class Lambda(Expr):
    """`|a: T, b| body`. Not a first-class value: it appears in `for`, `iterate`, `sort`,
    as the program itself, as the callee of an `Apply`, or let-bound and applied."""

    params: tuple[Param, ...]
    body: Expr


@dataclass(frozen=True, slots=True)
class Apply(Expr):
    """`f(a, b)` where `f` is a lambda (literally, or a let-bound name)."""

    func: Expr
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Iter:
    """One input of a `for` loop.

    kind "scalar": `v` or `iter(v, start, end, stride)` (data set, bounds optional);
    kind "range":  `rangeiter(start, end, stride)` — the i64 values start, start+stride, ... < end.
    """

    kind: str
    data: Expr | None
    start: Expr | None = None
    end: Expr | None = None
    stride: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return tuple(e for e in (self.data, self.start, self.end, self.stride) if e is not None)

    @property
    def is_plain(self) -> bool:
        """True for a whole vector iterated from first to last element."""
        return self.kind == "scalar" and self.start is None


@dataclass(frozen=True, slots=True)
class For(Expr):
    """`for(iters, builder, |b, i, x| body)`. Several iters (written `zip(a, b)`) give x as a
    struct of their elements; `i` is the iteration number (0, 1, ...), an i64."""

    iters: tuple[Iter, ...]
    builder: Expr
    func: Lambda


@dataclass(frozen=True, slots=True)
class Merge(Expr):
    """`merge(builder, value)`: a builder with `value` merged in."""

    builder: Expr
    value: Expr


@dataclass(frozen=True, slots=True)
class Result(Expr):
    """`result(builder)`: the value a builder (or a struct of builders) has built."""

    builder: Expr


@dataclass(frozen=True, slots=True)
class NewBuilder(Expr):
    """`appender[T]`, `merger[T,+](init)`, `dictmerger[K,V,op]`, `groupmerger[K,V]`,
    `vecmerger[T,op](v)`. `arg` is a capacity hint (appender, dictmerger), the initial value
    (merger) or the initial vector (vecmerger, required)."""

    type: BuilderType
    arg: Expr | None = None


@dataclass(frozen=True, slots=True)
class Iterate(Expr):
    """`iterate(initial, |x| {next, continue})`: a sequential loop; the value when continue
    is false."""

    initial: Expr
    func: Lambda


@dataclass(frozen=True, slots=True)
class Sort(Expr):
    """`sort(v, |a, b| c)`: a stable sort; c is an i32, negative when a goes first."""

    data: Expr
    func: Lambda


@dataclass(frozen=True, slots=True)
class CUDF(Expr):
    """`cudf[name, T](args)`: a call to a native (or Python) function registered by name."""

    name: str
    ret: Type
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Program:
    """A whole program: its parameters (the inputs, all typed) and its body.

    Written as a lambda, `|a: vec[f64], n: i64| body`; a program with no parameters is just
    its body. Multi-output programs return a struct.
    """

    params: tuple[Param, ...]
    body: Expr

    @property
    def return_type(self) -> Type | None:
        return self.body.ty


def map_children(node: Expr, fn) -> Expr:
    """Rebuild `node` with `fn` applied to each direct child expression (identity if unchanged).

    The building block of every tree rewrite: passes recurse with it instead of matching every
    node kind themselves.
    """
    changes = {}
    for name in _child_fields(type(node)):
        v = getattr(node, name)
        new = _map_value(v, fn)
        if new is not v:
            changes[name] = new
    return replace(node, **changes) if changes else node


def _map_value(v, fn):
    if isinstance(v, Expr):
        return fn(v)
    if isinstance(v, Iter):
        parts = {}
        for name in ("data", "start", "end", "stride"):
            e = getattr(v, name)
            if e is not None:
                n = fn(e)
                if n is not e:
                    parts[name] = n
        return replace(v, **parts) if parts else v
    if isinstance(v, tuple) and v and isinstance(v[0], (Expr, Iter)):
        new = tuple(_map_value(x, fn) for x in v)
        return v if all(a is b for a, b in zip(new, v, strict=True)) else new
    return v


@contextmanager
def deep_recursion(limit: int = 20000):
    """Allow deep recursion for a while: tree walks (and structural hashing and equality)
    recurse once per nesting level, and generated programs can nest thousands deep."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
