"""Small local rewrites as data: `(pattern, rewrite)` rules and the one driver that runs them.

A `Pat` describes a node shape and names the parts it wants; a `Rule` pairs a pattern with a
function from those named parts to the replacement (or None: "does not apply after all").
`rewrite(expr, rules)` applies the rules bottom-up, again and again, until none fires
(tinygrad's PatternMatcher, sqlglot's optimizer rules).

>>> from daybreak.ir.parser import parse_expr
>>> from daybreak.ir.printer import format
>>> double_neg = Rule("neg-neg", Pat(N.Op, op="neg", args=(Pat(N.Op, op="neg", args=(X,)),)),
...                   lambda m: m["x"])
>>> format(rewrite(parse_expr("-(-(y))"), [double_neg]))
'y'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from daybreak.ir import nodes as N

Match = dict[str, Any]


@dataclass(frozen=True)
class Pat:
    """A node pattern.

    `kind`: the node class (None: any node). `name`: bind the matched node under this name.
    `fields`: node attribute -> a `Pat`, a tuple of `Pat`s (for tuple attributes), or a plain
    value the attribute must equal (or a set of values it must be in). `where`: a predicate
    on the node.
    """

    kind: type | None = None
    name: str | None = None
    where: Callable[[N.Expr], bool] | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def __init__(self, kind=None, name=None, where=None, **fields):
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "where", where)
        object.__setattr__(self, "fields", fields)

    def match(self, node: Any, out: Match) -> bool:
        if self.kind is not None and type(node) is not self.kind:
            return False
        for attr, want in self.fields.items():
            if not _match_value(want, getattr(node, attr, None), out):
                return False
        if self.where is not None and not self.where(node):
            return False
        if self.name is not None:
            if self.name in out and out[self.name] != node:
                return False  # a name bound twice must match equal nodes (x - x)
            out[self.name] = node
        return True


def _match_value(want, value, out: Match) -> bool:
    if isinstance(want, Pat):
        return value is not None and want.match(value, out)
    if isinstance(want, tuple):
        return (
            isinstance(value, tuple)
            and len(value) == len(want)
            and all(_match_value(w, v, out) for w, v in zip(want, value, strict=True))
        )
    if isinstance(want, (set, frozenset)):
        return value in want
    return value == want


def var(name: str, where: Callable[[N.Expr], bool] | None = None) -> Pat:
    """Any node, bound to `name`."""
    return Pat(None, name=name, where=where)


X, Y, Z = var("x"), var("y"), var("z")


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: Pat
    rewrite: Callable[[Match], N.Expr | None]


class RuleSet:
    """Rules indexed by the node class their pattern matches, so each node tries only its own."""

    def __init__(self, rules: Sequence[Rule]):
        self.rules = tuple(rules)
        self.by_kind: dict[type | None, list[Rule]] = {}
        for r in self.rules:
            self.by_kind.setdefault(r.pattern.kind, []).append(r)

    def candidates(self, node: N.Expr) -> list[Rule]:
        return self.by_kind.get(type(node), []) + self.by_kind.get(None, [])


def apply_once(
    node: N.Expr, rules: RuleSet, fired: dict[str, int] | None, finish=None
) -> N.Expr | None:
    """The first rule's rewrite of `node` itself, or None when no rule applies. `finish(old,
    new)`, when given, adjusts each replacement (e.g. to keep a type the context gave)."""
    for rule in rules.candidates(node):
        m: Match = {}
        if rule.pattern.match(node, m):
            new = rule.rewrite(m)
            if new is not None and finish is not None:
                new = finish(node, new)
            if new is not None and new is not node:
                if fired is not None:
                    fired[rule.name] = fired.get(rule.name, 0) + 1
                return new
    return None


_MAX_STEPS_PER_NODE = 50


def rewrite(
    expr: N.Expr,
    rules: Sequence[Rule] | RuleSet,
    fired: dict[str, int] | None = None,
    finish=None,
) -> N.Expr:
    """Apply `rules` bottom-up until no rule fires anywhere. `fired` counts firings by rule;
    `finish` see `apply_once`."""
    ruleset = rules if isinstance(rules, RuleSet) else RuleSet(rules)
    # Nodes already in normal form, by identity (holding them keeps their ids unique): after
    # a rewrite, only the parts of the replacement that are new get visited again.
    done: dict[int, N.Expr] = {}

    def go(node: N.Expr) -> N.Expr:
        if done.get(id(node)) is node:
            return node
        node = N.map_children(node, go)
        for _ in range(_MAX_STEPS_PER_NODE):
            new = apply_once(node, ruleset, fired, finish)
            if new is None:
                break
            node = N.map_children(new, go)
        done[id(node)] = node
        return node

    with N.deep_recursion():
        return go(expr)
