"""What `daybreak.numpy` hands out for NumPy's ufuncs and for `numpy.random`.

`dnp.exp` is a `UfuncWrapper`: calling it on anything (NumPy arrays included) goes through
daybreak, so chains that start from NumPy data become lazy; every other attribute (`nin`,
`reduce`, `outer`, ...) is the real ufunc's. `dnp.random` hands back daybreak arrays for large
results, so a script's random inputs join fused chains too.

>>> import daybreak.numpy as dnp
>>> dnp.exp.nin, dnp.exp(0.0)
(1, np.float64(1.0))
"""

from __future__ import annotations

import functools
import sys

import numpy as np

from daybreak.runtime.config import SETTINGS

from ..elements.dtypes import SCALAR_TYPES, is_supported
from ..elements.expr import contiguous_strides
from ..scheduler import library_for_good
from .array import data_now, from_numpy_result, ndarray, owned_read
from .methods import _array_ufunc as array_ufunc
from .methods import call_ufunc, plain_call
from .replay import ACTIVE, AT_ONCE_ONLY, ENTRY, NOT_NOW, NUMPY_NOW, on_call, run_at_once
from .small import broadcast_size, small_numpy_call

# Scalars a ufunc computes at once: recording them lazily would cost far more than NumPy.
_SCALARS = SCALAR_TYPES | {complex, np.complex128, np.complex64}


class UfuncWrapper:
    """A NumPy ufunc whose calls go through daybreak."""

    __slots__ = ("ufunc", "outer")

    def __init__(self, ufunc: np.ufunc):
        self.ufunc = ufunc
        if ufunc.nin == 2:
            # (made once: floyd_warshall's `np.add.outer` is asked for at every step)
            self.outer = functools.partial(_outer, ufunc)
            _OUTER_TAGS[ufunc] = tag = f"{ufunc.__name__}.outer"  # (its calls' operation)
            AT_ONCE_ONLY.add(tag)

    def __call__(self, *inputs, **kwargs):
        if (ACTIVE[0] is not None or ENTRY) and not kwargs:
            frame = sys._getframe(1)
            # (a statement replayed or run at once, `replay`; asked only where it has
            # something to say, as in the subscript's slot)
            found = (
                on_call(self.ufunc, frame)
                if ACTIVE[0] is not None or (id(frame.f_code), frame.f_lasti) in ENTRY
                else None
            )
            if found is not None:
                if found is not NUMPY_NOW:
                    return found
                now = run_at_once(self.ufunc, inputs)  # (a statement run at once)
                if now is not NOT_NOW:
                    return now
        if not kwargs and len(inputs) <= 2:
            # The calls of a Python loop, checked first and cheaply: scalars, and small NumPy
            # arrays whose result is no bigger than one of them — NumPy's own, as it is.
            limit = SETTINGS.eager_below
            x = inputs[0] if inputs else None
            kind = type(x)
            if len(inputs) == 1:
                if kind in _SCALARS or (kind is np.ndarray and x.size < limit):
                    return self.ufunc(x)
            else:
                y = inputs[1]
                other = type(y)
                if kind in _SCALARS:
                    if other in _SCALARS or (other is np.ndarray and y.size < limit):
                        return self.ufunc(x, y)
                elif kind is np.ndarray and x.size < limit:
                    if other in _SCALARS or (other is np.ndarray and y.shape == x.shape):
                        return self.ufunc(x, y)
                elif other is ndarray:
                    return plain_call(self.ufunc, inputs)  # (not NumPy's: no question of size)
            if kind is ndarray:
                return plain_call(self.ufunc, inputs)
        if small_numpy_call(inputs, kwargs) and broadcast_size(inputs) < SETTINGS.eager_below:
            return from_numpy_result(self.ufunc(*inputs, **kwargs))
        if not kwargs:
            return plain_call(self.ufunc, inputs)
        return call_ufunc(self.ufunc, *inputs, **kwargs)

    def __getattr__(self, name):
        found = getattr(self.ufunc, name)
        if name in _METHODS:
            return functools.partial(_method_result, found)
        return found

    def __repr__(self) -> str:
        return f"<daybreak ufunc {self.ufunc.__name__!r}>"


# Ufunc methods whose result is a new array: NumPy computes them (on daybreak arrays through
# `__array_ufunc__`, a counted fallback), and a large result is daybreak's own lazy array
# from then on, read without a snapshot (nobody else holds that buffer).
_METHODS = frozenset({"outer", "reduce", "accumulate", "reduceat"})


def _method_result(method, *args, **kwargs):
    return from_numpy_result(method(*args, **kwargs))


def _outer(ufunc: np.ufunc, a, b, **kwargs):
    """`ufunc.outer(a, b)`: a result big enough for native code to pay
    (`library_for_good`) is recorded as the broadcast it is (`a` with an axis of length 1
    for each of `b`'s, against `b`), which fuses with what reads it (floyd_warshall's
    `path[:] = np.minimum(path, np.add.outer(column, row))`: one pass over `path`, written
    in place, no temporary of the whole matrix); a smaller one is NumPy's at once (recording
    it would cost a snapshot of what reads it, for a library run). Operands that are data
    (the user's, or computed) are read through copies of their own: as small as the
    result's square root, and what a later write into them must not change."""
    if (ACTIVE[0] is not None or ENTRY) and not kwargs:
        found = on_call(_OUTER_TAGS[ufunc], sys._getframe(1))  # (a partial: no frame)
        if found is NUMPY_NOW:  # (a statement run at once: NumPy's outer)
            now = run_at_once(ufunc.outer, (a, b))
            if now is not NOT_NOW:
                return now
    if not kwargs and type(a) not in _SCALARS and type(b) not in _SCALARS:
        size = _size(a) * _size(b)
        if size >= SETTINGS.eager_below and not library_for_good(1, size):
            x, y = data_now(a), data_now(b)
            if (
                type(x) is np.ndarray
                and type(y) is np.ndarray
                and is_supported(x.dtype)
                and is_supported(y.dtype)
            ):
                shape = x.shape + y.shape
                left = owned_read(
                    np.array(x, order="C"), contiguous_strides(x.shape) + (0,) * y.ndim, shape
                )
                right = owned_read(
                    np.array(y, order="C"), (0,) * x.ndim + contiguous_strides(y.shape), shape
                )
                return call_ufunc(ufunc, left, right)
            return array_ufunc(None, ufunc, "outer", a, b)  # a pending operand: its broadcast
    return from_numpy_result(ufunc.outer(a, b, **kwargs))


_OUTER_TAGS: dict = {}  # ufunc -> the operation its `outer` calls record (`replay`)


def _size(x) -> int:
    return x.size if type(x) is np.ndarray or type(x) is ndarray else np.size(x)


@functools.cache
def wrap_ufunc(ufunc: np.ufunc) -> UfuncWrapper:
    return UfuncWrapper(ufunc)


class _RandomProxy:
    """`numpy.random` whose functions return daybreak arrays for large results."""

    def __getattr__(self, name):
        found = getattr(np.random, name)
        if not callable(found) or isinstance(found, type):
            return found

        @functools.wraps(found)
        def call(*args, **kwargs):
            return from_numpy_result(found(*args, **kwargs))

        return call


random_proxy = _RandomProxy()
