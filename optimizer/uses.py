"""Scoped walks: the optimizer's one way to walk or rewrite a tree by the free uses of a
name. Which names a node binds around each child, and how often it evaluates it, is what each
node kind declares (`nodes.children_with_scope`); these walks read that declaration, so no
pass writes a case per binder.

They enter only the subtrees where the name is free: what the passes that rewrite a `let` by
its uses (fuse_consumer, fuse_gather, vertical fusion of a shared map, dce, inline) need, at a
cost that grows with the paths to the uses, not with the whole body. A pass asks this of
every loop bound by `let`; scanning each body whole would be quadratic in a long chain.

>>> from daybreak.ir.parser import parse_expr
>>> from daybreak.ir.printer import format
>>> from daybreak.optimizer.memo import Facts
>>> e = parse_expr("let a = y + 1L; {a, x * 2L, |x: i64| x}")
>>> [type(n).__name__ for n, _ in UseWalk("x", Facts()).nodes(e)]
['Let', 'MakeStruct', 'Op', 'Ident']
>>> s = parse_expr("{s.$1, |s: i64| s.$0}")
>>> format(rewrite_uses(s, "s", Facts(), lambda n, _: N.Ident("t") if n == s.elems[0] else None))
'{t, |s: i64| s.$0}'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from daybreak.ir import nodes as N

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
        if self.name in self.facts.free_vars(root):
            with N.deep_recursion():
                self._visit(root, Where(0, True), fn)

    def visit_below(self, e: N.Expr, where: Where, fn) -> None:
        """`visit` from inside a call of `fn`: a sub-node `e` of the node at `where`."""
        if self.name in self.facts.free_vars(e):
            self._visit(e, where, fn)

    def _visit(self, e: N.Expr, where: Where, fn) -> None:
        if fn(e, where):
            return
        name, free_vars = self.name, self.facts.free_vars
        for child in self.facts.scoped_children(e):
            binds = child.binds
            if name in binds or name not in free_vars(child.expr):
                continue  # no use in there (or the name is another one in there)
            inner = where if child.evaluation is _ONCE else _below(where, child.evaluation)
            if not binds:
                self._visit(child.expr, inner, fn)
                continue
            self.enter(binds)
            self._visit(child.expr, inner, fn)
            self.leave(binds)

    def enter(self, names) -> None:
        for n in names:
            self.bound[n] += 1

    def leave(self, names) -> None:
        for n in names:
            self.bound[n] -= 1


_ONCE = N.Evaluation.ONCE


def _below(where: Where, evaluation: N.Evaluation) -> Where:
    """Where a child sits, evaluated as its parent declares: a lambda's body one lambda
    deeper, and anything not evaluated exactly once no longer strict."""
    if evaluation is N.Evaluation.ONCE:
        return where
    return Where(where.lambdas + (evaluation is N.Evaluation.PER_CALL), False)


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
        kids = []
        for child in facts.scoped_children(e):
            binds = child.binds
            if name in binds or name not in facts.free_vars(child.expr):
                kids.append(child.expr)  # no use in there (or the name is another one in there)
            elif not binds:
                kids.append(go(child.expr))
            else:
                walk.enter(binds)
                kids.append(go(child.expr))
                walk.leave(binds)
        return N.rebuild(e, kids)

    with N.deep_recursion():
        return go(root)


def field_reads(body: N.Expr, name: str, facts: Facts) -> set[int] | None:
    """The fields `k` of `name.$k` that `body` reads (along the paths to the uses only); None
    when it uses `name` otherwise."""
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
