"""Tier 0: an element expression computed by NumPy itself, one library call per element node.

The scheduler runs a program this way while its native code is still being compiled (and
for work too small to pay for a native call); `value_now` does it before any loop node
exists, for small work on computed inputs. Every element kind says how NumPy computes it:
a leaf is a strided view of its vector (`strided`, the strides a leaf already has), an
index leaf is `offset + sum(coord * stride)` over broadcast `arange`s, an `Outer` is its
scalar, an `Apply` calls the NumPy function its frontend gave it (`Apply.eager`), writing
into a temporary it reads for the last time when it can (NumPy's temporary elision). The
result is NumPy's own answer, so tier 0 is NumPy executing the same graph.

>>> import numpy as np
>>> from daybreak.frontends.lazy import Param
>>> from daybreak.ir.types import F64, Vec
>>> from daybreak.frontends.elements.expr import Apply, Leaf
>>> v = Param(np.arange(6.0), Vec(F64))
>>> x = Leaf(v, (3, 1), 6, np.dtype("f8"))
>>> y = Apply(lambda c, a: a * 2.0, (x,), np.dtype("f8"), eager=lambda a: a * 2.0)
>>> evaluate(y, (2, 3), {id(v): v.cached}).tolist()
[[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from daybreak.runtime.stats import count_library_run

from ..lazy import NotEager
from ..scheduler import SHARED_PARTS, library_for_good
from ..snapshots import run_value, unalias
from .expr import (
    Apply,
    Elem,
    Leaf,
    Outer,
    contiguous_strides,
    op_weight,
    postorder,
    postorder_until,
)


def can_evaluate(expr: Elem) -> bool:
    """Whether every element of `expr` knows how NumPy computes it."""
    return all(not isinstance(e, Apply) or e.has_eager() for e in postorder(expr))


def _leaf_value(leaf: Leaf, shape: tuple[int, ...], values: dict):
    if leaf.node is None:  # the index itself: offset + sum(coord[d] * strides[d])
        if len(shape) == 1 and leaf.strides[0]:  # (NumPy's arange makes it in one pass)
            stride, start = leaf.strides[0], leaf.offset
            return np.arange(start, start + shape[0] * stride, stride, dtype=np.int64)
        total = np.int64(leaf.offset)
        for d, (stride, n) in enumerate(zip(leaf.strides, shape, strict=True)):
            if stride and n != 1:
                axis = [1] * len(shape)
                axis[d] = n
                total = total + (np.arange(n, dtype=np.int64) * stride).reshape(axis)
        return total
    flat = np.asarray(values[id(leaf.node)]).reshape(-1)
    if not shape:
        return flat[leaf.offset]
    if len(flat) == 0:
        return np.zeros(shape, leaf.dtype)
    if (
        leaf.offset == 0
        and leaf.strides == contiguous_strides(shape)
        and len(flat) == math.prod(shape)
    ):
        return flat.reshape(shape)  # the whole buffer in C order (most leaves): no view maths
    return strided(flat, leaf.offset, shape, leaf.strides)


def strided(
    flat: np.ndarray,
    offset: int,
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    writeable: bool = False,
):
    """A view of the 1-D buffer `flat` over `shape`, starting at element `offset` with
    `strides` in elements (NumPy checks that it stays inside the buffer): read-only, unless
    `writeable` (then `flat` must be)."""
    if offset == 0 and len(flat) == math.prod(shape) and strides == contiguous_strides(shape):
        view = flat.reshape(shape)  # the whole buffer in C order: NumPy's reshape, 3x sooner
        view.flags.writeable = writeable
        return view
    item = flat.itemsize
    try:
        view = np.ndarray(
            shape,
            flat.dtype,
            buffer=flat,
            offset=offset * item,
            strides=tuple(s * item for s in strides),
        )
    except (TypeError, ValueError):  # not a contiguous buffer, or empty: the general way
        return as_strided(
            flat[offset:],
            shape=shape,
            strides=tuple(s * item for s in strides),
            writeable=writeable,
        )
    view.flags.writeable = writeable
    return view


def evaluate(expr: Elem, shape: tuple[int, ...], values: dict, reduced: bool = False):
    """`expr` over `shape` as a NumPy array (broadcastable to `shape`, maybe a view), or a
    NumPy scalar for 0-d; `values` maps id(node) to each input node's value. What the library
    computed before is read, not computed again: a part that several loops of one library
    run share (`scheduler.SHARED_PARTS`: softmax's `exp(x - max)`, read by its sum and by its
    division), and an array's expression computed inside a larger one (`Elem.library_value`:
    a mask held by a variable, read by later lines), as NumPy computes each once. `reduced`:
    the caller reduces the value (then `expr` itself is an intermediate that may be kept)."""
    shared, kept = SHARED_PARTS.keys, SHARED_PARTS.values
    if (
        not shared
        and not reduced
        and expr.depth == 2
        and type(expr) is Apply
        and all(type(a) is Leaf or type(a) is Outer for a in expr.args)
    ):
        # one call on inputs (a Python loop's typical step): no bookkeeping of temporaries
        args = [
            _leaf_value(a, shape, values) if isinstance(a, Leaf) else values[id(a.node)]
            for a in expr.args
        ]
        with np.errstate(all="ignore"):
            return expr.evaluate_eagerly(args)
    order = postorder(expr)
    skip = {
        id(e)
        for e in order
        if (
            e.library_value is not None
            and e.library_value[0] == shape
            and (reduced or e is not expr)
        )
        or (shared and (id(e), shape) in kept)
    }
    sliced = {}  # reads NumPy's slices compute (`IndexedRead.evaluate_sliced`: a roll)
    for e in order:
        by_slices = getattr(e, "evaluate_sliced", None)
        if by_slices is not None and id(e) not in skip:
            found = by_slices(shape, values)
            if found is not None:
                sliced[id(e)] = found
                skip.add(id(e))
    if skip:
        order = postorder_until(expr, skip)
    uses: dict[int, int] = {id(expr): 1}
    outermost = {id(expr)}  # (the shared parts kept: see below; only with shared parts)
    for e in order:
        if id(e) not in skip:
            outside = shared and (id(e), shape) not in shared
            for a in e.args:
                uses[id(a)] = uses.get(id(a), 0) + 1
                if outside:
                    outermost.add(id(a))
    done: dict[int, object] = {}
    made: set[int] = set()  # elements whose value is a fresh array of this evaluation's own
    with np.errstate(all="ignore"):  # NumPy's warnings were given at the user's call
        for e in order:
            if id(e) in skip:
                found = e.library_value
                if id(e) in sliced:
                    done[id(e)] = sliced[id(e)]
                    made.add(id(e))  # (a fresh array: a later call may write into it)
                    continue
                done[id(e)] = (
                    found[1] if found is not None and found[0] == shape else kept[(id(e), shape)]
                )
                continue
            if isinstance(e, Leaf):
                value = _leaf_value(e, shape, values)
            elif isinstance(e, Outer):
                value = values[id(e.node)]
            elif isinstance(e, Apply):
                args = [done[id(a)] for a in e.args]
                into = _spent_temporary(e, args, shape, uses, made)
                if into is not None:  # NumPy's own temporary elision: `x * 2 + 1` adds in place
                    value = e.eager(*args, out=into)
                else:
                    value = e.evaluate_eagerly(args)
                if type(value) is np.ndarray and value.base is None:
                    # kept (and never a temporary written in place): an outermost part the
                    # run's loops share (the steps of a shared chain, int_hash's `h ^= h >>
                    # 33; h *= k`, stay temporaries), or what a live array is (not the
                    # result, unless the caller reduces it)
                    in_run = bool(shared) and (id(e), shape) in shared and id(e) in outermost
                    if in_run:
                        kept[(id(e), shape)] = value
                    owned = (reduced or e is not expr) and _is_an_array(e, shape)
                    if owned:
                        e.library_value = (shape, value)
                    if not in_run and not owned:
                        made.add(id(e))
            else:  # pragma: no cover - every element kind is one of the above
                raise NotEager(type(e).__name__)
            done[id(e)] = value
            for a in e.args:  # a temporary is dropped after its last use, as in NumPy
                uses[id(a)] -= 1
                if uses[id(a)] == 0:
                    del done[id(a)]
    return done[id(expr)]


def _is_an_array(e: Elem, shape) -> bool:
    """Whether a live array of `shape` is `e` now (a user's variable holds it; an array
    rebound since, `u += 1`, is no longer its earlier expressions)."""
    owner = e.owner() if e.owner is not None else None
    return (
        owner is not None
        and getattr(owner, "_expr", None) is e
        and getattr(owner, "shape", None) == shape
    )


def _spent_temporary(e: Apply, args: list, shape: tuple[int, ...], uses: dict, made: set):
    """An argument of `e` that is a temporary of this evaluation read for the last time here,
    with `e`'s full shape and dtype: the ufunc may write its result into it (None: none)."""
    if type(e) is not Apply or type(e.eager) is not np.ufunc or e.eager.nout != 1:
        return None
    for a, value in zip(e.args, args, strict=True):
        if uses[id(a)] == 1 and id(a) in made and value.dtype == e.dtype and value.shape == shape:
            return value
    return None


def value_now(expr: Elem, shape: tuple[int, ...]) -> np.ndarray | None:
    """`expr` over `shape` computed by NumPy at once (an array of its own), or None. Only when
    every input is computed, nothing in it has a loop of its own (`Elem.realized`) and the
    scheduler's model says native code would never be faster (`library_for_good`): then a
    loop node and a trip through the scheduler would only add their Python time (~25 us) to
    NumPy's work. Otherwise the caller makes the loop node and asks the scheduler."""
    if not shape or not isinstance(expr, Apply) or expr.realized is not None:
        return None
    size = math.prod(shape)
    if not library_for_good(max(expr.depth - 1, 1), size):
        # (not for that many calls, so not for more: the library's cost grows faster per
        # call than native code's; and a chain of `depth` elements holds that many calls at
        # least, or an element the library cannot run: decided without walking it)
        return None
    calls = 0
    nodes = []
    for e in postorder(expr):
        if isinstance(e, Apply):
            if not e.has_eager() or (e is not expr and e.realized is not None):
                return None
            calls += op_weight(e)
        elif type(e) is Leaf or type(e) is Outer:
            node = e.node
            if node is not None:
                if not node.is_leaf:
                    return None
                nodes.append(node)
        else:
            return None
    if not library_for_good(max(calls, 1), size):
        return None  # (decided before a leaf is lent: lending asks each guard)
    values = {id(node): run_value(node) for node in nodes}
    value = unalias([fresh_array(evaluate(expr, shape, values), shape, expr.dtype)])[0]
    count_library_run()
    return value


def fresh_array(value, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """`value` broadcast to `shape` in a buffer of its own (never a view of an input: the
    result becomes a program input later, and inputs must not change under it)."""
    arr = np.asarray(value)
    if (
        arr.shape == shape
        and arr.dtype == dtype
        and arr.base is None
        and arr.flags.c_contiguous
        and arr.flags.writeable
    ):
        return arr
    if arr.ndim == 0 and not arr.astype(dtype).tobytes().strip(b"\0"):
        # all zero bits (`zeros`, `empty`): calloc's pages, zeroed by the OS when first
        # written, not a pass writing zeros now (a 16 MB `empty_like` filled row by row)
        return np.zeros(shape, dtype)
    out = np.empty(shape, dtype)
    with np.errstate(all="ignore"):
        np.copyto(out, arr, casting="unsafe")
    return out


# The NumPy reduction of each merger op.
REDUCERS = {"+": np.add, "*": np.multiply, "min": np.minimum, "max": np.maximum}
