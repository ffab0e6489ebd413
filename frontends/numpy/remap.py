"""Reading an element expression at other coordinates: the one mechanism behind slices,
transposes, reshapes, gathers, rolls, concatenation and item assignment.

An array is an element expression over a shape, whose leaves read vectors at
`index = sum(coord[d] * strides[d])`. Re-indexing says, for each axis `d` of the OLD shape,
which old coordinate a position of the NEW shape reads:

* `Affine(axis, step, start)`: `old[d] = start + step * new[axis]` (`axis=None`: the constant
  `start`). Slices, integer indices, `None`, transposes and most reshapes are affine. A leaf
  stays a leaf (new strides) when its offset is 0, so plain reads are still zipped and fuse;
  otherwise it becomes ONE lookup at its position plus the offset.
* `Computed(elem)`: `old[d]` is an i64 element expression over the new shape (gathers, rolls,
  clamped reads of assignments). The leaf becomes a lookup at the index summed from them.

Nothing is copied: the expression is pushed through the new indexing, so `(x * 2)[::2]` only
computes the elements it keeps. Expressions that already do real work are computed once
first (`computed_once`) when they would be read several times over (stencils, rolls).

>>> import numpy as np
>>> from daybreak.frontends.lazy import Param
>>> from daybreak.ir.types import F64, Vec
>>> x = Leaf(Param(np.arange(6.0), Vec(F64)), (3, 1), 6, np.dtype("f8"))
>>> t = reindex(x, [Affine(1, 1, 0), Affine(0, 1, 0)])   # the transpose of a (2, 3) array
>>> t.strides
(1, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from daybreak.ir import builder as B

from ..lazy import Node
from .expr import Apply, Elem, Leaf, Outer, count_applies, map_leaves
from .loops import contiguous_strides, realize

INDEX = np.dtype(np.int64)


@dataclass(frozen=True)
class Affine:
    """Old coordinate = `start + step * new[axis]` (a constant when `axis` is None)."""

    axis: int | None
    step: int = 1
    start: int = 0


@dataclass(frozen=True)
class Computed:
    """Old coordinate = the i64 element expression `elem` over the new shape."""

    elem: Elem


class VectorRef(Outer):
    """A whole vector as a loop-invariant input of the loop body: lookups at computed indices
    read it (an `Outer` hands the IR of its node to the body, like a scalar)."""

    __slots__ = ()

    def __init__(self, node: Node, dtype):
        super().__init__(node, dtype)


def identity(ndim: int) -> list[Affine]:
    return [Affine(d) for d in range(ndim)]


def position(axis: int, ndim: int) -> Leaf:
    """The coordinate along `axis` of the position, as an i64 element of an `ndim`-D shape."""
    return Leaf(None, tuple(1 if d == axis else 0 for d in range(ndim)), 0, INDEX)


def index_op(fn, *args: Elem, dtype=INDEX) -> Apply:
    """An element computed from i64 elements: `fn(ctx, *ir_args)`."""
    return Apply(fn, tuple(args), np.dtype(dtype))


def clamp(elem: Elem, low: int, high: int) -> Apply:
    """`min(max(elem, low), high)`: keeps reads in bounds where a `select` discards them."""
    return index_op(lambda c, x: B.op("min", B.op("max", x, c.size(low)), c.size(high)), elem)


def _read(node: Node | None, dtype, offset: int, computed: list[tuple[Elem, int]]):
    """The IR builder for a moved leaf: `lookup(vec, pos + offset + sum(g * stride))`."""
    def build(c, pos, *rest):
        index = pos
        if offset:
            index = index + c.size(offset)
        for (_, stride), g in zip(computed, rest, strict=False):
            index = index + (g if stride == 1 else g * c.size(stride))
        return index if node is None else B.lookup(rest[-1], index)

    return build


def moved_leaf(leaf: Leaf, sources: list, ndim: int) -> Elem:
    """`leaf` (over the old shape) read at the new positions given by `sources`."""
    strides = [0] * ndim
    offset = 0
    computed: list[tuple[Elem, int]] = []
    for source, stride in zip(sources, leaf.strides, strict=True):
        if stride == 0:
            continue
        if isinstance(source, Affine):
            offset += stride * source.start
            if source.axis is not None:
                strides[source.axis] += stride * source.step
        else:
            computed.append((source.elem, stride))
    if not computed and offset == 0:
        return Leaf(leaf.node, tuple(strides), leaf.size, leaf.dtype)
    pos = Leaf(None, tuple(strides), 0, INDEX)
    args: list[Elem] = [pos, *(g for g, _ in computed)]
    if leaf.node is not None:
        args.append(VectorRef(leaf.node, leaf.dtype))
    return Apply(_read(leaf.node, leaf.dtype, offset, computed), tuple(args), leaf.dtype)


def reindex(expr: Elem, sources: list, ndim: int | None = None) -> Elem:
    """`expr` read at new positions: `sources[d]` gives old coordinate `d` (see the module
    docstring); `ndim` is the new number of axes (by default the largest axis named + 1)."""
    if ndim is None:
        axes = [s.axis for s in sources if isinstance(s, Affine) and s.axis is not None]
        ndim = max(axes, default=-1) + 1
    memo: dict = {}

    def change(leaf: Leaf) -> Elem:
        key = leaf.key()
        if key not in memo:
            memo[key] = moved_leaf(leaf, sources, ndim)
        return memo[key]

    return map_leaves(expr, change)


def computed_once(expr: Elem, shape: tuple[int, ...]) -> Elem:
    """`expr`, or a read of its vector when it does real work: re-indexing pushes an
    expression into every read, so one read several ways (a stencil's neighbours, rolls) would
    recompute it each time, and iterating would grow it exponentially."""
    if count_applies(expr) <= 1:
        return expr
    node = realize(expr, shape)
    if shape == ():
        return Outer(node, expr.dtype)
    return Leaf(node, contiguous_strides(shape), math.prod(shape), expr.dtype)
