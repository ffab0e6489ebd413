"""The functions users call on programs: `compile`, `register_udf`."""

from __future__ import annotations

from . import ir
from .backends import get_backend
from .ir.errors import LoweringError, UnsupportedError
from .ir.nodes import Program
from .runtime.config import SETTINGS
from .runtime.stats import record_fallback


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
    name = backend or SETTINGS.backend
    target = get_backend(name)  # an unknown name is the caller's mistake, not a fallback
    try:
        return target.compile(program)
    except (UnsupportedError, LoweringError) as gap:
        # A construct this backend does not compile yet: run the program on the reference
        # interpreter instead — counted in db.stats(), and an error under strict=True.
        if name == "interp" or SETTINGS.strict:
            raise
        record_fallback(f"{name} -> interp: {gap}")
        return get_backend("interp").compile(program)


def optimize(program: Program | str) -> Program:
    """The optimised, typed program (passes in `daybreak.optimizer.PASSES`, minus
    `db.config(passes_off=...)`).

    >>> import daybreak as db
    >>> db.ir.format(db.optimize("|x: i64| let y = x * 1L; y + 0L"))
    '|x: i64| x'
    """
    from .optimizer import optimize as run_passes

    if isinstance(program, str):
        program = ir.parse(program)
    elif not isinstance(program, Program):
        raise TypeError(f"optimize() takes a Program or IR text, not {type(program).__name__}")
    return run_passes(program)


def explain(program: Program | str) -> str:
    """The program before and after optimisation, the passes that fired and how many passes
    over the data are left (see `daybreak.optimizer.explain`)."""
    from .optimizer import explain as explain_program

    if not isinstance(program, (Program, str)):
        raise TypeError(f"explain() takes a Program or IR text, not {type(program).__name__}")
    return explain_program(program)
