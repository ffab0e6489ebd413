"""Walks that enter only the subtrees where one name is free: what the passes that rewrite a
`let` by its uses (fuse_consumer, fuse_gather, vertical fusion of a shared map) need, at a
cost that grows with the paths to the uses, not with the whole body. A pass asks this of
every loop bound by `let`; scanning each body whole would be quadratic in a long chain.

>>> from daybreak.ir.parser import parse_expr
>>> from daybreak.optimizer.memo import Facts
>>> e = parse_expr("let a = y + 1L; {a, x * 2L, |x: i64| x}")
>>> [type(n).__name__ for n, _ in UseWalk("x", Facts()).nodes(e)]
['Let', 'MakeStruct', 'Op', 'Ident']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from daybreak.ir import nodes as N

from .analysis import strict_children
from .memo import Facts


@dataclass(frozen=True)
class Where:
    """Where a node sits below the walk's root: how many lambdas deep, and whether the root
    always evaluates it."""

    lambdas: int
    strict: bool


class UseWalk:
    """The nodes on the way to the free uses of `name`, in evaluation order; `bound` counts
    the names bound around the current node (inside the root) while the walk is there."""

    def __init__(self, name: str, facts: Facts):
        self.name = name
        self.facts = facts
        self.bound: Counter[str] = Counter()

    def rebinds(self, names) -> bool:
        """Whether any of `names` is bound around the current node (inside the root)."""
        return any(self.bound[n] for n in names)

    def nodes(self, root: N.Expr):
        """(node, Where) pairs, parents first."""
        out: list[tuple[N.Expr, Where]] = []
        self.visit(root, lambda e, where: out.append((e, where)) or False)
        return out

    def visit(self, root: N.Expr, fn: Callable[[N.Expr, Where], bool]) -> None:
        """Call `fn(node, where)` on each node on the way to a use, parents first; `fn`
        returns True to leave that node's subtree out."""
        with N.deep_recursion():
            self._visit(root, Where(0, True), fn)

    def visit_below(self, e: N.Expr, where: Where, fn) -> None:
        """`visit` from inside a call of `fn`: a sub-node `e` of the node at `where`."""
        self._visit(e, where, fn)

    def _visit(self, e: N.Expr, where: Where, fn) -> None:
        if self.name not in self.facts.free_vars(e) or fn(e, where):
            return
        if isinstance(e, N.Let):
            self._visit(e.value, where, fn)
            if e.name != self.name:
                self.bound[e.name] += 1
                self._visit(e.body, where, fn)
                self.bound[e.name] -= 1
            return
        self._children(e, where, fn)

    def _children(self, e: N.Expr, where: Where, fn) -> None:
        if isinstance(e, N.Lambda):
            params = [p.name for p in e.params]
            if self.name in params:
                return
            for p in params:
                self.bound[p] += 1
            self._visit(e.body, Where(where.lambdas + 1, False), fn)
            for p in params:
                self.bound[p] -= 1
            return
        strict = {id(c) for c in strict_children(e)} if where.strict else ()
        for c in e.children():
            self._visit(c, where if id(c) in strict else Where(where.lambdas, False), fn)


def rewrite_uses(
    root: N.Expr, name: str, facts: Facts, fn: Callable[[N.Expr, UseWalk], N.Expr | None]
) -> N.Expr:
    """`root` rebuilt along the paths to the free uses of `name`: each node there for which
    `fn(node, walk)` gives a replacement is replaced (and not entered)."""
    walk = UseWalk(name, facts)

    def go(e: N.Expr) -> N.Expr:
        if name not in facts.free_vars(e):
            return e
        new = fn(e, walk)
        if new is not None:
            return new
        match e:
            case N.Let(name=n, value=v, body=b):
                value = go(v)
                if n == name:
                    return e if value is v else replace(e, value=value)
                walk.bound[n] += 1
                body = go(b)
                walk.bound[n] -= 1
                return e if value is v and body is b else replace(e, value=value, body=body)
            case N.Lambda(params=params, body=b):
                names = [p.name for p in params]
                if name in names:
                    return e
                for p in names:
                    walk.bound[p] += 1
                body = go(b)
                for p in names:
                    walk.bound[p] -= 1
                return e if body is b else replace(e, body=body)
            case _:
                return N.map_children(e, go)

    with N.deep_recursion():
        return go(root)


def field_reads(body: N.Expr, name: str, facts: Facts) -> set[int] | None:
    """analysis.field_reads along the paths to the uses only: the fields `k` of `name.$k`
    that `body` reads; None when it uses `name` otherwise."""
    found: set[int] = set()
    whole = False

    def see(e: N.Expr, where: Where) -> bool:
        nonlocal whole
        if isinstance(e, N.GetField) and isinstance(e.expr, N.Ident) and e.expr.name == name:
            found.add(e.index)
            return True
        whole |= isinstance(e, N.Ident)
        return whole

    UseWalk(name, facts).visit(body, see)
    return None if whole else found
