"""Fresh names for the optimizer: one supply per pass run, seeded with every name of the
program, so no name a pass makes can meet one the program has (or one it made before).

Passes draw from it for the names they bind (`cse__1`, `inv__1`, `fused__1`), for binders
they rename to avoid capture, and through `freshen`, which renames every binder of code that
is about to be placed inside other code (a loop body spliced into another loop).

>>> from daybreak.ir import parse, format
>>> names = program_names(parse("|x: i64| let y = x; y"))
>>> names.fresh("y"), names.fresh("y")
('y__1', 'y__2')
>>> print(format(freshen(parse("|x: i64| let y = x; y").body, names)))
let y__3 = x;
y__3
"""

from __future__ import annotations

from dataclasses import replace

from daybreak.ir import nodes as N
from daybreak.ir.substitute import NameSupply, names_in


def program_names(program: N.Program) -> NameSupply:
    """The supply for one pass run over `program`."""
    return NameSupply(names_in(program.body) | {p.name for p in program.params})


def freshen(expr: N.Expr, names: NameSupply) -> N.Expr:
    """`expr` with every binder (let names, lambda parameters) renamed to a fresh name, so
    that code placed inside it cannot be captured."""
    return _freshen(expr, {}, names)


def _freshen(e: N.Expr, mapping: dict[str, str], names: NameSupply) -> N.Expr:
    if type(e) is N.Ident:
        new = mapping.get(e.name)
        return e if new is None else replace(e, name=new)
    # the names this node binds, as its kind declares them, each renamed once (a binder
    # around several children keeps one name), before any child is walked
    rename = {name: names.fresh(name) for name in N.binders(e)}
    kids = []
    for child in N.children_with_scope(e):
        inner = {**mapping, **{n: rename[n] for n in child.binds}} if child.binds else mapping
        kids.append(_freshen(child.expr, inner, names))
    return N.rebuild(e, kids, rename=rename)
