"""Whether one pending value is the only reader of a node, and reads it only where it writes.

`x[r] = f(x[r], ...)` on the user's memory: `f`'s value reads `x` through a snapshot (a
guarded one: `snapshots.GuardedSnapshot`). Writing the region while the guard holds copies
the whole buffer into the snapshot's reserve first (the guard's fault), so that readers of
the snapshot keep the old values. When the value is the snapshot's only reader, reads each
element of `x` only at the very element it writes (a program computes an element from the
old one and then writes it), and dies unread after the write (a temporary of the user's
statement), nothing needs the old values: the program may read the user's buffer and write
it in place, and the guard may end without the copy (`snapshots.give_up`).

The proof is by reference counts (as `own_buffer`'s): every element on a path from the
value's expression down to a leaf over the snapshot must be held only by the expressions
walked here (their arguments, their cached postorders, the loop node's leaves), the
snapshot only by those leaves and the loop node's inputs, and the loop node only by the
caller. Anything else that holds one of them — a live array of an intermediate result, a
pending reduction over the value, another lazy value over the same snapshot — could read
the snapshot later: then the answer is no, and the caller copies as before.

>>> import numpy as np
>>> from daybreak.frontends.lazy import Param
>>> from daybreak.ir.types import F64, Vec
>>> from daybreak.frontends.elements.expr import Apply
>>> snap = Param(np.zeros(4), Vec(F64))
>>> leaf = Leaf(snap, (1,), 4, np.dtype("f8"))
>>> value = Apply(lambda ctx, a: a * 2.0, (leaf,), np.dtype("f8"))
>>> aligned_reads(value, snap, 0, (1,), (4,)), aligned_reads(value, snap, 1, (1,), (4,))
(True, False)
"""

from __future__ import annotations

import sys

from ..lazy import Node
from .expr import Elem, Leaf, Outer, postorder


def aligned_reads(root: Elem, snap: Node, offset: int, strides: tuple, shape: tuple) -> bool:
    """Whether every read of `snap` in `root` (over `shape`, C order) is of the element the
    same position of a region at `offset` with element `strides` is: a leaf with that
    offset and those strides (an axis of length 1 never moves). At least one must read it."""
    found = False
    for e in postorder(root):
        if isinstance(e, Outer) and e.node is snap:
            return False  # (read whole, as a scalar's input)
        if isinstance(e, Leaf) and e.node is snap:
            if e.offset != offset or any(
                n != 1 and a != b for n, a, b in zip(shape, e.strides, strides, strict=True)
            ):
                return False
            found = True
    return found


def sole_reader(value, node: Node, snap: Node) -> bool:
    """Whether the pending `value`'s expression (`value._held`) and its loop `node`'s
    (`node.expr`, `node.leaves`) hold the only references to `snap` and to every element
    through which they read it, and nothing holds `node` but the caller (one reference) —
    nor `snap` (one). See the module docstring."""
    if not _COUNTS_AS_ASSUMED or sys.getrefcount(node) != 3:
        return False  # (3: the caller's reference, this call's, the argument's)
    elements: dict[int, Elem] = {}
    counted: dict[int, int] = {}
    _walk(value, node, elements, counted)
    reading = _reading(elements, snap)
    if not reading:
        return False
    for key in reading:
        # (the dict's reference and the argument's besides the counted ones)
        if sys.getrefcount(elements[key]) != counted.get(key, 0) + 2:
            return False
    over = sum(1 for key in reading if getattr(elements[key], "node", None) is snap)
    over += sum(1 for n in node.inputs if n is snap)
    return sys.getrefcount(snap) == over + 3  # (the caller's, this call's, the argument's)


def _walk(value, node, elements: dict, counted: dict) -> None:
    """Every element of the value's and the loop's expressions by id, and how often the
    walked structures hold each: the array and the loop hold their roots, elements their
    arguments and cached postorders, the loop its leaves. (A function of its own: its
    locals are gone when the counts are compared.)"""
    roots = (value._held, node.expr)
    for root in roots:
        counted[id(root)] = counted.get(id(root), 0) + 1
        for e in postorder(root):
            elements[id(e)] = e
    for e in elements.values():
        for a in e.args:
            counted[id(a)] = counted.get(id(a), 0) + 1
        if e.order is not None:
            for o in e.order:
                counted[id(o)] = counted.get(id(o), 0) + 1
    for leaf in node.leaves:
        counted[id(leaf)] = counted.get(id(leaf), 0) + 1
    if getattr(node, "library", None) is not None:
        counted.clear()  # (a library kernel holds an expression too: not proved here)


def _reading(elements: dict[int, Elem], snap: Node) -> set[int]:
    """The ids of the elements that read `snap`: its leaves and everything above them."""
    reading: set[int] = set()
    for key, e in elements.items():  # (postorder of the roots: arguments come first)
        if (isinstance(e, Leaf | Outer) and e.node is snap) or any(
            id(a) in reading for a in e.args
        ):
            reading.add(key)
    return reading


def _counts_as_assumed() -> bool:
    """Whether this interpreter counts references as the proof above assumes: an object a
    caller's local holds counts 3 inside a function it is passed to (the local, the
    parameter, `getrefcount`'s argument), and a dict's value 2 (an interpreter that borrows
    some of them would make an extra holder look like none: then nothing is proved)."""

    def callee(x) -> int:
        return sys.getrefcount(x)

    def caller() -> int:
        mine = object()
        return callee(mine)

    values = {1: object()}
    return caller() == 3 and sys.getrefcount(values[1]) == 2


_COUNTS_AS_ASSUMED = _counts_as_assumed()

__all__ = ["aligned_reads", "sole_reader"]
