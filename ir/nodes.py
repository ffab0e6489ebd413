"""The nodes of the IR: small immutable values with structural equality.

Every node is a frozen dataclass. Three fields ride along without taking part in equality or
hashing: `ty` (filled in by type inference), `loc` (where the node came from in program text)
and nothing else; `annotations` (`@(name: value)` in the text) do take part, because passes and
backends act on them.

First-order pure operators (`+`, `exp`, `lookup`, `len`, ...) are all one node, `Op`, whose
`op` names an entry of `daybreak.ir.ops.OPS`; that table is the one declaration that the parser,
printer, type checker and interpreter read. Everything with binders or builders (`let`, lambdas,
`for`, `merge`, ...) has its own node.

Each node kind declares what it does with its children: `children()` gives them in evaluation
order, and `_child_scopes` which names the node binds around each one and whether it is
evaluated once, maybe (a branch), or once per call (a lambda's body). Walks that need scopes
read that through `children_with_scope`, `binders` and `walk_with_scope`, never a case per
kind. `NODE_KINDS` lists every kind; each phase's node table covers it (ir/dispatch.py).
The iterators of a `for` loop are declared the same way, one `IterKind` each in `ITER_KINDS`.

>>> from daybreak.ir.nodes import Op, Ident, Literal
>>> from daybreak.ir.types import I32
>>> Op("+", (Ident("x"), Literal(1, I32))) == Op("+", (Ident("x"), Literal(1, I32)))
True
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from operator import is_not
from typing import ClassVar, NamedTuple

from .errors import Loc
from .ops import OPS
from .types import BuilderType, Scalar, Type, Vec

Annotations = tuple[tuple[str, str], ...]

_declared_kinds: list[type] = []


def _node(cls):
    """How every node class is declared: immutable, and `eq=False` so that it keeps Expr's
    structural `==` and hash (see Expr). Declaring it makes it one of NODE_KINDS."""
    cls = dataclass(frozen=True, slots=True, eq=False)(cls)
    _declared_kinds.append(cls)
    return cls


class Evaluation(Enum):
    """How often a node evaluates one of its children, each time the node is evaluated."""

    ONCE = "once"  # exactly once (most children)
    MAYBE = "maybe"  # at most once: a branch of `if`, the right side of `&&` and `||`
    PER_CALL = "per call"  # once per call of a lambda, any number of times (zero included)


class ScopedChild(NamedTuple):
    """A child with what its parent declares about it (see `children_with_scope`)."""

    expr: Expr
    binds: tuple[str, ...]  # the names the parent binds around this child (later ones shadow)
    evaluation: Evaluation


# What most children are: evaluated once, in the scope of their parent.
_PLAIN = ((), Evaluation.ONCE)


class _HashCache:
    """The slot where a node keeps its structural hash once computed. Not a dataclass field,
    so copies (`replace`, `with_fields`) and pickles never carry a hash over: a copy may have
    other children, and string hashes differ from one process to the next."""

    __slots__ = ("_hash",)


@dataclass(frozen=True, slots=True, eq=False)
class Expr(_HashCache):
    """Base of all expression nodes.

    Equality and hashing are structural (ty and loc left out) and walk the tree with an
    explicit stack: dataclass-generated `==` recursed through C once per level and failed
    on a 500-term sum `a + a + ... + a`. A node computes its hash once, from its children's
    (cached) hashes, so hashing every subtree of a tree is linear, not quadratic.
    """

    ty: Type | None = field(default=None, compare=False, repr=False, kw_only=True)
    loc: Loc | None = field(default=None, compare=False, repr=False, kw_only=True)
    annotations: Annotations = field(default=(), repr=False, kw_only=True)

    def children(self) -> tuple[Expr, ...]:
        """The direct sub-expressions, in evaluation (and printing) order."""
        return self._parts()[1]

    def _child_scopes(self) -> tuple[tuple[tuple[str, ...], Evaluation], ...] | None:
        """The declaration of this node kind's binders and evaluation: for each child (in
        `children()` order) the names bound around it and how often it is evaluated; None
        when every child is evaluated once in the node's own scope. Read it through
        `children_with_scope`."""
        return None

    def _parts(self) -> tuple[tuple, tuple[Expr, ...]]:
        """(what the node holds besides its children, its children). Equality, hashing and
        `children` read this; node classes override it with the same answer, faster."""
        kids: list[Expr] = []
        own = tuple(_field_shape(getattr(self, name), kids) for name in _child_fields(type(self)))
        return own, tuple(kids)

    def _kid_fields(self, kids: tuple[Expr, ...]) -> dict:
        """The fields that hold children, with `kids` (in `children()` order) in place of the
        children: the inverse of `_parts`, for `rebuild`. Node classes override it too."""
        new = iter(kids)
        out = {}
        for name in _child_fields(type(self)):
            value = getattr(self, name)
            rebuilt = _map_value(value, lambda _: next(new))
            if rebuilt is not value:
                out[name] = rebuilt
        return out

    def _renamed_binders(self, rename: Mapping[str, str]) -> dict:
        """The fields that hold the names this node binds, each name `n` in `rename` replaced
        by `rename[n]`: for `rebuild`. Node kinds whose `_child_scopes` bind names override it
        (tests/ir/test_scopes.py checks that each does)."""
        return {}

    def walk(self) -> Iterator[Expr]:
        """Every node of the tree, parents before children."""
        stack: list[Expr] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children()))

    def __eq__(self, other):
        if not isinstance(other, Expr):
            return NotImplemented
        mine, theirs = _cached_hash(self), _cached_hash(other)
        if mine is not None and theirs is not None and mine != theirs:
            return False
        xs: list[Expr] = [self]
        ys: list[Expr] = [other]
        while xs:  # the two trees side by side, node by node
            x, y = xs.pop(), ys.pop()
            if x is y:
                continue
            if type(x) is not type(y) or x.annotations != y.annotations:
                return False
            own_x, kids_x = x._parts()
            own_y, kids_y = y._parts()
            if own_x != own_y or len(kids_x) != len(kids_y):
                return False
            xs += kids_x
            ys += kids_y
        return True

    def __hash__(self):
        try:
            return self._hash
        except AttributeError:
            return _hash_tree(self)


def _cached_hash(node: Expr) -> int | None:
    """The structural hash of `node` if it has been computed, else None."""
    return getattr(node, "_hash", None)


def _hash_tree(root: Expr) -> int:
    """Compute and cache the hash of `root` and of every subtree not hashed yet: a node's
    hash combines its own parts with its children's hashes. Children first, on an explicit
    stack (any depth); each node once, however often it is shared."""
    seen: set[int] = set()
    stack: list = [root]  # nodes to visit, and (node, own, kids) once its kids are pushed
    while stack:
        top = stack.pop()
        if type(top) is tuple:  # its children are hashed by now: everything above it was
            node, own, kids = top
            child_hashes = tuple([kid._hash for kid in kids])
            # (nodes are frozen: the cache slot is the one thing written after construction)
            object.__setattr__(
                node, "_hash", hash((type(node), own, node.annotations, child_hashes))
            )
        elif getattr(top, "_hash", None) is None and id(top) not in seen:
            seen.add(id(top))
            own, kids = top._parts()
            stack.append((top, own, kids))
            stack += kids
    return root._hash


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


def _field_shape(value, kids: list[Expr]):
    """A field's value with each child expression replaced by a marker (appended to `kids`)."""
    if isinstance(value, Expr):
        kids.append(value)
        return _CHILD
    if isinstance(value, Iter):
        kids.extend(value.children())
        return value.shape
    if type(value) is tuple:
        return tuple([_field_shape(item, kids) for item in value])
    if type(value) is float:
        return _float_key(value)
    return value


_CHILD = "<child>"


@_node
class Literal(Expr):
    """A scalar literal (`1`, `2.5f`, `7L`, `true`) or a string literal (`"abc"`: vec[i8]).

    `value` is a Python int, float or bool for scalars and `bytes` for strings; `type` is its
    type. Floats compare by bits, so NaN literals are equal to themselves.
    """

    value: int | float | bool | bytes
    type: Scalar | Vec

    def _parts(self):
        return (_float_key(self.value), self.type), ()

    def _key(self):
        return (_float_key(self.value), self.type, self.annotations)


@_node
class Ident(Expr):
    name: str

    def _parts(self):
        return (self.name,), ()


@_node
class MakeVector(Expr):
    """`[a, b, c]`. The element type comes from the elements (or from context when empty)."""

    elems: tuple[Expr, ...]

    def _parts(self):
        return (), self.elems

    def _kid_fields(self, kids):
        return {"elems": kids}


@_node
class MakeStruct(Expr):
    """`{a, b}`."""

    elems: tuple[Expr, ...]

    def _parts(self):
        return (), self.elems

    def _kid_fields(self, kids):
        return {"elems": kids}


@_node
class GetField(Expr):
    """`e.$i`."""

    expr: Expr
    index: int

    def _parts(self):
        return (self.index,), (self.expr,)

    def _kid_fields(self, kids):
        return {"expr": kids[0]}


@_node
class Op(Expr):
    """A first-order pure operator from `ops.OPS`: infix (`a + b`), prefix (`-a`) or call
    syntax (`exp(a)`, `lookup(v, i)`, `min(a, b)`)."""

    op: str
    args: tuple[Expr, ...]

    def _parts(self):
        return (self.op,), self.args

    def _child_scopes(self):
        decl = OPS.get(self.op)
        if decl is None or not decl.short_circuit:
            return None
        return _PLAIN, ((), Evaluation.MAYBE)  # the right side only when the left does not decide

    def _kid_fields(self, kids):
        return {"args": kids}


@_node
class Cast(Expr):
    """`i64(x)`: convert a scalar to another scalar type (C rules, see docs/ir.md)."""

    to: Scalar
    expr: Expr

    def _parts(self):
        return (self.to,), (self.expr,)

    def _kid_fields(self, kids):
        return {"expr": kids[0]}


@_node
class Ascribe(Expr):
    """`e: T` — states the type of `e` (also written `let x: T = e;`)."""

    expr: Expr
    type: Type

    def _parts(self):
        return (self.type,), (self.expr,)

    def _kid_fields(self, kids):
        return {"expr": kids[0]}


@_node
class Let(Expr):
    """`let name = value; body`."""

    name: str
    value: Expr
    body: Expr

    def _parts(self):
        return (self.name,), (self.value, self.body)

    def _child_scopes(self):
        return _PLAIN, ((self.name,), Evaluation.ONCE)

    def _kid_fields(self, kids):
        return {"value": kids[0], "body": kids[1]}

    def _renamed_binders(self, rename):
        return {"name": rename[self.name]} if self.name in rename else {}


_BRANCH = ((), Evaluation.MAYBE)


@_node
class If(Expr):
    """`if(cond, then, else)`: evaluates only the branch taken (unlike `select`)."""

    cond: Expr
    then: Expr
    else_: Expr

    def _parts(self):
        return (), (self.cond, self.then, self.else_)

    def _child_scopes(self):
        return _PLAIN, _BRANCH, _BRANCH

    def _kid_fields(self, kids):
        return {"cond": kids[0], "then": kids[1], "else_": kids[2]}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: Type | None = None  # None: to be inferred from context
    loc: Loc | None = field(default=None, compare=False, repr=False)  # where its name is


@_node
class Lambda(Expr):
    """`|a: T, b| body`. Not a first-class value: it appears in `for`, `iterate`, `sort`,
    as the program itself, as the callee of an `Apply`, or let-bound and applied."""

    params: tuple[Param, ...]
    body: Expr

    def _parts(self):
        return (self.params,), (self.body,)

    def _child_scopes(self):
        return (((*(p.name for p in self.params),), Evaluation.PER_CALL),)

    def _kid_fields(self, kids):
        return {"body": kids[0]}

    def _renamed_binders(self, rename):
        if not any(p.name in rename for p in self.params):
            return {}
        return {"params": tuple(replace(p, name=rename.get(p.name, p.name)) for p in self.params)}


@_node
class Apply(Expr):
    """`f(a, b)` where `f` is a lambda (literally, or a let-bound name)."""

    func: Expr
    args: tuple[Expr, ...]

    def _parts(self):
        return (), (self.func, *self.args)

    def _kid_fields(self, kids):
        return {"func": kids[0], "args": kids[1:]}


ITER_PARTS = ("data", "start", "end", "stride")
"""The parts an iterator may have, in the order they are written and evaluated."""


@dataclass(frozen=True, slots=True)
class Iter:
    """One input of a `for` loop: an iterator of the kind `kind` names (`ITER_KINDS`).

    `v` or `iter(v, start, end, stride)`: the elements of the vector v (bounds optional);
    `rangeiter(start, end, stride)`: the i64 values start, start+stride, ... < end.
    """

    kind: str
    data: Expr | None = None
    start: Expr | None = None
    end: Expr | None = None
    stride: Expr | None = None

    def __post_init__(self):
        if self.kind not in ITER_KINDS:
            raise ValueError(f"unknown iterator kind {self.kind!r}")

    def children(self) -> tuple[Expr, ...]:
        return tuple(e for e in (self.data, self.start, self.end, self.stride) if e is not None)

    @property
    def shape(self) -> tuple:
        """The kind and which parts are given: with its children, the whole iterator."""
        return (self.kind, *(e is None for e in (self.data, self.start, self.end, self.stride)))

    def with_children(self, kids) -> Iter:
        """This iterator with its given parts taken, in order, from the iterator `kids`."""
        parts = [None if e is None else next(kids) for e in (self.data, self.start, self.end,
                                                               self.stride)]  # fmt: skip
        return Iter(self.kind, *parts)

    def given(self) -> tuple[str, ...]:
        """The names of the parts this iterator has, in `ITER_PARTS` order."""
        return tuple(name for name in ITER_PARTS if getattr(self, name) is not None)

    @property
    def is_plain(self) -> bool:
        """True for a whole vector iterated from first to last element."""
        return ITER_KINDS[self.kind].reads_data and self.start is None


@dataclass(frozen=True, slots=True)
class IterKind:
    """The declaration of one kind of iterator: its syntax and what its elements are.

    The parser and printer read `keyword`, `forms` and `bare`; the type checker and the passes
    read `reads_data`. What differs in code from kind to kind (running it, lowering it, whether
    its bounds check can fail) is in each phase's `IterTable` (ir/dispatch.py), which
    tests/test_completeness.py checks against `ITER_KINDS`.
    """

    name: str  # what `Iter.kind` holds
    keyword: str  # the call that writes it
    # The parts it may be written with, each a tuple of `ITER_PARTS` names in that order: the
    # arguments of `keyword(...)`.
    forms: tuple[tuple[str, ...], ...]
    # Whether its first form, a vector alone, may be written without the keyword (`for(v,
    # ...)`): the kind a loop's data is when no iterator is called.
    bare: bool
    # Its element at iteration i is data[start + i * stride] (data[i] without bounds), of the
    # vector's element type; otherwise it has no data, and the element is the position
    # start + i * stride itself, an i64.
    reads_data: bool

    def usage(self) -> str:
        """How it is written, for messages: `iter(data) or iter(data, start, end, stride)`."""
        return " or ".join(f"{self.keyword}({', '.join(form)})" for form in self.forms)


ITER_KINDS: dict[str, IterKind] = {
    kind.name: kind
    for kind in (
        IterKind("scalar", "iter", (("data",), ITER_PARTS), bare=True, reads_data=True),
        IterKind("range", "rangeiter", (ITER_PARTS[1:],), bare=False, reads_data=False),
    )
}
"""Every iterator kind, by the name `Iter.kind` holds (Weld's `iter` and the `rangeiter`
extension): what each phase's iterator table covers."""

BARE_ITER_KIND = next(kind for kind in ITER_KINDS.values() if kind.bare)
"""The kind of a loop's data written without an iterator call: `for(v, ...)` is `iter(v)`."""


@_node
class For(Expr):
    """`for(iters, builder, |b, i, x| body)`. Several iters (written `zip(a, b)`) give x as a
    struct of their elements; `i` is the iteration number (0, 1, ...), an i64."""

    iters: tuple[Iter, ...]
    builder: Expr
    func: Lambda
    # what the parameters of `func` stand for (its lambda binds them)
    func_roles: ClassVar[tuple[str, ...]] = ("builder", "index", "element")

    def _parts(self):
        shapes = tuple(it.shape for it in self.iters)
        kids = [e for it in self.iters for e in it.children()]
        return (shapes,), (*kids, self.builder, self.func)

    def _kid_fields(self, kids):
        parts = iter(kids[:-2])
        iters = tuple(it.with_children(parts) for it in self.iters)
        return {"iters": iters, "builder": kids[-2], "func": kids[-1]}


@_node
class Merge(Expr):
    """`merge(builder, value)`: a builder with `value` merged in."""

    builder: Expr
    value: Expr

    def _parts(self):
        return (), (self.builder, self.value)

    def _kid_fields(self, kids):
        return {"builder": kids[0], "value": kids[1]}


@_node
class Result(Expr):
    """`result(builder)`: the value a builder (or a struct of builders) has built."""

    builder: Expr

    def _parts(self):
        return (), (self.builder,)

    def _kid_fields(self, kids):
        return {"builder": kids[0]}


@_node
class NewBuilder(Expr):
    """`appender[T]`, `merger[T,+](init)`, `dictmerger[K,V,op]`, `groupmerger[K,V]`,
    `vecmerger[T,op](v)`. `arg` is a capacity hint (appender, dictmerger), the initial value
    (merger) or the initial vector (vecmerger, required)."""

    type: BuilderType
    arg: Expr | None = None

    def _parts(self):
        return (self.type, self.arg is None), () if self.arg is None else (self.arg,)

    def _kid_fields(self, kids):
        return {"arg": kids[0]}


@_node
class Iterate(Expr):
    """`iterate(initial, |x| {next, continue})`: a sequential loop; the value when continue
    is false."""

    initial: Expr
    func: Lambda
    func_roles: ClassVar[tuple[str, ...]] = ("state",)

    def _parts(self):
        return (), (self.initial, self.func)

    def _kid_fields(self, kids):
        return {"initial": kids[0], "func": kids[1]}


@_node
class Sort(Expr):
    """`sort(v, |a, b| c)`: a stable sort; c is an i32, negative when a goes first."""

    data: Expr
    func: Lambda
    func_roles: ClassVar[tuple[str, ...]] = ("left", "right")

    def _parts(self):
        return (), (self.data, self.func)

    def _kid_fields(self, kids):
        return {"data": kids[0], "func": kids[1]}


@_node
class CUDF(Expr):
    """`cudf[name, T](args)`: a call to a native (or Python) function registered by name."""

    name: str
    ret: Type
    args: tuple[Expr, ...]

    def _parts(self):
        # args is None between parsing `cudf[name, T]` and its argument list
        return (self.name, self.ret, self.args is None), self.args or ()

    def _kid_fields(self, kids):
        return {"args": kids}


NODE_KINDS: tuple[type[Expr], ...] = tuple(_declared_kinds)
"""Every node class, in declaration order: what each phase's node table must cover
(ir/dispatch.py, tests/test_completeness.py)."""


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


def children_with_scope(node: Expr) -> tuple[ScopedChild, ...]:
    """`node`'s children in evaluation order, each with the names `node` binds around it and
    how often `node` evaluates it: what each node kind declares (`_child_scopes`), for walks
    that must know scopes (free names, substitution, moving code) without a case per kind.

    >>> from daybreak.ir.parser import parse_expr
    >>> for child in children_with_scope(parse_expr("let x = 1; if(x > y, x, 0)")):
    ...     print(type(child.expr).__name__, child.binds, child.evaluation.value)
    Literal () once
    If ('x',) once
    >>> [c.evaluation.value for c in children_with_scope(parse_expr("if(c, a, b)"))]
    ['once', 'maybe', 'maybe']
    >>> children_with_scope(parse_expr("|b, i, x| merge(b, x)"))[0].binds
    ('b', 'i', 'x')

    The functions of `for`, `iterate` and `sort` are lambdas: their parameters are bound, and
    their bodies evaluated per call, by the lambda (a node's `func_roles` says what each
    parameter stands for).
    """
    kids = node.children()
    scopes = node._child_scopes()
    if scopes is None:
        return tuple([ScopedChild(kid, *_PLAIN) for kid in kids])
    return tuple([ScopedChild(kid, *scope) for kid, scope in zip(kids, scopes, strict=True)])


def binders(node: Expr) -> tuple[str, ...]:
    """The names `node` binds for its children: a let's name, a lambda's parameters.

    >>> from daybreak.ir.parser import parse_expr
    >>> binders(parse_expr("let x = 1; x")), binders(parse_expr("|a, b| a")), binders(Ident("a"))
    (('x',), ('a', 'b'), ())
    """
    scopes = node._child_scopes()
    if scopes is None:
        return ()
    return tuple(dict.fromkeys(name for names, _ in scopes for name in names))


def walk_with_scope(expr: Expr, bound: frozenset[str] = frozenset()):
    """Every node of `expr` with the names bound around it (those in `bound` and those
    binders inside `expr` add), parents before children; an explicit stack, any depth.

    >>> from daybreak.ir.parser import parse_expr
    >>> [sorted(b) for n, b in walk_with_scope(parse_expr("let x = 1; x")) if type(n) is Ident]
    [['x']]
    """
    stack: list[tuple[Expr, frozenset[str]]] = [(expr, bound)]
    while stack:
        node, names = stack.pop()
        yield node, names
        scopes = node._child_scopes()
        kids = node.children()
        if scopes is None:
            stack.extend([(kid, names) for kid in reversed(kids)])
        else:
            for kid, (binds, _) in zip(reversed(kids), reversed(scopes), strict=True):
                stack.append((kid, names.union(binds) if binds else names))


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


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def with_fields(node: Expr, **changes) -> Expr:
    """A copy of `node` with `changes`: `dataclasses.replace` without its checks and without
    calling `__init__` (nodes have no logic there), about half its cost: the type checker and
    the tree walks copy every node."""
    cls = type(node)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    new = object.__new__(cls)
    for name in names:
        object.__setattr__(new, name, changes[name] if name in changes else getattr(node, name))
    return new


def rebuild(node: Expr, kids, rename: Mapping[str, str] | None = None, **changes) -> Expr:
    """`node` with its children, in `children()` order, replaced by `kids`, each name it binds
    that is in `rename` renamed, and the fields in `changes` changed (`node` itself when
    nothing changes). What walks run by `trampoline`, and walks that rename binders, use
    instead of map_children.

    >>> from daybreak.ir.parser import parse_expr
    >>> from daybreak.ir.printer import format
    >>> lam = parse_expr("|x, y| x")
    >>> format(rebuild(lam, [Ident("x2")], rename={"x": "x2"}))
    '|x2, y| x2'
    """
    kids = tuple(kids)
    if any(map(is_not, kids, node.children())):
        changes.update(node._kid_fields(kids))
    if rename:
        changes.update(node._renamed_binders(rename))
    return with_fields(node, **changes) if changes else node


def map_tree(expr: Expr, fn) -> Expr:
    """`expr` with `fn` applied to every node, children first, each parent rebuilt from its
    new children. An explicit stack, not recursion; a subtree shared by several parents is
    mapped once.

    >>> from daybreak.ir.parser import parse_expr
    >>> from daybreak.ir.printer import format
    >>> format(map_tree(parse_expr("x + y * x"), lambda n: Ident("z") if n == Ident("x") else n))
    'z + y * z'
    """
    done: dict[int, Expr] = {}
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, kids_done = stack.pop()
        if kids_done:
            done[id(node)] = fn(rebuild(node, [done[id(k)] for k in node.children()]))
        elif id(node) not in done:
            stack.append((node, True))
            stack.extend((k, False) for k in node.children())
    return done[id(expr)]


def tree_depth(expr: Expr) -> int:
    """The number of nodes on the longest path from `expr` down to a leaf."""
    deepest = 0
    stack = [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((kid, depth + 1) for kid in node.children())
    return deepest


@contextmanager
def deep_recursion(limit: int = 20000):
    """Allow deep recursion for a while, for tree walks that recurse once per nesting level
    (generated programs nest thousands deep). The IR's own walks (equality, hashing, parsing,
    printing, type checking, ir/trampoline.py) need no such limit; passes still written as
    plain recursion do."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
