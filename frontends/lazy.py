"""Lazy values shared by every frontend: a DAG of `Node`s that materialises as ONE IR program.

A frontend call returns a lazy value whose `Node` says how to compute it from other nodes.
Leaves are `Param`s (a NumPy buffer or a scalar handed to the program at run time: data never
goes into the program text). Materialising a set of roots walks their DAG once, binds every
node with `let` (in dependency order, so shared work is computed once), returns the roots as
one struct, compiles that program through `db.compile` (optimizer + backend of `db.config()`)
and caches each root's result on its node, so a later program reads it as a parameter.

Programs never depend on the names Python happened to generate: parameters are `p0, p1, ...`
in order of first use and binders come from a per-program `Namer`, so the same script on new
data builds an equal program and hits the compile cache.

>>> import numpy as np
>>> from daybreak.ir import builder as B
>>> from daybreak.ir.types import F64, Vec
>>> class Doubled(Node):
...     def ir_type(self):
...         return Vec(F64)
...     def emit(self, ctx, args):
...         return ctx.map(args[0], lambda x: x * 2.0, F64)
>>> d = Doubled([Param(np.array([1.0, 2.0]), Vec(F64))])
>>> materialize([d])[0]
array([2., 4.])
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from daybreak.ir import builder as B
from daybreak.ir import nodes as N
from daybreak.ir.types import I64, Type

_UNSET = object()


class Node:
    """One lazy computation. `inputs` are the nodes it reads; `emit` builds its IR from the
    IR of those inputs. Once materialised, `cached` holds the value and the node is a leaf."""

    __slots__ = ("inputs", "cached", "__weakref__")

    def __init__(self, inputs: Sequence[Node] = ()):
        self.inputs = tuple(inputs)
        self.cached = _UNSET

    def ir_type(self) -> Type:  # pragma: no cover - every node kind overrides
        raise NotImplementedError

    def emit(self, ctx: Namer, args: list[B.E]) -> B.E:  # pragma: no cover
        raise NotImplementedError

    @property
    def is_leaf(self) -> bool:
        return self.cached is not _UNSET

    def param_key(self):
        """What identifies the same input in two places (None: never shared)."""
        return ("node", id(self))

    def fuse_key(self):
        """Nodes with equal keys that do not read each other are emitted as ONE loop by
        `type(node).emit_fused` (None: never fused). Fusing here, where the nodes still share
        their sub-expressions, computes those once, whatever the optimizer later finds."""
        return None


class Param(Node):
    """An input of the program: an array buffer or a scalar, passed at run time.

    `key` decides deduplication: by default the identity of `source` (the user's object, so the
    same array used twice is one parameter); `key=None` never shares."""

    __slots__ = ("type", "key", "source")

    def __init__(self, value, ty: Type, key=_UNSET, source=None):
        super().__init__()
        self.cached = value
        self.type = ty
        self.source = source if source is not None else value
        self.key = ("id", id(self.source)) if key is _UNSET else key

    def ir_type(self) -> Type:
        return self.type

    def param_key(self):
        return self.key if self.key is not None else ("node", id(self))


class Namer:
    """One program under construction: deterministic binder names, its parameters (leaves
    and i64 sizes, each deduplicated by key), and small loop helpers."""

    def __init__(self):
        self._counters: dict[str, itertools.count] = {}
        self.params: list[N.Param] = []
        self.args: list = []
        self._by_key: dict = {}

    def param(self, key, value, ty: Type) -> B.E:
        """The parameter for `key`, declared (with `value` as its argument) on first use."""
        found = self._by_key.get(key)
        if found is None:
            name = f"p{len(self.params)}"
            self.params.append(N.Param(name, ty))
            self.args.append(value)
            found = self._by_key[key] = B.ident(name)
        return found

    def size(self, n: int) -> B.E:
        """An i64 parameter holding `n`: sizes and strides stay out of the program text, so
        one compiled program serves every shape with the same broadcasting pattern."""
        return self.param(("i64", int(n)), int(n), I64)

    def fresh(self, prefix: str) -> str:
        counter = self._counters.setdefault(prefix, itertools.count())
        return f"{prefix}{next(counter)}"

    def lam(self, fn: Callable[..., B.Like], prefixes: Sequence[str]) -> N.Lambda:
        names = [self.fresh(p) for p in prefixes]
        body = B.lift(fn(*(B.ident(n) for n in names))).node
        return N.Lambda(tuple(N.Param(n) for n in names), body)

    def for_(self, iters, builder: B.Like, fn: Callable[[B.E, B.E, B.E], B.Like]) -> B.E:
        """`for(iters, builder, |b, i, x| fn(b, i, x))` with names from this program."""
        items = iters if isinstance(iters, list | tuple) else [iters]
        its = tuple(it if isinstance(it, N.Iter) else N.Iter("scalar", B.lift(it).node)
                    for it in items)
        return B.E(N.For(its, B.lift(builder).node, self.lam(fn, ("b", "i", "x"))))

    def let(self, value: B.Like, body: Callable[[B.E], B.Like], prefix: str = "t") -> B.E:
        name = self.fresh(prefix)
        return B.E(N.Let(name, B.lift(value).node, B.lift(body(B.ident(name))).node))

    def map(self, vec: B.Like, fn: Callable[[B.E], B.Like], elem: Type) -> B.E:
        """`result(for(vec, appender[elem], |b, i, x| merge(b, fn(x))))`."""
        return B.result(self.for_(vec, B.appender(elem),
                                  lambda b, i, x: B.merge(b, fn(x))))

    def iterate(self, initial: B.Like, fn: Callable[[B.E], B.Like]) -> B.E:
        return B.E(N.Iterate(B.lift(initial).node, self.lam(fn, ("s",))))


def _topological(roots: Sequence[Node]) -> list[Node]:
    """Every node the roots need, inputs before users (iterative: chains can be long)."""
    order: list[Node] = []
    seen: set[int] = set()
    for root in roots:
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            if not node.is_leaf:
                stack.extend((i, False) for i in reversed(node.inputs) if id(i) not in seen)
    return order


def _batches(order: list[Node]) -> list[list[Node]]:
    """The non-leaf nodes in an order that computes inputs first, in batches of nodes to emit
    as one loop: equal `fuse_key` at the same depth (so neither reads the other)."""
    depth: dict[int, int] = {}
    batches: list[list[Node]] = []
    open_batches: dict = {}
    for node in order:
        if node.is_leaf:
            depth[id(node)] = 0
            continue
        d = depth[id(node)] = 1 + max((depth[id(i)] for i in node.inputs), default=0)
        key = node.fuse_key()
        if key is not None and (d, key) in open_batches:
            open_batches[(d, key)].append(node)
            continue
        batch = [node]
        batches.append(batch)
        if key is not None:
            open_batches[(d, key)] = batch
    batches.sort(key=lambda b: depth[id(b[0])])  # stable: topological within one depth
    return batches


def build_program(roots: Sequence[Node]) -> tuple[N.Program, list]:
    """The one program computing every root (a struct when there are several) and the
    argument values to call it with."""
    ctx = Namer()
    env: dict[int, B.E] = {}
    bindings: list[tuple[str, B.E]] = []
    order = _topological(roots)
    for node in order:
        if node.is_leaf:
            env[id(node)] = ctx.param(node.param_key(), node.cached, node.ir_type())
    for batch in _batches(order):
        args = [[env[id(i)] for i in node.inputs] for node in batch]
        if len(batch) == 1:
            value = batch[0].emit(ctx, args[0])
        else:
            value = type(batch[0]).emit_fused(ctx, batch, args)
        name = ctx.fresh("v")
        bindings.append((name, value))
        for k, node in enumerate(batch):
            env[id(node)] = B.ident(name) if len(batch) == 1 else B.ident(name).field(k)
    outs = [env[id(r)] for r in roots]
    body = outs[0] if len(outs) == 1 else B.struct(*outs)
    body_node = B.lift(body).node
    for name, value in reversed(bindings):
        body_node = N.Let(name, value.node, body_node)
    return N.Program(tuple(ctx.params), body_node), ctx.args


_compiler: Callable | None = None


def use_compiler(compile_fn: Callable) -> None:
    """Set the function that compiles programs (daybreak.api registers `db.compile`, so that
    frontends use the public path without importing the public package)."""
    global _compiler
    _compiler = compile_fn


def materialize(roots: Sequence[Node]) -> list:
    """The values of `roots`, computed by one compiled program (cached on each node)."""
    pending = [r for r in dict.fromkeys(roots, None) if not r.is_leaf]
    if pending:
        program, args = build_program(pending)
        if _compiler is None:  # pragma: no cover - daybreak/__init__ always registers one
            raise RuntimeError("no compiler registered (import daybreak first)")
        out = _compiler(program)(*args)
        values = [out] if len(pending) == 1 else list(out)
        for node, value in zip(pending, values, strict=True):
            node.cached = value
            node.inputs = ()  # the inputs' buffers can be freed now
    return [r.cached for r in roots]


class LazyValue:
    """Base of the values frontends hand to users. A subclass says which node computes it
    (`_lazy_node`) and how a computed raw value becomes what users see (`_lazy_finish`)."""

    __slots__ = ()

    def _lazy_node(self) -> Node:  # pragma: no cover - subclasses override
        raise NotImplementedError

    def _lazy_finish(self, raw):  # pragma: no cover - subclasses override
        raise NotImplementedError

    def __daybreak_program__(self) -> N.Program:
        """The program materialising this value would compile (what `db.explain` shows)."""
        node = self._lazy_node()
        if node.is_leaf:
            return build_program([_Identity(node)])[0]
        return build_program([node])[0]


class _Identity(Node):
    """A root that is already a value: the program just returns its parameter."""

    __slots__ = ()

    def __init__(self, node: Node):
        super().__init__([node])

    def ir_type(self) -> Type:
        return self.inputs[0].ir_type()

    def emit(self, ctx, args):
        return args[0]


def evaluate(*values):
    """Materialise several lazy values in one program that shares their work; other values
    pass through. Returns one value for one argument, else a tuple.

    >>> import daybreak as db, daybreak.numpy as dnp
    >>> x = dnp.arange(10_000.0)
    >>> db.evaluate(x.sum(), x.max())
    (np.float64(49995000.0), np.float64(9999.0))
    """
    lazies = [v for v in values if isinstance(v, LazyValue)]
    raws = dict(zip(map(id, lazies), materialize([v._lazy_node() for v in lazies]),
                    strict=True))
    out = tuple(v._lazy_finish(raws[id(v)]) if isinstance(v, LazyValue) else v for v in values)
    return out[0] if len(out) == 1 else out
