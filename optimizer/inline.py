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

from dataclasses import replace

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
        match e:
            case N.Ident(name=n) if n in env:
                return env[n]
            case N.Let(name=n, value=v, body=b):
                value = self.run(v, env, env_fv)
                if self._inlinable(e, value):
                    inner = {**env, n: value}
                    return self.run(b, inner, env_fv | self.facts.free_vars(value))
                name, inner, inner_fv = self._enter(n, env, env_fv)
                body = self.run(b, inner, inner_fv)
                if (name, value, body) == (n, v, b):
                    return e
                return replace(e, name=name, value=value, body=body)
            case N.Lambda(params=params, body=b):
                inner, inner_fv = env, env_fv
                new_params = []
                for p in params:
                    name, inner, inner_fv = self._enter(p.name, inner, inner_fv)
                    new_params.append(replace(p, name=name))
                return replace(e, params=tuple(new_params), body=self.run(b, inner, inner_fv))
            case _:
                return N.map_children(e, lambda c: self.run(c, env, env_fv))

    def _enter(self, name: str, env: dict[str, N.Expr], env_fv: frozenset[str]):
        """A binder inside the substitution: shadowing drops its name from `env`; a binder
        that would capture a substituted value's free name is renamed."""
        inner = {k: v for k, v in env.items() if k != name} if name in env else env
        if name in env_fv:
            new = self.names.fresh(name)
            inner = {**inner, name: N.Ident(new)}
            return new, inner, env_fv
        return name, inner, env_fv


def run(program: N.Program) -> N.Program:
    names = program_names(program)
    body = rewrite(program.body, _rules(names, Facts()))
    with N.deep_recursion():
        body = _LetInliner(names, count_uses(body)).run(body, {}, frozenset())
    return program if body == program.body else N.Program(program.params, body)
