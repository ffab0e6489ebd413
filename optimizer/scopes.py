"""Scopes: where a pass may hoist a shared expression to, and the occurrences it may replace.

A *scope* is an expression that runs as a whole: the program body, and each child that its
node evaluates inside names it binds or other than exactly once, as the node kind declares
(`nodes.children_with_scope`): the body of a `let` or a lambda, a branch of an `if`, the right
side of `&&`/`||`. Inside a scope, an occurrence is *strict* when the scope always evaluates it
(not inside one of those that may not run, or runs per call), and *hoistable* when none of
its free names is bound inside the scope on the way to it. A
hoistable expression that occurs strictly and cannot fail may be computed once at the top of
the scope: `let name = e; scope[e := name]` (CSE, horizontal fusion and hoisting do this).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from daybreak.ir import nodes as N

from .memo import Facts
from .names import program_names

# ----------------------------------------------------------------------------------------------
# The scope index: one walk of the whole program that says, for each node it is asked about
# (a *site*: one position in the tree), the outermost scope where the site is hoistable (its
# *anchor*: the scope opened by the innermost binder of its free names) and the outermost
# scope where it is strict. CSE and horizontal fusion read every scope's candidates from it,
# instead of rescanning each nested scope (a chain of n lets has n nested scopes: n^2 work);
# hoisting indexes a loop body (scope 0) to find what it always computes from outside names.


@dataclass
class Site:
    node: N.Expr
    pos: int  # preorder number of the position (every node visited counts one)
    end: int  # the last preorder number inside it
    anchor: int  # the outermost scope where it is hoistable
    strict_top: int | None  # the outermost scope where it is strict (None: no scope)

    def contains(self, other: Site) -> bool:
        return self.pos <= other.pos <= self.end


class ScopeIndex:
    """Scopes numbered in preorder (0 is the program body), with their preorder spans, and the
    sites of the nodes `want` selects. The traversal order is `N.map_children`'s, so a rewrite
    walking the same way can find sites by counting positions (see `rebuild`)."""

    def __init__(self, body: N.Expr, want: Callable[[N.Expr], bool], facts: Facts):
        self.facts = facts
        self.start: list[int] = []
        self.end: list[int] = []
        self.depth: list[int] = []
        self.sites: list[Site] = []
        self.let_scopes: dict[int, int] = {}  # a let's body scope -> the position of its value
        self.loops_over: list[tuple[int, int]] = []  # (let body scope, position) of plain fors
        self._want = want
        self._env: dict[str, list[int]] = {}
        self._count = 0
        with N.deep_recursion():
            self._walk(body, self._new_scope(0), 0)
        self.end[0] = self._count - 1

    def _new_scope(self, depth: int) -> int:
        self.start.append(self._count)
        self.end.append(-1)
        self.depth.append(depth)
        return len(self.start) - 1

    def _anchor(self, e: N.Expr) -> int:
        best = 0
        for name in self.facts.free_vars(e):
            stack = self._env.get(name)
            if stack and self.depth[stack[-1]] > self.depth[best]:
                best = stack[-1]
        return best

    def _bind(self, names, scope: int) -> None:
        for n in names:
            self._env.setdefault(n, []).append(scope)

    def _unbind(self, names) -> None:
        for n in names:
            self._env[n].pop()

    def _scope_walk(self, e: N.Expr, depth: int, binds, strict_top: int | None) -> None:
        """`e` is the root of a new scope, opened by binding `binds` (if any)."""
        scope = self._new_scope(depth)
        self._bind(binds, scope)
        self._walk(e, scope, scope if strict_top is None else strict_top)
        self._unbind(binds)
        self.end[scope] = self._count - 1

    def _walk(self, e: N.Expr, scope: int, strict_top: int | None) -> None:
        pos = self._count
        self._count += 1
        site = None
        if self._want(e):
            site = Site(e, pos, pos, self._anchor(e), strict_top)
            self.sites.append(site)
        if isinstance(e, N.For):
            for it in e.iters:
                if it.is_plain and isinstance(it.data, N.Ident):
                    stack = self._env.get(it.data.name)
                    if stack:
                        self.loops_over.append((stack[-1], pos))
        depth = self.depth[scope] + 1
        for child in N.children_with_scope(e):
            # a child the node may skip (a branch, the right side of `&&`) or runs per call
            # (a lambda's body) is strict nowhere above it; a let's body runs whenever the
            # let does, so strictness carries on into it
            once = child.evaluation is N.Evaluation.ONCE
            strict = strict_top if once else None
            if child.binds or not once:  # inside binders, or run apart: a scope of its own
                if isinstance(e, N.Let):
                    self.let_scopes[len(self.start)] = pos + 1  # (the value: its first child)
                self._scope_walk(child.expr, depth, child.binds, strict)
            else:
                self._walk(child.expr, scope, strict)
        if site is not None:
            site.end = self._count - 1

    def encloses(self, outer: int, inner: int) -> bool:
        """Whether scope `outer` is `inner` or one of its ancestors."""
        return self.start[outer] <= self.start[inner] and self.end[inner] <= self.end[outer]

    def inside(self, site: Site, scope: int) -> bool:
        return self.start[scope] <= site.pos <= self.end[scope]

    def top(self, site: Site) -> int | None:
        """The outermost scope where `site` is hoistable and strict; None when no scope
        always evaluates it."""
        if site.strict_top is None:
            return None
        a, s = site.anchor, site.strict_top
        return a if self.depth[a] >= self.depth[s] else s

    def eligible(self, site: Site, scope: int) -> bool:
        """Whether `site` is hoistable and strict in `scope`."""
        top = self.top(site)
        return top is not None and self.inside(site, scope) and self.encloses(top, scope)


def overlaps(sites: list[Site], taken: list[Site]) -> bool:
    """Whether a site of `sites` contains, or lies inside, a site of `taken`."""
    return any(s.contains(t) or t.contains(s) for s in sites for t in taken)


def rebuild(
    body: N.Expr,
    replace_at: dict[int, tuple[int, N.Expr]],
    wrap_at: dict[int, list[tuple[str, N.Expr]]],
) -> N.Expr:
    """`body` with the site at each position `p` of `replace_at` (`p: (end, new)`) replaced by
    `new` (its subtree, up to position `end`, skipped), and the scope rooted at each position
    of `wrap_at` wrapped in its `(name, value)` lets, the first innermost. Positions count as
    ScopeIndex counts them."""
    count = 0

    def go(e: N.Expr) -> N.Expr:
        nonlocal count
        pos = count
        hit = replace_at.get(pos)
        if hit is not None:
            count = hit[0] + 1
            return hit[1]
        count += 1
        out = N.map_children(e, go)
        for name, value in wrap_at.get(pos, ()):
            out = N.Let(name, value, out, ty=out.ty, loc=value.loc)
        return out

    with N.deep_recursion():
        return go(body)


MAX_WALKS = 16  # index-and-rewrite walks per run: each is linear in the program


def walk_to_fixpoint(program: N.Program, walk: Callable) -> N.Program:
    """Run `walk(body, names, facts)` (one index-and-rewrite walk, returning the body itself
    when it changes nothing) until it changes nothing, at most MAX_WALKS times: each walk
    rewrites what is not inside something else it rewrites, so nested sites take more."""
    names = program_names(program)
    facts = Facts()
    body = program.body
    for _ in range(MAX_WALKS):
        new = walk(body, names, facts)
        if new is body:
            break
        body = new
    return program if body == program.body else N.Program(program.params, body)
