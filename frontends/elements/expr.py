"""Element expressions: what one element of an N-D array is, as a small DAG.

An array that has not been computed is an `Elem` tree over its shape: `Leaf`s read an input
vector (a flat C-order buffer, or the result of another loop) at an index given by per-axis
strides (0 on broadcast axes), `Outer`s are scalars computed outside the loop (a Python
scalar, a reduction result) and `Apply`s combine elements with an IR builder function. Chains
of elementwise calls grow one DAG, so they become ONE loop whatever the optimizer does; shared
sub-expressions are bound with `let` inside the loop body, so nothing is computed twice.

>>> import numpy as np
>>> from daybreak.frontends.lazy import Param
>>> from daybreak.ir.types import F64, Vec
>>> x = Leaf(Param(np.ones(3), Vec(F64)), (1,), 3, np.dtype("f8"))
>>> y = Apply(lambda ctx, a, b: a * b, (x, x), np.dtype("f8"))
>>> len(leaves_of(y)), count_applies(y)
(1, 1)
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable

import numpy as np

from daybreak.ir import builder as B
from daybreak.ir import nodes as N

from ..lazy import Namer, Node


@functools.lru_cache(maxsize=4096)
def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """C-order strides in elements: (3, 4) -> (4, 1)."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


_DTYPE = type(np.dtype(np.float64))  # (float64's dtype class: the commonest, tested first)


class Elem:
    """Base of element expressions; `dtype` is the NumPy dtype of the element."""

    __slots__ = (
        "dtype",
        "realized",
        "reduced",
        "weight",
        "depth",
        "order",
        "owner",
        "library_value",
        "__weakref__",
    )

    def __init__(self, dtype: np.dtype):
        self.dtype = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
        self.order = None  # `postorder(self)` less self, once asked for (it never changes)
        self.owner = None  # weakly, the frontend value (an array) that is this expression
        # `(shape, array)`: this expression's value over `shape` as the library computed it
        # inside a larger expression while an array was it (`eager.evaluate`): the library
        # reads it there again instead of computing it again, as NumPy holds the value of a
        # user's variable. Never a structure's business (not in signatures).
        self.library_value = None
        # The loop node computing this expression, once asked for: `(shape, node)`, the node
        # held weakly while it is pending (it holds this expression: a cycle would keep every
        # input buffer alive until the cyclic collector ran). See `realized_node`.
        self.realized = None
        # {(shape, axes, op): weakly, the pending reduction node} (`pending_reduction`).
        self.reduced = None
        self.weight = 1  # elements below this one, counted once per path (an upper bound)
        self.depth = 1  # the longest chain of elements down to a leaf

    @property
    def args(self) -> tuple[Elem, ...]:
        return ()


class Leaf(Elem):
    """Element of vector `node` at index offset + sum(coord[d] * strides[d]); `node=None` is
    that index itself (positions: arange, arg-reductions, index arithmetic). `size` is the
    vector's length. A slice with an offset (`u[1:-1, 2:]`) stays a leaf, so a loop can read
    it as a contiguous `iter` slice instead of one lookup per element."""

    __slots__ = ("node", "strides", "size", "offset")

    def __init__(
        self, node: Node | None, strides: tuple[int, ...], size: int, dtype, offset: int = 0
    ):
        super().__init__(dtype)
        self.node = node
        self.strides = tuple(strides)
        self.size = size
        self.offset = int(offset)

    @classmethod
    def plain(cls, node: Node | None, strides: tuple, size: int, dtype: np.dtype) -> Leaf:
        """`Leaf(node, strides, size, dtype)` for a tuple of strides and a NumPy dtype, made
        without the general constructors' conversions: a Python loop makes one per call (a
        result computed at once, an operand read again)."""
        leaf = cls.__new__(cls)
        leaf.dtype, leaf.node, leaf.strides, leaf.size, leaf.offset = dtype, node, strides, size, 0
        leaf.order = leaf.owner = leaf.library_value = leaf.realized = leaf.reduced = None
        leaf.weight = leaf.depth = 1
        return leaf

    def key(self):
        return (id(self.node), self.strides, self.offset)

    def with_node(self, node: Node) -> Leaf:
        """The same element read from `node` (a snapshot of this one's)."""
        leaf = Leaf.plain(node, self.strides, self.size, self.dtype)
        leaf.offset = self.offset
        return leaf

    def with_strides(self, strides: tuple[int, ...], offset: int | None = None) -> Leaf:
        """The same vector read with other strides (and the same offset unless given)."""
        return Leaf(
            self.node, strides, self.size, self.dtype, self.offset if offset is None else offset
        )


def snapshot_leaf(leaf: Leaf | Outer) -> Leaf | Outer:
    """`leaf` (or a whole-vector outer) read by a lazy value: over the snapshot of the
    user's memory it reads (`Param.snapshot`)."""
    return leaf.with_node(leaf.node.snapshot())


def _over_snapshots(args: tuple[Elem, ...]) -> tuple[Elem, ...]:
    """`args` with each read of the user's memory over its snapshot, asked once per buffer
    (`x[1:] + x[:-1]` compares the buffer with its snapshot once, not twice)."""
    snapshots: dict = {}
    out = []
    for a in args:
        if _reads_borrowed(a):
            found = snapshots.get(id(a.node))
            if found is None:
                found = snapshots[id(a.node)] = a.node.snapshot()
            a = a.with_node(found)
        out.append(a)
    return tuple(out)


def _reads_borrowed(e: Elem) -> bool:
    return isinstance(e, Leaf | Outer) and getattr(e.node, "borrowed", False)


def snapshot_leaves(root: Elem) -> Elem:
    """`root` reading snapshots instead of the user's memory (`snapshot_leaf`)."""
    return rewrite([root], lambda e: snapshot_leaf(e) if _reads_borrowed(e) else e)[0]


class Outer(Elem):
    """A scalar computed once, outside the loop: `node` has a scalar IR type."""

    __slots__ = ("node",)

    def __init__(self, node: Node, dtype):
        super().__init__(dtype)
        self.node = node

    @classmethod
    def plain(cls, node: Node, dtype: np.dtype) -> Outer:
        """`Outer(node, dtype)` for a NumPy dtype, without the general constructor's
        conversion (every Python scalar operand of a recorded call is one)."""
        outer = cls.__new__(cls)
        outer.dtype, outer.node = dtype, node
        outer.order = outer.owner = outer.library_value = outer.realized = outer.reduced = None
        outer.weight = outer.depth = 1
        return outer

    def with_node(self, node: Node) -> Outer:
        """The same element read from `node` (a snapshot of this one's)."""
        return Outer.plain(node, self.dtype)


_READERS = (Leaf, Outer)  # the elements that read a node (and so maybe the user's memory)


class Apply(Elem):
    """`fn(ctx, *args)` builds the IR of this element from its arguments' IR."""

    __slots__ = ("fn", "_args", "eager", "site", "fn_sig")

    def __init__(self, fn: Callable[..., B.E], args: tuple[Elem, ...], dtype, eager=None):
        # (`Elem.__init__` inline: every recorded call makes one of these)
        self.dtype = (
            dtype if type(dtype) is _DTYPE or isinstance(dtype, np.dtype) else np.dtype(dtype)
        )
        self.order = self.owner = self.library_value = self.realized = self.reduced = None
        self.fn = fn
        if type(args) is not tuple:
            args = tuple(args)
        weight, depth, borrowed = 1, 0, False
        for a in args:  # (one pass: every recorded call makes one of these)
            weight += a.weight
            if a.depth > depth:
                depth = a.depth
            if isinstance(a, _READERS) and a.node is not None and a.node.borrowed:
                borrowed = True
        if borrowed:
            args = _over_snapshots(args)
        self._args = args
        self.weight = min(weight, 1 << 30)
        self.depth = depth + 1
        # The same element computed by NumPy on whole arrays (`eager(*arg_values)`), for
        # tier 0 (`elements/eager.py`); None: only the compiled path can compute it.
        self.eager = eager
        # The user's line that made this element from the user's memory, if one did
        # (`frontends/sites.py`): what becomes of it teaches that line's next call.
        self.site = None
        # `signature.fn_key(fn)`, when the maker knows it already (a ufunc call's plan keys
        # its builder once): a signature then skips reading the builder's closure.
        self.fn_sig = None

    @property
    def args(self) -> tuple[Elem, ...]:
        return self._args

    def rebuilt(self, args: tuple[Elem, ...]) -> Elem:
        """This node over new arguments (subclasses keep what they know about themselves)."""
        return Apply(self.fn, args, self.dtype, self.eager)

    def has_eager(self) -> bool:
        return self.eager is not None

    def evaluate_eagerly(self, values: list):
        """This element over whole arrays, by NumPy (`values`: its arguments' arrays)."""
        if self.eager is None:
            from ..lazy import NotEager

            raise NotEager("an element without a NumPy form")
        out = self.eager(*values)
        if getattr(out, "dtype", self.dtype) != self.dtype:
            out = np.asarray(out).astype(self.dtype) if np.ndim(out) else self.dtype.type(out)
        return out


class Constant(Apply):
    """A literal known while building (`value`): lets loops specialise reads and selects."""

    __slots__ = ("value",)

    def __init__(self, value, dtype):
        dtype = np.dtype(dtype)
        super().__init__(_constant_ir(value, dtype), (), dtype)
        self.value = value

    def rebuilt(self, args):
        return self

    def has_eager(self) -> bool:
        return True

    def evaluate_eagerly(self, values):
        return self.dtype.type(self.value)


def _constant_ir(value, dtype: np.dtype):
    if dtype == np.bool_:
        return lambda ctx: B.lit(bool(value))
    return lambda ctx: ctx.size(int(value))  # i64 index values: a parameter, never a literal


class Select(Apply):
    """`select(cond, inside, outside)`; a loop that knows `cond` keeps only one side."""

    __slots__ = ()

    def __init__(self, cond: Elem, inside: Elem, outside: Elem, dtype):
        super().__init__(lambda c, k, p, q: B.select(k, p, q), (cond, inside, outside), dtype)

    def rebuilt(self, args):
        cond, inside, outside = args
        if isinstance(cond, Constant):
            return inside if cond.value else outside
        return Select(cond, inside, outside, self.dtype)

    def has_eager(self) -> bool:
        return True

    def evaluate_eagerly(self, values):
        return np.where(*values).astype(self.dtype, copy=False)


class Both(Apply):
    """`a & b` of two boolean tests; a known test leaves the other (or a known False)."""

    __slots__ = ()

    def __init__(self, a: Elem, b: Elem):
        super().__init__(lambda c, p, q: p & q, (a, b), np.dtype(bool))

    def rebuilt(self, args):
        known = [a for a in args if isinstance(a, Constant)]
        if any(not k.value for k in known):
            return Constant(False, np.dtype(bool))
        rest = [a for a in args if not isinstance(a, Constant)]
        if len(rest) < 2:
            return rest[0] if rest else Constant(True, np.dtype(bool))
        return Both(*rest)

    def has_eager(self) -> bool:
        return True

    def evaluate_eagerly(self, values):
        return np.logical_and(*values)


def set_realized(expr: Elem, shape: tuple[int, ...], node: Node) -> None:
    """Remember `node` as the loop computing `expr` over `shape`: strongly when it holds a
    value already (it does not point back), else weakly — whoever reads it (a consumer's
    leaf, the array being computed) holds it, and nobody else needs it."""
    expr.realized = (shape, node if node.is_leaf else weakref.ref(node))
    if node.is_leaf:
        COMPUTED_EPOCH[0] += 1


# Counts the expressions whose loop has computed its value (`set_realized` with a computed
# node): a pending loop made before that may read the value instead of recomputing the
# expression (`_ExprNode.refresh`); while the count is unchanged, nothing new can be read.
COMPUTED_EPOCH = [0]


def realized_node(expr: Elem, shape: tuple[int, ...]) -> Node | None:
    """The loop node computing `expr` over `shape`, if one was made and is still alive."""
    found = expr.realized
    if found is None or found[0] != shape:
        return None
    node = found[1]
    return node() if type(node) is weakref.ref else node


def pending_reduction(expr: Elem, key: tuple, make: Callable[[], Node]) -> Node:
    """The reduction node `make()` builds for `expr` (over `key` = (shape, axes, op)), shared
    with an equal reduction of the same expression still pending: `x.mean(0)` and
    `x.std(0)` compute x's mean once, `x.max(0)` and `x.argmax(0)` its maximum once. Only
    pending nodes are shared: a computed one may have been written in place since."""
    found = expr.reduced.get(key) if expr.reduced is not None else None
    node = found() if found is not None else None
    if node is None or node.is_leaf:
        node = make()
        if expr.reduced is None:
            expr.reduced = {}
        expr.reduced[key] = weakref.ref(node)
    return node


def postorder(root: Elem) -> list[Elem]:
    """Each distinct node once, arguments first (iterative: chains can be long). Kept on the
    root: materialising walks one expression several times (rewrite, leaves, signature,
    evaluation)."""
    if root.order is not None:
        return [*root.order, root]
    if root.depth <= _RECURSION_DEPTH:
        order = _postorder_shallow(root)
        root.order = tuple(order[:-1])
        return order
    order = postorder_until(root)
    root.order = tuple(order[:-1])  # without the root itself: no reference cycle
    return order


def postorder_until(root: Elem, skip: frozenset | set = frozenset()) -> list[Elem]:
    """Each distinct node once, arguments first, iteratively, without the arguments of the
    elements whose ids are in `skip` (unless something else reads them)."""
    order: list[Elem] = []
    seen: set[int] = set()
    stack: list[tuple[Elem, bool]] = [(root, False)]
    while stack:
        e, done = stack.pop()
        if done:
            order.append(e)
        elif id(e) not in seen:
            seen.add(id(e))
            stack.append((e, True))
            if id(e) not in skip:
                stack.extend((a, False) for a in reversed(e.args))
    return order


# Expressions no deeper than this are walked recursively (about twice as fast as the explicit
# stack for the few-element expressions of a Python loop); deeper ones never recurse.
_RECURSION_DEPTH = 100


def _postorder_shallow(root: Elem) -> list[Elem]:
    order: list[Elem] = []
    _visit(root, {id(root)}, order)
    return order


def _visit(e: Elem, seen: set, order: list) -> None:
    # (a module function, not a closure: a recursive closure is a reference cycle, which
    # would keep the walked expressions' buffers alive until the cyclic collector ran)
    for a in e.args:
        if id(a) not in seen:
            seen.add(id(a))
            _visit(a, seen, order)
    order.append(e)


def leaves_of(root: Elem) -> list[Leaf]:
    """The distinct leaves (by vector and strides), in first-use order."""
    found: dict = {}
    for e in postorder(root):
        if isinstance(e, Leaf):
            found.setdefault(e.key(), e)
    return list(found.values())


# Library functions that cost several simple passes per element (NumPy's transcendental
# loops run at ~4-10 ns per element where an add runs at ~1): the cost model's op weights.
HEAVY = frozenset(
    {
        "exp",
        "exp2",
        "expm1",
        "log",
        "log2",
        "log10",
        "log1p",
        "sin",
        "cos",
        "tan",
        "arcsin",
        "arccos",
        "arctan",
        "arctan2",
        "sinh",
        "cosh",
        "tanh",
        "arcsinh",
        "arccosh",
        "arctanh",
        "power",
        "erf",
        "erfc",
        "cbrt",
        "hypot",
    }
)
HEAVY_WEIGHT = 6


def op_weight(e: Elem) -> int:
    """How many simple element passes NumPy spends on `e` (the scheduler's cost model)."""
    return HEAVY_WEIGHT if getattr(getattr(e, "eager", None), "__name__", None) in HEAVY else 1


def leaves_and_outers(root: Elem) -> tuple[list[Leaf], list[Outer], int]:
    """The leaves, the outers and the applies' op weights (`op_weight`) in one walk."""
    leaves: dict = {}
    outers: dict = {}
    applies = 0
    for e in postorder(root):  # (exact types first: this runs for every loop node made)
        kind = type(e)
        if kind is Apply:
            applies += HEAVY_WEIGHT if getattr(e.eager, "__name__", None) in HEAVY else 1
        elif kind is Leaf or isinstance(e, Leaf):
            leaves.setdefault((id(e.node), e.strides, e.offset), e)  # `Leaf.key`
        elif kind is Outer or isinstance(e, Outer):
            outers.setdefault(id(e.node), e)
        else:
            applies += op_weight(e)
    return list(leaves.values()), list(outers.values()), applies


def count_applies(root: Elem) -> int:
    return sum(isinstance(e, Apply) for e in postorder(root))


def several_applies(root: Elem) -> bool:
    """`count_applies(root) > 1`, without walking the DAG (an Apply over another Apply)."""
    return isinstance(root, Apply) and any(isinstance(a, Apply) for a in root.args)


def has_leaves(root: Elem) -> bool:
    return any(isinstance(e, Leaf) for e in postorder(root))


def map_leaves(root: Elem, change: Callable[[Leaf], Elem]) -> Elem:
    """The same DAG with every leaf replaced by `change(leaf)` (sharing kept)."""
    return rewrite([root], lambda e: change(e) if isinstance(e, Leaf) else e)[0]


def rewrite(
    roots: list[Elem],
    change: Callable[[Elem], Elem],
    replace: Callable[[Elem], Elem | None] | None = None,
) -> list[Elem]:
    """The DAGs of `roots` rebuilt bottom-up: each node first gets its rewritten arguments
    (`Apply.rebuilt`), then `change` may replace it (sharing kept: each node once).
    `replace(node)`, asked first on the original node, may replace it whole."""
    new: dict[int, Elem] = {}
    for root in roots:
        for e in postorder(root):
            if id(e) in new:
                continue
            if replace is not None and (whole := replace(e)) is not None:
                new[id(e)] = whole
                continue
            if isinstance(e, Apply) and e.args:
                args = tuple(new[id(a)] for a in e.args)
                same = all(a is b for a, b in zip(args, e.args, strict=True))
                e2 = e if same else e.rebuilt(args)
            else:
                e2 = e
            new[id(e)] = change(e2)
    return [new[id(r)] for r in roots]


def emit(
    ctx: Namer, root: Elem, leaf_value: Callable[[Leaf], B.E], outer_value: Callable[[Outer], B.E]
) -> B.E:
    """The IR of `root` inside a loop body. Sub-expressions used more than once are bound
    with `let` (in dependency order) so the body computes each once."""
    return emit_many(ctx, [root], leaf_value, outer_value, lambda values: values[0])


def emit_many(
    ctx: Namer,
    roots: list[Elem],
    leaf_value: Callable[[Leaf], B.E],
    outer_value: Callable[[Outer], B.E],
    combine: Callable[[list[B.E]], B.Like],
) -> B.E:
    """`combine([IR of each root])` inside one loop body, with every sub-expression that two
    roots (or two uses in one root) share bound once with `let` — so call and put of
    Black-Scholes compute their common `erf`s once."""
    order: list[Elem] = []
    seen: set[int] = set()
    for root in roots:
        for e in postorder(root):
            if id(e) not in seen:
                seen.add(id(e))
                order.append(e)
    uses: dict[int, int] = {}
    for e in order:
        for a in e.args:
            uses[id(a)] = uses.get(id(a), 0) + 1
    for root in roots:  # a root another root also reads is shared too
        uses[id(root)] = uses.get(id(root), 0) + 1
    values: dict[int, B.E] = {}
    lets: list[tuple[str, B.E]] = []
    for e in order:
        if isinstance(e, Leaf):
            value = leaf_value(e)
        elif isinstance(e, Outer):
            value = outer_value(e)
        else:
            value = B.lift(e.fn(ctx, *(values[id(a)] for a in e.args)))
        if isinstance(e, Apply) and uses.get(id(e), 0) > 1:
            name = ctx.fresh("e")
            lets.append((name, value))
            value = B.ident(name)
        values[id(e)] = value
    body = B.lift(combine([values[id(r)] for r in roots]))
    for name, value in reversed(lets):
        body = B.E(N.Let(name, value.node, body.node))
    return body
