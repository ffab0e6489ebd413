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
from .analysis import is_trivial, is_value
from .memo import Facts
from .names import program_names
from .rules import Pat, Rule, rewrite
from .scopes import ScopeIndex, rebuild


def _candidate(e: N.Expr, facts: Facts) -> bool:
    if is_trivial(e) or not is_value(e) or isinstance(e, (N.Lambda, N.Literal)):
        return False
    if isinstance(e, N.GetField) and isinstance(e.expr, N.Ident):
        return False
    return not (facts.can_fail(e) or facts.needs_context(e) or facts.free_builders(e))


def _hoist(result: N.Result, names: NameSupply, facts: Facts) -> N.Expr | None:
    loop: N.For = result.builder
    params = frozenset(p.name for p in loop.func.params)
    # The loop body is scope 0 of its index: a site anchored there uses nothing bound inside
    # the body; one whose top is scope 0 is also always evaluated by it.
    index = ScopeIndex(
        loop.func.body, lambda e: _candidate(e, facts) and not facts.free_vars(e) & params, facts
    )
    found = [site for site in index.sites if index.top(site) == 0]
    if not found:
        return None
    best = max(found, key=lambda site: facts.size(site.node))  # the largest: its parts go with it
    name = names.fresh("inv")
    ident = N.Ident(name, ty=best.node.ty)
    replace_at = {
        site.pos: (site.end, ident)
        for site in index.sites
        if site.anchor == 0 and site.node == best.node
    }
    body = rebuild(loop.func.body, replace_at, {})
    new_loop = replace(loop, func=replace(loop.func, body=body))
    return N.Let(
        name, best.node, replace(result, builder=new_loop), ty=result.ty, loc=best.node.loc
    )


def run(program: N.Program) -> N.Program:
    names, facts = program_names(program), Facts()
    # At `result(for ...)`, so the `let` goes around the whole value.
    rules = [
        Rule(
            "hoist-invariant",
            Pat(N.Result, name="result", builder=Pat(N.For)),
            lambda m: _hoist(m["result"], names, facts),
        )
    ]
    body = rewrite(program.body, rules)
    if body == program.body:
        return program
    # An inner loop's invariant hoisted again by the outer loop leaves `let inv__1 = inv__2`;
    # a hoisted `let` inside another let's value floats out (fold's let-float).
    return fold.run(inline.run(N.Program(program.params, body)))
