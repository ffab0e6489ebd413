"""Scopes: where a pass may hoist a shared expression to, and the occurrences it may replace.

A *scope* is an expression that runs as a whole: the program body, the body of a `let`, of a
lambda, or a branch of an `if`. Inside a scope, an occurrence is *strict* when the scope always
evaluates it (not under a lambda, an `if` branch or the right side of `&&`/`||`), and
*hoistable* when none of its free names is bound inside the scope on the way to it. A
hoistable expression that occurs strictly and cannot fail may be computed once at the top of
the scope: `let name = e; scope[e := name]` (CSE and horizontal fusion both do this).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from daybreak.ir import nodes as N

from .analysis import strict_children
from .memo import Facts


@dataclass(frozen=True)
class Occurrence:
    node: N.Expr
    strict: bool


class FreeVars:
    """free_vars with a cache by node identity (one pass over one tree)."""

    def __init__(self):
        self.facts = Facts()

    def __call__(self, e: N.Expr) -> frozenset[str]:
        return self.facts.free_vars(e)


def hoistable_occurrences(scope: N.Expr, fv: FreeVars) -> list[Occurrence]:
    """Every node of `scope` whose free names are all free in `scope` itself, in evaluation
    order, each marked strict or not."""
    out: list[Occurrence] = []

    def visit(e: N.Expr, bound: frozenset[str], strict: bool) -> None:
        if not (fv(e) & bound):
            out.append(Occurrence(e, strict))
        strict_ids = {id(c) for c in strict_children(e)}
        match e:
            case N.Let(name=name, value=value, body=body):
                visit(value, bound, strict)
                visit(body, bound | {name}, strict)
            case N.Lambda(params=params, body=body):
                visit(body, bound | {p.name for p in params}, False)
            case _:
                for c in e.children():
                    visit(c, bound, strict and id(c) in strict_ids)

    with N.deep_recursion():
        visit(scope, frozenset(), True)
    return out


def replace_hoistable(scope: N.Expr, mapping: dict[N.Expr, N.Expr], fv: FreeVars) -> N.Expr:
    """`scope` with each hoistable occurrence of a key of `mapping` replaced by its value."""
    by_key = {fv.facts.key(k): v for k, v in mapping.items()}

    def go(e: N.Expr, bound: frozenset[str]) -> N.Expr:
        hit = by_key.get(fv.facts.key(e))
        if hit is not None and not (fv(e) & bound):
            return hit
        match e:
            case N.Let(name=name, value=value, body=body):
                return replace(e, value=go(value, bound), body=go(body, bound | {name}))
            case N.Lambda(params=params, body=body):
                return replace(e, body=go(body, bound | {p.name for p in params}))
            case _:
                return N.map_children(e, lambda c: go(c, bound))

    with N.deep_recursion():
        return go(scope, frozenset())


def over_scopes(expr: N.Expr, fn: Callable[[N.Expr], N.Expr]) -> N.Expr:
    """Apply `fn` to every scope of `expr`, outermost first (`expr` itself is a scope)."""

    def visit(node: N.Expr) -> N.Expr:
        match node:
            case N.Let(value=value, body=body):
                return replace(node, value=visit(value), body=scope(body))
            case N.Lambda(body=body):
                return replace(node, body=scope(body))
            case N.If(cond=cond, then=then, else_=else_):
                return replace(node, cond=visit(cond), then=scope(then), else_=scope(else_))
            case _:
                return N.map_children(node, visit)

    def scope(node: N.Expr) -> N.Expr:
        return visit(fn(node))

    with N.deep_recursion():
        return scope(expr)


def has_free_builder(e: N.Expr, fv: FreeVars) -> bool:
    """Whether `e` uses a builder it does not create (sharing it would break linearity)."""
    free = fv(e)
    return any(
        isinstance(n, N.Ident) and n.name in free and n.ty is not None and n.ty.is_builder
        for n in e.walk()
    )


def contains(outer: N.Expr, inner: N.Expr) -> bool:
    """Whether `inner` (by identity) is a sub-node of `outer`."""
    return any(n is inner for n in outer.walk())
