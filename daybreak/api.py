"""The functions users call on programs and lazy values: `compile`, `optimize`, `explain`,
`evaluate`."""

from __future__ import annotations

from . import ir
from .backends import REGISTRY as BACKENDS
from .backends import get_backend
from .frontends import scheduler, snapshots
from .ir.errors import LoweringError, UnknownBackendError, UnsupportedError
from .ir.linearity import require_linear
from .ir.nodes import Program, deep_recursion
from .runtime.cache import LRU
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
    with deep_recursion():  # hashing and passes recurse once per nesting level
        return _compile(program, backend)


# Where a program goes when a backend cannot compile it (the interpreter, when not named).
FALLBACK_BACKEND = {"cuda": "llvm", "cuda-emu": "llvm"}


def _compile(program: Program, backend: str | None):
    name = backend or SETTINGS.backend
    if name not in BACKENDS:  # the caller's mistake, not a gap to fall back from
        raise UnknownBackendError(name, BACKENDS)
    target = get_backend(name)
    # A builder used twice is the program's mistake, not a backend's gap: a located error
    # here, before any backend (and never a quiet run on the interpreter).
    require_linear(ir.typecheck(program))
    try:
        if getattr(target, "optimized", False):
            return target.compile(_optimized(program))
        return target.compile(program)
    except (UnsupportedError, LoweringError) as gap:
        # A construct this backend does not compile yet: run the program on the CPU backend
        # (from a GPU backend) or the reference interpreter instead — counted in db.stats(),
        # and an error under strict=True.
        if name == "interp" or SETTINGS.strict:
            raise
        instead = FALLBACK_BACKEND.get(name, "interp")
        record_fallback(f"{name} -> {instead}: {gap}")
        return _compile(program, instead)


# The most recently used optimised programs (a process compiling many distinct programs must
# not keep them all).
_optimized_programs = LRU(512)


def _optimized(program: Program) -> Program:
    """The optimised program (memoised: compiling the same program again costs a lookup).
    The source text is part of the key so that errors keep pointing into the right text."""
    loc = program.body.loc
    key = (program, loc.source if loc is not None else None, SETTINGS.passes_off)
    found = _optimized_programs.get(key)
    if found is None:
        found = _run_passes(program)
        _optimized_programs.put(key, found)
    return found


def _run_passes(program: Program) -> Program:
    """The optimizer's output; a pass it had to drop (a bug in the pass: its output did not
    type or was not linear, or it raised) is counted as a fallback with its reason, and is
    an error under `strict=True` — never silent."""
    from .optimizer import OptimizeReport, OptimizerError
    from .optimizer import optimize as run_passes

    report = OptimizeReport(program)
    found = run_passes(program, passes_off=SETTINGS.passes_off, report=report)
    for dropped in report.dropped:
        reason = f"optimizer: pass {dropped} (dropped, the program runs without it)"
        if SETTINGS.strict:
            raise OptimizerError(reason)
        record_fallback(reason)
    return found


def optimize(program: Program | str) -> Program:
    """The optimised, typed program (passes in `daybreak.optimizer.PASSES`, minus
    `db.config(passes_off=...)`).

    >>> import daybreak as db
    >>> db.ir.format(db.optimize("|x: i64| let y = x * 1L; y + 0L"))
    '|x: i64| x'
    """
    if isinstance(program, str):
        program = ir.parse(program)
    elif not isinstance(program, Program):
        raise TypeError(f"optimize() takes a Program or IR text, not {type(program).__name__}")
    return _run_passes(program)


def explain(program) -> str:
    """The program before and after optimisation, the passes that fired and how many passes
    over the data are left (see `daybreak.optimizer.explain`). Takes a Program, IR text, or a
    lazy value (anything with `__daybreak_program__()`, e.g. a `daybreak.numpy` array: the
    program that materialising it would run).

    >>> import daybreak as db, daybreak.numpy as dnp
    >>> x = dnp.arange(100_000.0)
    >>> "1 pass over the data" in db.explain((dnp.exp(x) * 2.0 + 1.0).sum())
    True
    """
    from .optimizer import explain as explain_program

    to_program = getattr(program, "__daybreak_program__", None)
    schedule = ""
    if to_program is not None and not isinstance(program, type):
        schedule = program.__daybreak_schedule__() + "\n"  # the scheduler's decision first
        program = to_program()
    if not isinstance(program, (Program, str)):
        raise TypeError(
            f"explain() takes a Program, IR text or a lazy value, not {type(program).__name__}"
        )
    return schedule + explain_program(program, passes_off=SETTINGS.passes_off)


def evaluate(*values):
    """Materialise several lazy values (e.g. `daybreak.numpy` arrays) in ONE compiled program
    that shares their work; other values pass through unchanged. One argument gives one
    value, several give a tuple.

    >>> import daybreak as db, daybreak.numpy as dnp
    >>> x = dnp.arange(10_000.0)
    >>> db.evaluate(x.sum(), x.min())
    (np.float64(49995000.0), np.float64(0.0))
    """
    return scheduler.evaluate(*values)


# Frontends compile through this module's `compile` (optimizer + backend of db.config()),
# without importing the public package themselves.
scheduler.use_compiler(compile)


def _write_guards():
    from .backends.llvm import write_guards

    return write_guards()


snapshots.use_write_guards(_write_guards)
