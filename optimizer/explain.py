"""explain: the program before and after optimisation, the passes that fired, the loops left.

>>> print(explain("|x: vec[f64]| {result(for(x, merger[f64,+], |b, i, e| merge(b, e))), "
...               "result(for(x, merger[f64,max], |b, i, e| merge(b, e)))}"))  # doctest: +ELLIPSIS
== before (2 passes over the data) ==
...
== after (1 pass over the data) ==
...
"""

from __future__ import annotations

from daybreak.ir import nodes as N
from daybreak.ir.parser import parse
from daybreak.ir.printer import format as format_ir

from .pipeline import OptimizeReport, optimize


def data_passes(program: N.Program) -> int:
    """How many loops run over the data: `for`s not nested in another loop's body."""
    count = 0

    def visit(e: N.Expr) -> None:
        nonlocal count
        if isinstance(e, N.For):
            count += 1
            for c in e.children():
                if c is not e.func:
                    visit(c)
            return
        for c in e.children():
            visit(c)

    with N.deep_recursion():
        visit(program.body)
    return count


def _passes_text(n: int) -> str:
    return f"{n} pass{'es' if n != 1 else ''} over the data"


def explain(program: N.Program | str, *, passes_off=None) -> str:
    """A readable account of what the optimiser does to `program` (a Program or IR text)."""
    if isinstance(program, str):
        program = parse(program)
    report = OptimizeReport(program)
    after = optimize(program, passes_off=passes_off, report=report)
    lines = [f"== before ({_passes_text(data_passes(program))}) ==", format_ir(program), ""]
    lines += [f"== after ({_passes_text(data_passes(after))}) ==", format_ir(after), ""]
    lines.append(f"== passes ({report.rounds} rounds) ==")
    for name, stats in report.passes.items():
        mark = "fired" if stats.fired else "-"
        lines.append(
            f"{name:16} {mark:6} runs={stats.runs} changed={stats.fired} "
            f"{stats.seconds * 1000:.2f} ms"
            + (f" rejected={stats.rejected}" if stats.rejected else "")
        )
    for name in report.skipped:
        lines.append(f"{name:16} off")
    return "\n".join(lines)
