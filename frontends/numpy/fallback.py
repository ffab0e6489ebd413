"""Running the real NumPy on materialised inputs, for what daybreak does not compile.

Every fallback is counted with its reason (`db.stats()["fallbacks"]`) and is an error under
`db.config(strict=True)`: a silent fallback would quietly erase the speed-up.
"""

from __future__ import annotations

import functools

import numpy as np

from daybreak.ir.errors import UnsupportedError
from daybreak.runtime.config import SETTINGS
from daybreak.runtime.stats import record_fallback

from ..elements.dtypes import is_supported, why_unsupported
from ..lazy import LazyValue
from ..scheduler import evaluate


def to_numpy(obj):
    """`obj` with every lazy value (also inside lists, tuples and dicts) materialised, all of
    them in one program."""
    lazies: list = []
    _collect(obj, lazies)
    if not lazies:
        return obj
    # Views of computed buffers (slices, transposes, broadcasts) are read in place, as NumPy
    # would pass its own view: copying them out first would be a program and a pass.
    done = {}
    for lz in lazies:
        view = getattr(lz, "strided_view", None)
        found = view() if view is not None else None
        if found is not None:
            done[id(lz)] = found
    rest = [lz for lz in lazies if id(lz) not in done]
    if rest:
        # one value: its own `value()` (which may compute small work at once, without a
        # node); several: one program computing them together
        if len(rest) == 1 and hasattr(rest[0], "value"):
            values = (rest[0].value(),)
        else:
            values = evaluate(*rest)
            values = values if len(rest) > 1 else (values,)
        done.update(
            (id(lz), np.asarray(v) if lz.shape != () else v)
            for lz, v in zip(rest, values, strict=True)
        )
    return _replace(obj, done)


# Types that never hold a lazy value: asked first (a fallback's arguments: an array, a shape)
_PLAIN_TYPES = frozenset({np.ndarray, int, float, bool, str, slice, type(None), type(Ellipsis)})


def _collect(obj, out: list) -> None:
    kind = type(obj)
    if kind in _PLAIN_TYPES:
        return
    if kind is tuple:
        for x in obj:
            if type(x) not in _PLAIN_TYPES:
                _collect(x, out)
        return
    if isinstance(obj, LazyValue):
        out.append(obj)
    elif isinstance(obj, list | tuple):
        for x in obj:
            _collect(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _collect(x, out)


def _replace(obj, done: dict):
    if isinstance(obj, LazyValue):
        return done[id(obj)]
    if isinstance(obj, tuple):
        return tuple(_replace(x, done) for x in obj)
    if isinstance(obj, list):
        return [_replace(x, done) for x in obj]
    if isinstance(obj, dict):
        return {k: _replace(v, done) for k, v in obj.items()}
    return obj


def check_allowed(reason: str) -> None:
    """Count a fallback (or refuse it under strict=True)."""
    if SETTINGS.strict:
        raise UnsupportedError(reason, "numpy frontend", "daybreak.config(strict=True)")
    record_fallback(f"numpy: {reason}")


def run_numpy(reason: str, func, args=(), kwargs=None):
    """`func(*args, **kwargs)` on materialised inputs, counted as a fallback; NumPy arrays in
    the result become daybreak arrays again so the rest of the chain stays lazy."""
    check_allowed(reason)
    from .array import concrete_expr, from_numpy_result, is_lazy

    kwargs = dict(kwargs or {})
    given = kwargs.get("out")
    if given is None:
        return from_numpy_result(func(*to_numpy(tuple(args)), **to_numpy(kwargs)))
    # `out=`: NumPy writes into it and returns it. A lazy one gets a writable copy of its
    # values (what `where=` leaves alone must stay), then is rebound to what NumPy wrote.
    outs = given if isinstance(given, tuple) else (given,)
    written = [np.array(o.value(), copy=True) if is_lazy(o) else o for o in outs]
    kwargs["out"] = tuple(written) if isinstance(given, tuple) else written[0]
    result = func(*to_numpy(tuple(args)), **to_numpy(kwargs))
    for o, w in zip(outs, written, strict=True):
        if is_lazy(o):
            o._expr = concrete_expr(w)[0]
            o.write_back()

    def back(r):
        found = [o for o, w in zip(outs, written, strict=True) if r is w]
        return found[0] if found else from_numpy_result(r)

    return tuple(back(r) for r in result) if isinstance(result, tuple) else back(result)


class NotLazy(Exception):
    """An input daybreak cannot read as a lazy array (its dtype is not in the IR, or it is a
    NumPy subclass such as a masked array): the API function that was given it runs NumPy
    instead (`numpy_when_not_lazy`). The text says what the input is."""


def foreign_array(x) -> str | None:
    """What `x` is when it is an array with rules of its own (a NumPy subclass such as a
    masked array or a matrix, or anything else with `__array_ufunc__`, a pandas Series):
    reading it as a plain array would lose them. None for plain arrays and memmaps."""
    if isinstance(x, np.ndarray):
        if type(x) is np.ndarray or isinstance(x, np.memmap):
            return None
    elif isinstance(x, LazyValue | np.generic) or not hasattr(type(x), "__array_ufunc__"):
        return None
    return f"a {type(x).__module__}.{type(x).__qualname__}"


def unsupported_operand(x) -> str | None:
    """Why `x` cannot be an operand of a compiled loop ("dtype complex128 (the IR has no
    complex type)", "a numpy.ma.MaskedArray"), or None when it can."""
    if isinstance(x, LazyValue) or type(x) in (int, float, bool):
        return None
    if (foreign := foreign_array(x)) is not None:
        return foreign
    dtype = getattr(x, "dtype", None)
    if not isinstance(dtype, np.dtype):
        try:
            dtype = np.asarray(x).dtype
        except (ValueError, TypeError):  # ragged lists: NumPy's call raises NumPy's error
            return "an input NumPy cannot make an array of"
    return None if is_supported(dtype) else why_unsupported(dtype)


def numpy_when_not_lazy(np_func):
    """Decorates a daybreak function that NumPy's `np_func` mirrors: when an input cannot be
    read lazily (`NotLazy`), the call runs `np_func` with the same arguments (counted), so
    complex, float16, string or object arrays, masked arrays and matrices get NumPy's
    answer (or NumPy's error)."""

    name = np_func.__name__
    reasons: dict = {}  # dtype -> the reason of a call on a NumPy array of that dtype

    def decorate(func):
        @functools.wraps(func)
        def call(*args, **kwargs):
            if args and type(args[0]) is np.ndarray and not is_supported(args[0].dtype):
                # A NumPy array no loop can read (complex, float16): NumPy's call at once,
                # with the reason `NotLazy` would give (an FFT's every reshape: ~7 us less)
                dtype = args[0].dtype
                reason = reasons.get(dtype)
                if reason is None:
                    reason = reasons[dtype] = f"{name} on {why_unsupported(dtype)}"
                return run_numpy(reason, np_func, args, kwargs)
            try:
                return func(*args, **kwargs)
            except NotLazy as why:
                return run_numpy(f"{name} on {why}", np_func, args, kwargs)

        return call

    return decorate
