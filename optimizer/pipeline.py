"""The pass pipeline: a named, ordered table of passes run to a fixpoint.

Every pass is a function `Program -> Program` on typed programs. The pipeline runs the passes
in table order, round after round, until a round changes nothing (at most `MAX_ROUNDS`); then
the `final` passes run once. After each pass that changed the program, the type checker runs
again on it: that restores every node's type for the next pass and verifies the pass. A pass
whose output does not type, or is no longer linear when its input was, is a bug: with
`verify=True` (the tests) it raises `OptimizerError`; otherwise its output is dropped and the
pipeline goes on without it. (Without verify, linearity is checked once at the end, and the
passes run again checked one by one only when it was broken.)

Passes are switched off by name (`db.config(passes_off={"fuse_horizontal"})` or
`optimize(p, passes_off=...)`); each is timed, and the report says which fired.

>>> from daybreak.ir import parse
>>> from daybreak.ir.printer import format
>>> format(optimize(parse("|x: i32| let y = x + 0; y * 1")))
'|x: i32| x'
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from daybreak.ir import nodes as N
from daybreak.ir.errors import DaybreakError, TypeCheckError
from daybreak.ir.linearity import check_linear
from daybreak.ir.typecheck import typecheck

from . import (
    cse,
    dce,
    fold,
    fuse_consumer,
    fuse_gather,
    fuse_horizontal,
    fuse_vertical,
    hoist,
    inline,
    presize,
)

MAX_ROUNDS = 8
# Every pass costs about linear time in the program (a chain of thousands of lets included:
# CSE and horizontal fusion read one scope index instead of rescanning each nested scope, the
# let-based fusions walk only the paths to a name's uses), so none is skipped on large ones.


@dataclass(frozen=True)
class Pass:
    name: str
    run: Callable[[N.Program], N.Program]
    final: bool = False  # runs once, after the other passes reach their fixpoint


# The pipeline, in order. Inlining first exposes loops to fusion (a producer bound by `let`
# and used once moves into its consumer); folding and DCE clean up what fusion leaves.
PASSES: tuple[Pass, ...] = (
    Pass("inline", inline.run),
    Pass("fold", fold.run),
    Pass("cse", cse.run),
    Pass("dce", dce.run),
    Pass("fuse_vertical", fuse_vertical.run),
    Pass("fuse_gather", fuse_gather.run),
    Pass("fuse_horizontal", fuse_horizontal.run),
    Pass("fuse_consumer", fuse_consumer.run),
    Pass("hoist", hoist.run, final=True),
    Pass("presize", presize.run, final=True),
)
PASS_NAMES = tuple(p.name for p in PASSES)


class OptimizerError(DaybreakError):
    """A pass produced an ill-typed or non-linear program (a bug in the pass)."""


@dataclass
class PassStats:
    name: str
    runs: int = 0
    fired: int = 0  # runs that changed the program
    seconds: float = 0.0
    rejected: int = 0  # outputs dropped because they failed verification


@dataclass
class OptimizeReport:
    """What `optimize` did: the program before and after, rounds, and per-pass statistics."""

    before: N.Program
    after: N.Program | None = None
    rounds: int = 0
    passes: dict[str, PassStats] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    # Passes whose output was dropped (without verify): "name: why", for the caller to count
    # and show (`db.stats()["fallbacks"]`; an error under strict mode).
    dropped: list[str] = field(default_factory=list)

    @property
    def fired(self) -> list[str]:
        return [name for name, s in self.passes.items() if s.fired]


def _verify_default() -> bool:
    return os.environ.get("DAYBREAK_VERIFY_PASSES", "") not in ("", "0")


def optimize(
    program: N.Program,
    *,
    passes_off: Iterable[str] | None = None,
    verify: bool | None = None,
    report: OptimizeReport | None = None,
) -> N.Program:
    """The optimised, typed copy of `program` (typed or not).

    `passes_off`: pass names to skip (`db.optimize` and `db.compile` pass
    `db.config(passes_off=...)`). `verify`: raise `OptimizerError` when a pass breaks typing or
    linearity (default: the environment variable DAYBREAK_VERIFY_PASSES). `report`: filled in
    with what happened.
    """
    off = frozenset(passes_off or ())
    unknown = off - set(PASS_NAMES)
    if unknown:
        raise ValueError(f"unknown passes {sorted(unknown)} (known: {', '.join(PASS_NAMES)})")
    verify = _verify_default() if verify is None else verify
    report = report if report is not None else OptimizeReport(program)
    report.before = program
    report.skipped = tuple(p for p in PASS_NAMES if p in off)
    with N.deep_recursion():
        start = typecheck(program)
        linear = not check_linear(start)
        # Linearity is checked after every pass when verifying; otherwise once at the end
        # (it costs about as much as type checking), and only if a pass broke it do the
        # passes run again, checked one by one, so that the culprit's output is dropped.
        current = _run_pipeline(start, off, linear and verify, verify, report)
        if linear and not verify and check_linear(current):
            report.passes.clear()
            current = _run_pipeline(start, off, True, verify, report)
    report.after = current
    return current


def _run_pipeline(current, off, linear: bool, verify: bool, report: OptimizeReport):
    for round_no in range(MAX_ROUNDS):
        report.rounds = round_no + 1
        current, changed = _run_stage(current, False, off, linear, verify, report)
        if not changed:
            break
    current, _ = _run_stage(current, True, off, linear, verify, report)
    return current


def _run_stage(current, final: bool, off, linear: bool, verify: bool, report: OptimizeReport):
    """Run the passes of one stage (the fixpoint ones, or the final ones) once, in order."""
    changed = False
    for p in PASSES:
        if p.name in off or p.final != final:
            continue
        out = _run_pass(p, current, linear, verify, report)
        if out is not None:
            current, changed = out, True
    return current, changed


def _run_pass(p: Pass, program, linear: bool, verify: bool, report: OptimizeReport):
    """The pass's output, typed and verified; None when it changed nothing (or was dropped)."""
    stats = report.passes.setdefault(p.name, PassStats(p.name))
    start = time.perf_counter()
    try:
        try:
            out = p.run(program)
        except Exception as err:  # a bug in the pass: never the user's problem
            if verify:
                raise
            return _reject(p, stats, verify, f"raised {err!r}", program, report)
        if out == program:
            return None
        try:
            typed = typecheck(out)
        except TypeCheckError as err:
            return _reject(p, stats, verify, f"does not type: {err}", out, report)
        if typed.body.ty != program.body.ty or typed.params != program.params:
            return _reject(p, stats, verify, "changed the program's signature", out, report)
        if linear and check_linear(typed):
            return _reject(p, stats, verify, f"is not linear: {check_linear(typed)}", out, report)
        stats.fired += 1
        return typed
    finally:
        stats.runs += 1
        stats.seconds += time.perf_counter() - start


def _reject(
    p: Pass, stats: PassStats, verify: bool, why: str, out: N.Program, report: OptimizeReport
):
    stats.rejected += 1
    if verify:
        from daybreak.ir.printer import format as format_ir

        raise OptimizerError(f"pass {p.name}: its output {why}\n{format_ir(out)}")
    report.dropped.append(f"{p.name}: {why.splitlines()[0]}")
    return None
