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
from .nodes import Expr, map_children
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
    """`expr` with every node's location set to `loc`."""
    return replace(map_children(expr, lambda c: relocate(c, loc)), loc=loc)


def expand(macro: MacroDef, args: tuple[Expr, ...], call: Expr, names: NameSupply) -> Expr:
    """The expansion of `macro` applied to `args` (already resolved in the caller's scope).

    `call` is the call node: its location goes to the body's nodes and its annotations to the
    result.
    """
    if len(args) != len(macro.params):
        plural = "" if len(macro.params) == 1 else "s"
        raise ParseError(
            f"macro {macro.name} takes {len(macro.params)} argument{plural}, "
            f"given {len(args)}",
            call.loc,
        )
    body = relocate(macro.body, call.loc)
    out = substitute(body, dict(zip(macro.params, args, strict=True)), names, beta=True)
    if call.annotations:
        out = replace(out, annotations=call.annotations + out.annotations)
    return out


__all__ = ["PRELUDE", "PRELUDE_NAMES", "MacroDef", "expand", "relocate"]
