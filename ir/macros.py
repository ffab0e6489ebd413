"""Macros: Weld's standard macros and the expansion of macro calls (hygienic).

A macro is `macro name(p1, p2) = body;` at the top of a program. A call `name(a1, a2)`, where
`name` is not bound by an enclosing `let` or lambda, is replaced by the body with the
arguments substituted for the parameters:

* hygiene: a name bound inside the body (a `let` or a lambda parameter) is renamed when it
  would capture a name the arguments use, and the body's own calls (`result`, `select`, ...)
  were resolved where the macro was defined, so a caller's `let select = ...` cannot change
  them;
* a parameter applied in the body (`func(x)`) to an argument that is a lambda is reduced on
  the spot, so `map(v, |x| x + 1)` gives `merge(b, x + 1)`, as in docs/ir.md.

Every node that comes from the body takes the location of the call, so errors inside an
expansion point at the call.

>>> from daybreak.ir.parser import parse
>>> from daybreak.ir.printer import format
>>> print(format(parse("|v: vec[i32]| map(v, |x| x + 1)")))
|v: vec[i32]|
  result(for(v, appender[?], |b, i, x| merge(b, x + 1)))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .errors import Loc, ParseError
from .nodes import Expr, rebuild
from .substitute import NameSupply, substitute

# Weld's standard macros (docs/ir.md, "Macros"), written as Weld writes them. They are parsed
# once, with the parser itself, and are visible in every program.
PRELUDE = """
macro map(data, func) = result(for(data, appender, |b, i, x| merge(b, func(x))));
macro filter(data, func) = result(for(data, appender, |b, i, x| if(func(x), merge(b, x), b)));
macro flatten(data) =
  result(for(data, appender, |b, i, x| for(x, b, |b2, i2, y| merge(b2, y))));
macro compare(a, b) = select(a < b, -1, select(b < a, 1, 0));
"""


PRELUDE_NAMES = tuple(re.findall(r"macro\s+([A-Za-z_][A-Za-z0-9_]*)", PRELUDE))


@dataclass(frozen=True)
class MacroDef:
    """A macro: its parameters and its body (calls in the body already resolved)."""

    name: str
    params: tuple[str, ...]
    body: Expr
    loc: Loc | None = None


def relocate(expr: Expr, loc: Loc | None) -> Expr:
    """`expr` with every node's location set to `loc` (a subtree shared by several parents
    is copied once)."""
    done: dict[int, Expr] = {}
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:  # children first, without recursion: macro bodies nest as deep as programs
        node, kids_done = stack.pop()
        if kids_done:
            done[id(node)] = rebuild(node, [done[id(k)] for k in node.children()], loc=loc)
        elif id(node) not in done:
            stack.append((node, True))
            stack.extend((k, False) for k in node.children())
    return done[id(expr)]


# Macros may call macros, so a few lines can expand to more nodes than memory holds (each of
# 40 macros calling the one before twice: 2^40). Beyond this many added nodes, expansion stops
# (a program that size already takes seconds to type-check; expanding it takes about as long).
MAX_EXPANDED_NODES = 250_000


class ExpansionBudget:
    """How many nodes macro expansion may still add to one program.

    An expansion adds the nodes of its result less those of the call it replaces (the
    arguments' nodes were there already). Sizes are those of the tree, counted once per
    distinct node (an expansion shares its arguments rather than copying them).
    """

    def __init__(self, limit: int | None = None):
        self.limit = MAX_EXPANDED_NODES if limit is None else limit
        self.left = self.limit
        self._sizes: dict[int, tuple[Expr, int]] = {}  # id -> (the node, kept alive; its size)

    def spend(self, expansion: Expr, call: Expr, args: tuple[Expr, ...]) -> None:
        added = self.size(expansion) - 1 - sum(self.size(a) for a in args)
        self.left -= max(added, 0)
        if self.left < 0:
            raise ParseError(
                f"macro expansion makes the program too large (more than {self.limit:,} "
                "nodes added by macros); a macro calling another several times multiplies "
                "its size",
                call.loc,
            )

    def size(self, expr: Expr) -> int:
        """The number of nodes of `expr` as a tree."""
        sizes = self._sizes
        stack = [(expr, False)]
        while stack:
            node, kids_done = stack.pop()
            if id(node) in sizes:
                continue
            if kids_done:
                total = 1 + sum(sizes[id(k)][1] for k in node.children())
                sizes[id(node)] = (node, total)
            else:
                stack.append((node, True))
                stack.extend((k, False) for k in node.children() if id(k) not in sizes)
        return sizes[id(expr)][1]


def expand(
    macro: MacroDef,
    args: tuple[Expr, ...],
    call: Expr,
    names: NameSupply,
    budget: ExpansionBudget | None = None,
) -> Expr:
    """The expansion of `macro` applied to `args` (already resolved in the caller's scope).

    `call` is the call node: its location goes to the body's nodes and its annotations to the
    result. `budget` (one per program) bounds how much expansions may add.
    """
    if len(args) != len(macro.params):
        plural = "" if len(macro.params) == 1 else "s"
        raise ParseError(
            f"macro {macro.name} takes {len(macro.params)} argument{plural}, given {len(args)}",
            call.loc,
        )
    body = relocate(macro.body, call.loc)
    out = substitute(body, dict(zip(macro.params, args, strict=True)), names, beta=True)
    if call.annotations:
        out = replace(out, annotations=call.annotations + out.annotations)
    (budget or ExpansionBudget()).spend(out, call, args)
    return out


__all__ = [
    "PRELUDE",
    "PRELUDE_NAMES",
    "MAX_EXPANDED_NODES",
    "ExpansionBudget",
    "MacroDef",
    "expand",
    "relocate",
]
