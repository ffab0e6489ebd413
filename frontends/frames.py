"""Rebinding a name in the user's running frame: what `numpy/handover.py` hands a hot loop.

A Python loop reading and writing a daybreak array element by element pays a Python call per
subscript (~0.2-0.3 us over NumPy's indexing, which runs in C): that is the whole cost of a
triangular solve or a Cholesky factorisation written as loops. Once such a loop is found
(`handover.py`), the names of its frame that hold the array are bound to NumPy's array over
the same memory, and the loop's subscripts are NumPy's own from then on.

>>> import sys
>>> def f():
...     x = "before"
...     rebind(sys._getframe(), "before", "after")  # (not this string: another object)
...     y = x
...     rebind(sys._getframe(), y, "after")
...     return x
>>> f()
'after'

CPython 3.13 and later write a frame's locals through `frame.f_locals` (PEP 667); 3.11 and
3.12 fill a dictionary from them, which `PyFrame_LocalsToFast` writes back (what pdb does
to set a variable in a running frame). Only the frame's own variables are rebound (its
arguments, locals and cells), never a closure's free variables (another frame's) nor a
module's globals read from a function; a module's or class body's names are its namespace's.
Elsewhere (another interpreter, no `ctypes.pythonapi`) nothing is rebound.
"""

from __future__ import annotations

import ctypes
import inspect
import sys

_WRITES_THROUGH = sys.version_info >= (3, 13)  # PEP 667's write-through proxy


def _locals_to_fast():
    if _WRITES_THROUGH or sys.implementation.name != "cpython":
        return None
    try:
        fn = ctypes.pythonapi.PyFrame_LocalsToFast
    except AttributeError:
        return None
    fn.argtypes = (ctypes.py_object, ctypes.c_int)
    fn.restype = None
    return fn


_LOCALS_TO_FAST = _locals_to_fast()
CAN_REBIND = _WRITES_THROUGH or _LOCALS_TO_FAST is not None


def rebind(frame, old: object, new: object) -> bool:
    """Bind every name of `frame`'s own variables that holds `old` (that very object) to
    `new`; whether one did. The frame must be running on this thread (a caller's)."""
    if not CAN_REBIND:
        return False
    code = frame.f_code
    if not code.co_flags & inspect.CO_OPTIMIZED:
        space = frame.f_locals  # (a module's, a class body's: the namespace itself)
        names = [name for name, value in space.items() if value is old]
        for name in names:
            space[name] = new
        return bool(names)
    found = frame.f_locals  # (3.11-3.12: a dictionary filled from the frame now)
    names = [name for name in (*code.co_varnames, *code.co_cellvars) if found.get(name) is old]
    if not names:
        return False
    for name in names:
        found[name] = new
    if _LOCALS_TO_FAST is not None:
        _LOCALS_TO_FAST(frame, 0)
    return True
