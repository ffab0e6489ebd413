"""hoist: compute loop-invariant expressions once, before the loop (loop-invariant code motion).

In the body of `result(for(d, B, |b, i, x| body))`, an expression that uses none of `b`, `i`,
`x` nor anything bound inside the body, that the body always evaluates, that cannot fail and
holds a value, is computed once by a `let` wrapped around the loop. (It cannot fail, so
computing it even when the loop runs zero times changes nothing.) The pipeline runs this pass
once, after the others reach their fixpoint: a `let` around a loop would hide it from fusion.

Before:
    |v: vec[f64], s: f64| result(for(v, appender[f64], |b, i, x| merge(b, x * exp(s))))
After:
    |v: vec[f64], s: f64| let inv__1 = exp(s);
                          result(for(v, appender[f64], |b, i, x| merge(b, x * inv__1)))
"""

from __future__ import annotations

from dataclasses import replace

from daybreak.ir import nodes as N
from daybreak.ir.substitute import NameSupply

from . import fold, inline
from .analysis import can_fail, is_trivial, is_value, needs_context, program_names
from .rules import Pat, Rule, rewrite
from .scopes import FreeVars, has_free_builder, hoistable_occurrences, replace_hoistable


def _candidate(e: N.Expr, params: frozenset[str], fv: FreeVars) -> bool:
    if is_trivial(e) or not is_value(e) or isinstance(e, (N.Lambda, N.Literal)):
        return False
    if isinstance(e, N.GetField) and isinstance(e.expr, N.Ident):
        return False
    if fv(e) & params:
        return False
    return not can_fail(e) and not needs_context(e) and not has_free_builder(e, fv)


def _rules(names: NameSupply, fv: FreeVars) -> list[Rule]:
    def hoist(m):
        result: N.Result = m["result"]
        loop: N.For = result.builder
        params = frozenset(p.name for p in loop.func.params)
        found = [
            o.node
            for o in hoistable_occurrences(loop.func.body, fv)
            if o.strict and _candidate(o.node, params, fv)
        ]
        if not found:
            return None
        best = max(found, key=fv.facts.size)  # the largest: its parts go with it
        name = names.fresh("inv")
        body = replace_hoistable(loop.func.body, {best: N.Ident(name, ty=best.ty)}, fv)
        new_loop = replace(loop, func=replace(loop.func, body=body))
        return N.Let(name, best, replace(result, builder=new_loop), ty=result.ty, loc=best.loc)

    # At `result(for ...)`, so the `let` goes around the whole value.
    return [Rule("hoist-invariant", Pat(N.Result, name="result", builder=Pat(N.For)), hoist)]


def run(program: N.Program) -> N.Program:
    fv = FreeVars()
    body = rewrite(program.body, _rules(program_names(program), fv))
    if body == program.body:
        return program
    # An inner loop's invariant hoisted again by the outer loop leaves `let inv__1 = inv__2`;
    # a hoisted `let` inside another let's value floats out (fold's let-float).
    return fold.run(inline.run(N.Program(program.params, body)))
