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
from .eager import strided
from .expr import Apply, Constant, Elem, Leaf, Outer, map_leaves, op_weight, several_applies
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

    __slots__ = ("size",)

    def __init__(self, node: Node, dtype, size: int):
        super().__init__(node, dtype)
        self.size = size

    def with_node(self, node: Node) -> VectorRef:
        return VectorRef(node, self.dtype, self.size)


def identity(ndim: int) -> list[Affine]:
    return [Affine(d) for d in range(ndim)]


def position(axis: int, ndim: int) -> Leaf:
    """The coordinate along `axis` of the position, as an i64 element of an `ndim`-D shape."""
    return Leaf(None, tuple(1 if d == axis else 0 for d in range(ndim)), 0, INDEX)


def index_op(fn, *args: Elem, dtype=INDEX, eager=None) -> Apply:
    """An element computed from i64 elements: `fn(ctx, *ir_args)` (and `eager(*arrays)`, the
    same by NumPy, for tier 0)."""
    return Apply(fn, tuple(args), np.dtype(dtype), eager)


def clamp(elem: Elem, low: int, high: int) -> Apply:
    """`min(max(elem, low), high)`: keeps reads in bounds where a `select` discards them."""
    return index_op(
        lambda c, x: B.op("min", B.op("max", x, c.size(low)), c.size(high)),
        elem,
        eager=lambda x: np.clip(x, low, high),
    )


class IndexedRead(Apply):
    """`lookup(vec, pos + sum(coord_k * strides[k]))`, the index `pos` over the new shape
    plus coordinates computed per element (`args = (pos, *coords[, VectorRef])`); with
    `node=None` the index itself. When a loop learns that every coordinate is a plain
    position or a constant (a roll within one piece), the read folds back into a `Leaf`."""

    __slots__ = ("node", "strides")

    def __init__(self, node: Node | None, strides: tuple[int, ...], args, dtype):
        super().__init__(_read(node is not None, strides), tuple(args), dtype)
        if node is not None:
            # the node its VectorRef argument reads: a snapshot of the user's memory
            # (`Apply.__init__`), or what a rewrite of the argument put there (`refresh`
            # reading a computed vector): the read and the loop's inputs agree
            node = self.args[-1].node
        self.node, self.strides = node, tuple(strides)

    @property
    def pos(self) -> Elem:
        return self.args[0]

    @property
    def coords(self) -> tuple[Elem, ...]:
        return self.args[1 : 1 + len(self.strides)]

    def rebuilt(self, args):
        return IndexedRead(self.node, self.strides, args, self.dtype).folded()

    def has_eager(self) -> bool:
        return True

    def evaluate_eagerly(self, values):
        index = values[0]
        for stride, g in zip(self.strides, values[1:], strict=False):
            index = index + (g if stride == 1 else g * stride)
        if self.node is None:
            return np.asarray(index, dtype=self.dtype)
        return np.take(np.asarray(values[-1]).reshape(-1), index)

    def evaluate_sliced(self, shape: tuple[int, ...], values: dict) -> np.ndarray | None:
        """Tier 0 of a read whose one computed coordinate is a `Piecewise` of the position
        along one axis (a roll, a clamped join), by NumPy's slices: on each piece the read
        is a strided view of the vector (a shift moves its start, a constant makes its
        stride 0 along the axis), copied into its part of the result. Evaluated element by
        element instead (the positions, the pieces' `where`s, then a `take`), a roll of
        10^5 values took ~1.7 ms, NumPy's own 0.07. None where it is not such a read, or a
        view would leave the vector (the general way then)."""
        if self.node is None or len(self.strides) != 1 or len(self.args) != 3:
            return None
        pos, coord, ref = self.args
        if type(pos) is not Leaf or pos.node is not None or type(coord) is not Piecewise:
            return None
        p = coord.args[0]
        if type(p) is not Leaf or p.node is not None or len(p.strides) != len(shape):
            return None
        along = [d for d, s in enumerate(p.strides) if s]
        if len(along) != 1 or p.strides[along[0]] != 1 or pos.strides[along[0]] != 0:
            return None
        axis, step = along[0], self.strides[0]
        source = values.get(id(ref.node))
        if type(source) is not np.ndarray:
            return None
        flat = source.reshape(-1)
        out = np.empty(shape, self.dtype)
        n = shape[axis]
        for piece in coord.pieces:
            # the positions i along `axis` whose p = p.offset + i lies in the piece
            first = 0 if piece.lo is None else max(piece.lo - p.offset, 0)
            last = n if piece.hi is None else min(piece.hi - p.offset, n)
            if first >= last:
                continue
            strides = list(pos.strides)
            if piece.const is None:
                start = pos.offset + step * (p.offset + piece.shift + first)
                strides[axis] = step
            else:
                start = pos.offset + step * int(piece.const)
            part = list(shape)
            part[axis] = last - first
            if not _inside(flat.size, start, part, strides):
                return None
            where = [slice(None)] * len(shape)
            where[axis] = slice(first, last)
            out[tuple(where)] = strided(flat, start, tuple(part), tuple(strides))
        return out

    def folded(self) -> Elem:
        """This read with every coordinate that is a plain position or a constant (a roll
        within one piece) folded into its index: a `Leaf` when nothing else is left."""
        pos = self.pos
        if not isinstance(pos, Leaf):
            return self
        strides, offset, kept = list(pos.strides), pos.offset, []
        for g, t in zip(self.coords, self.strides, strict=True):
            if isinstance(g, Constant):
                offset += t * int(g.value)
            elif isinstance(g, Leaf) and g.node is None:
                offset += t * g.offset
                strides = [s + t * gs for s, gs in zip(strides, g.strides, strict=True)]
            else:
                kept.append((g, t))
        if len(kept) == len(self.coords):
            return self
        size = 0 if self.node is None else self.args[-1].size
        if not kept:
            return Leaf(self.node, tuple(strides), size, self.dtype, offset)
        index = Leaf(None, tuple(strides), 0, INDEX, offset)
        rest = (*(g for g, _ in kept), *self.args[1 + len(self.coords) :])
        return IndexedRead(self.node, tuple(t for _, t in kept), (index, *rest), self.dtype)


def _inside(size: int, start: int, shape: list[int], strides: list[int]) -> bool:
    """Whether every element of the view (`start`, `shape`, `strides`, in elements) of a
    vector of `size` elements lies in it (an empty view does)."""
    if 0 in shape:
        return True
    low = start + sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s < 0)
    high = start + sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s > 0)
    return 0 <= low and high < size


def _read(reads_vector: bool, strides: tuple[int, ...]):
    def build(c, pos, *rest):
        index = pos
        for stride, g in zip(strides, rest, strict=False):
            index = index + (g if stride == 1 else g * c.size(stride))
        return B.lookup(rest[-1], index) if reads_vector else index

    return build


@dataclass(frozen=True)
class Piece:
    """On positions p in [lo, hi) (None: unbounded) the value is `p + shift`, or `const`."""

    lo: int | None
    hi: int | None
    shift: int = 0
    const: int | bool | None = None


class Piecewise(Apply):
    """An index function of ONE position `p` made of pieces (sorted, covering every p): a
    roll's wrapped coordinate, an assignment's region test and clamped coordinate. A loop
    over the last axis splits at the pieces' bounds, and in each part the function is a plain
    position or a constant (so reads become contiguous slices, region tests constants)."""

    __slots__ = ("pieces",)

    def __init__(self, p: Elem, pieces: tuple[Piece, ...], dtype=INDEX):
        super().__init__(_piecewise_ir(tuple(pieces), np.dtype(dtype)), (p,), dtype)
        self.pieces = tuple(pieces)

    def rebuilt(self, args):
        return Piecewise(args[0], self.pieces, self.dtype)

    def has_eager(self) -> bool:
        return True

    def evaluate_eagerly(self, values):
        p = np.asarray(values[0])

        def value(k: Piece):
            if k.const is None:
                return p + k.shift if k.shift else p
            return np.asarray(k.const, self.dtype)

        out = value(self.pieces[-1])
        for k in reversed(self.pieces[:-1]):
            out = np.where(p < k.hi, value(k), out)
        return np.asarray(out, self.dtype)

    def piece_at(self, p: int) -> Piece:
        return next(
            k for k in self.pieces if (k.lo is None or k.lo <= p) and (k.hi is None or p < k.hi)
        )

    def at(self, p_leaf: Leaf, piece: Piece) -> Elem:
        """Its value on `piece`, where its position is `p_leaf`."""
        if piece.const is not None:
            return Constant(piece.const, self.dtype)
        return p_leaf.with_strides(p_leaf.strides, p_leaf.offset + piece.shift)


def _piecewise_ir(pieces: tuple[Piece, ...], dtype: np.dtype):
    def value(c, p, k: Piece):
        if k.const is None:
            return p + c.size(k.shift) if k.shift else p
        return B.lit(bool(k.const)) if dtype == np.bool_ else c.size(int(k.const))

    def build(c, p):
        out = value(c, p, pieces[-1])
        for k in reversed(pieces[:-1]):
            out = B.select(p < c.size(k.hi), value(c, p, k), out)
        return out

    return build


def wrapped(p: Elem, n: int, shift: int) -> Piecewise:
    """(p - shift) mod n for 0 <= p < n and 0 < shift < n: what `np.roll` reads."""
    return Piecewise(p, (Piece(None, shift, n - shift), Piece(shift, None, -shift)))


def between(p: Elem, lo: int, hi: int) -> Piecewise:
    """Whether lo <= p < hi (a boolean)."""
    return Piecewise(
        p,
        (Piece(None, lo, const=False), Piece(lo, hi, const=True), Piece(hi, None, const=False)),
        np.dtype(bool),
    )


def clamped_shift(p: Elem, start: int, m: int) -> Piecewise:
    """p - start clamped to [0, m - 1] (reads outside a region stay in bounds)."""
    return Piecewise(
        p,
        (
            Piece(None, start, const=0),
            Piece(start, start + m, -start),
            Piece(start + m, None, const=m - 1),
        ),
    )


def moved_leaf(leaf: Leaf, sources: list, ndim: int) -> Elem:
    """`leaf` (over the old shape) read at the new positions given by `sources`."""
    strides = [0] * ndim
    offset = leaf.offset
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
    if not computed:
        return leaf.with_strides(tuple(strides), offset)
    pos = Leaf(None, tuple(strides), 0, INDEX, offset)
    args: list[Elem] = [pos, *(g for g, _ in computed)]
    if leaf.node is not None:
        args.append(VectorRef(leaf.node, leaf.dtype, leaf.size))
    return IndexedRead(leaf.node, tuple(t for _, t in computed), args, leaf.dtype)


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


def computed_once(expr: Elem, shape: tuple[int, ...], small_part: bool = False) -> Elem:
    """`expr`, or a read of its vector when it does real work: re-indexing pushes an
    expression into every read, so one read several ways (a stencil's neighbours, rolls) would
    recompute it each time, and iterating would grow it exponentially. `small_part`: the read
    is a small part of the array (a row or a column, 8x smaller or more): then one call
    (`data / s`) is work enough, since a Python loop reading the rows one by one would
    otherwise compute each row in a program of its own instead of the array once. One costly
    call (`log`, `exp`: `op_weight`) is work enough too: `diff(log(x))` read it twice per
    element, two logs where a write and a read of the logs cost less."""
    if (
        not several_applies(expr)
        and not (small_part and isinstance(expr, Apply))
        and not (isinstance(expr, Apply) and op_weight(expr) > 1)
    ):
        return expr
    node = realize(expr, shape)
    if shape == ():
        return Outer(node, expr.dtype)
    return Leaf(node, contiguous_strides(shape), math.prod(shape), expr.dtype)
