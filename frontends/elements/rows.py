"""Loops over rows: the elementwise loop for N-D results whose inputs are read by index
(rolls, slices with offsets, transposes, broadcasts, assignment regions).

A flat loop over such a shape finds each element's coordinates by dividing its flat position
(`r = i / n; c = i % n`) and reads inputs with bounds-checked `lookup`s, which LLVM does not
vectorise (on 4096 x 4096, `u - roll(u, -1, axis=1)`: 107 ms flat, 59 ms as below, NumPy 82
ms). Here the loop is a nest instead:

* the outer loop walks the rows (every axis but the last; the backend runs it on threads);
* the last axis is cut into parts where every piecewise index (`remap.Piecewise`: a roll's
  wrap-around, an assignment region's bounds) is one piece, so inside a part each read is a
  plain position or a constant: `np.roll` along the last axis is two contiguous parts, a
  region `u[1:-1, 1:-1] = ...` is three (edge, inside, edge) with the region test known;
* a part one column wide (an edge) is straight-line code in the row loop's body, reading by
  `lookup` (`RowPart.single`): as its own loop LLVM would compile yet another vector body;
* one inner loop per part zips `iter(v, start, end, stride)` slices for every input that
  moves along the row (its start computed once per row: a roll along axis 0 is another row's
  slice, with no modulo per element); inputs that do not move along the row (broadcasts,
  clamped reads) are read once per row; anything else is still a lookup.

>>> import daybreak.numpy as dnp
>>> u = dnp.arange(6.0).reshape(2, 3)
>>> (dnp.roll(u, 1, axis=1) - dnp.roll(u, 1, axis=0)).tolist()
[[-1.0, -4.0, -4.0], [5.0, 2.0, 2.0]]
"""

from __future__ import annotations

import math
from itertools import pairwise

from daybreak.ir import builder as B
from daybreak.ir import nodes as N
from daybreak.ir.types import I64

from ..lazy import Namer
from .dtypes import ir_scalar
from .expr import Elem, Leaf, Outer, emit, emit_many, postorder, rewrite
from .loops import Coords, leaf_index
from .remap import INDEX, IndexedRead, Piecewise

MIN_ROW = 16  # shorter rows keep the flat loop: an inner loop per row would cost more
MAX_PARTS = 8  # more cuts than this: no specialisation (the pieces stay selects)


class Slot(Outer):
    """A value the row loop provides by name: read once per row, or (`moves`) the element of
    a zipped slice."""

    __slots__ = ("name", "moves")

    def __init__(self, dtype, name: str, moves: bool):
        super().__init__(None, dtype)
        self.name, self.moves = name, moves


class RowCoords:
    """Coordinates inside a row: the leading axes from the row counter, the last from `col`."""

    def __init__(self, lead: Coords, col: B.E):
        self.lead, self.col = lead, col

    def coord(self, d: int) -> B.E:
        return self.col if d == len(self.lead.shape) else self.lead.coord(d)

    def locate(self, d: int) -> tuple[Coords | None, int]:
        return (None, d) if d == len(self.lead.shape) else (self.lead, d)


def is_row_position(p: Elem, shape: tuple[int, ...]) -> bool:
    """Whether `p` is the position along the last axis (plus a constant)."""
    if not isinstance(p, Leaf) or p.node is not None or p.strides[-1] != 1:
        return False
    return all(s == 0 or n == 1 for s, n in zip(p.strides[:-1], shape[:-1], strict=True))


def cuts(roots: list[Elem], shape: tuple[int, ...]) -> list[int]:
    """Where the last axis splits so that every last-axis piecewise index is one piece."""
    m = shape[-1]
    found = {0, m}
    for root in roots:
        for e in postorder(root):
            if isinstance(e, Piecewise) and is_row_position(e.args[0], shape):
                for piece in e.pieces:
                    for bound in (piece.lo, piece.hi):
                        if bound is not None and 0 < bound - e.args[0].offset < m:
                            found.add(bound - e.args[0].offset)
    return sorted(found) if len(found) <= MAX_PARTS + 1 else [0, m]


def specialised(roots: list[Elem], shape, c0: int, c1: int) -> list[Elem]:
    """`roots` on columns [c0, c1): each last-axis piecewise index is its piece there (reads
    fold into leaves, selects on known tests into one side)."""

    def change(e: Elem) -> Elem:
        if isinstance(e, Piecewise) and is_row_position(e.args[0], shape):
            p = e.args[0]
            piece = e.piece_at(c0 + p.offset)
            if piece is e.piece_at(c1 - 1 + p.offset):
                return e.at(p, piece)
        return e

    return rewrite(roots, change)


def moving(e: Elem, memo: dict[int, bool]) -> bool:
    """Whether the value of `e` changes along a row (iterative: chains can be long; what
    `memo` knows already is not walked again)."""
    stack = [(e, False)]
    while stack:
        x, ready = stack.pop()
        if id(x) in memo:
            continue
        if isinstance(x, Leaf):
            memo[id(x)] = x.strides[-1] != 0
        elif isinstance(x, Slot):
            memo[id(x)] = x.moves
        elif ready:
            memo[id(x)] = any(memo[id(a)] for a in x.args)
        else:
            stack.append((x, True))
            stack.extend((a, False) for a in x.args if id(a) not in memo)
    return memo[id(e)]


def _position_of(read: Elem) -> Elem:
    """The index a read reads at (an i64 element)."""
    if isinstance(read, Leaf):
        return Leaf(None, read.strides, 0, INDEX, read.offset)
    return IndexedRead(None, read.strides, (read.pos, *read.coords), INDEX)


class RowPart:
    """One inner loop: columns [c0, c1) of the row whose leading coordinates are `lead`."""

    def __init__(self, ctx: Namer, values: dict, shape, lead: Coords, c0: int, c1: int):
        self.ctx, self.values, self.shape = ctx, values, shape
        self.lead, self.c0, self.c1 = lead, c0, c1
        self.lets: list[tuple[str, B.E]] = []  # computed once per row, before the inner loop
        self.streams: list[tuple[Slot, B.E, str, int]] = []  # (slot, vector, start, stride)
        self.memo: dict[int, bool] = {}
        # read key -> (its slot, the read): a read keyed by its id is kept alive with its
        # slot, or another read made later in the rewrite could take its address (and its
        # slot: a gather's three reads of a `where` once read one vector)
        self.slots: dict = {}

    def outer(self, o: Outer) -> B.E:
        return B.ident(o.name) if isinstance(o, Slot) else self.values[id(o.node)]

    def at_row(self, e: Elem) -> B.E:
        """`e` computed at column c0 of the row (its value there, or where a slice starts)."""
        return emit(self.ctx, e, self.column_leaf(self.ctx.size(self.c0)), self.outer)

    def bind(self, value: B.E, prefix: str) -> str:
        name = self.ctx.fresh(prefix)
        self.lets.append((name, value))
        return name

    def read(self, e: Elem) -> Elem:
        """A read of a vector replaced by what the row loop provides for it: the element of a
        zipped slice when its index moves along the row by a fixed positive stride, a value
        read once per row when it does not move; other nodes unchanged."""
        if not (isinstance(e, Leaf | IndexedRead) and e.node is not None):
            return e
        key = e.key() if isinstance(e, Leaf) else id(e)  # equal leaves: one slice
        if key in self.slots:
            return self.slots[key][0]
        if not moving(e, self.memo):
            slot = Slot(e.dtype, self.bind(self.at_row(e), "w"), moves=False)
        else:
            stride = self.row_stride(e)
            if stride is None or stride <= 0:
                return e
            slot = Slot(e.dtype, "", moves=True)
            start = self.bind(self.at_row(_position_of(e)), "s")
            self.streams.append((slot, self.values[id(e.node)], start, stride))
        self.slots[key] = (slot, e)
        return slot

    def row_stride(self, e: Leaf | IndexedRead) -> int | None:
        """How far the index of `e` moves per column, when that is fixed (every part of the
        index that moves is a position), else None."""
        if isinstance(e, Leaf):
            return e.strides[-1]
        stride = 0
        for g, t in [(e.pos, 1), *zip(e.coords, e.strides, strict=True)]:
            if not moving(g, self.memo):
                continue
            if not (isinstance(g, Leaf) and g.node is None):
                return None
            stride += t * g.strides[-1]
        return stride

    def single(self, nodes: list, roots: list[Elem], b: B.E, merge_all) -> B.E:
        """A one-column part (a roll's wrapped column, a region's border) as straight-line
        code reading by `lookup`. As a loop, its length being a parameter, LLVM vectorised it
        like the wide part: a vector body and a scalar remainder per edge, two thirds of
        Shallow Water's code (compile 2.7 s -> 1.65 s without them; steady state unchanged).
        """

        def merged(b: B.E) -> B.E:  # `b` bound once: merge_all uses it once per node
            return emit_many(
                self.ctx,
                roots,
                self.column_leaf(self.ctx.size(self.c0)),
                self.outer,
                lambda vs: merge_all(b, nodes, vs),
            )

        return self.ctx.let(b, merged, "b") if len(nodes) > 1 else merged(b)

    def column_leaf(self, col: B.E):
        """Reads of leaves at column `col` of the row."""
        coords = RowCoords(self.lead, col)

        def leaf(x: Leaf) -> B.E:
            index = leaf_index(self.ctx, x, self.shape, coords)
            return index if x.node is None else B.lookup(self.values[id(x.node)], index)

        return leaf

    def loop(self, nodes: list, roots: list[Elem], b: B.E, merge_all) -> B.E:
        if self.c1 - self.c0 == 1:
            return self.single(nodes, roots, b, merge_all)
        done = rewrite(roots, self.read)
        uses_col = any(
            isinstance(e, Leaf) and e.strides[-1] != 0 for root in done for e in postorder(root)
        )
        length, ctx = self.c1 - self.c0, self.ctx
        iters: list = []
        for _, vector, start, stride in self.streams:
            s = B.ident(start)
            iters.append(
                B.iter_(vector, s, s + ctx.size((length - 1) * stride + 1), ctx.size(stride))
            )
        if uses_col or not iters:
            iters.append(B.range_iter(ctx.size(self.c0), ctx.size(self.c1)))

        def body(b2, i, x):
            parts = [x] if len(iters) == 1 else [x.field(k) for k in range(len(iters))]
            by_slot = {id(slot): parts[k] for k, (slot, *_) in enumerate(self.streams)}
            leaf = self.column_leaf(parts[-1])

            def outer(o: Outer) -> B.E:
                return by_slot[id(o)] if id(o) in by_slot else self.outer(o)

            return emit_many(ctx, done, leaf, outer, lambda vs: merge_all(b2, nodes, vs))

        out = ctx.for_(iters, b, body)
        for name, value in reversed(self.lets):
            out = B.E(N.Let(name, B.lift(value).node, out.node))
        return out


def row_loop(ctx: Namer, nodes: list, values: dict, needs_index: bool, merge_all) -> B.E | None:
    """The nest for `nodes` (elementwise, same shape, all appended), or None when the flat
    loop is as good: nothing read by index, a reduction, or rows shorter than MIN_ROW."""
    shape = nodes[0].shape
    if not needs_index or any(nd.op for nd in nodes) or not shape or shape[-1] < MIN_ROW:
        return None
    roots = [nd.expr for nd in nodes]
    at = cuts(roots, shape)
    per_part = [specialised(roots, shape, c0, c1) for c0, c1 in pairwise(at)]
    n = math.prod(shape)
    made = [B.appender(ir_scalar(nd.expr.dtype), ctx.size(n)) for nd in nodes]
    builder = made[0] if len(made) == 1 else B.struct(*made)
    rows = math.prod(shape[:-1])

    def parts(b: B.E, lead: Coords) -> B.E:
        for (c0, c1), part_roots in zip(pairwise(at), per_part, strict=True):
            b = RowPart(ctx, values, shape, lead, c0, c1).loop(nodes, part_roots, b, merge_all)
        return b

    if rows == 1:  # 1-D (or one row): the part loops are the top-level, threaded loops
        return B.result(parts(builder, Coords(ctx, B.lit(0, I64), shape[:-1])))
    return B.result(
        ctx.for_(
            B.range_iter(0, ctx.size(rows)),
            builder,
            lambda b, i, r: parts(b, Coords(ctx, r, shape[:-1])),
        )
    )
