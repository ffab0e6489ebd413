"""Small calls on NumPy data go straight to NumPy.

A call whose arguments are all NumPy data (no lazy array) and small (fewer elements than
`db.config(eager_below=...)`) costs NumPy a few microseconds; wrapping its operands,
snapshotting them and recording a lazy graph would cost ten times that, and fusing can save
nothing at that size. Python loops over rows, diagonals or bins make such calls thousands of
times (triangular solves, Gram-Schmidt, sparse rows). This is the cost model's "tiny work
always runs eagerly", applied before anything is recorded. It is not a fallback: nothing is
missing from daybreak's path, NumPy is simply the cheaper tier.

>>> import numpy
>>> small_numpy_call((numpy.ones(3), 2.0), {})
True
"""

from __future__ import annotations

import functools
import math
import sys

import numpy as np

from daybreak.runtime.config import SETTINGS

_SCALARS = (int, float, bool, complex, np.generic)
_PYTHON_SCALARS = (int, float, bool, complex)
_OPTIONS = (str, type, np.dtype)  # dtype=, order=, casting=: they do not make work bigger


# Types that never make a call big: scalars and options, by exact type (a set lookup, not
# isinstance chains: a Python loop asks this for every call).
_SMALL_KINDS = frozenset(
    {int, float, bool, complex, str, type(None), np.dtype, type}
    | {t for t in np.sctypeDict.values() if isinstance(t, type)}
)


def small_numpy_call(args: tuple, kwargs: dict) -> bool:
    """Whether every argument is a scalar, None, an option (a dtype, a string), or a NumPy
    array — alone or in a list or tuple (`hstack((a, b))`) — of fewer elements than the
    eager size. (Each, not all together: `where(c, a, b)` of three rows of a big array is
    three small arrays. Recording it would snapshot each of them, a pass apiece, to fuse
    a result no bigger than one of them; functions whose results can be bigger than their
    inputs say so in `RESULT_SIZE`.)"""
    largest = 0
    for x in (*args, *kwargs.values()) if kwargs else args:
        kind = type(x)
        if kind is np.ndarray:
            largest = max(largest, x.size)
        elif kind in _SMALL_KINDS:
            continue
        elif kind is tuple or kind is list:
            for item in x:
                if type(item) is np.ndarray:
                    largest = max(largest, item.size)
                elif type(item) not in _SMALL_KINDS and not isinstance(item, _SCALARS):
                    return False  # a lazy array, a nested list (maybe of lazy arrays), ...
        elif not isinstance(x, _SCALARS) and not isinstance(x, _OPTIONS):
            return False  # a lazy array, a list (maybe of lazy arrays), ...
    return largest < SETTINGS.eager_below


def broadcast_size(arrays) -> int:
    """The number of elements of the broadcast of `arrays` (NumPy arrays and scalars): a
    small call can still make a big result (`subtract(x[:, None], x[None, :])`)."""
    shapes = []
    for a in arrays:
        kind = type(a)
        if kind is np.ndarray:
            if a.shape:
                shapes.append(a.shape)
        elif kind not in _PYTHON_SCALARS and not isinstance(a, np.generic):
            shapes.append(np.shape(a))  # (scalars broadcast to anything: left out)
    first = shapes[0] if shapes else ()
    if all(s == first for s in shapes):
        return math.prod(first)
    # NumPy's broadcasting rule by hand: `np.broadcast_shapes` costs ~5 us, ten NumPy calls
    out = [1] * max(len(s) for s in shapes)
    for shape in shapes:
        offset = len(out) - len(shape)
        for k, n in enumerate(shape):
            have = out[offset + k]
            if have == 1:
                out[offset + k] = n
            elif n != 1 and n != have:
                return 0  # NumPy raises its own error in the call
    return math.prod(out)


# Functions whose result can be far bigger than their inputs: a call is small only when its
# result is (an outer product of two small vectors is a big matrix, which stays lazy and
# fuses with what reads it: `A + outer(u, v)` is one pass).
RESULT_SIZE = {
    "outer": lambda a, b, *rest, **kw: np.size(a) * np.size(b),
    "broadcast_to": lambda a, shape, *rest, **kw: math.prod(
        (shape,) if isinstance(shape, int | np.integer) else shape
    ),
}


def numpy_first(daybreak_fn, numpy_fn):
    """`daybreak_fn`, except that small calls on NumPy data run `numpy_fn` directly."""

    from .array import from_numpy_result  # (imported by now: made when the package loads)
    from .replay import ACTIVE, AT_ONCE_ONLY, ENTRY, NOT_NOW, NUMPY_NOW, on_call, run_at_once

    result_size = RESULT_SIZE.get(numpy_fn.__name__)
    # NumPy's function without its `__array_function__` dispatch (~0.2 us a call), for calls
    # whose arguments are exactly NumPy arrays and scalars: nothing there overrides NumPy.
    direct = getattr(numpy_fn, "_implementation", numpy_fn)

    # Functions whose result is a lazy array whatever the data (a select, a reduction): a
    # call of a replayed statement (`replay`) returns its placeholder. Every function's call
    # in a statement run at once is NumPy's own on the operands' data.
    tag = getattr(daybreak_fn, "replay_tag", None)
    if tag is None:
        tag = numpy_fn
        AT_ONCE_ONLY.add(tag)

    @functools.wraps(daybreak_fn)
    def call(*args, **kwargs):
        if ACTIVE[0] is not None or ENTRY:
            frame = sys._getframe(1)
            # (`on_call` asked only where it has something to say, as in the subscript's slot:
            # most calls of a process with marked statements are in statements not marked)
            found = (
                on_call(tag, frame)
                if ACTIVE[0] is not None or (id(frame.f_code), frame.f_lasti) in ENTRY
                else None
            )
            if found is not None:
                if found is not NUMPY_NOW:
                    return found
                if "out" not in kwargs:  # (a statement run at once)
                    now = run_at_once(direct, args, kwargs)
                    if now is not NOT_NOW:
                        return now
        if not kwargs and result_size is None and len(args) <= 3:
            # A Python loop's call (`clip(row, lo, hi)`, `where(m, a, b)`), checked cheaply first
            total = 0
            for x in args:
                kind = type(x)
                if kind is np.ndarray:
                    total += x.size
                elif kind not in _SMALL_KINDS:
                    total = -1
                    break
            if 0 <= total < SETTINGS.eager_below:
                out = direct(*args)
                kind = type(out)
                return from_numpy_result(out) if kind is np.ndarray or kind is tuple else out
        if small_numpy_call(args, kwargs) and (
            result_size is None or _small_result(result_size, args, kwargs)
        ):
            out = direct(*args, **kwargs)
            kind = type(out)  # (most results of small calls are scalars: returned as they are)
            return from_numpy_result(out) if kind is np.ndarray or kind is tuple else out
        return daybreak_fn(*args, **kwargs)

    return call


def _small_result(result_size, args, kwargs) -> bool:
    try:
        return result_size(*args, **kwargs) < SETTINGS.eager_below
    except (TypeError, ValueError):
        return True  # NumPy gives its own error
