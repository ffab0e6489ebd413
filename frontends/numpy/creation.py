"""Creating arrays: array, asarray, zeros, ones, full, empty, arange, linspace, *_like.

Constant arrays and ranges are lazy (a constant or a formula of the position, so
`np.zeros(n) + x` never allocates the zeros); arrays from Python data are built by NumPy.
Small results (below `db.config(eager_below=...)`) are plain NumPy arrays.

>>> import daybreak as db, daybreak.numpy as dnp
>>> old = db.config(eager_below=0)
>>> dnp.full((2, 2), 7, dtype="int8")
array([[7, 7],
       [7, 7]], dtype=int8)
>>> dnp.arange(0.0, 1.0, 0.25)
array([0.  , 0.25, 0.5 , 0.75])
>>> _ = db.config(**old)
"""

from __future__ import annotations

import math
import operator

import numpy as np

from daybreak.ir import builder as B
from daybreak.runtime.config import SETTINGS

from ..elements.dtypes import ir_scalar, is_supported, why_unsupported
from ..elements.expr import Apply, Leaf, Outer
from ..elements.loops import contiguous_strides
from ..lazy import Param, Unset
from .array import fortran_view, from_numpy_result, is_lazy, ndarray, wrap
from .fallback import check_allowed, foreign_array, run_numpy


def _shape_of(shape) -> tuple[int, ...]:
    if isinstance(shape, int | np.integer):
        return (operator.index(shape),)
    return tuple(operator.index(n) for n in shape)


def _small(shape) -> bool:
    return math.prod(shape) < SETTINGS.eager_below


# The user's arrays are daybreak's from a quarter of `eager_below`: NumPy computes the small
# views and results of their calls at once, as for any small array, but a statement of many
# such calls over them (a 40^3 stencil's 27) stores into a daybreak array, which marks it to
# be recorded lazily, compiled and replayed as one program (`replay.data_stored`); an
# operator on such an array costs ~1 us more than NumPy's own, ~5% of NumPy's work there
USERS_ARRAYS_FROM = 4


def numpy_made(value, what: str):
    """An array NumPy made, as daybreak hands it back (`from_numpy_result`). One of a dtype
    the IR does not have (complex, float16, strings, objects, datetimes...) stays NumPy's,
    so everything done with it from here on is NumPy's: counted here, once, as a fallback."""
    first = value[0] if isinstance(value, tuple) else value  # linspace(retstep=True)
    if isinstance(first, np.ndarray | np.generic) and not is_supported(first.dtype):
        check_allowed(f"{what} of {why_unsupported(first.dtype)}")
    return from_numpy_result(value)


def array(obj, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):
    """`numpy.array`: a daybreak array of `obj` (a copy; lazy values stay lazy)."""
    if is_lazy(obj) and ndmin <= obj.ndim:
        return obj.astype(dtype) if dtype is not None else obj.copy()
    return numpy_made(
        np.array(obj, dtype=dtype, copy=copy, order=order, subok=subok, ndmin=ndmin), "array"
    )


def asarray(obj, dtype=None, order=None, *, copy=None, like=None):
    """`numpy.asarray`: daybreak arrays as they are; a big NumPy array becomes a daybreak
    array over its memory (the user's array itself: writes through either show in both;
    lazy values made from it read a snapshot, `Param.snapshot`)."""
    if is_lazy(obj):
        return obj if dtype is None or np.dtype(dtype) == obj.dtype else obj.astype(dtype)
    value = np.asarray(obj, dtype=dtype, order=order)
    if (
        isinstance(obj, np.ndarray)
        and value is obj
        and is_supported(value.dtype)
        and value.ndim > 0
        and math.prod(value.shape) * USERS_ARRAYS_FROM >= SETTINGS.eager_below
    ):
        return wrap(value, snapshot=True)
    return numpy_made(value, "asarray")


def full(shape, fill_value, dtype=None, order="C", *, like=None, fill=Param):
    """`numpy.full`, lazily: every element reads one scalar parameter (a `fill`)."""
    shape = _shape_of(shape)
    dtype = np.asarray(fill_value).dtype if dtype is None else np.dtype(dtype)
    if _small(shape) or not is_supported(dtype) or is_lazy(fill_value) or np.ndim(fill_value) != 0:
        return numpy_made(np.full(shape, fill_value, dtype=dtype, order=order), "full")
    value = np.asarray(fill_value).astype(dtype)[()]  # NumPy's cast of the fill value
    if order == "F" and len(shape) > 1:  # (held in Fortran order: `fortran_view`)
        return fortran_view(full(shape[::-1], fill_value, dtype, fill=fill))
    return ndarray(Outer(fill(value, ir_scalar(dtype), key=None), dtype), shape)


def _numpy_now(shape, dtype) -> bool:
    """Whether NumPy's own constructor makes this array: a small one (a Python loop's
    scratch row: `np.full` and the checks below cost ~10x NumPy's `zeros`), or one of a dtype
    the IR does not have (strings, records, objects...)."""
    if type(shape) is int:
        small = shape < SETTINGS.eager_below
    else:
        small = _small(_shape_of(shape))
    return small or not is_supported(dtype)


def zeros(shape, dtype=float, order="C", *, like=None):
    """`numpy.zeros`, lazily."""
    if _numpy_now(shape, dtype):
        return numpy_made(np.zeros(shape, dtype, order), "zeros")
    return full(shape, 0, dtype=dtype, order=order)


def ones(shape, dtype=None, order="C", *, like=None):
    """`numpy.ones`, lazily."""
    if _numpy_now(shape, float if dtype is None else dtype):
        return numpy_made(np.ones(shape, dtype, order), "ones")
    return full(shape, 1, dtype=float if dtype is None else dtype, order=order)


def eye(N, M=None, k=0, dtype=float, order="C", *, like=None):
    """`numpy.eye`: NumPy's matrix, a daybreak array once big (`numpy_made`): stores into it
    are daybreak's (correlation's `corr = np.eye(M)`, then written column by column)."""
    return numpy_made(np.eye(N, M, k, dtype=dtype, order=order), "eye")


def identity(n, dtype=None, *, like=None):
    """`numpy.identity`: as `eye`."""
    return numpy_made(np.identity(n, dtype=dtype), "identity")


def empty(shape, dtype=float, order="C", *, like=None):
    """`numpy.empty` (its values are unspecified: zeros in native code, the buffer's bytes as
    NumPy's in the library, `lazy.Unset`)."""
    if _numpy_now(shape, dtype):
        return numpy_made(np.empty(shape, dtype, order), "empty")
    return full(shape, 0, dtype=dtype, order=order, fill=Unset)


def _like(numpy_like, fill):
    def make(a, dtype=None, order="K", subok=True, shape=None, **kwargs):
        target = (
            (a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype)
            if dtype is None
            else np.dtype(dtype)
        )
        if not is_supported(target) or subok and foreign_array(a) is not None:
            why = why_unsupported(target) if not is_supported(target) else foreign_array(a)
            return run_numpy(
                f"{numpy_like.__name__} of {why}", numpy_like, (a, dtype, order, subok, shape)
            )
        shape = np.shape(a) if shape is None else shape
        return full(shape, fill, dtype=target, fill=Unset if numpy_like is np.empty_like else Param)

    make.__name__ = numpy_like.__name__
    make.__doc__ = f"`numpy.{numpy_like.__name__}`, lazily."
    return make


zeros_like = _like(np.zeros_like, 0)
ones_like = _like(np.ones_like, 1)
empty_like = _like(np.empty_like, 0)


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    """`numpy.full_like`, lazily."""
    target = (
        (a.dtype if hasattr(a, "dtype") else np.asarray(a).dtype)
        if dtype is None
        else np.dtype(dtype)
    )
    if not is_supported(target) or subok and foreign_array(a) is not None:
        why = why_unsupported(target) if not is_supported(target) else foreign_array(a)
        return run_numpy(
            f"full_like of {why}", np.full_like, (a, fill_value, dtype, order, subok, shape)
        )
    shape = np.shape(a) if shape is None else shape
    return full(shape, fill_value, dtype=target)


def arange(start, stop=None, step=None, dtype=None, *, like=None):
    """`numpy.arange`; large integer or float ranges are lazy, computed as NumPy fills
    them: `start + i * delta` with `delta = (start + step) - start` in the result type."""
    given = (start, stop, step)
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    numbers = (start, stop, step)
    if (
        not all(type(v) in (int, float) for v in numbers)
        or step == 0
        or dtype is not None
        and not is_supported(dtype)
    ):
        return numpy_made(np.arange(*given, dtype=dtype), "arange")
    dt = np.dtype(dtype) if dtype is not None else np.result_type(*numbers)
    if all(type(v) is int for v in numbers):
        length = len(range(start, stop, step))
    else:
        length = max(int(math.ceil((stop - start) / step)), 0)
    if _small((length,)) or not is_supported(dt) or dt == np.bool_:
        return numpy_made(np.arange(*given, dtype=dtype), "arange")
    t = ir_scalar(dt)
    first = dt.type(start)
    delta = dt.type(dt.type(start + step) - first) if dt.kind == "f" else dt.type(step)
    position = Leaf(None, (1,), length, np.dtype(np.int64))
    params = [Outer(Param(v, t, key=None), dt) for v in (first, delta)]

    def eager(i, s, d):
        if s == 0 and d == 1:
            return i.astype(dt, copy=False)  # (0 + i * 1 changes no value, in any dtype)
        return s + i.astype(dt) * d

    expr = Apply(lambda c, i, s, d: s + i.cast(t) * d, (position, *params), dt, eager)
    return ndarray(expr, (length,))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`numpy.linspace`; large float results from scalar ends are lazy (NumPy's formula:
    `i * step + start`, the last element exactly `stop`)."""
    simple = type(start) in (int, float) and type(stop) in (int, float) and axis == 0
    num = operator.index(num)
    div = num - 1 if endpoint else num
    dt = np.dtype(float if dtype is None else dtype)
    step = (stop - start) / div if div > 0 else math.nan
    if not simple or _small((num,)) or dt != np.float64 or div <= 0 or step == 0:
        return numpy_made(
            np.linspace(
                start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype, axis=axis
            ),
            "linspace",
        )
    f64 = ir_scalar(dt)
    position = Leaf(None, (1,), num, np.dtype(np.int64))
    params = [Outer(Param(float(v), f64, key=None), dt) for v in (step, start, stop)]
    last = Outer(
        Param(num - 1 if endpoint else -1, ir_scalar(np.dtype(np.int64)), key=None),
        np.dtype(np.int64),
    )

    def element(c, i, st, s0, s1, n):
        value = i.cast(f64) * st + s0
        return B.select(i.eq(n), s1, value)

    def element_eager(i, st, s0, s1, n):
        return np.where(i == n, s1, i.astype(dt) * st + s0)

    y = ndarray(Apply(element, (position, *params, last), dt, element_eager), (num,))
    return (y, step) if retstep else y


__all__ = [
    "array",
    "asarray",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "linspace",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "contiguous_strides",
]
