"""Reductions: sum prod mean min max argmin argmax std var any all, over any axes; and the
scans: cumsum, cumprod and `ufunc.accumulate` of add, multiply, maximum and minimum.

Each is a merger loop over the element expression of its input (so `(x * 2).sum()` never
builds `x * 2`); `mean`, `var`, `std` and the arg-reductions are composed from these and
elementwise ufuncs exactly as NumPy's own Python code composes them (`_methods.py`), so
dtypes and special values follow NumPy's. Empty inputs and small computed inputs run NumPy
itself (its result, or its error, is the reference).

>>> import daybreak.numpy as dnp
>>> x = dnp.asarray([[1, 2, 3], [4, 5, 6]], dtype="int32")
>>> x.sum(axis=0), x.sum().dtype, x.mean(axis=-1)
(array([5, 7, 9]), dtype('int64'), array([2., 5.]))
"""

from __future__ import annotations

import functools
import math

import numpy as np

from daybreak.ir import builder as B
from daybreak.runtime.config import SETTINGS
from daybreak.runtime.stats import count_library_run

from ..elements.dtypes import is_supported
from ..elements.expr import Apply, Leaf, Outer, op_weight, pending_reduction, postorder
from ..elements.loops import AxisReduce, ElementwiseLoop, Scan, contiguous_strides
from ..elements.scalar_ops import truthy
from ..lazy import _UNSET
from ..scheduler import check_budget, library_for_good
from . import shapes
from .array import as_operand, from_numpy_result, lazy_array, ndarray, reading_pending
from .ufuncs import apply_ufunc, cast_expr

try:  # NumPy 2
    from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import normalize_axis_index
    from numpy.core.numeric import normalize_axis_tuple


class NotReduced(Exception):
    """Not compiled: the caller runs NumPy (counted)."""


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    return tuple(sorted(normalize_axis_tuple(axis, ndim)))


def _kept_shape(shape, axes, keepdims: bool) -> tuple[int, ...]:
    if keepdims:
        return tuple(1 if d in axes else n for d, n in enumerate(shape))
    return tuple(n for d, n in enumerate(shape) if d not in axes)


def _merge(expr, shape, axes, op: str, keepdims: bool) -> ndarray:
    """`expr` over `shape` merged with `op` along `axes`, as a lazy array."""
    if len(axes) == len(shape):
        node = pending_reduction(
            expr, (shape, axes, op), lambda: check_budget(ElementwiseLoop(expr, shape, op))
        )
        if keepdims:
            return lazy_array(Outer(node, expr.dtype), _kept_shape(shape, axes, keepdims))
        return reading_pending(Outer.plain(node, expr.dtype), ())
    out = _kept_shape(shape, axes, keepdims)
    node = pending_reduction(
        expr, (shape, axes, op), lambda: check_budget(AxisReduce(expr, shape, axes, op))
    )
    size = math.prod(out)
    return lazy_array(Leaf(node, contiguous_strides(out), size, expr.dtype), out)


def _numpy_answer(name: str, x: ndarray, size: int, kwargs: dict):
    """NumPy's result on the computed input (small inputs, or data: `_of_data`) or on an
    empty one (where the values do not matter and NumPy decides the result or the error);
    None when `x` is not computed. `size`: x's."""
    if size == 0:
        data = np.empty(x.shape, x.dtype)
    else:
        # NumPy reads the buffer once now: a lazy reduction of the user's memory would first
        # take a snapshot of it (`Param.snapshot`), and one of computed data that native
        # code would not reduce faster, a loop node and a trip through the scheduler.
        data = x.concrete()
        if data is None and size >= SETTINGS.eager_below:
            data = x.strided_view()
        if data is None:
            return None
        if size >= SETTINGS.eager_below:
            count_library_run()
    if name == "sum" and data.dtype == _BOOL:
        counted = _counted(data, kwargs)
        if counted is not None:
            return from_numpy_result(counted)
    if type(data) is np.ndarray and "dtype" not in kwargs:
        # (the array's method: NumPy's function is a Python layer of dispatch to the same)
        return from_numpy_result(getattr(data, name)(**kwargs))
    return from_numpy_result(getattr(np, name)(data, **kwargs))


_BOOL = np.dtype(bool)


def _counted(data: np.ndarray, kwargs: dict):
    """NumPy's sum of a boolean array to an integer dtype (`mask.sum()`, `np.sum(mask,
    axis=0)`, `count_nonzero`'s) by `np.count_nonzero`, which counts bytes where `sum` casts
    every element first (10^6 elements: ~0.05 ms against ~0.6): the same integers, wrapped
    to a narrow dtype as the sum's own wraps. None for a float dtype (NumPy's sum, then)."""
    res_dtype = _result_dtype("sum", _BOOL, kwargs.get("dtype"))
    if res_dtype.kind not in "iu":
        return None
    count = np.count_nonzero(data, axis=kwargs.get("axis"), keepdims=kwargs.get("keepdims"))
    return count.astype(res_dtype, copy=False)  # (a NumPy scalar, as `sum`'s, or an array)


def _of_data(x: ndarray, name: str) -> bool:
    """Whether NumPy reduces `x` now: `x` is (a view of) memory the user may still write
    (`array.concrete_expr`), or of a computed buffer whose reduction native code would not
    run faster (`library_for_good`; nothing pending fuses into it: its input is data). A
    computed array reduced in a Python loop (`float(x.sum())` of a result) costs NumPy's
    reduction and a type check, not a loop node (~30 us of Python at 10^5 elements)."""
    e = x._held
    if type(e) is not Leaf or e.node is None or e.node.cached is _UNSET:
        return False
    return e.node.borrowed or library_for_good(_PASSES.get(name, 1), x.size, reduced=True)


# NumPy's passes over the input per reduction (`_methods.py`): what the library's cost counts.
_PASSES = {"mean": 2, "var": 4, "std": 5}


_MERGE_OPS = {"sum": "+", "prod": "*", "min": "min", "max": "max"}


@functools.lru_cache(maxsize=1024)
def _result_dtype(name: str, dtype: np.dtype, asked) -> np.dtype:
    """NumPy's result dtype of `numpy.<name>` over elements of `dtype` (with `dtype=asked`),
    asked once per combination: a Python loop reducing rows pays it once."""
    kwargs = {} if asked is None else {"dtype": asked}
    with np.errstate(all="ignore"):
        return np.asarray(getattr(np, name)(np.zeros(1, dtype), **kwargs)).dtype


def reduce(name: str, a, axis=None, dtype=None, keepdims=False, ddof=0):
    """`numpy.<name>(a, axis=..., dtype=..., keepdims=...)` for the names above."""
    x = as_operand(a)
    if x is None or not isinstance(x, ndarray) or not is_supported(x.dtype):
        from .fallback import unsupported_operand

        raise NotReduced(f"{name} of {unsupported_operand(a) or type(a).__name__}")
    kwargs = {"axis": axis, "keepdims": keepdims}
    if dtype is not None:
        kwargs["dtype"] = dtype
    if name in ("var", "std") and ddof:
        kwargs["ddof"] = ddof
    if name in ("argmin", "argmax") and (dtype is not None or isinstance(axis, tuple)):
        raise NotReduced(f"{name} with dtype or a tuple axis")
    axes = _axes(axis, len(x._shape))  # NumPy's AxisError for a bad axis
    size = math.prod(x._shape)
    if size == 0 or size < SETTINGS.eager_below or _of_data(x, name):
        with np.errstate(all="ignore"):
            answer = _numpy_answer(name, x, size, kwargs)
        if answer is not None:
            return answer
    res_dtype = _supported_result(_result_dtype, name, x.dtype, dtype)
    return _REDUCERS[name](x, axes, res_dtype, keepdims, ddof)


def _supported_result(probe, name: str, dtype: np.dtype, asked) -> np.dtype:
    """NumPy's result dtype of `name` over `dtype` (asked with `dtype=asked`) by `probe`
    (cached per combination), or `NotReduced` where the IR has no such dtype."""
    try:
        res_dtype = probe(name, dtype, asked)
    except TypeError:  # an unhashable dtype-like (NumPy's own error, if it is not one)
        res_dtype = probe.__wrapped__(name, dtype, asked)
    if not is_supported(res_dtype):
        from ..elements.dtypes import why_unsupported

        raise NotReduced(f"{name} to {why_unsupported(res_dtype)}")
    return res_dtype


def _plain(name):
    def run(x, axes, res_dtype, keepdims, ddof):
        found = _merge(cast_expr(x._expr, res_dtype), x.shape, axes, _MERGE_OPS[name], keepdims)
        if name == "sum" and x.dtype == _BOOL and res_dtype.kind in "iu":
            # tier 0 counts the mask (`_counted`); compiled code sums it, fused
            node = found._held.node
            if not node.is_leaf and (len(axes) == 1 or len(axes) == x.ndim):
                node.use_library_kernel(x._expr, _count_kernel)
        return found

    return run


def _count_kernel(value, axis=None):
    return np.count_nonzero(value, axis=axis)


def _truth(op: str):
    def run(x, axes, res_dtype, keepdims, ddof):
        from ..elements.dtypes import ir_scalar

        if x.dtype == _BOOL:
            expr = x._expr  # (its own truth: `a != 0` would be a pass of the library's more)
        else:
            t = ir_scalar(x.dtype)
            expr = Apply(lambda c, a: truthy(t, a), (x._expr,), _BOOL, lambda a: a != 0)
        return _merge(expr, x.shape, axes, op, keepdims)

    return run


def _mean(x, axes, res_dtype, keepdims, ddof):
    total = _merge(cast_expr(x._expr, res_dtype), x.shape, axes, "+", keepdims)
    count = math.prod(x.shape[d] for d in axes)
    return _cast_to(apply_ufunc(np.true_divide, [total, count]), res_dtype)


def _var(x, axes, res_dtype, keepdims, ddof):
    # NumPy's _var: x - mean (kept dims), squared, summed, divided by max(n - ddof, 0).
    mean = _mean(x, axes, res_dtype, True, 0)
    dev = apply_ufunc(np.subtract, [x, mean])
    sq = apply_ufunc(np.multiply, [dev, dev])
    total = _merge(cast_expr(sq._expr, res_dtype), sq.shape, axes, "+", keepdims)
    count = max(math.prod(x.shape[d] for d in axes) - ddof, 0)
    return _cast_to(apply_ufunc(np.true_divide, [total, count]), res_dtype)


def _std(x, axes, res_dtype, keepdims, ddof):
    return _cast_to(apply_ufunc(np.sqrt, [_var(x, axes, res_dtype, keepdims, ddof)]), res_dtype)


def _cast_to(x, dtype) -> ndarray:
    if not isinstance(x, ndarray) or isinstance(x, np.ndarray | np.generic):
        return x
    return ndarray(cast_expr(x._expr, dtype), x.shape)


def _arg(best: str):
    def run(x, axes, res_dtype, keepdims, ddof):
        # The first position holding the extreme value; a NaN wins (NumPy's rule).
        extreme = _merge(x._expr, x.shape, axes, best, True)
        hit = apply_ufunc(np.equal, [x, extreme])
        if x.dtype.kind == "f":
            both_nan = apply_ufunc(
                np.logical_and, [apply_ufunc(np.isnan, [x]), apply_ufunc(np.isnan, [extreme])]
            )
            hit = apply_ufunc(np.logical_or, [hit, both_nan])
        strides = contiguous_strides(x.shape)
        along = tuple(s if d in axes else 0 for d, s in enumerate(strides))
        if len(axes) == 1:
            along = tuple(1 if d in axes else 0 for d in range(x.ndim))
        position = Leaf(None, along, 0, np.dtype(np.int64))
        big = np.iinfo(np.int64).max
        expr = Apply(
            lambda c, h, p: B.select(h, p, B.lit(big)),
            (hit._expr, position),
            np.dtype(np.int64),
            lambda h, p: np.where(h, p, big),
        )
        found = _merge(expr, x.shape, axes, "min", keepdims)
        node = found._held.node
        if not node.is_leaf and (len(axes) == 1 or len(axes) == x.ndim):
            node.use_library_kernel(x._expr, _ARG_KERNELS[best])  # tier 0: one NumPy call
        return found

    return run


_ARG_KERNELS = {"max": np.argmax, "min": np.argmin}


_REDUCERS = {
    "sum": _plain("sum"),
    "prod": _plain("prod"),
    "min": _plain("min"),
    "max": _plain("max"),
    "any": _truth("max"),
    "all": _truth("min"),
    "mean": _mean,
    "var": _var,
    "std": _std,
    "argmin": _arg("min"),
    "argmax": _arg("max"),
}

NAMES = tuple(_REDUCERS)


# The scans, by the merge op each scans with: NumPy's cumulative functions and the
# `accumulate` method of these ufuncs.
SCAN_OPS = {
    "cumsum": "+",
    "cumprod": "*",
    "add": "+",
    "multiply": "*",
    "maximum": "max",
    "minimum": "min",
}
# On booleans NumPy's add is `or` and its multiply `and` (`np.add.accumulate` of bools).
_BOOL_SCAN_OPS = {"+": "max", "*": "min"}


def _scan_function(name: str):
    """NumPy's function for scan `name` (`np.cumsum`, `np.maximum.accumulate`, ...)."""
    found = getattr(np, name)
    return found.accumulate if isinstance(found, np.ufunc) else found


@functools.lru_cache(maxsize=1024)
def _scan_dtype(name: str, dtype: np.dtype, asked) -> np.dtype:
    """NumPy's result dtype of scan `name` over elements of `dtype` (with `dtype=asked`)."""
    kwargs = {} if asked is None else {"dtype": asked}
    with np.errstate(all="ignore"):
        return _scan_function(name)(np.zeros(1, dtype), **kwargs).dtype


def _costly(x: ndarray) -> bool:
    """Whether `x`'s pending terms hold a costly op (`exp`, `log`: `op_weight`)."""
    e = x._held
    return type(e) is not Leaf and any(op_weight(part) > 1 for part in postorder(e))


def scan(name: str, a, axis, dtype=None):
    """`numpy.cumsum(a, axis, dtype)` (and `cumprod`) or `numpy.<ufunc>.accumulate(a, axis,
    dtype)` for the names of `SCAN_OPS`: a `Scan` loop over the element expression of `a`
    (`np.cumsum(x * 2)` never builds `x * 2`), along the last axis (or one only axes of
    length 1 follow); `axis=None` (cumsum's default) scans the flattened array. Along a
    leading axis, of costly terms, or of small, empty or computed inputs: NumPy's own scan
    of the input's data (computed first where it is pending), a library run as the
    reductions' (not a fallback); the caller falls back, counted, on `NotReduced`.

    >>> import daybreak.numpy as dnp
    >>> dnp.cumsum(dnp.asarray([[1, 2], [3, 4]], dtype="int32"), axis=0).tolist()
    [[1, 2], [4, 6]]
    """
    x = as_operand(a)
    if isinstance(x, int | float | bool) and dtype is None:
        return _scan_function(name)(np.asarray(x), axis=axis)  # (one element: NumPy's)
    if x is None or not isinstance(x, ndarray) or not is_supported(x.dtype):
        from .fallback import unsupported_operand

        raise NotReduced(f"{name} of {unsupported_operand(a) or type(a).__name__}")
    if axis is None:
        x, axis = x.ravel(), 0
    if x.ndim == 0:
        raise NotReduced(f"{name} of a 0-d array")  # (NumPy's own error)
    axis = normalize_axis_index(axis, x.ndim)  # NumPy's AxisError for a bad axis
    size = math.prod(x.shape)
    last = x.ndim - 1
    # NumPy's scan of the computed input along a leading axis, or of costly terms (see below)
    apart = (axis != last and math.prod(x.shape[axis + 1 :]) > 1) or _costly(x)
    if size == 0 or size < SETTINGS.eager_below or apart or _of_data(x, name):
        data = np.empty(x.shape, x.dtype) if size == 0 else x.concrete()
        if data is None and size >= SETTINGS.eager_below:
            data = x.strided_view()
        if data is None and apart:
            # NumPy's kernel on the computed input (what produces it fuses into that
            # program). Along a leading axis it adds whole rows in order, where a scan per
            # line down the axis reads one element per row, each a page apart (a 40 x 200 x
            # 200 cumsum along the first axis: 15.7 ms natively against NumPy's 5.3). Costly
            # terms (`cumsum(log(x))`) are computed side by side (vectorised) by a loop of
            # their own either way, not in the scan's loop, which runs in order; NumPy's
            # scan of them writes its output once, daybreak's rows' scans and their
            # flattening twice (512 x 16384: cumsum_window 1.28x -> 1.6x NumPy).
            data = x.value()
        if data is not None:
            if size >= SETTINGS.eager_below:
                count_library_run()
            kwargs = {} if dtype is None else {"dtype": dtype}
            with np.errstate(all="ignore"):
                return from_numpy_result(_scan_function(name)(data, axis=axis, **kwargs))
    res_dtype = _supported_result(_scan_dtype, name, x.dtype, dtype)
    op = SCAN_OPS[name]
    if res_dtype == np.bool_:
        op = _BOOL_SCAN_OPS.get(op, op)
    moved = x if axis == last else shapes.moveaxis(x, axis, last)  # (only axes of length 1 after)
    shape = moved.shape
    node = check_budget(Scan(cast_expr(moved._expr, res_dtype), shape, op))
    out = lazy_array(Leaf(node, contiguous_strides(shape), size, res_dtype), shape)
    return out if axis == last else shapes.moveaxis(out, last, axis)
