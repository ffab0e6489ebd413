"""The lazy nodes that turn element expressions into IR loops.

* `ElementwiseLoop`: one pass over an N-D shape; appends every element (an array) or merges
  them into one merger (a reduction over all axes). Inputs whose strides are plain C order
  are iterated with `zip` (so the optimizer can fuse the loop with its producers and
  consumers); broadcast inputs are read with `lookup` at an index computed from the position.
* `AxisReduce`: a reduction over some axes, one merger per output element (nested loops);
  when the reduced axes are the trailing ones, the inner loop walks contiguous `iter` slices.
* `ScalarExpr`: a 0-d expression, computed with no loop at all.

Sizes and strides enter programs as i64 parameters (`Namer.size`), never as literals, so one
compiled program serves every shape with the same pattern.
"""

from __future__ import annotations

import math

from daybreak.ir import builder as B
from daybreak.ir.types import I64, Type, Vec

from ..lazy import Namer, Node
from .dtypes import ir_scalar
from .expr import Elem, Leaf, Outer, emit, leaves_of, outers_of


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """C-order strides in elements: (3, 4) -> (4, 1)."""
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def is_contiguous(strides: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """Whether a leaf with `strides` reads a buffer of `shape` in plain C order (axes of
    length 1 never move, so their stride does not matter)."""
    plain = contiguous_strides(shape)
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


class MixedCoords:
    """Coordinates where some axes come from one position and the rest from another (an
    output element and a position inside the reduced axes)."""

    def __init__(self, parts: list[tuple[Coords, list[int]]]):
        self.where = {axis: (coords, k) for coords, axes in parts for k, axis in enumerate(axes)}

    def coord(self, d: int) -> B.E:
        coords, k = self.where[d]
        return coords.coord(k)


def leaf_index(ctx: Namer, leaf: Leaf, shape: tuple[int, ...], coords) -> B.E:
    """sum(coord[d] * strides[d]) over the axes that move."""
    total = None
    for d, (stride, n) in enumerate(zip(leaf.strides, shape, strict=True)):
        if stride == 0 or n == 1:
            continue
        term = coords.coord(d)
        if stride != 1:
            term = term * ctx.size(stride)
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


class _ExprNode(Node):
    """A node computing something from one element expression: its inputs are the vectors
    the expression's leaves read and the scalars its outers use."""

    __slots__ = ("expr", "shape", "leaves", "outers")

    def __init__(self, expr: Elem, shape: tuple[int, ...]):
        self.expr, self.shape = expr, tuple(shape)
        self.leaves = leaves_of(expr)
        self.outers = outers_of(expr)
        nodes = {id(x.node): x.node for x in self.leaves if x.node is not None}
        nodes.update((id(o.node), o.node) for o in self.outers)
        super().__init__(list(nodes.values()))

    def _inputs(self, args: list[B.E]) -> dict[int, B.E]:
        return {id(n): a for n, a in zip(self.inputs, args, strict=True)}

    def _outer(self, values: dict[int, B.E]):
        return lambda o: values[id(o.node)]


class ElementwiseLoop(_ExprNode):
    """All elements of `expr` over `shape`: a vector (`op=None`) or merged with `op`."""

    __slots__ = ("op",)

    def __init__(self, expr: Elem, shape: tuple[int, ...], op: str | None = None):
        super().__init__(expr, shape)
        self.op = op

    def ir_type(self) -> Type:
        elem = ir_scalar(self.expr.dtype)
        return elem if self.op else Vec(elem)

    def emit(self, ctx: Namer, args: list[B.E]) -> B.E:
        values = self._inputs(args)
        n = math.prod(self.shape)
        zipped = [x for x in self.leaves if x.node is not None and x.size == n
                  and is_contiguous(x.strides, self.shape)]
        others = [x for x in self.leaves if not any(x is z for z in zipped)]
        iters: list = [values[id(x.node)] for x in zipped]
        if others or not zipped:
            end = B.length(iters[0]) if zipped else ctx.size(n)
            iters.append(B.range_iter(0, end))
        elem = ir_scalar(self.expr.dtype)
        builder = B.merger(elem, self.op) if self.op else B.appender(elem)

        def body(b, i, x):
            parts = [x] if len(iters) == 1 else [x.field(k) for k in range(len(iters))]
            slot = {z.key(): parts[k] for k, z in enumerate(zipped)}
            coords = Coords(ctx, parts[-1], self.shape)
            gather = _leaf_reader(ctx, values, self.shape, coords)
            value = emit(ctx, self.expr, _zipped_or(slot, gather), self._outer(values))
            return B.merge(b, value)

        return B.result(ctx.for_(iters, builder, body))


class ScalarExpr(_ExprNode):
    """A 0-d element expression: no loop."""

    __slots__ = ()

    def __init__(self, expr: Elem):
        super().__init__(expr, ())

    def ir_type(self) -> Type:
        return ir_scalar(self.expr.dtype)

    def emit(self, ctx: Namer, args: list[B.E]) -> B.E:
        values = self._inputs(args)
        zero = B.lit(0, I64)

        def leaf(x: Leaf) -> B.E:
            return zero if x.node is None else B.lookup(values[id(x.node)], zero)

        return emit(ctx, self.expr, leaf, self._outer(values))


class AxisReduce(_ExprNode):
    """`expr` over `shape` merged with `op` along `axes`; the result is the vector of the kept
    axes' elements in C order."""

    __slots__ = ("axes", "op")

    def __init__(self, expr: Elem, shape: tuple[int, ...], axes: tuple[int, ...], op: str):
        super().__init__(expr, shape)
        self.axes, self.op = tuple(sorted(axes)), op

    def ir_type(self) -> Type:
        return Vec(ir_scalar(self.expr.dtype))

    def emit(self, ctx: Namer, args: list[B.E]) -> B.E:
        values = self._inputs(args)
        kept = [d for d in range(len(self.shape)) if d not in self.axes]
        kept_shape = tuple(self.shape[d] for d in kept)
        red_shape = tuple(self.shape[d] for d in self.axes)
        elem = ir_scalar(self.expr.dtype)
        trailing = self.axes == tuple(range(len(kept), len(self.shape)))
        inner = self._inner_trailing if trailing else self._inner_general

        def outer_body(b, i, o):
            return B.merge(b, inner(ctx, values, o, kept, kept_shape, red_shape, elem))

        return B.result(ctx.for_(B.range_iter(0, ctx.size(math.prod(kept_shape))),
                                 B.appender(elem), outer_body))

    def _inner_trailing(self, ctx, values, o, kept, kept_shape, red_shape, elem) -> B.E:
        # Output element o covers the flat positions [o*R, o*R + R) of the input.
        width = ctx.size(math.prod(red_shape))
        n = math.prod(self.shape)
        zipped = [x for x in self.leaves if x.node is not None and x.size == n
                  and is_contiguous(x.strides, self.shape)]
        others = [x for x in self.leaves if not any(x is z for z in zipped)]

        def run(start: B.E) -> B.E:
            end = start + width
            iters: list = [B.iter_(values[id(x.node)], start, end) for x in zipped]
            if others or not zipped:
                iters.append(B.range_iter(start, end))

            def body(b, i, x):
                parts = [x] if len(iters) == 1 else [x.field(k) for k in range(len(iters))]
                slot = {z.key(): parts[k] for k, z in enumerate(zipped)}
                gather = _leaf_reader(ctx, values, self.shape,
                                      Coords(ctx, parts[-1], self.shape))
                value = emit(ctx, self.expr, _zipped_or(slot, gather), self._outer(values))
                return B.merge(b, value)

            return B.result(ctx.for_(iters, B.merger(elem, self.op), body))

        return ctx.let(o * width, run, "s")

    def _inner_general(self, ctx, values, o, kept, kept_shape, red_shape, elem) -> B.E:
        out_coords = Coords(ctx, o, kept_shape)

        def body(b, i, r):
            coords = MixedCoords([(out_coords, kept),
                                  (Coords(ctx, r, red_shape), list(self.axes))])
            read = _leaf_reader(ctx, values, self.shape, coords)
            return B.merge(b, emit(ctx, self.expr, read, self._outer(values)))

        loop = ctx.for_(B.range_iter(0, ctx.size(math.prod(red_shape))),
                        B.merger(elem, self.op), body)
        return B.result(loop)


def realize(expr: Elem, shape: tuple[int, ...]) -> Node:
    """The node computing `expr` over `shape` (a vector, or a scalar for 0-d), made once per
    expression so that two uses share one loop."""
    shape = tuple(shape)
    if expr.realized is None or expr.realized[0] != shape:
        if isinstance(expr, Leaf) and expr.node is not None and expr.size == math.prod(shape) \
                and is_contiguous(expr.strides, shape) and shape != ():
            node = expr.node
        elif isinstance(expr, Outer) and shape == ():
            node = expr.node
        else:
            node = ScalarExpr(expr) if shape == () else ElementwiseLoop(expr, shape)
        expr.realized = (shape, node)
    return expr.realized[1]
