"""Module-level functions of `daybreak.numpy` that are not ufuncs (reductions, where, clip),
and `FUNCTIONS`: the table `__array_function__` reads when real NumPy functions are called on
daybreak arrays (`numpy.sum(x)`).

NumPy's functions that NumPy itself writes in Python over ufuncs, views and joins (`round`,
`isclose`, `average`, `pad`, `gradient`, `meshgrid`, `tril`, `select`, `tile`, ...) are
written here by NumPy's own steps over daybreak's lazy ufuncs, views and joins, so that their
values are NumPy's (the same operations in the same order) and they fuse with what is around
them; the cases NumPy handles otherwise (other modes, complex values, `out=`) fall back,
counted, and NumPy's checks raise NumPy's errors.

>>> import daybreak.numpy as dnp
>>> dnp.where(dnp.asarray([1, 0, 2]) > 0, 1.5, -1)
array([ 1.5, -1. ,  1.5])
"""

from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from daybreak.ir import builder as B
from daybreak.ir.types import Vec
from daybreak.runtime.config import SETTINGS
from daybreak.runtime.stats import count_library_run

from .. import scheduler
from ..elements.broadcast import broadcast_to, out_shape
from ..elements.dtypes import ir_scalar, is_python_scalar, is_supported
from ..elements.expr import Apply, Leaf
from ..elements.loops import Histogram, Positions, ScatterAdd, realize
from ..lazy import Param
from ..scheduler import check_budget, library_by_choice
from ..snapshots import unalias
from . import creation, joining, linalg, reductions, shapes
from .array import (
    as_operand,
    data_now,
    data_to_read,
    from_numpy_result,
    is_lazy,
    lazy_array,
    ndarray,
)
from .fallback import run_numpy, unsupported_operand
from .methods import _numpy_writing_into, call_ufunc, reduce_or_fallback, scan_or_fallback
from .ufuncs import _operand_expr, at_line, cast_expr, copy_at_once

try:  # NumPy 2
    from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import normalize_axis_index
    from numpy.core.numeric import normalize_axis_tuple


def _reduction(name: str):
    def function(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if v is not np._NoValue}
        return reduce_or_fallback(
            name, a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs
        )

    function.__name__ = name
    function.__doc__ = f"`numpy.{name}`, computed lazily on daybreak arrays."
    function.replay_tag = name  # (its calls may be replayed: `small.numpy_first`)
    return function


def _arg_reduction(name: str):
    def function(a, axis=None, out=None, *, keepdims=False):
        return reduce_or_fallback(name, a, axis=axis, out=out, keepdims=keepdims)

    function.__name__ = name
    return function


def _stat(name: str):
    def function(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if v is not np._NoValue}
        return reduce_or_fallback(
            name, a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, ddof=ddof, **kwargs
        )

    function.__name__ = name
    function.replay_tag = name
    return function


sum = _reduction("sum")  # noqa: A001 - NumPy's names
prod = _reduction("prod")
mean = _reduction("mean")
min = _reduction("min")  # noqa: A001
max = _reduction("max")  # noqa: A001
amin, amax = min, max
any = _reduction("any")  # noqa: A001
all = _reduction("all")  # noqa: A001
argmin = _arg_reduction("argmin")
argmax = _arg_reduction("argmax")
var = _stat("var")
std = _stat("std")


def where(condition, x=np._NoValue, y=np._NoValue):
    """`numpy.where(condition, x, y)`, lazily (a `select`); the one-argument form (indices)
    runs NumPy."""
    if x is np._NoValue or y is np._NoValue:
        return run_numpy(
            "where with one argument",
            np.where,
            (condition,) + tuple(v for v in (x, y) if v is not np._NoValue),
        )
    ops = [as_operand(v) for v in (condition, x, y)]
    if builtins_any(v is None for v in ops):
        found = next(
            unsupported_operand(v) for v, o in zip((condition, x, y), ops, strict=True) if o is None
        )
        return run_numpy(f"where on {found}", np.where, (condition, x, y))
    cond, a, b = ops
    dtype = np.where(
        np.empty(0, bool), *(v if is_python_scalar(v) else np.empty(0, v.dtype) for v in (a, b))
    ).dtype
    if ir_scalar(dtype) is None:
        return run_numpy(f"where to dtype {dtype}", np.where, (condition, x, y))
    # A Python int the result type cannot hold is NumPy's C cast of it, as `where` casts
    # (`where(m, uint8s, -3)` picks 253), not the ufuncs' OverflowError
    a, b = (
        np.asarray(v).astype(dtype)[()] if type(v) is int and dtype.kind in "iu" else v
        for v in (a, b)
    )
    shape = out_shape([() if is_python_scalar(v) else v.shape for v in ops])
    if is_python_scalar(cond):
        cond_expr = _operand_expr(cond, shape, np.dtype(bool))
    else:
        cond_expr = cast_expr(broadcast_to(cond._expr, cond.shape, shape), np.dtype(bool))
    arrays = [v for v in (cond, a, b) if type(v) is ndarray]
    site = None
    if arrays:
        picked = (cond, a, b)

        def numpy_where(*data):
            given = iter(data)
            return np.where(*(next(given) if type(v) is ndarray else v for v in picked))

        now, site = copy_at_once(numpy_where, arrays, math.prod(shape) * dtype.itemsize)
        if now is not None:
            return now
    args = (cond_expr, _operand_expr(a, shape, dtype), _operand_expr(b, shape, dtype))
    select = Apply(lambda c, k, p, q: B.select(k, p, q), args, dtype, np.where)
    return at_line(site, ndarray(select, shape), alone_at_once=False)


where.replay_tag = "where"  # (a lazy array of its operands' shape)


def count_nonzero(a, axis=None, *, keepdims=False):
    """`numpy.count_nonzero`: the sum of `a != 0` as int64 (NumPy's intp), lazily; one pass
    fused with what computes `a` (a mask's count reads the mask's inputs).

    >>> import daybreak.numpy as dnp
    >>> int(dnp.count_nonzero(dnp.asarray([0.0, 2.0, -1.0]) > 0))
    1
    """
    x = as_operand(a)
    if x is None or is_python_scalar(x):
        why = unsupported_operand(a) if x is None else "a Python scalar"
        return run_numpy(
            f"count_nonzero on {why}", np.count_nonzero, (a,), {"axis": axis, "keepdims": keepdims}
        )
    truth = x if x.dtype == np.bool_ else call_ufunc(np.not_equal, x, 0)
    return reduce_or_fallback("sum", truth, axis=axis, dtype=np.intp, keepdims=keepdims)


def bincount(x, weights=None, minlength=0):
    """`numpy.bincount`: the positions' range is computed first (one fused pass: their
    minimum and maximum), then the counts (or weight sums) by one vecmerger loop into which
    the positions' computation fuses. NumPy's errors for negative positions, other dtypes,
    shapes or lengths.

    >>> import daybreak.numpy as dnp
    >>> dnp.bincount(dnp.asarray([0, 1, 1, 3])).tolist()
    [1, 2, 0, 1]
    """
    keys = as_operand(x)
    w = None if weights is None else as_operand(weights)
    if not isinstance(keys, ndarray) or (weights is not None and not isinstance(w, ndarray)):
        why = unsupported_operand(x) or unsupported_operand(weights) or "Python scalars"
        return run_numpy(
            f"bincount of {why}", np.bincount, (x,), {"weights": weights, "minlength": minlength}
        )
    if not (
        keys.ndim == 1
        and keys.size > 0
        and np.can_cast(keys.dtype, np.intp, "safe")
        and (w is None or w.shape == keys.shape)
        and type(minlength) is int
        and minlength >= 0
    ):
        # NumPy's error (a 0-d or 2-D input, floats, a bad length or minlength), or its
        # answer for no positions (`minlength` zeros): asked of zeros of the same shapes
        stand_ins = np.zeros(keys.shape, keys.dtype), None if w is None else np.zeros(w.shape)
        return np.bincount(stand_ins[0], weights=stand_ins[1], minlength=minlength)
    known = keys.concrete()
    known_weights = None if w is None else w.concrete()
    if (
        known is not None
        and (w is None or known_weights is not None)
        and SETTINGS.compile_in_background
        and not SETTINGS.strict
    ):
        # Computed positions (and weights): nothing fuses into the counts, and NumPy's own
        # bincount finds the range and counts in the passes the compiled path would make
        # (the range first, then a scatter the cost model sends to the library anyway). Not
        # where every graph must compile (strict mode, or no tier 0).
        count_library_run()
        return from_numpy_result(np.bincount(known, weights=known_weights, minlength=minlength))
    # The positions are read three times (their minimum, their maximum, the counts): one
    # loop computes them, which the range and the counts read (kept while `x` lives).
    key_node = realize(keys._expr, keys.shape)
    positions = lazy_array(Leaf(key_node, (1,), keys.size, keys.dtype), keys.shape)
    low, high = scheduler.evaluate(positions.min(), positions.max())
    if low < 0:
        raise ValueError("'list' argument must have no negative elements")
    length = builtins.max(int(high) + 1, minlength)  # (`max` here is NumPy's)
    dtype = np.dtype(np.intp) if weights is None else np.dtype(np.float64)
    weight_node = None
    if w is not None:
        weight_node = realize(cast_expr(w._expr, np.dtype(np.float64)), w.shape)
    node = ScatterAdd(key_node, ir_scalar(keys.dtype), weight_node, length, dtype, keys.size)
    node = check_budget(node)
    return ndarray(Leaf(node, (1,), length, dtype), (length,))


def histogram(a, bins=10, range=None, density=None, weights=None):  # noqa: A002 - NumPy's
    """`numpy.histogram` of float64 values (or integers in their own range, as float64s as
    NumPy bins them) in `bins` equal bins (an int), with or without float64 weights: one
    loop (`Histogram`) after the range (the values' minimum and maximum, one fused pass,
    where no `range` is given), with NumPy's bins, edges and errors. Other bins (edges, a
    rule's name), `density`, other dtypes: NumPy's own, counted.

    >>> import numpy
    >>> import daybreak.numpy as dnp
    >>> counts, edges = dnp.histogram(dnp.asarray(numpy.array([0.0, 0.5, 1.0, 1.0])), 2)
    >>> counts.tolist(), edges.tolist()
    ([1, 3], [0.0, 0.5, 1.0])
    """
    x = as_operand(a)
    w = None if weights is None else as_operand(weights)
    why = _histogram_gap(x, w, bins, range, density)
    if why is not None:
        return run_numpy(
            f"histogram {why}",
            np.histogram,
            (a,),
            {"bins": bins, "range": range, "density": density, "weights": weights},
        )
    if w is not None and w.shape != x.shape:
        raise ValueError("weights should have the same shape as a.")
    if x.size == 0:  # (NumPy's answer for no values: the range 0 to 1, zeros)
        return np.histogram(np.zeros(0), bins, range, weights=None if w is None else np.zeros(0))
    values = x.ravel()
    if range is not None:  # (NumPy's outer edges, and their errors)
        first, last = range
        if first > last:
            raise ValueError("max must be larger than min in range parameter.")
        if not (np.isfinite(first) and np.isfinite(last)):
            raise ValueError(f"supplied range of [{first}, {last}] is not finite")
    else:
        first, last = scheduler.evaluate(values.min(), values.max())
        if not (np.isfinite(first) and np.isfinite(last)):
            raise ValueError(f"autodetected range of [{first}, {last}] is not finite")
        if x.dtype.kind in "iu" and builtins.max(-int(first), int(last)) >= 1 << 53:
            # (beyond 2^53 NumPy takes `last - first` exactly, the library's histogram of
            # the values as float64s would not: NumPy's own on the integers)
            return run_numpy(
                "histogram of integers beyond 2^53",
                np.histogram,
                (a,),
                {"bins": bins, "range": range, "density": density, "weights": weights},
            )
    if first == last:
        first, last = first - 0.5, last + 0.5
    # (NumPy's `last - first`: of two integers, their exact difference, then a float)
    integral = isinstance(first, int | np.integer) and isinstance(last, int | np.integer)
    denominator = float(int(last) - int(first)) if integral else float(last - first)
    edges = np.linspace(first, last, bins + 1, endpoint=True, dtype=np.float64)
    if np.any(edges[:-1] >= edges[1:]):  # (NumPy's check: a range too narrow for its bins)
        raise ValueError(f"Too many bins for data range. Cannot create {bins} finite-sized bins.")
    f64 = ir_scalar(np.dtype(np.float64))
    dtype = np.dtype(np.intp) if w is None else np.dtype(np.float64)
    as_floats = values._expr if x.dtype == np.float64 else cast_expr(values._expr, edges.dtype)
    node = Histogram(
        realize(as_floats, values.shape),
        Param.owned(edges, Vec(f64)),
        Param.scalar(float(first), f64),
        Param.scalar(float(last), f64),
        Param.scalar(denominator, f64),
        None if w is None else realize(w.ravel()._expr, (w.size,)),
        bins,
        dtype,
        values.size,
    )
    counts = ndarray(Leaf(check_budget(node), (1,), bins + 1, dtype), (bins,))
    return counts, from_numpy_result(edges)


_EDGE_TYPES = (int, float, np.float64, np.integer)


def _histogram_gap(x, w, bins, range, density) -> str | None:  # noqa: A002 - NumPy's
    """Why `histogram` leaves these arguments to NumPy, or None."""
    if not isinstance(x, ndarray) or (w is not None and not isinstance(w, ndarray)):
        return f"of {unsupported_operand(x) or unsupported_operand(w) or 'Python values'}"
    if w is not None and w.dtype != np.float64:
        return "of weights of other dtypes than float64"
    if x.dtype != np.float64 and not (x.dtype.kind in "iu" and range is None):
        # (integers with a range given: NumPy compares them with its edges as ints or as
        # floats, by the edges' types; with their own range, every value is in it)
        return "of other dtypes than float64 (integers: with a range given)"
    if type(bins) is not int or bins < 1:
        return "with bins that are not a positive int"
    if density:
        return "with density"
    if range is not None and not (
        len(range) == 2 and builtins.all(isinstance(e, _EDGE_TYPES) for e in range)
    ):
        return "with a range of other types"
    return None


def flatnonzero(a):
    """`numpy.flatnonzero`: the flat positions of the nonzero elements, by one filter loop
    into which the values' computation fuses (`x > t` is compared in the loop, never stored).
    Its length depends on the data: computed here, as NumPy does.

    >>> import daybreak.numpy as dnp
    >>> dnp.flatnonzero(dnp.asarray([0.0, 2.0, 0.0, -1.0])).tolist()
    [1, 3]
    """
    x = as_operand(a)
    if x is None:
        return run_numpy(f"flatnonzero of {unsupported_operand(a)}", np.flatnonzero, (a,))
    if not isinstance(x, ndarray) or x.ndim == 0 or x.size == 0:
        # a Python scalar, a 0-d value or no elements: NumPy's answer on the value
        return np.flatnonzero(x.value() if isinstance(x, ndarray) else x)
    flat = shapes.ravel(x)
    node = Positions(realize(flat._expr, flat.shape), ir_scalar(flat.dtype), flat.size)
    return from_numpy_result(scheduler.materialize([node])[0])


def nonzero(a):
    """`numpy.nonzero`: `flatnonzero`'s positions as one index array per axis."""
    x = as_operand(a)
    if not isinstance(x, ndarray) or x.ndim == 0:
        return run_numpy("nonzero of a 0-d or non-array value", np.nonzero, (a,))
    flat = flatnonzero(x)
    if x.ndim == 1:
        return (flat,)
    return tuple(from_numpy_result(p) for p in np.unravel_index(np.asarray(flat), x.shape))


def _nan_reduction(name: str, plain: str):
    """`numpy.nan<name>`: NaNs left out, composed lazily the way NumPy's `nanfunctions.py`
    does it (NaN replaced by 0, a count of the others, the same divisions), so it fuses into
    one or two passes. Integers and bools have no NaN: `plain` (NumPy does the same). An
    all-NaN slice gives NaN (NumPy also warns, "Mean of empty slice"; daybreak does not)."""

    def function(a, axis=None, dtype=None, out=None, keepdims=False, ddof=0, **kwargs):
        x = as_operand(a)
        if out is not None or kwargs or x is None or is_python_scalar(x):
            why = "out= or keywords" if x is not None else unsupported_operand(a)
            extra = {"ddof": ddof} if ddof else {}
            return run_numpy(
                f"nan{name} with {why}",
                getattr(np, f"nan{name}"),
                (a,),
                dict(axis=axis, dtype=dtype, keepdims=keepdims, **extra),
            )
        options = dict(axis=axis, dtype=dtype, keepdims=keepdims)
        if x.dtype.kind != "f":
            return reduce_or_fallback(plain, x, **options, **({"ddof": ddof} if ddof else {}))
        missing = call_ufunc(np.isnan, x)
        clean = where(missing, 0, x)
        if name == "sum":
            return reduce_or_fallback("sum", clean, **options)
        result = np.dtype(dtype) if dtype is not None else x.dtype
        present = call_ufunc(np.logical_not, missing)

        def counted(keep: bool):  # (one node for both shapes: equal pending reductions)
            return reduce_or_fallback("sum", present, axis=axis, dtype=np.intp, keepdims=keep)

        keep = keepdims or name != "mean"  # var, std: the mean is broadcast back
        total = reduce_or_fallback("sum", clean, axis=axis, dtype=dtype, keepdims=keep)
        mean = call_ufunc(np.true_divide, total, counted(keep)).astype(result)
        if name == "mean":
            return mean
        deviation = where(missing, 0, call_ufunc(np.subtract, clean, mean))
        squares = reduce_or_fallback(
            "sum", call_ufunc(np.multiply, deviation, deviation), **options
        )
        free = call_ufunc(np.subtract, counted(keepdims), ddof)  # degrees of freedom
        spread = call_ufunc(np.true_divide, squares, free).astype(result)
        spread = where(call_ufunc(np.greater, free, 0), spread, np.nan)
        return call_ufunc(np.sqrt, spread) if name == "std" else spread

    function.__name__ = f"nan{name}"
    return function


nansum = _nan_reduction("sum", "sum")
nanmean = _nan_reduction("mean", "mean")
nanvar = _nan_reduction("var", "var")
nanstd = _nan_reduction("std", "std")


def _cumulative(name: str):
    """`numpy.cumsum` / `numpy.cumprod`: a scan (`reductions.scan`), lazily."""

    def function(a, axis=None, dtype=None, out=None):
        return scan_or_fallback(name, a, axis=axis, dtype=dtype, out=out)

    function.__name__ = name
    return function


cumsum = _cumulative("cumsum")
cumprod = _cumulative("cumprod")


def _nan_cumulative(name: str, unit: int):
    """`numpy.nancumsum` / `numpy.nancumprod`: NaN replaced by `unit` (0 or 1), then the
    scan, as NumPy's `nanfunctions.py` does it (integers and bools have no NaN)."""

    def function(a, axis=None, dtype=None, out=None):
        x = as_operand(a)
        if out is not None or x is None:
            why = "out=" if out is not None else unsupported_operand(a)
            return run_numpy(
                f"nan{name} with {why}",
                getattr(np, f"nan{name}"),
                (a,),
                {"axis": axis, "dtype": dtype, "out": out},
            )
        if is_python_scalar(x):
            clean = unit if x != x else x  # (a NaN)
        else:
            clean = where(call_ufunc(np.isnan, x), unit, x) if x.dtype.kind == "f" else x
        return scan_or_fallback(name, clean, axis=axis, dtype=dtype)

    function.__name__ = f"nan{name}"
    return function


nancumsum = _nan_cumulative("cumsum", 0)
nancumprod = _nan_cumulative("cumprod", 1)


def builtins_any(items) -> bool:
    for item in items:
        if item:
            return True
    return False


def clip(a, a_min=None, a_max=None, out=None, **kwargs):
    """`numpy.clip` as NumPy computes it: `minimum(maximum(a, a_min), a_max)` (the last
    of them into `out` when given)."""
    if kwargs or (a_min is None and a_max is None):
        return run_numpy(
            "clip with keywords, or no bounds",
            np.clip,
            (a, a_min, a_max),
            dict(kwargs, out=out) if out is not None else kwargs,
        )
    dtype = getattr(a, "dtype", None)
    if dtype is not None and dtype.kind in "iu":
        # NumPy's clip leaves out a Python int bound beyond the dtype's range on its side
        # (`np.clip(uint8_array, -1, 1)` is `np.minimum(a, 1)`), where the ufunc would raise
        info = np.iinfo(dtype)
        if type(a_min) is int and a_min < info.min:
            a_min = None
        if type(a_max) is int and a_max > info.max:
            a_max = None
        if a_min is None and a_max is None:
            if out is None:
                return copy(a)
            copyto(out, a)
            return out
    if out is None:
        x = as_operand(a)
        if type(x) is ndarray:
            now, site = copy_at_once(np.clip, [x], x.nbytes, a_min, a_max)
            if now is not None:
                return now  # (NumPy's one pass, where the ufuncs below are two)
            return at_line(site, _clipped(x, a_min, a_max, None))
    return _clipped(a, a_min, a_max, out)


def _clipped(a, a_min, a_max, out):
    result = a
    if a_min is not None:
        last = a_max is None
        result = call_ufunc(np.maximum, result, a_min, out=out if last else None)
    if a_max is not None:
        result = call_ufunc(np.minimum, result, a_max, out=out)
    return result


def around(a, decimals=0, out=None):
    """`numpy.round` of floats by NumPy's own steps (`PyArray_Round`): multiplied by
    10**decimals, rounded half to even, divided back (divided and multiplied for negative
    decimals), each a ufunc, so the steps fuse with what is around them. Integers at
    decimals >= 0 are copies, as NumPy's (booleans are NumPy's own: a float16 result, or its
    error)."""
    dtype = getattr(a, "dtype", None)
    if (
        out is not None
        or type(decimals) is not int
        or dtype is None
        or dtype.kind not in "iuf"
        or (dtype.kind != "f" and decimals < 0)
    ):
        return run_numpy(
            "round with out=, of booleans, or negative decimals of integers",
            np.round,
            (a, decimals),
            {"out": out} if out is not None else {},
        )
    if dtype.kind != "f":
        return copy(a)
    if decimals == 0:
        return call_ufunc(np.rint, a)
    factor = 10.0 ** abs(decimals)
    if decimals > 0:
        return call_ufunc(
            np.true_divide, call_ufunc(np.rint, call_ufunc(np.multiply, a, factor)), factor
        )
    return call_ufunc(
        np.multiply, call_ufunc(np.rint, call_ufunc(np.true_divide, a, factor)), factor
    )


def flip(m, axis=None):
    """`numpy.flip`: a view with the axes reversed (`m[::-1]` along each)."""
    x = as_operand(m)
    if x is None or not hasattr(x, "_expr"):
        return run_numpy(f"flip of {unsupported_operand(m)}", np.flip, (m, axis))
    axes = range(x.ndim) if axis is None else normalize_axis_tuple(axis, x.ndim)
    key = [slice(None)] * x.ndim
    for d in axes:
        key[d] = slice(None, None, -1)
    return x[tuple(key)]


def ptp(a, axis=None, out=None, keepdims=False):
    """`numpy.ptp` as NumPy's `_ptp`: the maximum less the minimum (both pending reductions of
    the same expression, computed in one program)."""
    if out is not None:
        return run_numpy("ptp with out=", np.ptp, (a, axis, out, keepdims))
    top = max(a, axis=axis, keepdims=keepdims)
    return call_ufunc(np.subtract, top, min(a, axis=axis, keepdims=keepdims))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """`numpy.isclose` by NumPy's own formula (`numeric.isclose`): `|x - y| <= atol + rtol *
    |y|` where y is finite, or `x == y`; NaNs equal with `equal_nan`. `y` is made a float
    first, as NumPy does. Tolerances that are not finite Python numbers, and complex
    operands, are NumPy's own."""
    x, y = as_operand(a), as_operand(b)
    kinds = {getattr(v, "dtype", np.dtype(type(v))).kind for v in (x, y) if v is not None}
    if (
        x is None
        or y is None
        or not kinds <= set("biuf")
        or builtins.any(type(t) not in (int, float) or not np.isfinite(t) for t in (rtol, atol))
    ):
        return run_numpy(
            "isclose of complex or other operands, or array tolerances",
            np.isclose,
            (a, b, rtol, atol, equal_nan),
        )
    if is_python_scalar(y):
        y = float(y) if type(y) is int else y
    else:
        y = y.astype(np.result_type(y.dtype, 1.0), copy=False)
    distance = call_ufunc(np.absolute, call_ufunc(np.subtract, x, y))
    bound = call_ufunc(np.add, atol, call_ufunc(np.multiply, rtol, call_ufunc(np.absolute, y)))
    close = call_ufunc(np.less_equal, distance, bound)
    result = call_ufunc(
        np.bitwise_or,
        call_ufunc(np.bitwise_and, close, call_ufunc(np.isfinite, y)),
        call_ufunc(np.equal, x, y),
    )
    if equal_nan:
        both = call_ufunc(np.bitwise_and, call_ufunc(np.isnan, x), call_ufunc(np.isnan, y))
        result = call_ufunc(np.bitwise_or, result, both)
    return result[()] if getattr(result, "ndim", 0) == 0 else result


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """`numpy.allclose`: whether `isclose` holds everywhere, as a Python bool (of data,
    NumPy's own: a reduction of memory, at once, as `reductions._of_data`)."""
    x, y = as_operand(a), as_operand(b)
    if type(x) is ndarray and type(y) is ndarray:
        now, _ = copy_at_once(
            lambda p, q: np.allclose(p, q, rtol=rtol, atol=atol, equal_nan=equal_nan), [x, y], 1
        )
        if now is not None:
            return builtins.bool(now)
    return builtins.bool(all(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """`numpy.nan_to_num` of a real array: NaN, +inf and -inf replaced (by default with 0 and
    the dtype's largest and smallest values), as selects that fuse; integers and booleans
    are returned as they are (a copy). In place (`copy=False`) and complex values are
    NumPy's own."""
    v = as_operand(x)
    kind = getattr(v, "dtype", np.dtype(object)).kind
    if v is None or is_python_scalar(v) or not copy or kind not in "biuf":
        return run_numpy(
            "nan_to_num in place, or of complex or other operands",
            np.nan_to_num,
            (x,),
            {"copy": copy, "nan": nan, "posinf": posinf, "neginf": neginf},
        )
    if kind != "f":
        return v.copy()
    now, site = copy_at_once(np.nan_to_num, [v], v.nbytes, True, nan, posinf, neginf)
    if now is not None:
        return now
    info = np.finfo(v.dtype)
    big = float(info.max) if posinf is None else posinf
    small = float(info.min) if neginf is None else neginf
    out = where(call_ufunc(np.isnan, v), nan, v)
    out = where(call_ufunc(np.equal, v, np.inf), big, out)
    return at_line(site, where(call_ufunc(np.equal, v, -np.inf), small, out), alone_at_once=False)


def tril(m, k=0):
    """`numpy.tril` as NumPy computes it: `where(tri(rows, cols, k), m, 0)`, the mask a NumPy
    constant (data-independent) and the select lazy."""
    return _triangle(m, k, lower=True)


def triu(m, k=0):
    """`numpy.triu`: `where(tri(rows, cols, k - 1), 0, m)`, as NumPy computes it."""
    return _triangle(m, k, lower=False)


def _triangle(m, k, lower: bool):
    x = as_operand(m)
    if x is None or is_python_scalar(x) or x.ndim < 2 or not hasattr(x, "_expr"):
        name = "tril" if lower else "triu"
        return run_numpy(f"{name} of {unsupported_operand(m)}", getattr(np, name), (m, k))
    now, site = copy_at_once(np.tril if lower else np.triu, [x], x.nbytes, k)
    if now is not None:
        return now
    return at_line(site, _masked_triangle(x, k, lower))


def _masked_triangle(x: ndarray, k, lower: bool) -> ndarray:
    zero = np.zeros(1, x.dtype)
    if lower:
        return where(np.tri(*x.shape[-2:], k=k, dtype=bool), x, zero)
    return where(np.tri(*x.shape[-2:], k=k - 1, dtype=bool), zero, x)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """`numpy.meshgrid` as NumPy builds it: each vector reshaped along its own axis (the
    first two swapped for "xy"), broadcast to the common shape unless `sparse`, and copied
    (lazily: a copy shares the expression) with `copy`."""
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    ndim_ = len(xi)
    lone = (1,) * ndim_
    output = [shapes.reshape(x, lone[:i] + (-1,) + lone[i + 1 :]) for i, x in enumerate(xi)]
    if indexing == "xy" and ndim_ > 1:
        output[0] = shapes.reshape(output[0], (1, -1) + lone[2:])
        output[1] = shapes.reshape(output[1], (-1, 1) + lone[2:])
    if not sparse:
        common = np.broadcast_shapes(*(np.shape(x) for x in output))
        output = [shapes.broadcast_to(x, common) for x in output]
    if copy:
        output = [x.copy() for x in output]
    return tuple(output)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """`numpy.trace` of a matrix: the sum of its (offset) diagonal, read from the flat
    array with a stride of one row and one column."""
    x = as_operand(a)
    if (
        x is None
        or not hasattr(x, "_expr")
        or x.ndim != 2
        or (axis1, axis2) not in ((0, 1), (-2, -1), (0, -1), (-2, 1))
        or out is not None
        or type(offset) is not int
    ):
        return run_numpy(
            "trace of other than a matrix", np.trace, (a, offset, axis1, axis2, dtype, out)
        )
    data = data_now(x)
    if type(data) is np.ndarray and library_by_choice():
        # data: NumPy's sum of the elements it reads (a lazy diagonal of the user's matrix
        # would take a snapshot of all of it: a copy or a guard, for one row's worth)
        return from_numpy_result(np.trace(data, offset, axis1, axis2, dtype))
    return sum(_diagonal_copy(x, offset), dtype=dtype)


def _diagonal_copy(x, offset: int):
    """The (offset) diagonal of matrix `x` as a new lazy array (NumPy's `diagonal` is a
    read-only view; a copy keeps a later write from reaching `x`)."""
    rows, cols = x.shape
    if offset >= 0:
        start, count = offset, builtins.max(0, builtins.min(rows, cols - offset))
    else:
        start, count = -offset * cols, builtins.max(0, builtins.min(rows + offset, cols))
    flat = shapes.reshape(x, -1)
    return flat[start : start + count * (cols + 1) : cols + 1][:count].copy()


def diag(v, k=0):
    """`numpy.diag` of a vector: the square matrix with it on the (k) diagonal, as a select
    over NumPy's constant mask. A matrix's diagonal (NumPy's read-only view) is NumPy's."""
    x = as_operand(v)
    if x is None or not hasattr(x, "_expr") or x.ndim != 1 or type(k) is not int:
        return run_numpy("diag of other than a vector", np.diag, (v, k))
    n = x.shape[0] + builtins.abs(k)
    padded = joining.concatenate([x, np.zeros(builtins.abs(k), x.dtype)]) if k else x
    values = padded[:, None] if k >= 0 else padded[None, :]
    return where(np.eye(n, k=k, dtype=bool), values, np.zeros(1, x.dtype))


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """`numpy.cov` of real variables without weights, by NumPy's own steps: the rows made
    float (at least 2-D, transposed for `rowvar=False`, `y`'s rows appended), each row's
    mean taken off, then the product with the transpose (BLAS: a library kernel) times
    `1 / (n - ddof)`. Of pending variables, the centring is one lazy loop that what
    computes them fuses into, and the scaling fuses into what reads the result; of data,
    NumPy's `cov` itself (a library run). Weights, complex and object values are NumPy's
    own (a fallback)."""
    x = as_operand(m)
    other = as_operand(y) if y is not None else None
    if (
        x is None
        or is_python_scalar(x)
        or (y is not None and (other is None or is_python_scalar(other)))
        or fweights is not None
        or aweights is not None
        or x.ndim > 2
        or (other is not None and other.ndim > 2)
        or np.result_type(x.dtype, *(() if other is None else (other.dtype,))).kind not in "biuf"
    ):
        return run_numpy(
            "cov with weights, or of other operands",
            np.cov,
            (m, y, rowvar, bias, ddof, fweights, aweights),
            {"dtype": dtype},
        )
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    data = [data_now(v) for v in (x, other) if v is not None]
    if library_by_choice() and builtins.all(type(d) is np.ndarray for d in data):
        # data: NumPy's own steps on it (a copy made float, centred in place, BLAS); lazily,
        # the user's transposed rows were read through snapshots copied whole (0.95x -> 0.77x)
        count_library_run()
        y_data = data[1] if len(data) > 1 else None
        return from_numpy_result(np.cov(data[0], y_data, rowvar, bias, ddof, dtype=dtype))
    if dtype is None:
        dtype = np.result_type(x.dtype, np.float64, *(() if other is None else (other.dtype,)))

    def rows(v, turned):
        v = v.astype(dtype, copy=False)
        v = shapes.reshape(v, (1, -1)) if v.ndim < 2 else v
        return shapes.transpose(v) if not rowvar and turned(v) else v

    # (NumPy turns `m` unless it was 1-D, and `y` unless it has one row once 2-D)
    x = rows(x, lambda v: x.ndim != 1)
    if x.shape[0] == 0:
        return np.array([]).reshape(0, 0)
    if other is not None:
        x = joining.concatenate([x, rows(other, lambda v: v.shape[0] != 1)], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    fact = x.shape[1] - ddof
    if fact <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    centred = call_ufunc(np.subtract, x, reductions.reduce("mean", x, axis=1, keepdims=True))
    product = linalg.matmul(centred, shapes.transpose(centred))
    with np.errstate(divide="ignore"):
        scale = float(np.true_divide(1, fact))  # (a Python float: NumPy's `c *=` keeps c's dtype)
    return shapes.squeeze(call_ufunc(np.multiply, product, scale))


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """`numpy.average` of real arrays as NumPy computes it: the mean, or with weights (of
    `a`'s shape, or a vector along one axis) the sum of `a * weights` over the sum of the
    weights, which must not be zero (NumPy's ZeroDivisionError: the weights' sum is
    computed for it)."""
    x = as_operand(a)
    kind = getattr(x, "dtype", np.dtype(object)).kind
    simple = weights is None or (
        getattr(weights, "ndim", None) is not None
        and (np.shape(weights) == np.shape(x) or (np.ndim(weights) == 1 and type(axis) is int))
    )
    if x is None or is_python_scalar(x) or kind not in "biuf" or not simple:
        return run_numpy(
            "average of other operands, or weights of other shapes",
            np.average,
            (a, axis, weights, returned),
            {"keepdims": keepdims},
        )
    if weights is None:
        avg = mean(x, axis=axis, keepdims=keepdims)
        if not returned:
            return avg
        return avg, np.full(
            np.shape(avg), x.size / builtins.max(np.size(avg), 1), np.dtype(avg.dtype)
        )
    w = as_operand(weights)
    result = np.result_type(x.dtype, w.dtype, *(["f8"] if kind in "biu" else []))
    if np.shape(w) != np.shape(x):
        if np.shape(w)[0] != x.shape[axis]:
            raise ValueError(
                "Shape of weights must be consistent with shape of a along specified axis."
            )
        w = shapes.reshape(w, tuple(-1 if d == axis % x.ndim else 1 for d in range(x.ndim)))
    scale = sum(
        w if np.shape(w) == np.shape(x) else shapes.broadcast_to(w, x.shape),
        axis=axis,
        dtype=result,
        keepdims=keepdims,
    )
    if builtins.bool(any(call_ufunc(np.equal, scale, 0.0))):
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    products = call_ufunc(np.multiply, x.astype(result, copy=False), w)
    avg = call_ufunc(np.true_divide, sum(products, axis=axis, keepdims=keepdims), scale)
    return (avg, scale) if returned else avg


def fix(x, out=None):
    """`numpy.fix`: rounding toward zero, which is `trunc` for real numbers (NumPy's ceil,
    then floor where x >= 0, gives the same values and dtypes, -0.0 included)."""
    v = as_operand(x)
    if out is not None or v is None or getattr(v, "dtype", np.dtype(object)).kind not in "biuf":
        return run_numpy(
            "fix with out= or of other operands",
            np.fix,
            (x,),
            {"out": out} if out is not None else {},
        )
    return call_ufunc(np.trunc, x)


def sinc(x):
    """`numpy.sinc` as NumPy computes it: `sin(y) / y` for `y = pi * x`, with y = eps at 0."""
    v = as_operand(x)
    if v is None or getattr(v, "dtype", np.dtype(object)).kind not in "biuf":
        return run_numpy("sinc of other operands", np.sinc, (x,))
    y = call_ufunc(np.multiply, np.pi, x)
    eps = np.finfo(y.dtype).eps if y.dtype.kind == "f" else 1e-20
    y = where(y, y, eps)
    return call_ufunc(np.true_divide, call_ufunc(np.sin, y), y)


def norm(x, ord=None, axis=None, keepdims=False):
    """`numpy.linalg.norm` of real arrays, NumPy's common cases by its own steps: the
    Frobenius / 2-norm of the whole array (`sqrt(dot(flat, flat))`), and vector norms along
    one axis (`ord` None or 2, 1, inf, -inf, 0). Integers are made floats first, as NumPy
    does. Matrix norms and complex values are NumPy's own. Of data, NumPy's norm (a library
    run, not a fallback): its input is in memory, so a loop would fuse nothing into it, and
    tier 0 would run the product and the sum as two passes where NumPy's BLAS dot is one."""
    data = data_to_read(x) if library_by_choice() else None
    if type(data) is np.ndarray and is_supported(data.dtype) and data.dtype.kind in "biuf":
        count_library_run()
        return from_numpy_result(unalias([np.linalg.norm(data, ord, axis, keepdims)])[0])
    v = as_operand(x)
    kind = getattr(v, "dtype", np.dtype(object)).kind
    axes = axis if axis is None or isinstance(axis, tuple) else (axis,)
    whole = axes is None and (
        ord is None or (ord in ("f", "fro") and v.ndim == 2) or (ord == 2 and v.ndim == 1)
    )
    along = axes is not None and len(axes) == 1 and ord in (None, 1, 2, 0, np.inf, -np.inf)
    if v is None or is_python_scalar(v) or kind not in "biuf" or not (whole or along):
        return run_numpy(
            "norm of a matrix, of complex values, or of other operands",
            np.linalg.norm,
            (x, ord, axis, keepdims),
        )
    if kind != "f":
        v = v.astype(np.float64)
    if whole:
        flat = shapes.ravel(v)
        result = call_ufunc(np.sqrt, linalg.dot(flat, flat))
        return shapes.reshape(result, (1,) * v.ndim) if keepdims else result
    magnitude = call_ufunc(np.absolute, v)
    if ord == np.inf:
        return max(magnitude, axis=axes, keepdims=keepdims)
    if ord == -np.inf:
        return min(magnitude, axis=axes, keepdims=keepdims)
    if ord == 0:
        nonzero = call_ufunc(np.not_equal, v, 0).astype(v.dtype)
        return sum(nonzero, axis=axes, keepdims=keepdims)
    if ord == 1:
        return sum(magnitude, axis=axes, keepdims=keepdims)
    return call_ufunc(np.sqrt, sum(call_ufunc(np.multiply, v, v), axis=axes, keepdims=keepdims))


def array_equal(a1, a2, equal_nan=False):
    """`numpy.array_equal`: the same shape and every element equal (NaNs equal with
    `equal_nan`), as a Python bool; the comparison is one fused reduction."""
    x, y = as_operand(a1), as_operand(a2)
    if x is None or y is None:
        return run_numpy("array_equal of other operands", np.array_equal, (a1, a2, equal_nan))
    if np.shape(x) != np.shape(y):
        return False
    same = call_ufunc(np.equal, x, y)
    if equal_nan and builtins.all(
        getattr(v, "dtype", np.dtype(float)).kind in "fc" for v in (x, y)
    ):
        same = call_ufunc(
            np.logical_or,
            same,
            call_ufunc(np.logical_and, call_ufunc(np.isnan, x), call_ufunc(np.isnan, y)),
        )
    return builtins.bool(all(same))


def select(condlist, choicelist, default=0):
    """`numpy.select` as NumPy computes it: the default, then each choice written where its
    condition holds, last to first (the first condition wins), in the choices' common dtype:
    a chain of selects that fuses."""
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    choices = [c if type(c) in (int, float, complex) else as_operand(c) for c in choicelist]
    fill = default if type(default) in (int, float, complex) else as_operand(default)
    conds = [as_operand(c) for c in condlist]
    if builtins.any(v is None for v in (*choices, fill, *conds)) or builtins.any(
        getattr(v, "dtype", np.dtype(bool)).kind == "c" for v in (*choices, fill)
    ):
        return run_numpy("select of other operands", np.select, (condlist, choicelist, default))
    for i, cond in enumerate(conds):
        if getattr(cond, "dtype", None) != np.bool_ and type(cond) is not bool:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    dtype = np.result_type(*(v if is_python_scalar(v) else v.dtype for v in (*choices, fill)))
    shape = np.broadcast_shapes(*(np.shape(v) for v in (*conds, *choices, fill)))
    result = shapes.broadcast_to(creation.full_like(np.empty((), dtype), fill), shape)
    for cond, choice in zip(conds[::-1], choices[::-1], strict=True):
        value = choice if is_python_scalar(choice) else choice.astype(dtype, copy=False)
        result = where(cond, value, result).astype(dtype, copy=False)
    return result


def pad(array, pad_width, mode="constant", **kwargs):
    """`numpy.pad` in its "constant" (one scalar value) and "edge" modes: the array joined
    along each axis, first to last as NumPy pads, with blocks of the value or with its edge
    rows broadcast (all lazy: a stencil's padded input fuses with what reads it). Other
    modes, and constants per axis, are NumPy's own."""
    x = as_operand(array)
    value = kwargs.get("constant_values", 0)
    widths = _pad_widths(pad_width, np.ndim(x)) if x is not None else None
    if (
        x is None
        or is_python_scalar(x)
        or widths is None
        or mode not in ("constant", "edge")
        or set(kwargs) - ({"constant_values"} if mode == "constant" else set())
        or not (is_python_scalar(value) or isinstance(value, np.generic))
        or (mode == "edge" and x.size == 0 and builtins.any(w != (0, 0) for w in widths))
    ):
        return run_numpy(
            f"pad in mode {mode!r}, or of other operands", np.pad, (array, pad_width, mode), kwargs
        )
    data = data_now(array) if library_by_choice() else None
    if type(data) is np.ndarray:
        # data: NumPy's pad copies it into the middle of the result (the joins' select per
        # element was 3x-40x slower); only a pending input has work to fuse
        count_library_run()
        return from_numpy_result(np.pad(data, widths, mode, **kwargs))
    for d, (before, after) in enumerate(widths):
        if not before and not after:
            continue
        parts = []
        for width, edge in ((before, slice(0, 1)), (after, slice(-1, None))):
            shape = x.shape[:d] + (width,) + x.shape[d + 1 :]
            if mode == "constant":
                parts.append(creation.full(shape, value, dtype=x.dtype))
            else:
                key = (slice(None),) * d + (edge,)
                parts.append(shapes.broadcast_to(x[key], shape))
        x = joining.concatenate([parts[0], x, parts[1]], axis=d)
    return x


def _pad_widths(pad_width, ndim_: int) -> list | None:
    """NumPy's `_as_pairs(pad_width, ndim, as_index=True)`: one (before, after) pair per
    axis, or NumPy's ValueError for a negative width; None where it is not integers."""
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu":
        return None
    if widths.size == 1:
        widths = np.broadcast_to(widths.ravel()[0], (ndim_, 2))
    elif widths.size == 2 and widths.shape != (2, 1):
        widths = np.broadcast_to(widths.ravel(), (ndim_, 2))
    if widths.size and widths.min() < 0:
        raise ValueError("index can't contain negative values")
    return [tuple(map(int, w)) for w in np.broadcast_to(widths, (ndim_, 2))]


def isin(element, test_elements, assume_unique=False, invert=False, *, kind=None):
    """`numpy.isin` against a few test values (NumPy's own small-set method: an equality per
    value, or-ed): one fused loop. Many test values (NumPy sorts), and other kinds, are
    NumPy's own."""
    x = as_operand(element)
    tests = np.asarray(test_elements.value() if is_lazy(test_elements) else test_elements)
    if (
        x is None
        or is_python_scalar(x)
        or kind not in (None, "table", "sort")
        or tests.size > _FEW_TESTS
        or tests.dtype.kind not in "biuf"
        or getattr(x, "dtype", np.dtype(object)).kind not in "biuf"
    ):
        return run_numpy(
            "isin against many values, or of other operands",
            np.isin,
            (element, test_elements, assume_unique, invert),
            {"kind": kind},
        )
    found = None
    for value in tests.ravel():
        same = call_ufunc(np.equal, x, value)
        found = same if found is None else call_ufunc(np.logical_or, found, same)
    if found is None:
        found = creation.zeros_like(x, dtype=bool)
    return call_ufunc(np.logical_not, found) if invert else found


_FEW_TESTS = 16  # test values `isin` compares one by one (NumPy's small-set threshold is near)


def gradient(f, *varargs, axis=None, edge_order=1):
    """`numpy.gradient` with uniform spacings (scalars, one per axis or one for all): central
    differences inside, one-sided ones of `edge_order` 1 or 2 at the edges, by NumPy's own
    formulas, joined lazily along each axis. Coordinates arrays are NumPy's own."""
    x = as_operand(f)
    ndim_ = np.ndim(x) if x is not None else 0
    axes = tuple(range(ndim_)) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    spacing = varargs if len(varargs) != 1 else varargs * len(axes)
    if (
        x is None
        or is_python_scalar(x)
        or getattr(x, "dtype", np.dtype(object)).kind not in "iuf"
        or edge_order not in (1, 2)
        or len(spacing) not in (0, len(axes))
        or builtins.any(np.ndim(s) != 0 for s in spacing)
    ):
        return run_numpy(
            "gradient with coordinates, or of other operands",
            np.gradient,
            (f, *varargs),
            {"axis": axis, "edge_order": edge_order},
        )
    axes = tuple(normalize_axis_tuple(axes, ndim_))
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    out = []
    for d, dx in zip(axes, spacing or (1.0,) * len(axes), strict=True):
        if x.shape[d] < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required."
            )
        out.append(_gradient_along(x, d, dx, edge_order).astype(dtype, copy=False))
    return out[0] if len(out) == 1 else tuple(out)


def _gradient_along(x, d: int, dx, edge_order: int):
    def part(start, stop=None):
        return x[(slice(None),) * d + (slice(start, stop),)]

    inside = call_ufunc(np.true_divide, call_ufunc(np.subtract, part(2), part(None, -2)), 2.0 * dx)
    if edge_order == 1:
        first = call_ufunc(np.true_divide, call_ufunc(np.subtract, part(1, 2), part(0, 1)), dx)
        last = call_ufunc(np.true_divide, call_ufunc(np.subtract, part(-1), part(-2, -1)), dx)
    else:
        first = _weighted(
            ((-1.5 / dx, part(0, 1)), (2.0 / dx, part(1, 2)), (-0.5 / dx, part(2, 3)))
        )
        last = _weighted(
            ((0.5 / dx, part(-3, -2)), (-2.0 / dx, part(-2, -1)), (1.5 / dx, part(-1)))
        )
    return joining.concatenate([first, inside, last], axis=d)


def _weighted(terms):
    """`a * f0 + b * f1 + c * f2`, in NumPy's order."""
    total = None
    for weight, values in terms:
        term = call_ufunc(np.multiply, weight, values)
        total = term if total is None else call_ufunc(np.add, total, term)
    return total


def take(a, indices, axis=None, out=None, mode="raise"):
    """`numpy.take` (positions checked, NumPy's IndexError): the flat array's, or the
    array's along `axis`, elements at `indices`: a lazy gather, as indexing with them is."""
    x = as_operand(a)
    if x is None or is_python_scalar(x) or out is not None or mode != "raise":
        return run_numpy(
            "take with out= or a mode, or of other operands", np.take, (a, indices, axis, out, mode)
        )
    if axis is None:
        return shapes.ravel(x)[indices]
    axis = normalize_axis_index(axis, x.ndim)
    return x[(slice(None),) * axis + (indices,)]


def repeat(a, repeats, axis=None):
    """`numpy.repeat` by one count for every element: each element spread over a new axis of
    that length (a broadcast) and the two axes merged, all lazy. Counts per element are
    NumPy's own."""
    x = as_operand(a)
    if x is None or is_python_scalar(x) or not isinstance(repeats, int | np.integer):
        return run_numpy(
            "repeat by counts per element, or of other operands", np.repeat, (a, repeats, axis)
        )
    if repeats < 0:
        raise ValueError("negative dimensions are not allowed")
    if type(x) is ndarray:
        now, site = copy_at_once(np.repeat, [x], x.nbytes * int(repeats), repeats, axis)
        if now is not None:
            return now
        return at_line(site, _repeated(x, int(repeats), axis))
    return _repeated(x, int(repeats), axis)


def _repeated(x, repeats: int, axis) -> ndarray:
    if axis is None:
        x, axis = shapes.ravel(x), 0
    axis = normalize_axis_index(axis, x.ndim)
    shape = x.shape
    spread = shapes.reshape(x, shape[: axis + 1] + (1,) + shape[axis + 1 :])
    wide = shapes.broadcast_to(spread, shape[: axis + 1] + (repeats,) + shape[axis + 1 :])
    return shapes.reshape(wide, shape[:axis] + (shape[axis] * repeats,) + shape[axis + 1 :])


def tile(A, reps):
    """`numpy.tile`: the array, with as many leading axes as `reps` needs, broadcast over a
    new axis before each of its axes (one per repetition count) and the pairs merged."""
    x = as_operand(A)
    counts = (reps,) if isinstance(reps, int | np.integer) else tuple(reps)
    if (
        x is None
        or is_python_scalar(x)
        or not builtins.all(isinstance(r, int | np.integer) and r >= 0 for r in counts)
    ):
        return run_numpy("tile of other operands or counts", np.tile, (A, reps))
    if type(x) is ndarray:
        size = x.nbytes * math.prod(int(r) for r in counts)
        now, site = copy_at_once(np.tile, [x], size, reps)
        if now is not None:
            return now
        return at_line(site, _tiled(x, counts))
    return _tiled(x, counts)


def _tiled(x, counts: tuple) -> ndarray:
    ndim_ = builtins.max(x.ndim, len(counts))
    counts = (1,) * (ndim_ - len(counts)) + tuple(int(r) for r in counts)
    shape = (1,) * (ndim_ - x.ndim) + x.shape
    spread = shapes.reshape(x, tuple(v for n in shape for v in (1, n)))
    wide = shapes.broadcast_to(
        spread, tuple(v for r, n in zip(counts, shape, strict=True) for v in (r, n))
    )
    return shapes.reshape(wide, tuple(r * n for r, n in zip(counts, shape, strict=True)))


def argwhere(a):
    """`numpy.argwhere`: the positions of the nonzero elements, one row each (`nonzero`'s
    index arrays as columns)."""
    x = as_operand(a)
    if x is None or is_python_scalar(x) or x.ndim == 0:
        return run_numpy("argwhere of a 0-d or non-array value", np.argwhere, (a,))
    return joining.stack(nonzero(x), axis=1)


def _arrays(*values) -> list:
    """Each value as a daybreak array (NumPy data wrapped), or Nones where one is not an
    array (a Python scalar, an object NumPy cannot read)."""
    found = [as_operand(v) for v in values]
    if builtins.any(x is None or is_python_scalar(x) for x in found):
        return [None] * len(values)
    return found


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """`numpy.cross` of 3-vectors along the last axes (NumPy's own products and differences,
    `a1 * b2 - a2 * b1`, ..., joined along a new last axis). 2-vectors, other axes and other
    dtypes are NumPy's own."""
    x, y = _arrays(a, b)
    if (
        x is None
        or axis is not None
        or (axisa, axisb, axisc) != (-1, -1, -1)
        or x.shape[-1:] != (3,)
        or y.shape[-1:] != (3,)
        or np.promote_types(x.dtype, y.dtype).kind not in "iuf"
    ):
        return run_numpy(
            "cross of other than 3-vectors along the last axes",
            np.cross,
            (a, b, axisa, axisb, axisc, axis),
        )
    dtype = np.promote_types(x.dtype, y.dtype)
    x, y = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    xs = [x[..., k] for k in range(3)]
    ys = [y[..., k] for k in range(3)]

    def term(i, j):  # x_i * y_j - x_j * y_i
        return call_ufunc(
            np.subtract,
            call_ufunc(np.multiply, xs[i], ys[j]),
            call_ufunc(np.multiply, xs[j], ys[i]),
        )

    return joining.stack([term(1, 2), term(2, 0), term(0, 1)], axis=-1)


def real(val):
    """`numpy.real` of a real array: the array itself (a view of it, as NumPy's)."""
    x = as_operand(val)
    if x is None or is_python_scalar(x) or x.dtype.kind not in "biuf":
        return run_numpy("real of complex or other operands", np.real, (val,))
    return x[...]


def angle(z, deg=False):
    """`numpy.angle` of a real array: `arctan2(0, z)` (pi for negative values), in degrees
    with `deg`, as NumPy computes it."""
    x = as_operand(z)
    if x is None or is_python_scalar(x) or x.dtype.kind not in "biuf":
        return run_numpy("angle of complex or other operands", np.angle, (z, deg))
    result = call_ufunc(np.arctan2, 0, x)
    return call_ufunc(np.multiply, result, 180 / np.pi) if deg else result


def convolve(a, v, mode="full"):
    """`numpy.convolve` with a short kernel (a moving average, a stencil): the longer vector,
    padded with zeros as the mode says, times each of the kernel's values, shifted and
    summed in NumPy's order (`correlate` of the reversed kernel): one fused loop. Long
    kernels (NumPy's dot per output) and complex values are NumPy's own."""
    x, w = _arrays(a, v)
    if x is None:
        return run_numpy("convolve of other operands", np.convolve, (a, v, mode))
    if w.size > x.size:
        x, w = w, x  # (NumPy's own swap: the kernel is the shorter one)
    if x.size == 0:
        raise ValueError("a cannot be empty")
    if w.size == 0:
        raise ValueError("v cannot be empty")
    dtype = np.result_type(x.dtype, w.dtype)
    if (
        x.ndim != 1
        or w.ndim != 1
        or w.size > _SHORT_KERNEL
        or dtype.kind not in "iuf"
        or mode not in ("full", "same", "valid")
    ):
        return run_numpy(
            "convolve with a long kernel, or of other operands", np.convolve, (a, v, mode)
        )
    if library_by_choice():
        data = [data_now(x), data_now(w)]
        if builtins.all(type(d) is np.ndarray for d in data):
            # data: NumPy's convolve (0.1 ms for 10^5 values and 5 weights, where making
            # the lazy sum of shifted products alone costs ~0.5 ms of Python); a pending
            # input fuses into the products
            count_library_run()
            return from_numpy_result(np.convolve(*data, mode))
    kernel = np.asarray(w.value() if is_lazy(w) else w, dtype)[::-1]
    if dtype.kind == "f" and not np.isfinite(kernel).all():
        # (NumPy multiplies only the overlapping values: a NaN or an infinity in the kernel
        # times the zeros padding the data would be NaN where NumPy has none)
        return run_numpy("convolve with a non-finite kernel", np.convolve, (a, v, mode))
    n, m = x.size, kernel.size
    left, length = {"full": (m - 1, n + m - 1), "same": (m // 2, n), "valid": (0, n - m + 1)}[mode]
    right = length + m - 1 - left - n
    data = x.astype(dtype, copy=False)
    if left or right:
        data = joining.concatenate([np.zeros(left, dtype), data, np.zeros(right, dtype)])
    total = None
    for j, weight in enumerate(kernel):
        term = call_ufunc(np.multiply, data[j : j + length], weight)
        total = term if total is None else call_ufunc(np.add, total, term)
    return total


_SHORT_KERNEL = 16  # kernels `convolve` unrolls into one loop's terms


def kron(a, b):
    """`numpy.kron` of arrays with the same number of axes: every product `a[i] * b[k]` at
    `i * len(b) + k` on each axis, as a broadcast product whose axes are interleaved and
    merged (lazy: it fuses with what reads it). Other operands are NumPy's own."""
    x, y = _arrays(a, b)
    if (
        x is None
        or x.ndim != y.ndim
        or x.ndim == 0
        or np.result_type(x.dtype, y.dtype).kind not in "biuf"
    ):
        return run_numpy(
            "kron of arrays with different numbers of axes, or others", np.kron, (a, b)
        )
    nd = x.ndim
    spread_a = shapes.reshape(x, tuple(v for n in x.shape for v in (n, 1)))
    spread_b = shapes.reshape(y, tuple(v for n in y.shape for v in (1, n)))
    product = call_ufunc(np.multiply, spread_a, spread_b)  # axes (a0, b0, a1, b1, ...)
    return shapes.reshape(product, tuple(x.shape[d] * y.shape[d] for d in range(nd)))


def einsum(*operands, out=None, optimize=False, **kwargs):
    """`numpy.einsum` of one or two operands with explicit letters (no `...`, no letter twice
    in one operand): a letter in one operand only and not in the output is summed first, then
    two operands are contracted as a batched matrix product (their common letters not in the
    output: NumPy's own `optimize` path, `tensordot`), or multiplied (no common letter to sum),
    and the result's axes put in the output's order. Everything else is NumPy's own."""
    parsed = _einsum_plan(operands) if out is None and not kwargs else None
    if parsed is None:
        return run_numpy(
            "einsum of other subscripts, operands or keywords",
            np.einsum,
            operands,
            dict(kwargs, out=out, optimize=optimize)
            if out is not None
            else dict(kwargs, optimize=optimize),
        )
    terms, output, arrays = parsed
    if len(arrays) == 2:  # (a contraction's result is a new array; one operand's may be a view)
        sizes = {
            c: n
            for t, a in zip(terms, arrays, strict=True)
            for c, n in zip(t, a.shape, strict=True)
        }
        size = (
            math.prod(sizes[c] for c in output)
            * np.result_type(*(a.dtype for a in arrays)).itemsize
        )
        subscripts = operands[0]
        now, site = copy_at_once(
            lambda *data: np.einsum(subscripts, *data, optimize=optimize), arrays, size
        )
        if now is not None:
            return now
        return at_line(site, _einsum_lazy(terms, output, arrays))
    return _einsum_lazy(terms, output, arrays)


def _einsum_lazy(terms, output, arrays) -> ndarray:
    arrays = [
        _sum_letters_only_here(x, t, output, terms) for x, t in zip(arrays, terms, strict=True)
    ]
    terms = [
        [c for c in t if c in output or builtins.sum(c in u for u in terms) > 1] for t in terms
    ]
    if len(arrays) == 1:
        result, letters = arrays[0], terms[0]
    else:
        result, letters = _contract(arrays[0], terms[0], arrays[1], terms[1], output)
    return shapes.transpose(result, tuple(letters.index(c) for c in output)) if letters else result


def _einsum_plan(operands):
    """(letters of each operand, output letters, operands) of a plain `einsum` call, or None."""
    if not operands or type(operands[0]) is not str:
        return None
    subscripts, arrays = operands[0].replace(" ", ""), [as_operand(a) for a in operands[1:]]
    if "." in subscripts or not 1 <= len(arrays) <= 2:
        return None
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    letters = "".join(terms)
    if not arrow:
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    if (
        len(terms) != len(arrays)
        or builtins.any(a is None or is_python_scalar(a) for a in arrays)
        # (einsum keeps small integers and booleans in their dtype; sums widen them)
        or builtins.any(a.dtype not in _EINSUM_DTYPES for a in arrays)
        or builtins.any(
            len(set(t)) != len(t) or len(t) != a.ndim for t, a in zip(terms, arrays, strict=True)
        )
        or len(set(output)) != len(output)
        or not set(output) <= set(letters)
        or not (letters + output).isalpha()
    ):
        return None
    sizes: dict = {}
    for t, a in zip(terms, arrays, strict=True):
        for c, n in zip(t, a.shape, strict=True):
            if sizes.setdefault(c, n) != n:
                return None  # (NumPy's error for the mismatch)
    return [list(t) for t in terms], list(output), arrays


_EINSUM_DTYPES = (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.int64))


def _sum_letters_only_here(x, term, output, terms):
    """`x` summed over its letters that no other operand and not the output has."""
    alone = tuple(
        d
        for d, c in enumerate(term)
        if c not in output and builtins.sum(c in u for u in terms) == 1
    )
    return sum(x, axis=alone) if alone else x


def _contract(a, ta, b, tb, output):
    """`a` (letters `ta`) with `b` (letters `tb`): their common letters in the output are
    batch axes, the others are summed by a matrix product; (result, its letters)."""
    batch = [c for c in ta if c in tb and c in output]
    summed = [c for c in ta if c in tb and c not in output]
    free_a = [c for c in ta if c not in tb]
    free_b = [c for c in tb if c not in ta]

    def arranged(x, letters, order, shape_of):
        x = shapes.transpose(x, tuple(letters.index(c) for c in order)) if letters else x
        return shapes.reshape(x, shape_of)

    size = dict(zip(ta, a.shape, strict=True)) | dict(zip(tb, b.shape, strict=True))
    count = lambda cs: math.prod(size[c] for c in cs)  # noqa: E731
    if not summed:
        # no letter to sum: a broadcast product
        left = arranged(
            a, ta, batch + free_a, tuple(size[c] for c in batch + free_a) + (1,) * len(free_b)
        )
        right = arranged(
            b,
            tb,
            batch + free_b,
            tuple(size[c] for c in batch) + (1,) * len(free_a) + tuple(size[c] for c in free_b),
        )
        return call_ufunc(np.multiply, left, right), batch + free_a + free_b
    left = arranged(a, ta, batch + free_a + summed, (count(batch), count(free_a), count(summed)))
    right = arranged(b, tb, batch + summed + free_b, (count(batch), count(summed), count(free_b)))
    product = linalg.matmul(left, right)
    letters = batch + free_a + free_b
    return shapes.reshape(product, tuple(size[c] for c in letters)), letters


def fliplr(m):
    """`numpy.fliplr`: `flip(m, 1)` of a 2-d or more array."""
    if ndim(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


def flipud(m):
    """`numpy.flipud`: `flip(m, 0)` of a 1-d or more array."""
    if ndim(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


def shape(a):
    """`numpy.shape`, known without computing."""
    return a.shape if hasattr(a, "shape") else np.shape(a)


def ndim(a):
    """`numpy.ndim`, known without computing."""
    return a.ndim if hasattr(a, "ndim") else np.ndim(a)


def size(a, axis=None):
    """`numpy.size`, known without computing."""
    if axis is None:
        return a.size if hasattr(a, "size") else np.size(a)
    return shape(a)[axis]


def copy(a, order="K", subok=False):
    """`numpy.copy`: lazy values are never written in place, so a copy shares the
    expression."""
    x = as_operand(a)
    if x is None:
        return run_numpy(f"copy of {unsupported_operand(a)}", np.copy, (a, order, subok))
    return x.copy(order) if hasattr(x, "_expr") else np.copy(a, order=order)


def copyto(dst, src, casting="same_kind", where=True):
    """`numpy.copyto` into a daybreak array: `dst[...] = src` (a mask: `dst[...] =
    where(mask, src, dst)`), after NumPy's own casting check on empty stand-ins and its
    broadcasting rule. Into a NumPy array, NumPy copies what daybreak computed."""
    if type(dst) is np.ndarray and type(where) is not ndarray:
        value = src.value() if type(src) is ndarray else src
        return np.copyto(dst, value, casting=casting, where=where)
    if type(dst) is not ndarray or (where is not True and not hasattr(where, "shape")):
        return run_numpy(
            "function copyto", np.copyto, (dst, src), {"casting": casting, "where": where}
        )
    dtype = getattr(src, "dtype", None) or np.asarray(src).dtype
    np.copyto(
        np.empty(0, dst.dtype),
        src if is_python_scalar(src) else np.empty(0, dtype),
        casting=casting,
    )  # fmt: skip  (NumPy's TypeError)
    shape = np.shape(src)
    try:
        fits = np.broadcast_shapes(shape, dst.shape) == dst.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"could not broadcast input array from shape {shape} into shape {dst.shape}"
        )
    dst[...] = src if where is True else globals()["where"](where, src, dst)
    return None


def put(a, ind, v, mode="raise"):
    """`numpy.put` into a daybreak array: the elements at flat (C-order) positions `ind`
    set to `v` (cycled when shorter, as NumPy's put does), a write of `a` at the positions'
    coordinates. Another mode or lazy positions or values are NumPy's (counted)."""
    if type(a) is not ndarray or mode != "raise" or is_lazy(ind) or is_lazy(v):
        return _numpy_writing_into("function put", a, np.put, (a, ind, v), {"mode": mode}, "a")
    ind = np.asarray(ind).reshape(-1)
    if not ind.size:
        return None
    if ind.dtype.kind not in "iu":
        np.put(np.empty(a.size), ind, 0)  # NumPy's TypeError
    outside = (ind < -a.size) | (ind >= a.size)
    if outside.any():
        raise IndexError(
            f"index {int(ind[outside][0])} is out of bounds for axis 0 with size {a.size}"
        )
    a[np.unravel_index(ind % a.size, a.shape)] = np.resize(np.asarray(v), ind.shape)
    return None


def fill_diagonal(a, val, wrap=False):
    """`numpy.fill_diagonal` of a 2-D daybreak array: the elements at every `shape[1] + 1`-th
    flat (C-order) position, up to the square's end unless `wrap`, set to `val` (cycled
    when shorter), a write of `a` at their coordinates. Other shapes are NumPy's
    (counted)."""
    if type(a) is not ndarray or a.ndim != 2 or is_lazy(val):
        return _numpy_writing_into(
            "function fill_diagonal", a, np.fill_diagonal, (a, val), {"wrap": wrap}, "a"
        )
    end = a.size if wrap else builtins.min(a.size, a.shape[1] * a.shape[1])
    positions = np.arange(0, end, a.shape[1] + 1)
    if positions.size:
        value = np.asarray(val)
        a[np.unravel_index(positions, a.shape)] = (
            value if value.ndim == 0 else np.resize(value, positions.shape)
        )
    return None


FUNCTIONS = {
    np.copyto: copyto,
    np.put: put,
    np.fill_diagonal: fill_diagonal,
    np.sum: sum,
    np.prod: prod,
    np.mean: mean,
    np.min: min,
    np.max: max,
    np.amin: min,
    np.amax: max,
    np.any: any,
    np.all: all,
    np.argmin: argmin,
    np.argmax: argmax,
    np.var: var,
    np.std: std,
    np.where: where,
    np.clip: clip,
    np.round: around,
    np.around: around,
    np.flip: flip,
    np.einsum: einsum,
    np.kron: kron,
    np.convolve: convolve,
    np.cross: cross,
    np.real: real,
    np.angle: angle,
    np.take: take,
    np.repeat: repeat,
    np.tile: tile,
    np.argwhere: argwhere,
    np.isin: isin,
    np.gradient: gradient,
    np.pad: pad,
    np.array_equal: array_equal,
    np.select: select,
    np.linalg.norm: norm,
    np.average: average,
    np.cov: cov,
    np.fix: fix,
    np.sinc: sinc,
    np.tril: tril,
    np.triu: triu,
    np.meshgrid: meshgrid,
    np.trace: trace,
    np.diag: diag,
    np.ptp: ptp,
    np.isclose: isclose,
    np.allclose: allclose,
    np.nan_to_num: nan_to_num,
    np.fliplr: fliplr,
    np.flipud: flipud,
    np.count_nonzero: count_nonzero,
    np.bincount: bincount,
    np.histogram: histogram,
    np.flatnonzero: flatnonzero,
    np.nonzero: nonzero,
    np.nansum: nansum,
    np.nanmean: nanmean,
    np.nanvar: nanvar,
    np.nanstd: nanstd,
    np.cumsum: cumsum,
    np.cumprod: cumprod,
    np.nancumsum: nancumsum,
    np.nancumprod: nancumprod,
    np.zeros_like: creation.zeros_like,
    np.ones_like: creation.ones_like,
    np.full_like: creation.full_like,
    np.empty_like: creation.empty_like,
    np.asarray: creation.asarray,
    np.array: creation.array,
    np.shape: shape,
    np.ndim: ndim,
    np.size: size,
    np.copy: copy,
    np.reshape: shapes.reshape,
    np.ravel: shapes.ravel,
    np.transpose: shapes.transpose,
    np.swapaxes: shapes.swapaxes,
    np.moveaxis: shapes.moveaxis,
    np.squeeze: shapes.squeeze,
    np.expand_dims: shapes.expand_dims,
    np.roll: shapes.roll,
    np.diff: shapes.diff,
    np.broadcast_to: shapes.broadcast_to,
    np.concatenate: joining.concatenate,
    np.stack: joining.stack,
    np.vstack: joining.vstack,
    np.hstack: joining.hstack,
    np.column_stack: joining.column_stack,
    np.dot: linalg.dot,
    np.vdot: linalg.vdot,
    np.inner: linalg.inner,
    np.outer: linalg.outer,
    **linalg.LAPACK,
}

__all__ = ["FUNCTIONS", "where", "clip", "reductions", "shape", "ndim", "size", "copy"]
