"""Joining arrays: concatenate, stack, vstack, hstack, column_stack, lazily.

The result reads part k where the coordinate along the joined axis falls in part k's range
(a `select` over the parts, each read at a clamped coordinate so that every read stays in
bounds): joining fuses with what produces the parts and what consumes the result. Parts
that do real work are computed first, so the select only chooses between reads.

Result dtypes and every error are NumPy's: NumPy joins empty stand-ins of the parts first.

>>> import daybreak.numpy as dnp
>>> a, b = dnp.arange(4).reshape(2, 2), dnp.arange(4, 6).reshape(2, 1)
>>> dnp.concatenate([a, b], axis=1).tolist()
[[0, 1, 4], [2, 3, 5]]
>>> dnp.stack([dnp.arange(2), dnp.arange(2)], axis=1).shape
(2, 2)
"""

from __future__ import annotations

import numpy as np

from daybreak.runtime.stats import count_library_run

from ..elements.expr import Select
from ..elements.remap import (
    Affine,
    Computed,
    between,
    clamped_shift,
    computed_once,
    position,
    reindex,
)
from ..scheduler import library_by_choice
from .array import data_now, from_numpy_result, ndarray
from .fallback import numpy_when_not_lazy
from .shapes import expand_dims, lazy, ravel, reshape
from .ufuncs import cast_expr

try:  # NumPy 2
    from numpy.lib.array_utils import normalize_axis_index
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import normalize_axis_index


@numpy_when_not_lazy(np.concatenate)
def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    """`numpy.concatenate`, lazily (`out=` runs NumPy, counted).

    >>> import daybreak.numpy as dnp
    >>> dnp.concatenate([dnp.arange(2), dnp.arange(3.0)]).tolist()
    [0.0, 1.0, 0.0, 1.0, 2.0]
    """
    if type(arrays) in (list, tuple) and out is None and library_by_choice():
        values = [data_now(p) for p in arrays]
        if values and all(type(v) is np.ndarray and v.dtype.kind in "biuf" for v in values):
            # Parts that are data: NumPy's copy of each into the result (a select per
            # element, native or by NumPy in tier 0, was 1.7x-10x slower); only a pending
            # part has work to fuse
            count_library_run()
            joined = np.concatenate(values, axis=axis, dtype=dtype, casting=casting)
            return from_numpy_result(joined)
    parts = [lazy(p) for p in arrays]
    if out is not None or any(p.dtype.kind not in "biuf" for p in parts):
        from .fallback import run_numpy

        return run_numpy(
            "concatenate with out= or unsupported dtypes",
            np.concatenate,
            (parts,),
            {"axis": axis, "out": out, "dtype": dtype, "casting": casting},
        )
    stand_ins = [_stand_in(p, axis) for p in parts]
    res_dtype = np.concatenate(stand_ins, axis=axis, dtype=dtype, casting=casting).dtype
    if axis is None:
        parts, axis = [ravel(p) for p in parts], 0
    axis = normalize_axis_index(axis, parts[0].ndim)
    parts = [p for p in parts if p.shape[axis] > 0] or parts[:1]
    shape = list(parts[0].shape)
    shape[axis] = sum(p.shape[axis] for p in parts)
    return ndarray(_joined(parts, axis, res_dtype, len(shape)), tuple(shape))


def _stand_in(x: ndarray, axis) -> np.ndarray:
    if axis is None or x.ndim == 0:
        return np.empty((0,) if axis is None else (), x.dtype)
    shape = list(x.shape)
    try:
        shape[normalize_axis_index(axis, x.ndim)] = 0
    except np.exceptions.AxisError:
        pass  # NumPy raises it for the join
    return np.empty(shape, x.dtype)


def _joined(parts: list[ndarray], axis: int, dtype, ndim: int):
    """The select over the parts along `axis` (innermost part last)."""
    coord = position(axis, ndim)
    offsets, start = [], 0
    for p in parts:
        offsets.append(start)
        start += p.shape[axis]
    result = None
    for p, offset in reversed(list(zip(parts, offsets, strict=True))):
        n = p.shape[axis]
        sources: list = [Affine(d) for d in range(ndim)]
        if len(parts) > 1:
            sources[axis] = Computed(clamped_shift(coord, offset, n))
        read = reindex(computed_once(cast_expr(p._expr, dtype), p.shape), sources, ndim)
        if result is None:
            result = read
        else:
            before = between(coord, 0, offset + n)  # pieces, like the clamped read
            result = Select(before, read, result, dtype)
    return result


@numpy_when_not_lazy(np.stack)
def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    """`numpy.stack`: the parts joined along a new axis."""
    parts = [lazy(p) for p in arrays]
    if not parts:
        raise ValueError("need at least one array to stack")
    if len({p.shape for p in parts}) > 1:
        raise ValueError("all input arrays must have the same shape")
    axis = normalize_axis_index(axis, parts[0].ndim + 1)
    return concatenate(
        [expand_dims(p, axis) for p in parts], axis=axis, out=out, dtype=dtype, casting=casting
    )


def _at_least(x: ndarray, ndim: int) -> ndarray:
    """`atleast_1d` / `atleast_2d`: ones in front (a 1-D part becomes a row)."""
    if x.ndim >= ndim:
        return x
    return reshape(x, (1,) * (ndim - x.ndim) + x.shape)


@numpy_when_not_lazy(np.vstack)
def vstack(tup, *, dtype=None, casting="same_kind"):
    """`numpy.vstack`: rows after rows (1-D parts become rows)."""
    return concatenate([_at_least(lazy(p), 2) for p in tup], axis=0, dtype=dtype, casting=casting)


@numpy_when_not_lazy(np.hstack)
def hstack(tup, *, dtype=None, casting="same_kind"):
    """`numpy.hstack`: along the second axis (the first for 1-D parts)."""
    parts = [_at_least(lazy(p), 1) for p in tup]
    axis = 0 if parts and parts[0].ndim == 1 else 1
    return concatenate(parts, axis=axis, dtype=dtype, casting=casting)


@numpy_when_not_lazy(np.column_stack)
def column_stack(tup):
    """`numpy.column_stack`: 1-D parts become columns."""
    parts = [lazy(p) for p in tup]
    parts = [reshape(p, (-1, 1)) if p.ndim < 2 else p for p in parts]
    return concatenate(parts, axis=1)


__all__ = ["concatenate", "stack", "vstack", "hstack", "column_stack"]
