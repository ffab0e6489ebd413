"""Shapes: NumPy broadcasting of element expressions, and `None`/slice indexing.

Broadcasting never copies: a leaf read by a broadcast operand gets stride 0 on the new axes,
so the element expression simply reads the same element again. When an operand that does
real work (more than a cast) would be repeated along new axes, it is computed once into its
own vector first (as NumPy does), instead of being recomputed for every repetition.

>>> out_shape([(3, 1), (4,)])
(3, 4)
>>> try:
...     out_shape([(2,), (3,)])
... except ValueError as error:
...     print(str(error).strip())
operands could not be broadcast together with shapes (2,) (3,)
"""

from __future__ import annotations

import math

import numpy as np

from .expr import Elem, Leaf, has_leaves, map_leaves, several_applies
from .loops import contiguous_strides, realize


def out_shape(shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The broadcast shape, or NumPy's ValueError for the ufunc call."""
    first = shapes[0] if shapes else ()
    if all(s == first for s in shapes):
        return tuple(map(int, first))
    try:
        return tuple(int(n) for n in np.broadcast_shapes(*shapes))
    except ValueError:
        listed = " ".join(str(tuple(s)) for s in shapes)
        raise ValueError(
            f"operands could not be broadcast together with shapes {listed} "
        ) from None


def _restrided(leaf: Leaf, old: tuple[int, ...], new: tuple[int, ...]) -> Leaf:
    lead = len(new) - len(old)
    strides = (0,) * lead + tuple(
        0 if n == 1 else s for s, n in zip(leaf.strides, old, strict=True)
    )
    return leaf.with_strides(strides)


def broadcast_to(expr: Elem, old: tuple[int, ...], new: tuple[int, ...]) -> Elem:
    """`expr` over shape `old` read as shape `new` (which `old` broadcasts to)."""
    old, new = tuple(old), tuple(new)
    if old == new or not has_leaves(expr):
        return expr
    if math.prod(new) > math.prod(old) and several_applies(expr):
        node = realize(expr, old)  # computed once, then read repeatedly
        expr = Leaf(node, contiguous_strides(old), math.prod(old), expr.dtype)
    return map_leaves(expr, lambda leaf: _restrided(leaf, old, new))
