"""fuse_horizontal: loops over the same data become one loop with a struct of builders.

In each scope (see scopes.py), the loops `result(for(d, B_k, f_k))` that the scope always
runs, over equal iterators `d`, that cannot fail and use no builder from outside, are
replaced by one loop, bound at the top of the scope; each old loop becomes a field of its
result. On by default (Weld left this off, so users grouped outputs by hand).

Before:
    |x: vec[f64]| {result(for(x, merger[f64,+], |b, i, e| merge(b, e))),
                   result(for(x, merger[f64,max], |b, i, e| merge(b, e))),
                   result(for(x, appender[f64], |b, i, e| merge(b, e * 2.0)))}
After:
    |x: vec[f64]| let fused__1 = result(for(x, {merger[f64,+], merger[f64,max], appender[f64]},
                      |b, i, e| {merge(b.$0, e), merge(b.$1, e), merge(b.$2, e * 2.0)}));
                  {fused__1.$0, fused__1.$1, fused__1.$2}
"""

from __future__ import annotations

from daybreak.ir import nodes as N
from daybreak.ir.substitute import NameSupply, substitute

from .analysis import can_fail, needs_context, program_names
from .scopes import (
    FreeVars,
    contains,
    has_free_builder,
    hoistable_occurrences,
    over_scopes,
    replace_hoistable,
)

_MAX_PER_SCOPE = 16


def _loop_of(e: N.Expr) -> N.For | None:
    if isinstance(e, N.Result) and isinstance(e.builder, N.For):
        return e.builder
    return None


def _candidates(scope: N.Expr, fv: FreeVars) -> list[list[N.Result]]:
    """Groups (by iterators) of distinct fusable loops, in evaluation order."""
    groups: dict[tuple[N.Iter, ...], list[N.Result]] = {}
    producers = _feeding_producers(scope)
    for occ in hoistable_occurrences(scope, fv):
        loop = _loop_of(occ.node)
        if loop is None or id(occ.node) in producers or not occ.strict:
            continue
        if can_fail(occ.node) or needs_context(occ.node) or has_free_builder(occ.node, fv):
            continue
        group = groups.setdefault(loop.iters, [])
        if occ.node in group or any(contains(g, occ.node) for g in group):
            continue
        group.append(occ.node)
    return [g for g in groups.values() if len(g) > 1]


def _feeding_producers(scope: N.Expr) -> set[int]:
    """The loops `L` of `let t = L; body` where `body` loops over `t`: vertical fusion may
    merge them with their consumers once those are one loop; fusing `L` sideways first would
    keep `t` in memory."""
    out: set[int] = set()
    for node in scope.walk():
        if isinstance(node, N.Let) and _loop_of(node.value) is not None:
            for inner in node.body.walk():
                if isinstance(inner, N.For) and any(
                    isinstance(it.data, N.Ident) and it.data.name == node.name and it.is_plain
                    for it in inner.iters
                ):
                    out.add(id(node.value))
                    break
    return out


def _fuse(results: list[N.Result], names: NameSupply) -> N.Result:
    loops = [r.builder for r in results]
    b, i, x = names.fresh("b"), names.fresh("i"), names.fresh("x")
    bodies = []
    for k, loop in enumerate(loops):
        pb, pi, px = (p.name for p in loop.func.params)
        mapping = {pb: N.GetField(N.Ident(b), k), pi: N.Ident(i), px: N.Ident(x)}
        bodies.append(substitute(loop.func.body, mapping, names))
    func = N.Lambda((N.Param(b), N.Param(i), N.Param(x)), N.MakeStruct(tuple(bodies)))
    builder = N.MakeStruct(tuple(loop.builder for loop in loops))
    return N.Result(N.For(loops[0].iters, builder, func, loc=loops[0].loc), loc=results[0].loc)


def _fuse_scope(scope: N.Expr, names: NameSupply, fv: FreeVars) -> N.Expr:
    for _ in range(_MAX_PER_SCOPE):
        groups = _candidates(scope, fv)
        if not groups:
            return scope
        group = groups[0]
        # Nested members (a loop inside another of the group) were skipped; also skip a
        # member that contains another member (its result feeds the other).
        members = [g for g in group if not any(h is not g and contains(g, h) for h in group)]
        if len(members) < 2:
            return scope
        name = names.fresh("fused")
        fused = _fuse(members, names)
        mapping = {m: N.GetField(N.Ident(name), k) for k, m in enumerate(members)}
        body = replace_hoistable(scope, mapping, fv)
        scope = N.Let(name, fused, body, loc=members[0].loc)
    return scope


def run(program: N.Program) -> N.Program:
    names = program_names(program)
    fv = FreeVars()
    body = over_scopes(program.body, lambda s: _fuse_scope(s, names, fv))
    return program if body == program.body else N.Program(program.params, body)
