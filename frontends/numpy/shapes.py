"""Shape operations: reshape, ravel, flatten, transpose, swapaxes, moveaxis, squeeze,
expand_dims, roll, diff. None of them copies: each re-indexes the element expression
(`remap`), so they fuse with what comes before and after.

A reshape keeps each leaf a strided read when NumPy could reshape that leaf without a copy
(its own rule, `_attempt_nocopy_reshape`); otherwise the leaf reads at the old coordinates
computed from the new flat position. Errors are NumPy's: each call first asks NumPy on a
zero-stride stand-in of the same shape (`np.broadcast_to`, no memory).

>>> import daybreak.numpy as dnp
>>> x = dnp.arange(6).reshape(2, -1)
>>> x.T.tolist(), dnp.roll(x, 1, axis=1).tolist()
([[0, 3], [1, 4], [2, 5]], [[2, 0, 1], [5, 3, 4]])
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..elements.broadcast import broadcast_to as broadcast_expr
from ..elements.expr import Elem, Leaf, map_leaves
from ..elements.loops import contiguous_strides, is_contiguous
from ..elements.remap import (
    Affine,
    Computed,
    computed_once,
    identity,
    index_op,
    moved_leaf,
    position,
    wrapped,
)
from ..elements.remap import reindex as _reindex
from .array import as_operand, ndarray, wrap
from .fallback import NotLazy, numpy_when_not_lazy, unsupported_operand
from .ufuncs import at_line, copy_at_once

try:  # NumPy 2
    from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import normalize_axis_index
    from numpy.core.numeric import normalize_axis_tuple


def stand_in(shape: tuple[int, ...]) -> np.ndarray:
    """A read-only array of `shape` with no memory behind it, for asking NumPy about shapes
    and errors without computing anything."""
    return np.broadcast_to(np.False_, shape)


def lazy(a) -> ndarray:
    """`a` as a daybreak array (NumPy data and scalars are wrapped)."""
    x = as_operand(a)
    if x is None:  # the API function runs NumPy instead (`numpy_when_not_lazy`)
        raise NotLazy(unsupported_operand(a) or f"a {type(a).__name__}")
    if isinstance(x, int | float | bool):
        return wrap(np.asarray(a), snapshot=True)
    return x


# --- reshape -----------------------------------------------------------------------------
def nocopy_strides(old_shape, old_strides, new_shape) -> tuple[int, ...] | None:
    """NumPy's `_attempt_nocopy_reshape` (C order), on element strides: the strides of the
    same elements over `new_shape`, or None when no strides can say it."""
    if math.prod(new_shape) == 0:
        return (0,) * len(new_shape)
    old = [(n, s) for n, s in zip(old_shape, old_strides, strict=True) if n != 1]
    new = list(new_shape)
    strides = [0] * len(new)
    oi, oj, ni, nj = 0, 1, 0, 1
    while ni < len(new) and oi < len(old):
        n_new, n_old = new[ni], old[oi][0]
        while n_new != n_old:
            if n_new < n_old:
                n_new *= new[nj]
                nj += 1
            else:
                n_old *= old[oj][0]
                oj += 1
        for ok in range(oi, oj - 1):  # the old axes merged here must be contiguous
            if old[ok][1] != old[ok + 1][0] * old[ok + 1][1]:
                return None
        strides[nj - 1] = old[oj - 1][1]
        for nk in range(nj - 1, ni, -1):
            strides[nk - 1] = strides[nk] * new[nk]
        ni, nj, oi, oj = nj, nj + 1, oj, oj + 1
    return tuple(strides)


def reshape_expr(expr: Elem, old: tuple[int, ...], new: tuple[int, ...]) -> Elem:
    """`expr` over `old` read in C order as `new` (same size)."""
    if tuple(old) == tuple(new):
        return expr
    flat = Leaf(None, contiguous_strides(new), 0, np.dtype(np.int64))
    plain = contiguous_strides(old)
    coords: list = []

    def old_coords() -> list:
        if not coords:  # built once, shared by every leaf that needs them
            for d, n in enumerate(old):
                step, size = plain[d], n
                coords.append(
                    Computed(
                        index_op(
                            lambda c, f, s=step, m=size: (f / c.size(s)) % c.size(m),
                            flat,
                            eager=lambda f, s=step, m=size: (f // s) % m,
                        )
                    )
                )
        return coords

    def change(leaf: Leaf) -> Elem:
        strides = nocopy_strides(old, leaf.strides, new)
        if strides is not None:
            return leaf.with_strides(strides)
        return moved_leaf(leaf, old_coords(), len(new))

    return map_leaves(expr, change)


@numpy_when_not_lazy(np.reshape)
def reshape(a, *shape, order="C", newshape=None, copy=None):
    """`numpy.reshape` / `ndarray.reshape` (C order, `-1` allowed), lazily.

    >>> import daybreak.numpy as dnp
    >>> dnp.arange(6).reshape((3, 2)).shape
    (3, 2)
    """
    if newshape is not None:
        shape = (newshape,)
    if len(shape) == 1 and not isinstance(shape[0], int | np.integer):
        shape = tuple(shape[0])
    x = lazy(a)
    if order not in ("C", "F"):
        from .fallback import run_numpy

        return run_numpy(f"reshape with order={order!r}", np.reshape, (x, shape), {"order": order})
    new = stand_in(x.shape).reshape(shape, order=order).shape  # NumPy's errors, -1 resolved
    if order == "F":  # F order is C order on the reversed axes
        return transpose(reshape(transpose(x), new[::-1]))
    made = ndarray(reshape_expr(x._expr, x.shape, new), new)
    if copy or not _reshaped_in_place(x, new):
        return made.copy()  # (a copy of the user's memory reads its snapshot)
    # NumPy's reshape is a view: writes through either show in both
    old = x.shape

    def remake(base):
        return reshape(base, new)

    remake.layout = lambda strides: nocopy_strides(old, strides, new)
    return made.as_view_of(
        x, lambda base, v: base.__setitem__(Ellipsis, reshape(v, old)), remake=remake
    )


def _reshaped_in_place(x: ndarray, new: tuple[int, ...]) -> bool:
    """Whether NumPy's `x.reshape(new)` is a view of `x`: what `x` is in NumPy's memory (its
    strides, `_layout`) can say the new shape (NumPy's rule, `nocopy_strides`)."""
    layout = _layout(x)
    return layout is not None and nocopy_strides(x.shape, layout, new) is not None


def _layout(x: ndarray) -> tuple[int, ...] | None:
    """The element strides NumPy's array for `x` would have: C order for what daybreak
    makes (and the user's memory it wraps), a view's own as NumPy makes them from its
    base's (a slice: NumPy's indexing of a stand-in with those strides; a transpose, a
    reshape: their `remake.layout`). None: not known."""
    if x._base is None:
        return contiguous_strides(x.shape)
    # (from the views' own rules, never from the strides of the buffer a view reads now:
    # daybreak may hold a value in another order than NumPy's, a transpose's write-back
    # leaves its base reading the transpose's buffer)
    base, key, remake = x._base[0], x._base[2], x._base[3]
    outer = _layout(base)
    if outer is None:
        return None
    if remake is not None:  # its own rule, or not known
        rule = getattr(remake, "layout", None)
        return None if rule is None else rule(outer)
    probe = np.lib.stride_tricks.as_strided(
        np.empty(1, np.int8), base.shape, outer
    )  # (one byte per element: strides in elements)
    try:
        part = probe[key]
    except (IndexError, TypeError, ValueError):
        return None
    return part.strides if type(part) is np.ndarray else None


@numpy_when_not_lazy(np.ravel)
def ravel(a, order="C"):
    """`numpy.ravel`: the elements as 1-D (C or F order; "A" and "K" follow the memory
    order NumPy's array would have, `_memory_order`)."""
    if order in ("A", "K"):
        order = _memory_order(a, order)
        if order is None:
            from .fallback import run_numpy

            return run_numpy(
                "ravel in the memory order of a strided NumPy array", np.ravel, (a, "K")
            )
    if order == "C" and type(a) is ndarray and a._base is not None:
        # NumPy's ravel is a view only of C-contiguous memory (`reshape(-1)` of a strided
        # view may be one too, but ravel copies it)
        layout = _layout(a)
        if layout is None or not is_contiguous(layout, a.shape):
            return reshape(a, -1, copy=True)
    return reshape(a, -1, order=order)


def _memory_order(a, order: str) -> str | None:
    if type(a) is ndarray and a.ndim > 1:
        # a daybreak array: the order NumPy would hold it in (`_layout`: Fortran order for
        # `zeros(..., order="F")`, a transpose, a Fortran-ordered result)
        layout = _layout(a)
        fortran = layout is not None and is_contiguous(layout[::-1], a.shape[::-1])
        return "F" if fortran and not is_contiguous(layout, a.shape) else "C"
    if not isinstance(a, np.ndarray) or type(a) is not np.ndarray or a.ndim < 2:
        return "C"
    if a.flags.f_contiguous and not a.flags.c_contiguous:
        return "F"
    return "C" if order == "A" or a.flags.c_contiguous else None


def flatten(a, order="C"):
    """`ndarray.flatten`: `ravel`'s elements in a copy (never a view)."""
    flat = ravel(a, order=order)
    return flat.copy() if type(flat) is ndarray and flat._base is not None else flat


# --- axis permutations -------------------------------------------------------------------
def permuted(x: ndarray, perm: tuple[int, ...]) -> ndarray:
    """`x` with new axis k being old axis perm[k]."""
    where = {old: new for new, old in enumerate(perm)}
    sources = [Affine(where[d]) for d in range(x.ndim)]
    shape = tuple(x.shape[p] for p in perm)
    view = ndarray(_reindex(x._expr, sources, len(shape)), shape)
    back = tuple(where[d] for d in range(x.ndim))

    def remake(base):
        return permuted(base, perm)

    remake.layout = lambda strides: tuple(strides[p] for p in perm)
    return view.as_view_of(
        x, lambda base, v: base.__setitem__(Ellipsis, permuted(v, back)), remake=remake
    )


@numpy_when_not_lazy(np.transpose)
def transpose(a, axes=None, *more):
    """`numpy.transpose` / `ndarray.transpose` / `.T`: a re-indexed read, no copy.

    >>> import daybreak.numpy as dnp
    >>> dnp.ones((2, 3, 4)).transpose(2, 0, 1).shape
    (4, 2, 3)
    """
    if more:
        axes = (axes, *more)
    x = lazy(a)
    if axes is None:
        perm = tuple(reversed(range(x.ndim)))
    else:
        axes = tuple(axes) if not isinstance(axes, int | np.integer) else (axes,)
        stand_in(x.shape).transpose(axes)  # NumPy's errors
        perm = tuple(normalize_axis_index(operator.index(k), x.ndim) for k in axes)
    return permuted(x, perm)


@numpy_when_not_lazy(np.swapaxes)
def swapaxes(a, axis1, axis2):
    """`numpy.swapaxes`."""
    x = lazy(a)
    i, j = normalize_axis_index(axis1, x.ndim), normalize_axis_index(axis2, x.ndim)
    perm = list(range(x.ndim))
    perm[i], perm[j] = perm[j], perm[i]
    return permuted(x, tuple(perm))


@numpy_when_not_lazy(np.moveaxis)
def moveaxis(a, source, destination):
    """`numpy.moveaxis` (NumPy's own algorithm for the order of the other axes)."""
    x = lazy(a)
    src = normalize_axis_tuple(source, x.ndim, "source")
    dst = normalize_axis_tuple(destination, x.ndim, "destination")
    if len(src) != len(dst):
        raise ValueError(
            "`source` and `destination` arguments must have the same number of elements"
        )
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return permuted(x, tuple(order))


@numpy_when_not_lazy(np.squeeze)
def squeeze(a, axis=None):
    """`numpy.squeeze`: drop axes of length 1."""
    x = lazy(a)
    new = np.squeeze(stand_in(x.shape), axis=axis).shape  # NumPy's errors
    if x.ndim == 0:
        return x
    if axis is None:
        dropped = {d for d, n in enumerate(x.shape) if n == 1}
    else:
        dropped = set(normalize_axis_tuple(axis, x.ndim))
    kept = [d for d in range(x.ndim) if d not in dropped]
    sources = [Affine(kept.index(d)) if d in kept else Affine(None) for d in range(x.ndim)]
    return ndarray(_reindex(x._expr, sources, len(new)), new)


@numpy_when_not_lazy(np.expand_dims)
def expand_dims(a, axis):
    """`numpy.expand_dims`: insert axes of length 1."""
    x = lazy(a)
    new = np.expand_dims(stand_in(x.shape), axis).shape  # NumPy's errors
    axes = axis if isinstance(axis, tuple | list) else (axis,)
    inserted = set(normalize_axis_tuple(axes, len(new)))
    kept = [d for d in range(len(new)) if d not in inserted]
    sources = [Affine(kept[d]) for d in range(x.ndim)]
    return ndarray(_reindex(x._expr, sources, len(new)), new)


# --- roll and diff -----------------------------------------------------------------------
def _rolled(n: int, shift: int, ndim: int, axis: int):
    """Old coordinate along `axis` for a roll by `shift` (0 < shift < n): p - shift, wrapped
    (two pieces, so a loop over rows reads each row as two contiguous slices)."""
    return Computed(wrapped(position(axis, ndim), n, shift))


@numpy_when_not_lazy(np.roll)
def roll(a, shift, axis=None):
    """`numpy.roll`: elements shifted along axes, wrapping around (a gather by index
    arithmetic, so `np.roll(u, 1) - np.roll(u, -1)` is one loop).

    >>> import daybreak.numpy as dnp
    >>> dnp.roll(dnp.arange(5), 2).tolist()
    [3, 4, 0, 1, 2]
    """
    x = lazy(a)
    now, site = copy_at_once(np.roll, [x], x.nbytes, shift, axis)
    if now is not None:
        return now
    return at_line(site, _roll(x, shift, axis))


def _roll(x: ndarray, shift, axis) -> ndarray:
    if axis is None:
        return reshape(_roll(ravel(x), shift, 0), x.shape)
    shifts, axes = np.broadcast_arrays(np.asarray(shift), np.asarray(axis))  # NumPy's rule
    if shifts.dtype.kind not in "iu" or axes.dtype.kind not in "iu":
        np.roll(np.empty(0), shift, axis)  # NumPy's TypeError
    total = [0] * x.ndim
    for s, d in zip(shifts.reshape(-1).tolist(), axes.reshape(-1).tolist(), strict=True):
        total[normalize_axis_index(d, x.ndim)] += s
    sources: list = identity(x.ndim)
    for d, s in enumerate(total):
        n = x.shape[d]
        if n and s % n:
            sources[d] = _rolled(n, s % n, x.ndim, d)
    if all(isinstance(s, Affine) for s in sources):
        return x.copy()  # (NumPy's roll is a copy, of the user's memory too)
    return ndarray(_reindex(computed_once(x._expr, x.shape), sources, x.ndim), x.shape)


@numpy_when_not_lazy(np.diff)
def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    """`numpy.diff`: `a[1:] - a[:-1]` along `axis`, `n` times (`!=` for booleans)."""
    if n == 0:
        return a
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n!r}")
    x = lazy(a)
    if x.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = normalize_axis_index(axis, x.ndim)
    if prepend is np._NoValue and append is np._NoValue:
        now, site = copy_at_once(np.diff, [x], x.nbytes, n, axis)
        if now is not None:
            return now
        return at_line(site, _diff(x, n, axis, [x]))
    return _diff(x, n, axis, [prepend, x, append])


def _diff(x: ndarray, n: int, axis: int, extras: list) -> ndarray:
    from .joining import concatenate
    from .methods import call_ufunc

    parts = []
    for extra in extras:
        if extra is x:
            parts.append(x)
        elif extra is not np._NoValue:
            e = lazy(extra)
            if e.ndim == 0:
                shape = list(x.shape)
                shape[axis] = 1
                e = broadcast_to(e, shape)
            parts.append(e)
    if len(parts) > 1:
        x = concatenate(parts, axis=axis)
    op = np.not_equal if x.dtype == np.bool_ else np.subtract
    lead = (slice(None),) * axis
    for _ in range(n):
        x = ndarray(computed_once(x._expr, x.shape), x.shape)
        x = call_ufunc(op, x[lead + (slice(1, None),)], x[lead + (slice(None, -1),)])
    return x


@numpy_when_not_lazy(np.broadcast_to)
def broadcast_to(a, shape, subok=False):
    """`numpy.broadcast_to`: a read of `a` with stride 0 on the broadcast axes."""
    x = lazy(a)
    shape = (operator.index(shape),) if isinstance(shape, int | np.integer) else tuple(shape)
    new = np.broadcast_to(stand_in(x.shape), shape).shape  # NumPy's errors
    return ndarray(broadcast_expr(x._expr, x.shape, new), new)
