"""inline: substitute `let`s that are trivial or used once, and apply lambdas.

Rewrites, each only where the program keeps its meaning:
* `(|x| body)(a)` -> `body` with `a` for `x` (a `let` when `a` is not a name or literal);
* `let f = |x| ...; ... f(a) ...` -> the lambda applied in place (lambdas are not values);
* `let s = {a, b}; ... s.$0 ... s.$1` -> `let s0 = a; let s1 = b; ... s0 ... s1` (when `s`
  is only read field by field; the lets keep the evaluation order);
* `let x = name_or_literal_or_field_of_name; body` -> `body[x := name_or_literal]`;
* `let x = e; body` with `x` used once -> `body[x := e]`, unless the use is inside a lambda
  (a loop body would compute `e` on every iteration) or `e` can fail and moving it would
  change which runtime error comes first.

Before:
    let t = result(for(v, appender[f64], |b, i, x| merge(b, x * 2.0)));
    let k = 3.0;
    result(for(t, merger[f64,+], |b, i, y| merge(b, y + k)))
After:
    result(for(result(for(v, appender[f64], |b, i, x| merge(b, x * 2.0))), merger[f64,+],
               |b, i, y| merge(b, y + 3.0)))
"""

from __future__ import annotations

from daybreak.ir import nodes as N
from daybreak.ir.substitute import NameSupply, beta_reduce, substitute

from .analysis import is_field_path, is_trivial, use_is_first
from .memo import Binder, Facts, count_uses
from .names import program_names
from .rules import Pat, Rule, rewrite
from .uses import field_reads, rewrite_uses


def _rules(names: NameSupply, facts: Facts) -> list[Rule]:
    def beta(m):
        app: N.Apply = m["app"]
        lam: N.Lambda = app.func
        if len(lam.params) != len(app.args):
            return None
        return beta_reduce(lam, app.args, names)

    def let_lambda(m):
        let: N.Let = m["let"]
        return substitute(let.body, {let.name: let.value}, names, beta=True)

    def let_struct(m):
        # `let s = {a, b}; ... s.$0 ... s.$1` -> `let s0 = a; let s1 = b; ... s0 ... s1`
        let: N.Let = m["let"]
        if let.annotations or field_reads(let.body, let.name, facts) is None:
            return None
        elems = let.value.elems
        fresh = [names.fresh(let.name) for _ in elems]

        def read_field(e: N.Expr, _) -> N.Expr | None:
            # `s.$k` -> `sk`: every use of `s` is a field read (fresh names cannot be captured)
            if isinstance(e, N.GetField) and isinstance(e.expr, N.Ident):
                return N.Ident(fresh[e.index], ty=e.ty, loc=e.loc)
            return None

        body = rewrite_uses(let.body, let.name, facts, read_field)
        for name, elem in reversed(list(zip(fresh, elems, strict=True))):
            body = N.Let(name, elem, body, loc=let.loc)
        return body

    return [
        Rule(
            "let-struct",
            Pat(N.Let, name="let", value=Pat(N.MakeStruct), where=_is_value_let),
            let_struct,
        ),
        Rule("beta", Pat(N.Apply, name="app", func=Pat(N.Lambda)), beta),
        Rule("let-lambda", Pat(N.Let, name="let", value=Pat(N.Lambda)), let_lambda),
    ]


def _is_value_let(let: N.Let) -> bool:
    return let.value.ty is not None and let.value.ty.is_value


# ----------------------------------------------------------------------------------------------
# Lets used once or trivial: one walk down the tree with the substitutions to make, so a chain
# of thousands of lets costs linear time (a rule per let would rebuild the chain each time).


class _LetInliner:
    def __init__(self, names: NameSupply, counts: dict[int, Binder]):
        self.names = names
        self.counts = counts
        self.facts = Facts()

    def _inlinable(self, let: N.Let, value: N.Expr) -> bool:
        if let.annotations:
            return False
        if is_trivial(value) or (
            is_field_path(value) and value.ty is not None and value.ty.is_value
        ):
            return True
        info = self.counts.get(id(let))
        if info is None or info.uses != 1 or info.in_lambda:
            return False
        return not self.facts.can_fail(value) or use_is_first(let.body, let.name, self.facts)

    def run(self, e: N.Expr, env: dict[str, N.Expr], env_fv: frozenset[str]) -> N.Expr:
        """`e` with the names of `env` replaced by their values and the lets it may inline
        inlined; `env_fv` are the free names of those values (binders must not capture them)."""
        if type(e) is N.Ident:
            return env.get(e.name, e)
        if type(e) is not N.Let:
            return self._scoped(e, [], env, env_fv)
        value = self.run(e.value, env, env_fv)
        if self._inlinable(e, value):
            inner = {**env, e.name: value}
            return self.run(e.body, inner, env_fv | self.facts.free_vars(value))
        return self._scoped(e, [value], env, env_fv)

    def _scoped(self, e: N.Expr, kids: list[N.Expr], env, env_fv: frozenset[str]) -> N.Expr:
        """`e` rebuilt from its children (the first `len(kids)` of them run already), each run
        inside the names `e` binds around it (as its kind declares)."""
        renamed: dict[str, str] = {}
        for child in N.children_with_scope(e)[len(kids) :]:
            inner = env
            for name in child.binds:
                inner = self._enter(name, inner, env_fv, renamed)
            kids.append(self.run(child.expr, inner, env_fv))
        return N.rebuild(e, kids, rename=renamed)

    def _enter(self, name: str, env: dict[str, N.Expr], env_fv: frozenset[str], renamed):
        """The substitution inside a binder of `name`: shadowing drops the name from `env`; a
        binder that would capture a substituted value's free name is renamed (once per node,
        in `renamed`)."""
        inner = {k: v for k, v in env.items() if k != name} if name in env else env
        if name in env_fv:
            if name not in renamed:
                renamed[name] = self.names.fresh(name)
            inner = {**inner, name: N.Ident(renamed[name])}
        return inner


def run(program: N.Program) -> N.Program:
    names = program_names(program)
    body = rewrite(program.body, _rules(names, Facts()))
    with N.deep_recursion():
        body = _LetInliner(names, count_uses(body)).run(body, {}, frozenset())
    return program if body == program.body else N.Program(program.params, body)
