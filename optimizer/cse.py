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
"""

from __future__ import annotations

from collections import Counter

from daybreak.ir import nodes as N
from daybreak.ir.substitute import NameSupply

from .analysis import can_fail, is_trivial, is_value, needs_context, program_names
from .scopes import (
    FreeVars,
    has_free_builder,
    hoistable_occurrences,
    over_scopes,
    replace_hoistable,
)

_MAX_PER_SCOPE = 32  # bound the work on one scope; the pipeline's next round continues


def _candidate(e: N.Expr, fv: FreeVars) -> bool:
    if is_trivial(e) or not is_value(e) or isinstance(e, (N.Lambda, N.Literal)):
        return False
    if isinstance(e, N.GetField) and isinstance(e.expr, N.Ident):
        return False  # as cheap as a name
    return not can_fail(e) and not needs_context(e) and not has_free_builder(e, fv)


def _cse_scope(scope: N.Expr, names: NameSupply, fv: FreeVars) -> N.Expr:
    for _ in range(_MAX_PER_SCOPE):
        occurrences = hoistable_occurrences(scope, fv)
        key = fv.facts.key
        counts = Counter(key(o.node) for o in occurrences)
        strict = {key(o.node): o.node for o in occurrences if o.strict}
        repeated = [e for k, e in strict.items() if counts[k] > 1 and _candidate(e, fv)]
        if not repeated:
            return scope
        best = max(repeated, key=fv.facts.size)
        name = names.fresh("cse")
        ident = N.Ident(name, ty=best.ty)
        body = replace_hoistable(scope, {best: ident}, fv)
        scope = N.Let(name, best, body, ty=scope.ty, loc=best.loc)
    return scope


def run(program: N.Program) -> N.Program:
    names = program_names(program)
    fv = FreeVars()
    body = over_scopes(program.body, lambda s: _cse_scope(s, names, fv))
    return program if body == program.body else N.Program(program.params, body)
