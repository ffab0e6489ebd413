"""cse: compute a repeated expression once, over the whole (multi-output) program.

In each scope (see scopes.py), an expression that occurs more than once, at least once where
the scope always evaluates it, that cannot fail and holds a value (not a builder), is bound
once by a `let` at the top of the scope; every occurrence of it becomes that name — including
occurrences inside loop bodies, which then stop recomputing it. Larger expressions go first,
so their parts are not bound separately for nothing.

Before:
    |a: f64, s: f64| {a * s + 1.0, (a * s + 1.0) / (a * s)}
After:
    |a: f64, s: f64| let cse__2 = a * s; let cse__1 = cse__2 + 1.0; {cse__1, cse__1 / cse__2}

Expressions that can fail (a `lookup`) are not shared: computed once at the top of the scope,
they could raise before something that raised first in the original program.

Linear in the program: one walk numbers the values (an expression's structure and the binders
of its free names) and finds, for each repeated one, the outermost scope that always evaluates
it (scopes.ScopeIndex); a second walk rewrites. An expression inside another one being shared
waits for the next walk (it is then a part of the shared value and of what is left).

>>> from daybreak.ir import parse, format
>>> from daybreak.ir.typecheck import typecheck
>>> print(format(run(typecheck(parse("|x: i64| let y = x + 1L; {y * (x * x), y - x * x}")))))
|x: i64|
  let cse__1 = x * x;
  let y = x + 1L;
  {y * cse__1, y - cse__1}
"""

from __future__ import annotations

from collections import Counter

from daybreak.ir import nodes as N
from daybreak.ir.substitute import NameSupply

from .analysis import is_field_path, is_trivial, is_value
from .memo import Facts
from .scopes import ScopeIndex, Site, overlaps, rebuild, walk_to_fixpoint


def _candidate(e: N.Expr, facts: Facts) -> bool:
    if is_trivial(e) or not is_value(e) or isinstance(e, (N.Lambda, N.Literal)):
        return False
    if isinstance(e, N.GetField) and is_field_path(e):
        return False  # as cheap as a name (and inline would substitute it back: no fixpoint)
    return not (facts.can_fail(e) or facts.needs_context(e) or facts.free_builders(e))


def _repeated(body: N.Expr) -> set[N.Expr]:
    """The expressions that occur more than once in `body` (nodes key by their structure)."""
    counts: Counter[N.Expr] = Counter()
    stack = [body]
    while stack:
        e = stack.pop()
        counts[e] += 1
        stack.extend(e.children())
    return {e for e, c in counts.items() if c > 1}


def _shares(index: ScopeIndex, facts: Facts) -> list[tuple[int, int, Site, list[Site]]]:
    """(scope, size, first strict site, sites to replace) for each value computed more than
    once where some scope always computes it: bound in the outermost such scope."""
    values: dict[tuple[N.Expr, int], list[Site]] = {}
    for site in index.sites:
        values.setdefault((site.node, site.anchor), []).append(site)
    out = []
    for sites in values.values():
        if len(sites) < 2:
            continue
        chosen: list[int] = []
        for site in sites:
            scope = index.top(site)
            if scope is None or any(index.encloses(c, scope) for c in chosen):
                continue
            inside = [s for s in sites if index.inside(s, scope)]
            if len(inside) > 1:
                chosen = [c for c in chosen if not index.encloses(scope, c)] + [scope]
        for scope in chosen:
            inside = [s for s in sites if index.inside(s, scope)]
            first = next(s for s in inside if index.eligible(s, scope))
            out.append((scope, facts.size(first.node), first, inside))
    # The order of the old scope-by-scope rewrite: outer scopes first, larger values first,
    # then in evaluation order (it also decides the names).
    out.sort(key=lambda t: (index.start[t[0]], -t[1], t[2].pos))
    return out


def _cse_once(body: N.Expr, names: NameSupply, facts: Facts) -> N.Expr:
    repeated = _repeated(body)
    index = ScopeIndex(body, lambda e: e in repeated and _candidate(e, facts), facts)
    replace_at: dict[int, tuple[int, N.Expr]] = {}
    wrap_at: dict[int, list[tuple[str, N.Expr]]] = {}
    taken: list[Site] = []
    for scope, _, first, inside in _shares(index, facts):
        if overlaps(inside, taken):
            continue  # inside (or around) a value shared in this walk: the next walk sees it
        taken.extend(inside)
        name = names.fresh("cse")
        ident = N.Ident(name, ty=first.node.ty)
        for site in inside:
            replace_at[site.pos] = (site.end, ident)
        wrap_at.setdefault(index.start[scope], []).append((name, first.node))
    return rebuild(body, replace_at, wrap_at) if replace_at else body


def run(program: N.Program) -> N.Program:
    return walk_to_fixpoint(program, _cse_once)
