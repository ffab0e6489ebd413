"""Lazy values shared by every frontend: a DAG of `Node`s, and how a set of roots becomes ONE
IR program (`build_program`).

A frontend call returns a lazy value whose `Node` says how to compute it from other nodes.
Leaves are `Param`s (a NumPy buffer or a scalar handed to the program at run time: data never
goes into the program text). `build_program` walks the roots' DAG once, binds every node with
`let` (in dependency order, so shared work is computed once) and returns the roots as one
struct, with the arguments and where each comes from (the argument plan). What is compiled,
when, and what runs in the library instead is the scheduler's (`frontends/scheduler.py`).

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
>>> import daybreak
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

    __slots__ = ("inputs", "cached", "weight", "_signature", "__weakref__")
    borrowed = False  # whether the value is the user's memory (`Param`'s own, when it is)
    # Whether the library's calls write a temporary of the node's elements each (the cost
    # model's fresh memory, `scheduler.estimate`); not where they write only the result
    # (NumPy's `bincount`) or work in cached blocks (its `histogram`: 65,536 values a block)
    writes_temporaries = True

    def __init__(self, inputs: Sequence[Node] = ()):
        self.inputs = inputs = tuple(inputs)
        self.cached = _UNSET
        # How many pending nodes this one stands on (an upper bound: shared inputs count once
        # per path). The scheduler materialises a node whose weight passes its budget, so no
        # graph, program or walk grows without bound (a time loop of 10^4 steps).
        weight, borrowed = 1, False
        for i in inputs:
            if i.cached is _UNSET:
                weight += i.weight
            elif getattr(i, "borrowed", False):
                borrowed = True
        if borrowed:  # a pending node reads no user memory
            self.inputs = tuple(map(snapshot_of, inputs))
        self.weight = min(weight, 1 << 30)
        self._signature = _UNSET

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

    def signature(self):
        """What decides the IR `emit` builds from its inputs' IR, as a hashable value (None:
        not known, so programs containing this node are rebuilt on every materialisation).
        Two nodes with equal signatures over equal inputs emit equal IR: the scheduler finds
        a compiled program by the signatures of its graph, without building its text."""
        if self._signature is _UNSET:
            self._signature = intern(self.compute_signature())
        return self._signature

    def compute_signature(self):
        return None

    def refresh(self) -> None:
        """Before a pending node's inputs are walked to compute it: take up what was computed
        since it was made (`_ExprNode.refresh`); nothing for most nodes."""

    def evaluate_eagerly(self, inputs: list):
        """This node's value computed by the real library from its inputs' values (tier 0),
        or raise `NotEager` when this node cannot do that."""
        raise NotEager(type(self).__name__)

    def eager_inputs(self) -> Sequence[Node]:
        """The inputs whose values `evaluate_eagerly` reads (a library kernel may need fewer
        than the compiled form: `np.argmax` reads no row maximum)."""
        return self.inputs

    def eager_parts(self) -> tuple:
        """Keys of the parts of `evaluate_eagerly`'s work that another node may do alike
        (the scheduler computes those once per library run: `scheduler.SHARED_PARTS`)."""
        return ()

    def eager_work(self) -> tuple[int, int]:
        """(library calls, elements they touch) of `evaluate_eagerly`: the cost model's input."""
        return (1, 1)

    def wanted_later(self) -> bool:
        """Whether something outside the graph being computed still reads this pending node
        (a user's variable holds its value): then the program computing it returns it too,
        and it keeps its value (`scheduler._compute`)."""
        return False

    def output_elements(self) -> int:
        """How many elements this node's value holds (what a program writes for it)."""
        return self.eager_work()[1]

    def computed(self, value) -> None:
        """Hold `value` from now on and drop everything that computed it (its inputs' buffers
        can then be freed while this node lives on, read by other lazy values)."""
        self.cached = value
        self.inputs = ()


def snapshot_of(node: Node) -> Node:
    """What a lazy value made now reads for `node`: its snapshot when `node` is the user's
    memory (`Param.snapshot`), else `node` itself."""
    return node.snapshot() if getattr(node, "borrowed", False) else node


class NotEager(Exception):
    """A node the real library cannot compute directly: the scheduler compiles it first."""


_INTERNED: dict = {}
_SERIALS = itertools.count(1)


def intern(signature):
    """A small int standing for `signature` (equal signatures, equal ints; None for None):
    a program's structure key is made of these, so finding it hashes a few ints instead of
    every node's nested signature. Numbers are never reused, also after the table is
    cleared (a bound, not a cache policy), so an old key never meets a new meaning."""
    if signature is None:
        return None
    found = _INTERNED.get(signature)
    if found is None:
        if len(_INTERNED) > 200_000:
            _INTERNED.clear()
        found = _INTERNED[signature] = next(_SERIALS)
    return found


class Param(Node):
    """An input of the program: an array buffer or a scalar, passed at run time.

    `key` decides deduplication: by default the identity of `source` (the user's object, so the
    same array used twice is one parameter); `key=None` never shares."""

    __slots__ = ("type", "key", "source", "borrowed", "_snapshot")

    def __init__(self, value, ty: Type, key=_UNSET, source=None, borrowed: bool = False):
        super().__init__()
        self.cached = value
        self.type = ty
        self.source = source if source is not None else value
        self.key = ("id", id(self.source)) if key is _UNSET else key
        # The value is memory the user may still write: read and written in place by work
        # done at once (the daybreak array over it IS the user's array, as `np.asarray(u)`
        # is `u`), and read through a copy (`snapshot`) by lazy values, which must mean what
        # it held when they were made.
        self.borrowed = borrowed
        self._snapshot = None

    @classmethod
    def scalar(cls, value, ty: Type) -> Param:
        """`Param(value, ty, key=None)` for a scalar (never shared, never borrowed), made
        without the general constructor's work: every Python scalar operand of a recorded
        call is one."""
        param = cls.__new__(cls)
        param.inputs, param.cached, param.weight, param._signature = (), value, 1, _UNSET
        param.type, param.source, param.key, param.borrowed = ty, value, None, False
        param._snapshot = None
        return param

    @classmethod
    def owned(cls, flat, ty: Type) -> Param:
        """`Param(flat, ty, source=flat)` for a buffer nobody else holds (a result NumPy or
        native code just made), made without the general constructor's work."""
        param = cls.__new__(cls)
        param.inputs, param.cached, param.weight, param._signature = (), flat, 1, _UNSET
        param.type, param.source, param.key, param.borrowed = ty, flat, ("id", id(flat)), False
        param._snapshot = None
        return param

    def snapshot(self) -> Param:
        """The node a lazy value made now reads instead of this borrowed buffer: a snapshot
        of it (`snapshots.take`: held by a write guard where the backend has them, else a
        copy), shared by the lazy values made while the buffer holds what it held."""
        return _snapshots.take(self)

    def written(self) -> None:
        """Daybreak is writing this borrowed buffer in place: lazy values made from now on
        read a new snapshot (those made before keep theirs, filled now: a program that
        writes the buffer must not be reading it through the snapshot)."""
        _snapshots.settle(self)

    def ir_type(self) -> Type:
        return self.type

    def param_key(self):
        return self.key if self.key is not None else ("node", id(self))

    def evaluate_eagerly(self, inputs: list):
        return self.cached


class Unset(Param):
    """The fill of `numpy.empty`: a scalar whose value (zero) stands for values NumPy leaves
    unspecified. The library computes an array of it as a buffer never written
    (`numpy.empty`'s), where zeros would be a pass over the buffer first (`calloc` of memory
    the heap had before: ~0.5 ms for 12.8 MB, level_loop's `p = np.empty_like(theta)`
    filled plane by plane); native code writes zeros."""

    __slots__ = ()


class Namer:
    """One program under construction: deterministic binder names, its parameters (leaves
    and i64 sizes, each deduplicated by key), and small loop helpers."""

    def __init__(self):
        self._counters: dict[str, itertools.count] = {}
        self.params: list[N.Param] = []
        self.args: list = []
        # Where each argument comes from: ("leaf", k) is the k-th leaf of the graph,
        # ("const", v) a value fixed by the program's structure (a size or stride).
        self.origins: list[tuple] = []
        self._by_key: dict = {}

    def param(self, key, value, ty: Type, origin: tuple | None = None) -> B.E:
        """The parameter for `key`, declared (with `value` as its argument) on first use."""
        found = self._by_key.get(key)
        if found is None:
            name = f"p{len(self.params)}"
            self.params.append(N.Param(name, ty))
            self.args.append(value)
            self.origins.append(origin if origin is not None else ("const", value))
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
        its = tuple(
            it if isinstance(it, N.Iter) else N.Iter("scalar", B.lift(it).node) for it in items
        )
        return B.E(N.For(its, B.lift(builder).node, self.lam(fn, ("b", "i", "x"))))

    def let(self, value: B.Like, body: Callable[[B.E], B.Like], prefix: str = "t") -> B.E:
        name = self.fresh(prefix)
        return B.E(N.Let(name, B.lift(value).node, B.lift(body(B.ident(name))).node))

    def map(self, vec: B.Like, fn: Callable[[B.E], B.Like], elem: Type) -> B.E:
        """`result(for(vec, appender[elem], |b, i, x| merge(b, fn(x))))`."""
        return B.result(self.for_(vec, B.appender(elem), lambda b, i, x: B.merge(b, fn(x))))

    def iterate(self, initial: B.Like, fn: Callable[[B.E], B.Like]) -> B.E:
        return B.E(N.Iterate(B.lift(initial).node, self.lam(fn, ("s",))))


def topological(roots: Sequence[Node]) -> list[Node]:
    """Every node the roots need, inputs before users (iterative: chains can be long)."""
    if len(roots) == 1 and all(i.cached is not _UNSET for i in roots[0].inputs):
        roots[0].refresh()
        if all(i.cached is not _UNSET for i in roots[0].inputs):
            return [*dict.fromkeys(roots[0].inputs), roots[0]]  # one loop over inputs (most)
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
                node.refresh()
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


def build_program(
    roots: Sequence[Node], order: list[Node] | None = None
) -> tuple[N.Program, list, list[tuple]]:
    """The one program computing every root (a struct when there are several), the argument
    values to call it with, and where each argument comes from (`Namer.origins`, with leaves
    numbered in the order of `order`, the roots' `topological` order)."""
    ctx = Namer()
    env: dict[int, B.E] = {}
    bindings: list[tuple[str, B.E]] = []
    order = topological(roots) if order is None else order
    leaf_number = 0
    for node in order:
        if node.is_leaf:
            env[id(node)] = ctx.param(
                node.param_key(), _snapshots.run_value(node), node.ir_type(), ("leaf", leaf_number)
            )
            leaf_number += 1
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
    return N.Program(tuple(ctx.params), body_node), ctx.args, ctx.origins


def materialize(roots: Sequence[Node]) -> list:
    """The values of `roots` (see `scheduler.materialize`)."""
    from .scheduler import materialize as run

    return run(roots)


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

    def __daybreak_schedule__(self) -> str:
        """What the scheduler would decide for materialising this value (`db.explain`)."""
        from .scheduler import explain_schedule

        return explain_schedule([self._lazy_node()])


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
    """Materialise several lazy values in one program (see `scheduler.evaluate`)."""
    from .scheduler import evaluate as run

    return run(*values)


from . import snapshots as _snapshots  # noqa: E402 - (it builds on Param, above)
