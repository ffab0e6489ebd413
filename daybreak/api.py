"""The functions users call on programs: `compile`, `register_udf`."""

from __future__ import annotations

from . import ir
from .backends import get_backend
from .ir.nodes import Program
from .runtime.config import SETTINGS


def compile(program: Program | str, backend: str | None = None):
    """Compile a program (a `Program` or IR text) for a backend (default: `db.config()`'s,
    "llvm"); returns a callable.

    >>> import numpy as np, daybreak as db
    >>> f = db.compile("|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, x*x)))")
    >>> float(f(np.array([1.0, 2.0, 3.0])))
    14.0
    """
    if isinstance(program, str):
        program = ir.parse(program)
    elif not isinstance(program, Program):
        raise TypeError(f"compile() takes a Program or IR text, not {type(program).__name__}")
    return get_backend(backend or SETTINGS.backend).compile(program)
