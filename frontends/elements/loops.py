"""The lazy nodes that turn element expressions into IR loops.

* `ElementwiseLoop`: one pass over an N-D shape; appends every element (an array) or merges
  them into one merger (a reduction over all axes). Inputs whose strides are plain C order
  are iterated with `zip` (so the optimizer can fuse the loop with its producers and
  consumers); broadcast inputs are read with `lookup` at an index computed from the position.
* `AxisReduce`: a reduction over some axes, one merger per output element (nested loops);
  when the reduced axes are the trailing ones, the inner loop walks contiguous `iter` slices.
* `Scan`: running sums, products, minima or maxima along the last axis (`cumsum`): each
  row's terms scanned in order by an IR `scanner`, the rows on the threads.
* `ScalarExpr`: a 0-d expression, computed with no loop at all.

Sizes and strides enter programs as i64 parameters (`Namer.size`), never as literals, so one
compiled program serves every shape with the same pattern.
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from daybreak.ir import builder as B
from daybreak.ir.ops import MERGE_OP_DECLS, merge_identity
from daybreak.ir.types import I64, Type, Vec

from ..lazy import Namer, Node, NotEager, Unset
from ..scheduler import check_budget
from . import eager
from .dtypes import ir_scalar
from .eager import can_evaluate
from .expr import (
    COMPUTED_EPOCH,
    Apply,
    Elem,
    Leaf,
    Outer,
    contiguous_strides,
    count_applies,
    emit,
    emit_many,
    leaves_and_outers,
    postorder,
    realized_node,
    rewrite,
    set_realized,
    snapshot_leaves,
)
from .scalar_ops import truthy
from .signature import Unkeyable, expr_signature


def is_contiguous(strides: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """Whether a leaf with `strides` reads a buffer of `shape` in plain C order (axes of
    length 1 never move, so their stride does not matter)."""
    plain = contiguous_strides(shape)
    if strides == plain:
        return True
    return all(s == p for s, p, n in zip(strides, plain, shape, strict=True) if n != 1)


class Coords:
    """The coordinates of a flat position `flat` over `shape`, built on demand (each once)."""

    def __init__(self, ctx: Namer, flat: B.E, shape: tuple[int, ...]):
        self.ctx, self.flat, self.shape = ctx, flat, shape
        self.plain = contiguous_strides(shape)
        self._coords: dict[int, B.E] = {}

    def coord(self, d: int) -> B.E:
        if d not in self._coords:
            c = self.flat
            if self.plain[d] != 1:
                c = c / self.ctx.size(self.plain[d])
            if any(n != 1 for n in self.shape[:d]):  # the outermost moving axis needs no %
                c = c % self.ctx.size(self.shape[d])
            self._coords[d] = c
        return self._coords[d]

    def locate(self, d: int) -> tuple[Coords, int]:
        return self, d

    def flat_term(self, axes: list[tuple[int, int]]) -> B.E | None:
        """`sum(coord(k) * stride)` over `axes` ((k, stride), k increasing) from the flat
        position itself, when the strides are C order (times one factor) over every moving
        axis from the first of them on: `flat`, or `flat % n` under leading axes that do
        not move. A broadcast mean read inside a reduction over (t, lat, lon) is `o`, not
        `o / 180 * 180 + o % 180` (a division and a remainder per element, and no vector
        loop). None: the strides are not such a block."""
        first, stride = axes[0]
        moving = [k for k in range(first, len(self.shape)) if self.shape[k] != 1]
        if [k for k, _ in axes] != moving or not self.plain[first] or stride % self.plain[first]:
            return None  # (a plain stride of 0: the shape is empty, nothing is read)
        scale = stride // self.plain[first]
        if any(s != scale * self.plain[k] for k, s in axes):
            return None
        term = self.flat
        if any(n != 1 for n in self.shape[:first]):
            term = term % self.ctx.size(math.prod(self.shape[first:]))
        return term if scale == 1 else term * self.ctx.size(scale)


class MixedCoords:
    """Coordinates where some axes come from one position and the rest from another (an
    output element and a position inside the reduced axes)."""

    def __init__(self, parts: list[tuple[Coords, list[int]]]):
        self.where = {axis: (coords, k) for coords, axes in parts for k, axis in enumerate(axes)}

    def coord(self, d: int) -> B.E:
        coords, k = self.where[d]
        return coords.coord(k)

    def locate(self, d: int) -> tuple[Coords, int]:
        return self.where[d]


def leaf_index(ctx: Namer, leaf: Leaf, shape: tuple[int, ...], coords) -> B.E:
    """offset + sum(coord[d] * strides[d]) over the axes that move; the axes of one flat
    position that the leaf reads as a C-order block take that position whole
    (`Coords.flat_term`). `coords.locate(d)`: the `Coords` axis d comes from and its axis
    there (None: a coordinate of its own)."""
    groups: dict[int, list[tuple[int, int, int]]] = {}
    owner: dict[int, Coords | None] = {}
    for d, (stride, n) in enumerate(zip(leaf.strides, shape, strict=True)):
        if stride == 0 or n == 1:
            continue
        group, k = coords.locate(d)
        key = id(group) if group is not None else -1 - d
        owner[key] = group
        groups.setdefault(key, []).append((d, k, stride))
    total = ctx.size(leaf.offset) if leaf.offset else None
    for key, axes in groups.items():
        group = owner[key]
        whole = group.flat_term([(k, s) for _, k, s in axes]) if group is not None else None
        terms = [whole] if whole is not None else []
        if whole is None:
            for d, _, stride in axes:
                term = coords.coord(d)
                terms.append(term if stride == 1 else term * ctx.size(stride))
        for term in terms:
            total = term if total is None else total + term
    return total if total is not None else B.lit(0, I64)


def _leaf_reader(ctx: Namer, vectors: dict, shape, coords):
    def read(leaf: Leaf) -> B.E:
        index = leaf_index(ctx, leaf, shape, coords)
        return index if leaf.node is None else B.lookup(vectors[id(leaf.node)], index)

    return read


def _zipped_or(slot: dict, gather):
    """Read a leaf from the loop's zipped element when it is one, else by index."""
    return lambda leaf: slot[leaf.key()] if leaf.key() in slot else gather(leaf)


def _read_no_user_memory(expr: Elem) -> tuple[Elem, tuple]:
    """`expr` reading snapshots of the user's memory (a pending loop reads no borrowed
    buffer), and its `leaves_and_outers`."""
    found = leaves_and_outers(expr)
    for readers in found[:2]:
        for x in readers:
            if x.node is not None and x.node.borrowed:
                expr = snapshot_leaves(expr)
                return expr, leaves_and_outers(expr)
    return expr, found


_SPENT: dict = {}


# Loops made for an expression a program computed inline and a later expression reads
# again (`numpy.array.held_now`), weakly: what computes them keeps their values, as a
# variable's, so that the next read is a read, not the expression once more
READ_AGAIN: weakref.WeakSet = weakref.WeakSet()


def _spent(dtype: np.dtype) -> Elem:
    """The element a computed loop keeps in place of its expression: its dtype, which is all
    that is read from then on (one per dtype, shared: never walked, never an array's)."""
    found = _SPENT.get(dtype)
    if found is None:
        found = _SPENT[dtype] = Elem(dtype)
    return found


class _ExprNode(Node):
    """A node computing something from one element expression: its inputs are the vectors
    the expression's leaves read and the scalars its outers use."""

    __slots__ = (
        "expr",
        "shape",
        "leaves",
        "outers",
        "applies",
        "op",
        "source",
        "epoch",
        "library",
    )

    def __init__(self, expr: Elem, shape: tuple[int, ...], op: str | None = None):
        self.expr, self.shape, self.op = expr, tuple(shape), op
        self.source = None  # weakly, the expression `realize` made this node for
        self.epoch = COMPUTED_EPOCH[0]
        self.library = None  # (expr, kernel): see `use_library_kernel`
        super().__init__(self._read_inputs())

    def _read_inputs(self) -> list[Node]:
        self.expr, (self.leaves, self.outers, self.applies) = _read_no_user_memory(self.expr)
        nodes = {id(x.node): x.node for x in self.leaves if x.node is not None}
        nodes.update((id(o.node), o.node) for o in self.outers)
        if self.library is not None:  # (its leaves are the expression's, unless rewritten)
            expr, (leaves, outers, _) = _read_no_user_memory(self.library[0])
            self.library = (expr, self.library[1])
            nodes.update((id(x.node), x.node) for x in leaves if x.node is not None)
            nodes.update((id(o.node), o.node) for o in outers)
        return list(nodes.values())

    def use_library_kernel(self, expr: Elem, kernel) -> None:
        """In tier 0, compute this node as NumPy's `kernel` over `expr`'s value (over this
        node's shape) instead of from its element expression: an arg-reduction's element
        form is the extreme, a comparison with it, a select of positions and another
        reduction (five NumPy passes or more), where `np.argmax` is one. Compiled code
        still runs the element form (fused, two passes)."""
        self.library = (expr, kernel)
        Node.__init__(self, self._read_inputs())

    def refresh(self) -> None:
        """Read what other programs computed since this loop was made. `anom > 2.5 * sd`
        made a loop for `2.5 * sd` (a broadcast operand, computed once) over sd's whole
        expression; when `sd` is computed first, this loop reads sd's value instead of
        recomputing sd and the reductions under it (whose values nobody kept)."""
        if self.epoch == COMPUTED_EPOCH[0]:
            return
        self.epoch = COMPUTED_EPOCH[0]
        expr = computed_parts_read(self.expr, self.shape, whole=self.op is not None)
        library = self.library
        if library is not None:
            library = (computed_parts_read(library[0], self.shape, whole=True), library[1])
        if expr is not self.expr or library != self.library:
            self.expr, self.library = expr, library
            Node.__init__(self, self._read_inputs())

    def wanted_later(self) -> bool:
        source = self.source() if self.source is not None else None
        owner = source.owner if source is not None else None
        return (owner is not None and owner() is not None) or self in READ_AGAIN

    def computed(self, value) -> None:
        super().computed(value)
        # Only the dtype is read from now on (`ir_type`): the expression and its leaves'
        # buffers go. The expression it was made for now holds it (no cycle any more), so
        # whatever reads that expression later reads this value instead of recomputing it.
        self.expr, self.leaves, self.outers = _spent(self.expr.dtype), [], []
        self.library = None
        source = self.source() if self.source is not None else None
        if source is not None and realized_node(source, self.shape) is self:
            set_realized(source, self.shape, self)
        self.source = None

    def _inputs(self, args: list[B.E]) -> dict[int, B.E]:
        return {id(n): a for n, a in zip(self.inputs, args, strict=True)}

    def compute_signature(self):
        numbered = {id(n): k for k, n in enumerate(self.inputs)}
        try:
            expr = expr_signature(self.expr, numbered)
        except Unkeyable:
            return None
        return (type(self), self.shape, self.op, getattr(self, "axes", None), expr)

    def evaluate_eagerly(self, inputs: list):
        values = {id(n): v for n, v in zip(self.inputs, inputs, strict=True)}
        if self.library is not None and can_evaluate(self.library[0]):
            expr, kernel = self.library
            value = eager.evaluate(expr, self.shape, values, True)
            if np.shape(value) != self.shape:
                # (only then: NumPy's argmax copies a broadcast view of the whole shape first,
                # 2-3x its own time on a 2000 x 2000 array)
                value = np.broadcast_to(value, self.shape)
            return self._finish_with_kernel(kernel, value)
        if not can_evaluate(self.expr):
            raise NotEager("an element without a NumPy form")
        reduced = self.op is not None
        return self._finish_eagerly(eager.evaluate(self.expr, self.shape, values, reduced))

    def eager_inputs(self) -> list[Node]:
        # A library kernel's expression reads fewer nodes than the element form (an
        # arg-reduction's row extremes are the compiled form's only)
        if self.library is None or not can_evaluate(self.library[0]):
            return self.inputs
        leaves, outers, _ = leaves_and_outers(self.library[0])  # (snapshots read already)
        read = {id(x.node) for x in leaves if x.node is not None}
        read.update(id(o.node) for o in outers)
        return [n for n in self.inputs if id(n) in read]

    def eager_parts(self) -> tuple:
        # the element expressions it evaluates over its shape (`eager.evaluate`), by identity
        exprs = (self.expr,) if self.library is None else (self.expr, self.library[0])
        return tuple(
            (id(e), self.shape) for x in exprs for e in postorder(x) if isinstance(e, Apply)
        )

    def _finish_with_kernel(self, kernel, value):  # pragma: no cover - reductions override
        raise NotEager("a library kernel for a loop that is no reduction")

    def eager_work(self) -> tuple[int, int]:
        # A reduction is one more pass for the library (`np.add.reduce` after the terms).
        applies = self.applies
        if self.library is not None:
            applies = count_applies(self.library[0])
        return (max(applies, 1) + (self.op is not None), max(math.prod(self.shape), 1))

    def output_elements(self) -> int:
        if not self.op:
            return max(math.prod(self.shape), 1)
        axes = getattr(self, "axes", None)
        if axes is None:
            return 1
        return max(math.prod(n for d, n in enumerate(self.shape) if d not in axes), 1)

    def emit(self, ctx: Namer, args: list[B.E]) -> B.E:
        return self.emit_fused(ctx, [self], [args])

    @classmethod
    def emit_fused(cls, ctx: Namer, nodes: list, args: list[list[B.E]]) -> B.E:
        """One loop computing every node of `nodes` (same class, same `fuse_key`); a struct
        of their values when there are several."""
        values: dict[int, B.E] = {}
        for node, node_args in zip(nodes, args, strict=True):
            values.update(node._inputs(node_args))
        return cls._loop(ctx, nodes, values)


def _merge_all(b: B.E, nodes: list, results: list[B.E]) -> B.E:
    """The builder(s) after merging each node's value: `merge(b, v)` or a struct of merges."""
    if len(nodes) == 1:
        return B.merge(b, results[0])
    return B.struct(*(B.merge(b.field(k), v) for k, v in enumerate(results)))


def _builder(nodes: list, vectors: bool) -> B.E:
    """Each node's builder (a merger for its op, else an appender), a struct for several."""
    made = [
        B.merger(ir_scalar(n.expr.dtype), n.op)
        if n.op and not vectors
        else B.appender(ir_scalar(n.expr.dtype))
        for n in nodes
    ]
    return made[0] if len(made) == 1 else B.struct(*made)


def _split_leaves(nodes: list, n: int, shape: tuple[int, ...]) -> tuple[list, list]:
    """The distinct leaves of all nodes: those read in C order over the whole loop (zipped),
    and the others (read by index)."""
    leaves: dict = {}
    for node in nodes:
        for x in node.leaves:
            leaves.setdefault(x.key(), x)
    zipped = [
        x
        for x in leaves.values()
        if x.node is not None and x.size == n and x.offset == 0 and is_contiguous(x.strides, shape)
    ]
    others = [x for x in leaves.values() if not any(x is z for z in zipped)]
    return zipped, others


def _block_leaves(nodes: list, shape, axes, red_shape) -> list:
    """Leaves whose strides are 0 on the kept axes and C order over the reduced ones."""
    plain = contiguous_strides(red_shape)
    found: dict = {}
    for node in nodes:
        for x in node.leaves:
            if (
                x.node is None
                or x.size != math.prod(red_shape)
                or x.size == math.prod(shape)
                or x.offset
            ):
                continue
            kept_ok = all(
                x.strides[d] == 0 or shape[d] == 1 for d in range(len(shape)) if d not in axes
            )
            red_ok = all(
                x.strides[d] == p or shape[d] == 1 for d, p in zip(axes, plain, strict=True)
            )
            if kept_ok and red_ok:
                found.setdefault(x.key(), x)
    return list(found.values())


def _merged_elements(ctx, nodes, values, shape, slotted, b, x, count: int, coords_at):
    """A loop body merging each node's element into `b`: the loop's element `x` holds the
    `slotted` leaves' values (zipped iterators, in order) and, last, the position, whose
    coordinates (`coords_at(position)`) the other leaves are read at."""
    parts = [x] if count == 1 else [x.field(k) for k in range(count)]
    slot = {z.key(): parts[k] for k, z in enumerate(slotted)}
    gather = _leaf_reader(ctx, values, shape, coords_at(parts[-1]))
    return emit_many(
        ctx,
        [nd.expr for nd in nodes],
        _zipped_or(slot, gather),
        _outer_reader(values),
        lambda vs: _merge_all(b, nodes, vs),
    )


def _outer_reader(values: dict[int, B.E]):
    return lambda o: values[id(o.node)]


class ElementwiseLoop(_ExprNode):
    """All elements of `expr` over `shape`: a vector (`op=None`) or merged with `op`. Several
    over one shape that do not read each other become ONE loop (`fuse_key`)."""

    __slots__ = ()

    def ir_type(self) -> Type:
        elem = ir_scalar(self.expr.dtype)
        return elem if self.op else Vec(elem)

    def fuse_key(self):
        return ("elementwise", self.shape)

    def _finish_eagerly(self, value):
        if self.op:
            full = (
                value
                if type(value) is np.ndarray and value.shape == self.shape
                else np.broadcast_to(np.asarray(value), self.shape)
            )
            return eager.REDUCERS[self.op].reduce(full, axis=None, dtype=self.expr.dtype)
        if type(self.expr) is Outer and type(self.expr.node) is Unset:
            return np.empty(math.prod(self.shape), self.expr.dtype)  # (`empty`: unspecified)
        return eager.fresh_array(value, self.shape, self.expr.dtype).reshape(-1)

    def _finish_with_kernel(self, kernel, value):
        return self.expr.dtype.type(kernel(value))

    @classmethod
    def _loop(cls, ctx: Namer, nodes: list, values: dict[int, B.E]) -> B.E:
        from .rows import row_loop  # rows builds on this module's coordinates

        shape = nodes[0].shape
        n = math.prod(shape)
        zipped, others = _split_leaves(nodes, n, shape)
        nest = row_loop(ctx, nodes, values, bool(others), _merge_all)
        if nest is not None:
            return nest
        iters: list = [values[id(x.node)] for x in zipped]
        if others or not zipped:
            end = B.length(iters[0]) if zipped else ctx.size(n)
            iters.append(B.range_iter(0, end))

        def body(b, i, x):
            return _merged_elements(
                ctx,
                nodes,
                values,
                shape,
                zipped,
                b,
                x,
                len(iters),
                lambda position: Coords(ctx, position, shape),
            )

        return B.result(ctx.for_(iters, _builder(nodes, vectors=False), body))


class ScalarExpr(_ExprNode):
    """A 0-d element expression: no loop."""

    __slots__ = ()

    def __init__(self, expr: Elem):
        super().__init__(expr, ())

    def ir_type(self) -> Type:
        return ir_scalar(self.expr.dtype)

    def _finish_eagerly(self, value):
        return self.expr.dtype.type(np.asarray(value).reshape(-1)[0] if np.ndim(value) else value)

    def emit(self, ctx: Namer, args: list[B.E]) -> B.E:
        values = self._inputs(args)
        zero = B.lit(0, I64)

        def leaf(x: Leaf) -> B.E:
            index = ctx.size(x.offset) if x.offset else zero
            return index if x.node is None else B.lookup(values[id(x.node)], index)

        return emit(ctx, self.expr, leaf, _outer_reader(values))


class AxisReduce(_ExprNode):
    """`expr` over `shape` merged with `op` along `axes`; the result is the vector of the kept
    axes' elements in C order. Several over one shape and axes that do not read each other
    become ONE loop nest (`fuse_key`): nBody's three force components share dx, r, ...

    Coordinates come from the loop counters (the output element, the position inside the
    reduced block), never from dividing a flat position: `i / n` and `i % n` per element cost
    more than the arithmetic they index, and they stop LLVM from vectorising the inner loop.
    """

    __slots__ = ("axes",)

    def __init__(self, expr: Elem, shape: tuple[int, ...], axes: tuple[int, ...], op: str):
        super().__init__(expr, shape, op)
        self.axes = tuple(sorted(axes))

    def ir_type(self) -> Type:
        return Vec(ir_scalar(self.expr.dtype))

    def fuse_key(self):
        return ("axis", self.shape, self.axes)

    def _finish_eagerly(self, value):
        full = np.broadcast_to(np.asarray(value), self.shape)
        out = eager.REDUCERS[self.op].reduce(full, axis=self.axes, dtype=self.expr.dtype)
        return eager.fresh_array(out, np.shape(out), self.expr.dtype).reshape(-1)

    def _finish_with_kernel(self, kernel, value):
        if len(self.axes) != 1:
            raise NotEager("a library kernel over several axes")
        out = kernel(value, axis=self.axes[0])
        return eager.fresh_array(out, np.shape(out), self.expr.dtype).reshape(-1)

    @classmethod
    def _loop(cls, ctx: Namer, nodes: list, values: dict[int, B.E]) -> B.E:
        shape, axes, kept, kept_shape, red_shape, width = _split_axes(nodes[0])
        if (
            kept
            and axes == tuple(range(len(axes)))
            and width > 1
            and all(n.op in _VECMERGE_OPS for n in nodes)
        ):
            return _leading_axes_loop(ctx, nodes, values, kept, kept_shape, red_shape)
        trailing = axes == tuple(range(len(kept), len(shape)))
        return _block_nest(
            ctx,
            nodes,
            values,
            trailing,
            lambda: _builder(nodes, vectors=False),
            lambda b, totals: (
                B.merge(b, totals)
                if len(nodes) == 1
                else ctx.let(
                    totals,
                    lambda t: _merge_all(b, nodes, [t.field(k) for k in range(len(nodes))]),
                    "r",
                )
            ),
        )


def _split_axes(node) -> tuple:
    """`node`'s shape and axes, the kept axes and their shape, the axes' block shape and
    its size."""
    shape, axes = node.shape, node.axes
    kept = [d for d in range(len(shape)) if d not in axes]
    red_shape = tuple(shape[d] for d in axes)
    return shape, axes, kept, tuple(shape[d] for d in kept), red_shape, math.prod(red_shape)


def _block_nest(
    ctx: Namer,
    nodes: list,
    values: dict[int, B.E],
    trailing: bool,
    inner_builder,
    merged,
    outer_builder=None,
):
    """A loop over the kept axes' elements (the output's, in C order, into an appender per
    node, or `outer_builder`) around a loop over the `axes` block of each: `inner_builder()`
    makes the inner loop's builder, `merged(b, result)` merges its result into the outer
    builder `b`. With trailing axes, output element o reads the flat block [o*R, o*R + R):
    leaves in C order over the whole shape are zipped as `iter` slices of that block."""
    shape, axes, kept, kept_shape, red_shape, width = _split_axes(nodes[0])
    zipped, _ = _split_leaves(nodes, math.prod(shape), shape) if trailing else ([], [])
    # Leaves that read the same contiguous block for every output element (x[None, :] in
    # a row sum) are zipped too, as `iter(v, 0, R)`: a plain load, not a gather.
    repeated = _block_leaves(nodes, shape, axes, red_shape) if trailing else []

    def inner(o: B.E, start: B.E | None) -> B.E:
        iters: list = [B.iter_(values[id(x.node)], start, start + ctx.size(width)) for x in zipped]
        iters += [B.iter_(values[id(x.node)], 0, ctx.size(width)) for x in repeated]
        iters.append(B.range_iter(0, ctx.size(width)))
        slotted = zipped + repeated

        def body(b, i, x):
            return _merged_elements(
                ctx,
                nodes,
                values,
                shape,
                slotted,
                b,
                x,
                len(iters),
                lambda position: MixedCoords(
                    [
                        (Coords(ctx, o, kept_shape), kept),
                        (Coords(ctx, position, red_shape), list(axes)),
                    ]
                ),
            )

        return B.result(ctx.for_(iters, inner_builder(), body))

    def outer_body(b, i, o):
        if zipped:  # (bound around the merge: the inner loop's result stays a plain operand)
            return ctx.let(o * ctx.size(width), lambda start: merged(b, inner(o, start)), "s")
        return merged(b, inner(o, None))

    return B.result(
        ctx.for_(
            B.range_iter(0, ctx.size(math.prod(kept_shape))),
            _builder(nodes, vectors=True) if outer_builder is None else outer_builder,
            outer_body,
        )
    )


class Scan(_ExprNode):
    """`expr` over `shape` scanned with `op` along its last axis (`cumsum`, `cumprod`,
    `maximum.accumulate`): element k of a row is `op` of the row's elements 0..k, merged in
    order from the first (NumPy's `ufunc.accumulate`, so float sums round as NumPy's do).
    The result is every element, in C order. (Along a leading axis the frontend runs
    NumPy's scan, which adds whole rows in order: one line at a time down that axis reads
    an element per row.)

    before (NumPy): t = expr (a temporary); out = np.add.accumulate(t, axis=-1)
    after:  for r in rows (threads): for j in row (in order): out[r, j] = out[r, j-1] + expr
    """

    __slots__ = ("axes",)

    def __init__(self, expr: Elem, shape: tuple[int, ...], op: str):
        super().__init__(expr, shape, op)
        self.axes = (len(self.shape) - 1,)

    def ir_type(self) -> Type:
        return Vec(ir_scalar(self.expr.dtype))

    def _finish_eagerly(self, value):
        full = np.broadcast_to(np.asarray(value), self.shape)
        out = eager.REDUCERS[self.op].accumulate(full, axis=-1, dtype=self.expr.dtype)
        return eager.fresh_array(out, self.shape, self.expr.dtype).reshape(-1)

    def output_elements(self) -> int:
        return max(math.prod(self.shape), 1)

    @classmethod
    def _loop(cls, ctx: Namer, nodes: list, values: dict[int, B.E]) -> B.E:
        (node,) = nodes  # (a scan fuses with no other: `fuse_key` is None)
        elem = ir_scalar(node.expr.dtype)

        def scanned(b, terms):
            # A row's terms, then their scan: a loop of its own that runs in order (a
            # scanner is never split across threads; the rows' loop is). The optimizer fuses
            # the terms' loop into it (`fuse_vertical`; costly terms are a loop of their
            # own over the whole array: `reductions.scan`).
            running = ctx.for_(terms, B.scanner(elem, node.op), lambda s, k, y: B.merge(s, y))
            return B.merge(b, B.result(running))

        rows = _block_nest(
            ctx, nodes, values, True, lambda: B.appender(elem), scanned, B.appender(Vec(elem))
        )
        if math.prod(node.shape[:-1]) == 1:  # one row (a 1-D scan): it is the output
            return B.lookup(rows, B.lit(0, I64))
        # Then one loop over every element, merging one each (the threads write their
        # stretches of the output in place): merged row by row into one appender instead,
        # each thread's rows were copied twice more (a 512 x 16384 cumsum: 20 ms against
        # 28, NumPy's 31).
        width = ctx.size(node.shape[-1])
        return ctx.let(
            rows,
            lambda scans: B.result(
                ctx.for_(
                    B.range_iter(0, ctx.size(math.prod(node.shape))),
                    B.appender(elem),
                    lambda b, i, p: B.merge(b, B.lookup(B.lookup(scans, p / width), p % width)),
                )
            ),
            "r",
        )


_VECMERGE_OPS = frozenset(MERGE_OP_DECLS)  # a vecmerger takes every merge op (ir/ops.py)


def _leading_axes_loop(
    ctx: Namer,
    nodes: list,
    values: dict[int, B.E],
    kept: list[int],
    kept_shape: tuple[int, ...],
    red_shape: tuple[int, ...],
) -> B.E:
    """A reduction over the leading axes (`x.sum(axis=0)` of a C-order array) as NumPy does
    it: rows of the kept block are read in order and merged into one output vector
    (a vecmerger per node; each thread merges into its own copy). Reading down columns
    instead — one output element at a time — strides across the whole array for every
    element and ran 10-25x slower than NumPy.

    before: for o in kept: for r in reduced: acc = op(acc, x[r, o])    (x[r, o]: a stride)
    after:  for r in reduced: for o in kept: out[o] = op(out[o], x[r, o])  (a row: in order)
    """
    shape = nodes[0].shape
    axes = list(range(len(red_shape)))
    block = math.prod(kept_shape)
    # Leaves in C order over the whole shape: the row `r` is the slice [r*K, r*K + K).
    zipped, _ = _split_leaves(nodes, math.prod(shape), shape)

    def initial(node) -> B.E:
        t = ir_scalar(node.expr.dtype)
        fill = B.lit(merge_identity(node.op, t), t)
        return B.result(
            ctx.for_(
                B.range_iter(0, ctx.size(block)), B.appender(t), lambda b, i, x: B.merge(b, fill)
            )
        )

    made = [B.vecmerger(ir_scalar(n.expr.dtype), n.op, initial(n)) for n in nodes]
    builder = made[0] if len(made) == 1 else B.struct(*made)

    def row(b, r, _):
        start = ctx.let(r * ctx.size(block), lambda s: s, "s") if zipped else None
        iters: list = [B.iter_(values[id(x.node)], start, start + ctx.size(block)) for x in zipped]
        iters.append(B.range_iter(0, ctx.size(block)))

        def body(b2, i, x):
            parts = [x] if len(iters) == 1 else [x.field(k) for k in range(len(iters))]
            slot = {z.key(): parts[k] for k, z in enumerate(zipped)}
            o = parts[-1]
            coords = MixedCoords(
                [(Coords(ctx, o, kept_shape), kept), (Coords(ctx, r, red_shape), axes)]
            )
            gather = _leaf_reader(ctx, values, shape, coords)

            def merged(vs):
                if len(nodes) == 1:
                    return B.merge(b2, B.struct(o, vs[0]))
                return B.struct(*(B.merge(b2.field(k), B.struct(o, v)) for k, v in enumerate(vs)))

            return emit_many(
                ctx,
                [nd.expr for nd in nodes],
                _zipped_or(slot, gather),
                _outer_reader(values),
                merged,
            )

        return ctx.for_(iters, b, body)

    return B.result(ctx.for_(B.range_iter(0, ctx.size(math.prod(red_shape))), builder, row))


def computed_parts_read(expr: Elem, shape: tuple[int, ...], whole: bool = False) -> Elem:
    """`expr` with each sub-expression that already has its own loop over `shape` read from
    that loop's vector. A time step reads the previous step's arrays whole (as `u1`) and
    through rolls (which computed `u1` once for them); without this, every plain use would
    recompute `u1` and its stencil inside the next step's loop. `whole`: `expr` itself too
    (a reduction of `area` reads area's vector; an elementwise loop IS `expr`'s loop)."""
    if shape == ():
        return expr
    strides, size = contiguous_strides(shape), math.prod(shape)
    skip = None if whole else expr

    def computed(e: Elem) -> Elem | None:
        node = None if e is skip or not isinstance(e, Apply) else realized_node(e, shape)
        return None if node is None else Leaf(node, strides, size, e.dtype)

    inside = postorder(expr) if whole else postorder(expr)[:-1]
    if not any(e.realized is not None for e in inside):
        return expr  # nothing in it has a loop of its own (the common case): no rebuild
    return rewrite([expr], lambda e: e, computed)[0]


def realize(expr: Elem, shape: tuple[int, ...]) -> Node:
    """The node computing `expr` over `shape` (a vector, or a scalar for 0-d), made once per
    expression so that two uses share one loop."""
    shape = tuple(shape)
    found = realized_node(expr, shape)
    if found is None:
        if (
            isinstance(expr, Leaf)
            and expr.node is not None
            and expr.size == math.prod(shape)
            and expr.offset == 0
            and is_contiguous(expr.strides, shape)
            and shape != ()
        ):
            node = expr.node
        elif isinstance(expr, Outer) and shape == ():
            node = expr.node
        else:
            node = (
                ScalarExpr(expr)
                if shape == ()
                else ElementwiseLoop(computed_parts_read(expr, shape), shape)
            )
        if isinstance(node, _ExprNode):
            node.source = weakref.ref(expr)
        found = check_budget(node)
        set_realized(expr, shape, found)
    return found


class ScatterAdd(Node):
    """`out[k] += w` for each position `k` of the vector `keys` (with the matching weight of
    `weights`, or 1) into `length` zeros: NumPy's `bincount` once the positions are known to
    lie in [0, length). A vecmerger loop; a map computing the keys fuses into it."""

    __slots__ = ("length", "dtype", "key_type", "count")
    writes_temporaries = False  # (NumPy's bincount writes its counts only)

    def __init__(self, keys: Node, key_type, weights: Node | None, length: int, dtype, count: int):
        super().__init__([keys] if weights is None else [keys, weights])
        self.length, self.dtype, self.key_type = int(length), np.dtype(dtype), key_type
        self.count = int(count)  # (the positions: what the loop and NumPy's bincount pass over)

    def ir_type(self) -> Type:
        return Vec(ir_scalar(self.dtype))

    def compute_signature(self):
        # (the length too: sizes are the argument plan's constants of a structure, as shapes
        # are in the other nodes' signatures; the compiled code is shared all the same)
        return (type(self), self.dtype, self.key_type, len(self.inputs), self.length)

    def emit(self, ctx: Namer, args: list[B.E]) -> B.E:
        t = ir_scalar(self.dtype)
        zero = B.lit(merge_identity("+", t), t)
        initial = B.result(
            ctx.for_(
                B.range_iter(0, ctx.size(self.length)),
                B.appender(t),
                lambda b, i, x: B.merge(b, zero),
            )
        )

        def body(b, i, x):
            key = x if len(args) == 1 else x.field(0)
            weight = B.lit(1, t) if len(args) == 1 else x.field(1).cast(t)
            return B.merge(b, B.struct(key.cast(I64) if self.key_type != I64 else key, weight))

        return B.result(ctx.for_(args, B.vecmerger(t, "+", initial), body))

    def evaluate_eagerly(self, inputs: list):
        weights = inputs[1] if len(inputs) > 1 else None
        out = np.bincount(inputs[0], weights=weights, minlength=self.length)
        return eager.fresh_array(out, out.shape, self.dtype)

    def eager_work(self) -> tuple[int, int]:
        return (1, max(self.count, 1))

    def output_elements(self) -> int:
        return max(self.length, 1)


class Histogram(Node):
    """NumPy's `histogram` of the vector `values` in `bins` equal bins from `first` to
    `last` (scalar inputs, and `last - first`), with `edges` (NumPy's `linspace` of them, an
    input vector) and the matching weight of `weights` or 1: one vecmerger loop, into which
    a map computing the values fuses. Each value's bin is NumPy's: ((v - first) / (last -
    first)) * bins truncated, the last edge in the last bin, then moved by one where the
    edges say the division erred (`v < edges[k]`, `v >= edges[k + 1]`); values outside
    [first, last] (and NaN) go to one more bin past the last, which the caller leaves out.
    In the library: NumPy's own `histogram`, that bin appended."""

    __slots__ = ("bins", "dtype", "length")
    writes_temporaries = False  # (NumPy's histogram works in cached blocks of values)

    def __init__(
        self, values, edges, first, last, denominator, weights, bins: int, dtype, length: int
    ):
        inputs = [values, edges, first, last, denominator]
        super().__init__(inputs if weights is None else [*inputs, weights])
        self.bins, self.dtype, self.length = int(bins), np.dtype(dtype), int(length)

    def ir_type(self) -> Type:
        return Vec(ir_scalar(self.dtype))

    def compute_signature(self):
        return (type(self), self.dtype, len(self.inputs))

    def emit(self, ctx: Namer, args: list[B.E]) -> B.E:
        t = ir_scalar(self.dtype)
        f64 = ir_scalar(np.dtype(np.float64))
        bins = ctx.size(self.bins)
        initial = B.result(
            ctx.for_(
                B.range_iter(0, bins + B.lit(1, I64)),
                B.appender(t),
                lambda b, i, x: B.merge(b, B.lit(merge_identity("+", t), t)),
            )
        )
        values, edges, first, last, denominator = args[:5]
        weighted = len(args) == 6

        def body(b, i, x):
            v = x.field(0) if weighted else x
            keep = (v >= first) & (v <= last)
            scaled = ((v - first) / denominator) * bins.cast(f64)
            k = B.select(keep, scaled, B.lit(0.0, f64)).cast(I64)
            k = B.select(k.eq(bins), k - B.lit(1, I64), k)
            k = B.select(v < B.lookup(edges, k), k - B.lit(1, I64), k)
            up = (v >= B.lookup(edges, k + B.lit(1, I64))) & k.ne(bins - B.lit(1, I64))
            k = B.select(up, k + B.lit(1, I64), k)
            weight = x.field(1).cast(t) if weighted else B.lit(1, t)
            return B.merge(b, B.struct(B.select(keep, k, bins), weight))

        data = [values, args[5]] if weighted else values
        return B.result(ctx.for_(data, B.vecmerger(t, "+", initial), body))

    def evaluate_eagerly(self, inputs: list):
        values, first, last = inputs[0], inputs[2], inputs[3]
        weights = inputs[5] if len(inputs) == 6 else None
        counts = np.histogram(values, self.bins, (first, last), weights=weights)[0]
        out = np.zeros(self.bins + 1, self.dtype)
        out[: self.bins] = counts
        return out

    def eager_work(self) -> tuple[int, int]:
        # (NumPy's histogram: ~20 passes over the values, ~9 ns per value measured)
        return (20, max(self.length, 1))

    def output_elements(self) -> int:
        return self.bins + 1


class Positions(Node):
    """The positions of the nonzero elements of the vector `values`, in order: NumPy's
    `flatnonzero`. A filter loop (a map computing the values, a mask's comparison, fuses into
    it); its length depends on the data, so it is computed where it is asked for."""

    __slots__ = ("value_type", "count")

    def __init__(self, values: Node, value_type, count: int):
        super().__init__([values])
        self.value_type = value_type
        self.count = int(count)  # (the values: what the loop and NumPy pass over)

    def ir_type(self) -> Type:
        return Vec(I64)

    def compute_signature(self):
        return (type(self), self.value_type)

    def emit(self, ctx: Namer, args: list[B.E]) -> B.E:
        t = self.value_type

        def body(b, i, x):
            return B.if_(truthy(t, x), B.merge(b, i), b)

        return B.result(ctx.for_(args, B.appender(I64), body))

    def evaluate_eagerly(self, inputs: list):
        return np.flatnonzero(inputs[0])

    def eager_work(self) -> tuple[int, int]:
        return (1, max(self.count, 1))
