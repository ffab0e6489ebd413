"""fuse_gather: a gather from the result of a map reads the map's input and applies the map.

`let m = result(for(v, appender, |b, i, x| merge(b, f(x, i)))); ... lookup(m, j) ...`, where
every use of `m` is such a lookup, becomes `let m = v; ... f(lookup(m, j), j) ...`: the map
keeps the length and order of `v` (no filter), so element `j` of `m` is `f` of element `j` of
`v`, and an index out of bounds fails with the same message. The map's loop and its array go
away. A NumPy frontend writes broadcasting this way (`lookup(m, i / k)`, `lookup(m, i % k)`).

Only when the map's body cannot fail (it ran over every element before; now only over those
looked up), is cheap (it is recomputed per lookup), and the lookups sit at most one loop deep
below the `let` (deeper, each element would be recomputed once per outer iteration).

Before:
    let m = result(for(a, appender[f64], |b, i, x| merge(b, x * 3.0)));
    result(for(c, appender[f64], |b, i, y| merge(b, y + lookup(m, i))))
After:
    let m = a;
    result(for(c, appender[f64], |b, i, y| merge(b, y + (let j = i; let x = lookup(m, j);
                                                        x * 3.0))))

>>> from daybreak.ir import parse
>>> from daybreak.ir.typecheck import typecheck
>>> from daybreak.optimizer import data_passes
>>> p = typecheck(parse("|a: vec[f64], c: vec[f64]| let m = result(for(a, appender[f64], "
...                     "|b, i, x| merge(b, x * 3.0))); result(for(c, merger[f64,+], "
...                     "|s, i, y| merge(s, lookup(m, i))))"))
>>> data_passes(p), data_passes(run(p))
(2, 1)
"""

from __future__ import annotations

from dataclasses import replace

from daybreak.ir import nodes as N
from daybreak.ir.substitute import NameSupply, free_vars
from daybreak.ir.types import I64, Appender

from .analysis import can_fail, freshen, program_names, uses
from .rules import Pat, Rule, rewrite

_MAX_BODY = 32  # nodes of the map's body: what one lookup may recompute
_CHEAP = (N.Literal, N.Ident, N.Op, N.Cast, N.GetField, N.Let, N.Merge, N.MakeStruct)


def _map(e: N.Expr) -> N.For | None:
    """The loop of `result(for(v, appender, |b, i, x| lets; merge(b, value)))` over a plain
    vector, with a cheap body that cannot fail; else None."""
    if not isinstance(e, N.Result) or not isinstance(e.builder, N.For):
        return None
    loop = e.builder
    if len(loop.iters) != 1 or not loop.iters[0].is_plain:
        return None
    builder = loop.builder
    if not isinstance(builder, N.NewBuilder) or not isinstance(builder.type, Appender):
        return None
    if builder.annotations or (builder.arg is not None and can_fail(builder.arg)):
        return None
    body = loop.func.body
    nodes = list(body.walk())
    if len(nodes) > _MAX_BODY or can_fail(body) or not all(isinstance(n, _CHEAP) for n in nodes):
        return None
    b = loop.func.params[0].name
    while isinstance(body, N.Let) and body.name != b and b not in free_vars(body.value):
        body = body.body
    if not (isinstance(body, N.Merge) and body.builder == N.Ident(b)):
        return None
    if b in free_vars(body.value) or uses(loop.func.body, b) != 1:
        return None
    return loop


def _only_lookups(body: N.Expr, name: str) -> bool:
    """Whether every free use of `name` in `body` is `lookup(name, j)`, at most one lambda deep,
    and there is at least one."""
    found = False
    ok = True

    def visit(e: N.Expr, bound: frozenset[str], depth: int) -> None:
        nonlocal found, ok
        match e:
            case N.Op(op="lookup", args=(N.Ident(name=n), index)) if n == name and n not in bound:
                found = True
                ok &= depth <= 1
                visit(index, bound, depth)
            case N.Ident(name=n) if n == name and n not in bound:
                ok = False
            case N.Let(name=n, value=v, body=b):
                visit(v, bound, depth)
                visit(b, bound | {n}, depth)
            case N.Lambda(params=params, body=b):
                visit(b, bound | {p.name for p in params}, depth + 1)
            case _:
                for c in e.children():
                    visit(c, bound, depth)

    with N.deep_recursion():
        visit(body, frozenset(), 0)
    return found and ok


def _gather(loop: N.For, name: str, index: N.Expr, names: NameSupply) -> N.Expr:
    """`lookup(name, index)` where `name` is now the map's input: the map applied there."""
    func = freshen(loop.func, names)
    b, i, x = (p.name for p in func.params)
    body = func.body
    lets = []
    while isinstance(body, N.Let):
        lets.append(body)
        body = body.body
    value = body.value
    for let in reversed(lets):
        value = replace(let, body=value, ty=None)
    j = names.fresh("j")
    if uses(func.body, i):
        at = N.Ident(j) if index.ty == I64 else N.Cast(N.Ident(j), I64)
        value = N.Let(i, at, value)
    value = N.Let(x, N.Op("lookup", (N.Ident(name), N.Ident(j))), value)
    return N.Let(j, index, value, loc=index.loc)


def _replace_lookups(body: N.Expr, name: str, loop: N.For, names: NameSupply) -> N.Expr:
    def go(e: N.Expr, bound: frozenset[str]) -> N.Expr:
        match e:
            case N.Op(op="lookup", args=(N.Ident(name=n), index)) if n == name and n not in bound:
                return _gather(loop, name, go(index, bound), names)
            case N.Let(name=n, value=v, body=b):
                return replace(e, value=go(v, bound), body=go(b, bound | {n}))
            case N.Lambda(params=params, body=b):
                return replace(e, body=go(b, bound | {p.name for p in params}))
            case _:
                return N.map_children(e, lambda c: go(c, bound))

    with N.deep_recursion():
        return go(body, frozenset())


def _binders(e: N.Expr) -> set[str]:
    """The names that `let`s and lambdas inside `e` bind."""
    out: set[str] = set()
    for node in e.walk():
        if isinstance(node, N.Let):
            out.add(node.name)
        elif isinstance(node, N.Lambda):
            out.update(p.name for p in node.params)
    return out


def _rules(names: NameSupply) -> list[Rule]:
    def fuse(m):
        let: N.Let = m["let"]
        loop = _map(let.value)
        if loop is None or let.annotations or not _only_lookups(let.body, let.name):
            return None
        outer = free_vars(loop.func)
        if outer & _binders(let.body):
            return None  # a name the map reads is rebound where a lookup would recompute it
        body = _replace_lookups(let.body, let.name, loop, names)
        return N.Let(let.name, loop.iters[0].data, body, loc=let.loc)

    return [Rule("fuse-gather", Pat(N.Let, name="let", value=Pat(N.Result)), fuse)]


def run(program: N.Program) -> N.Program:
    body = rewrite(program.body, _rules(program_names(program)))
    return program if body == program.body else N.Program(program.params, body)
