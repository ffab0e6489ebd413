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

from daybreak.ir import nodes as N
from daybreak.ir.substitute import NameSupply
from daybreak.ir.types import I64, Appender

from .analysis import can_fail, uses
from .loop_body import map_value, wrap_lets
from .memo import Facts
from .names import freshen, program_names
from .rules import Pat, Rule, rewrite
from .uses import UseWalk, rewrite_uses

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
        return None  # (a scanner's element j depends on every element before it)
    if builder.annotations or (builder.arg is not None and can_fail(builder.arg)):
        return None
    body = loop.func.body
    nodes = list(body.walk())
    if len(nodes) > _MAX_BODY or can_fail(body) or not all(isinstance(n, _CHEAP) for n in nodes):
        return None
    return loop if map_value(loop.func) is not None else None


def _only_lookups(body: N.Expr, name: str, outer: frozenset[str], facts: Facts) -> bool:
    """Whether every free use of `name` in `body` is `lookup(name, j)`, at most one lambda deep,
    with none of the map's free names `outer` rebound on the way (the map is recomputed
    there), and there is at least one."""
    found = False
    ok = True
    walk = UseWalk(name, facts)

    def see(e: N.Expr, where) -> bool:
        nonlocal found, ok
        match e:
            case N.Op(op="lookup", args=(N.Ident(name=n), index)) if n == name:
                found = True
                ok &= where.lambdas <= 1 and not walk.rebinds(outer)
                walk.visit_below(index, where, see)  # a lookup in the index
                return True
            case N.Ident():
                ok = False
        return not ok  # stop looking once it fails

    walk.visit(body, see)
    return found and ok


def _gather(loop: N.For, name: str, index: N.Expr, names: NameSupply) -> N.Expr:
    """`lookup(name, index)` where `name` is now the map's input: the map applied there."""
    func = freshen(loop.func, names)
    _, i, x = (p.name for p in func.params)
    value = wrap_lets(*map_value(func))
    j = names.fresh("j")
    if uses(func.body, i):
        at = N.Ident(j) if index.ty == I64 else N.Cast(N.Ident(j), I64)
        value = N.Let(i, at, value)
    value = N.Let(x, N.Op("lookup", (N.Ident(name), N.Ident(j))), value)
    return N.Let(j, index, value, loc=index.loc)


def _replace_lookups(
    body: N.Expr, name: str, loop: N.For, names: NameSupply, facts: Facts
) -> N.Expr:
    def put(e: N.Expr, walk) -> N.Expr | None:
        if isinstance(e, N.Op) and e.op == "lookup" and e.args[0] == N.Ident(name):
            index = rewrite_uses(e.args[1], name, facts, put)
            return _gather(loop, name, index, names)
        return None

    return rewrite_uses(body, name, facts, put)


def _rules(names: NameSupply, facts: Facts) -> list[Rule]:
    def fuse(m):
        let: N.Let = m["let"]
        loop = _map(let.value)
        if loop is None or let.annotations:
            return None
        if not _only_lookups(let.body, let.name, facts.free_vars(loop.func), facts):
            return None
        body = _replace_lookups(let.body, let.name, loop, names, facts)
        return N.Let(let.name, loop.iters[0].data, body, loc=let.loc)

    return [Rule("fuse-gather", Pat(N.Let, name="let", value=Pat(N.Result)), fuse)]


def run(program: N.Program) -> N.Program:
    body = rewrite(program.body, _rules(program_names(program), Facts()))
    return program if body == program.body else N.Program(program.params, body)
