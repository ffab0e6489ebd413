"""Running the real NumPy on materialised inputs, for what daybreak does not compile.

Every fallback is counted with its reason (`db.stats()["fallbacks"]`) and is an error under
`db.config(strict=True)`: a silent fallback would quietly erase the speed-up.
"""

from __future__ import annotations

import numpy as np

from daybreak.ir.errors import UnsupportedError
from daybreak.runtime.config import SETTINGS
from daybreak.runtime.stats import record_fallback

from ..lazy import LazyValue
from ..scheduler import evaluate


def to_numpy(obj):
    """`obj` with every lazy value (also inside lists, tuples and dicts) materialised, all of
    them in one program."""
    lazies: list = []
    _collect(obj, lazies)
    if lazies:
        values = evaluate(*lazies)
        values = values if len(lazies) > 1 else (values,)
        done = {id(lz): np.asarray(v) if lz.shape != () else v
                for lz, v in zip(lazies, values, strict=True)}
        return _replace(obj, done)
    return obj


def _collect(obj, out: list) -> None:
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
    from .array import from_numpy_result

    result = func(*to_numpy(tuple(args)), **to_numpy(dict(kwargs or {})))
    return from_numpy_result(result)
