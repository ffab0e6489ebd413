"""`import daybreak.numpy as np`: NumPy, lazily compiled.

Arrays are lazy: chains of elementwise calls and reductions become one fused loop, compiled
when a value is looked at (`repr`, `np.asarray`, `float()`, ...) or by `db.evaluate(a, b)`.
Values and dtypes are NumPy's. Anything not wrapped here is NumPy's own (`np.pi`,
`np.float64`, `np.newaxis`, ...); NumPy ufuncs not compiled run NumPy on the computed inputs,
counted in `db.stats()["fallbacks"]` (an error under `db.config(strict=True)`).

>>> import daybreak.numpy as dnp
>>> x = dnp.linspace(0.0, 1.0, 5)
>>> float(dnp.sum(dnp.sqrt(x) * 2.0 + 1.0)) > 0
True
>>> dnp.pi == __import__("numpy").pi
True
"""

from __future__ import annotations

import threading as _threading

import numpy as _np

from daybreak.annotations.graph import ElementwiseEngine as _ElementwiseEngine
from daybreak.annotations.graph import register_engine as _register_engine
from daybreak.annotations.split_types import register_array_type as _register_array_type
from daybreak.frontends.numpy import *  # noqa: F403 - the wrapped API
from daybreak.frontends.numpy import __all__ as _wrapped
from daybreak.frontends.numpy import random_proxy as random  # noqa: F401
from daybreak.frontends.numpy import wrap_ufunc as _wrap_ufunc
from daybreak.frontends.numpy.array import ndarray as _lazy_ndarray
from daybreak.frontends.numpy.array import wrap as _wrap_values
from daybreak.frontends.numpy.indexing import leading_rows as _leading_rows


def _rows_of_lazy(value, axis: int, start: int, stop: int):
    # A daybreak array as a split argument of an annotated call (daybreak.annotations): each
    # piece of rows computed by its own run of one compiled program, fused as the whole
    # would be; one piece at a time (the lazy graph and the scheduler are not shared
    # between threads), while the annotated calls of other pieces run.
    if axis != 0:
        return _np.asarray(value)[(slice(None),) * axis + (slice(start, stop),)]
    with _PIECES:
        return _leading_rows(value, start, stop)


_PIECES = _threading.Lock()
# (a piece's program run costs ~0.1-0.2 ms of Python: pieces of 2^18 rows at least)
_register_array_type(_lazy_ndarray, _rows_of_lazy, min_piece=1 << 18)


class _PieceEngine(_ElementwiseEngine):
    """NumPy ufuncs captured in an annotated chain (on pending results), recorded by
    daybreak.numpy per piece: consecutive ones fuse into one compiled loop per piece. A
    piece's values are read in place (no snapshot): nothing writes them while the piece's
    pending values are computed (the executor computes them before any other call)."""

    min_piece = 1 << 18

    def apply(self, ufunc, values):
        with _PIECES:
            operands = [_wrap_values(v) if type(v) is _np.ndarray and v.ndim else v for v in values]
            return _wrap_ufunc(ufunc)(*operands)

    def is_pending(self, value) -> bool:
        return type(value) is _lazy_ndarray

    def materialize(self, value):
        with _PIECES:
            return _np.asarray(value.value())


_register_engine(_PieceEngine())


def __getattr__(name: str):
    found = getattr(_np, name)  # NumPy's AttributeError for names NumPy lacks too
    if isinstance(found, _np.ufunc):
        found = _wrap_ufunc(found)
    # Kept in this module from now on: `np.newaxis` or `np.float32` in a Python loop is then a
    # plain attribute read, not a call of this function (NumPy's own attributes never change).
    globals()[name] = found
    return found


def __dir__():
    return sorted(set(dir(_np)) | set(_wrapped))
