"""fuse_horizontal: loops over the same data become one loop with a struct of builders.

In each scope (see scopes.py), the loops `result(for(d, B_k, f_k))` that the scope always
runs, over equal iterators `d`, that cannot fail and use no builder from outside, are
replaced by one loop, bound at the top of the scope; each old loop becomes a field of its
result. On by default (Weld left this off, so users grouped outputs by hand). A loop into a
scanner joins the others too: the fused loop then runs in order on one thread (a scan must),
and the other builders ride along the pass over the data that the scan makes anyway.

Before:
    |x: vec[f64]| {result(for(x, merger[f64,+], |b, i, e| merge(b, e))),
                   result(for(x, merger[f64,max], |b, i, e| merge(b, e))),
                   result(for(x, appender[f64], |b, i, e| merge(b, e * 2.0)))}
After:
    |x: vec[f64]| let fused__1 = result(for(x, {merger[f64,+], merger[f64,max], appender[f64]},
                      |b, i, e| {merge(b.$0, e), merge(b.$1, e), merge(b.$2, e * 2.0)}));
                  {fused__1.$0, fused__1.$1, fused__1.$2}

Linear in the program: one walk indexes the loops by iteration space with the outermost scope
that always runs each (scopes.ScopeIndex); each group fuses in the outermost scope where two
of them meet; a second walk rewrites. A loop inside (or around) a loop fused in this walk
waits for the next walk.

>>> from daybreak.ir import parse
>>> from daybreak.ir.typecheck import typecheck
>>> from daybreak.optimizer import data_passes
>>> p = typecheck(parse("|x: vec[f64]| let s = result(for(x, merger[f64,+], |b, i, e| "
...                     "merge(b, e))); let m = result(for(x, merger[f64,max], |b, i, e| "
...                     "merge(b, e))); s + m"))
>>> data_passes(p), data_passes(run(p))
(2, 1)
"""

from __future__ import annotations

from daybreak.ir import nodes as N
from daybreak.ir.substitute import NameSupply, substitute

from .memo import Facts
from .scopes import ScopeIndex, Site, overlaps, rebuild, walk_to_fixpoint


def _loop_of(e: N.Expr) -> N.For | None:
    if isinstance(e, N.Result) and isinstance(e.builder, N.For):
        return e.builder
    return None


def _fusable(e: N.Expr, facts: Facts) -> bool:
    return _loop_of(e) is not None and not (
        facts.can_fail(e) or facts.needs_context(e) or facts.free_builders(e)
    )


def _feeding_producers(index: ScopeIndex) -> set[int]:
    """The positions of the loops `L` of `let t = L; body` where `body` loops over `t`:
    vertical fusion may merge them with their consumers once those are one loop; fusing `L`
    sideways first would keep `t` in memory."""
    return {index.let_scopes[scope] for scope, _ in index.loops_over if scope in index.let_scopes}


def _groups(index: ScopeIndex) -> list[tuple[int, list[Site], list[Site]]]:
    """(scope, members, sites to replace) for each set of loops over one iteration space that
    a scope always runs, in the outermost scope where two of them meet."""
    feeding = _feeding_producers(index)
    by_space: dict[tuple, list[Site]] = {}
    for site in index.sites:
        if site.pos not in feeding and index.top(site) is not None:
            by_space.setdefault(_loop_of(site.node).iters, []).append(site)
    out = []
    for sites in by_space.values():
        if len(sites) < 2:
            continue
        chosen: list[tuple[int, list[Site]]] = []
        for site in sites:
            scope = index.top(site)
            if any(index.encloses(c, scope) for c, _ in chosen):
                continue
            members = _members([s for s in sites if index.eligible(s, scope)])
            if len(members) > 1:
                chosen = [(c, m) for c, m in chosen if not index.encloses(scope, c)]
                chosen.append((scope, members))
        for scope, members in chosen:
            loops = {m.node for m in members}
            replaced = [
                s
                for s in index.sites
                if s.pos not in feeding
                and index.inside(s, scope)
                and index.encloses(s.anchor, scope)
                and s.node in loops
            ]
            out.append((scope, members, _outermost(replaced)))
    out.sort(key=lambda t: (index.start[t[0]], t[1][0].pos))
    return out


def _members(eligible: list[Site]) -> list[Site]:
    """Distinct loops, none inside another, none containing another."""
    group: list[Site] = []
    for site in eligible:
        if any(g.node == site.node or g.contains(site) for g in group):
            continue
        group.append(site)
    return [g for g in group if not any(h is not g and g.contains(h) for h in group)]


def _outermost(sites: list[Site]) -> list[Site]:
    return [s for s in sites if not any(t is not s and t.contains(s) for t in sites)]


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


def _fuse_once(body: N.Expr, names: NameSupply, facts: Facts) -> N.Expr:
    index = ScopeIndex(body, lambda e: _fusable(e, facts), facts)
    replace_at: dict[int, tuple[int, N.Expr]] = {}
    wrap_at: dict[int, list[tuple[str, N.Expr]]] = {}
    taken: list[Site] = []
    for scope, members, replaced in _groups(index):
        if overlaps(replaced, taken):
            continue
        taken.extend(replaced)
        name = names.fresh("fused")
        fused = _fuse([m.node for m in members], names)
        field = {m.node: N.GetField(N.Ident(name), k) for k, m in enumerate(members)}
        for site in replaced:
            replace_at[site.pos] = (site.end, field[site.node])
        wrap_at.setdefault(index.start[scope], []).append((name, fused))
    return rebuild(body, replace_at, wrap_at) if replace_at else body


def run(program: N.Program) -> N.Program:
    return walk_to_fixpoint(program, _fuse_once)
