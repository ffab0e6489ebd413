"""presize: give an appender its final size when the loop merges exactly once per element.

A map-shaped loop over a vector `v` (every path of the body merges into the appender once)
builds exactly `len(v)` elements, so the appender gets the capacity hint `len(v)` and never
grows. Also for each appender of a struct of builders (after horizontal fusion). Filters are
left alone: their size is not known, and `len(v)` would reserve memory they may not use.

Before:
    |v: vec[f64]| result(for(v, appender[f64], |b, i, x| merge(b, x * 2.0)))
After:
    |v: vec[f64]| result(for(v, appender[f64](len(v)), |b, i, x| merge(b, x * 2.0)))
"""

from __future__ import annotations

from dataclasses import replace

from daybreak.ir import nodes as N
from daybreak.ir.substitute import free_vars
from daybreak.ir.types import I64, Appender

from .rules import Pat, Rule, rewrite


def _is_target(e: N.Expr, b: str, field: int | None) -> bool:
    if field is None:
        return isinstance(e, N.Ident) and e.name == b
    return (isinstance(e, N.GetField) and e.index == field and isinstance(e.expr, N.Ident)
            and e.expr.name == b)


def _merges_once(e: N.Expr, b: str, field: int | None) -> bool:
    """Whether every path through `e` (lets and ifs ending in a merge) merges once into the
    builder `b` (or `b.$field`), and nothing else touches it."""
    match e:
        case N.Merge(builder=target, value=v) if _is_target(target, b, field):
            return b not in free_vars(v)
        case N.If(cond=c, then=t, else_=f) if b not in free_vars(c):
            return _merges_once(t, b, field) and _merges_once(f, b, field)
        case N.Let(name=n, value=v, body=body) if n != b and b not in free_vars(v):
            return _merges_once(body, b, field)
        case _:
            return False


def _length(loop: N.For) -> N.Expr | None:
    """`len(v)` when the loop runs once per element of the vector named `v`."""
    it = loop.iters[0]
    if it.kind != "scalar" or not it.is_plain or not isinstance(it.data, N.Ident):
        return None
    return N.Op("len", (it.data,), ty=I64)


def _bare_appender(e: N.Expr) -> bool:
    return (isinstance(e, N.NewBuilder) and isinstance(e.type, Appender) and e.arg is None
            and not e.annotations)


def _presize(m):
    loop: N.For = m["loop"]
    length = _length(loop)
    if length is None:
        return None
    b = loop.func.params[0].name
    if _bare_appender(loop.builder):
        if not _merges_once(loop.func.body, b, None):
            return None
        return replace(loop, builder=replace(loop.builder, arg=length))
    if not isinstance(loop.builder, N.MakeStruct):
        return None
    body = loop.func.body
    while isinstance(body, N.Let) and body.name != b and b not in free_vars(body.value):
        body = body.body
    if not isinstance(body, N.MakeStruct) or len(body.elems) != len(loop.builder.elems):
        return None
    builders = list(loop.builder.elems)
    for k, (builder, elem) in enumerate(zip(builders, body.elems, strict=True)):
        if _bare_appender(builder) and _merges_once(elem, b, k):
            builders[k] = replace(builder, arg=length)
    if builders == list(loop.builder.elems):
        return None
    return replace(loop, builder=replace(loop.builder, elems=tuple(builders)))


RULES = [Rule("presize-appender", Pat(N.For, name="loop"), _presize)]


def run(program: N.Program) -> N.Program:
    body = rewrite(program.body, RULES)
    return program if body == program.body else N.Program(program.params, body)
