"""fuse_vertical: a loop over the result of an appender loop becomes one loop.

The producer `result(for(d, appender, |b1, i1, x1| body1))` merges each element at most once
per iteration (a map: exactly once; a filter: once or not at all, under `if`s and `let`s).
The consumer `for(that, B, |b2, i2, x2| body2)` then runs once per merged value; fused, it
runs where the producer merged: `merge(b1, v)` becomes `let x2 = v; body2` and `b1` becomes
`b2`. No intermediate vector is built. A consumer that reads its index `i2` fuses only with
a map (after a filter the index would differ). A `zip` of several maps (and of other vectors
or ranges) fuses into one loop over the maps' inputs.

Not fused when it could change which runtime error comes first: producer and consumer
bodies that can both fail (they would interleave), or builders whose construction can fail.

Before:
    result(for(result(for(v, appender[f64], |b, i, x| if(x > 0.0, merge(b, x * 2.0), b))),
               merger[f64,+], |s, j, y| merge(s, y + 1.0)))
After:
    result(for(v, merger[f64,+], |s, i, x| if(x > 0.0, let y = x * 2.0; merge(s, y + 1.0), s)))
"""

from __future__ import annotations

from dataclasses import replace

from daybreak.ir import nodes as N
from daybreak.ir.substitute import NameSupply, free_vars, substitute
from daybreak.ir.types import Appender

from .analysis import can_fail, freshen, program_names, uses
from .rules import Pat, Rule, rewrite


def _producer(it: N.Iter) -> N.For | None:
    """The appender loop whose result `it` iterates over, plainly; else None."""
    if it.kind != "scalar" or not it.is_plain or not isinstance(it.data, N.Result):
        return None
    loop = it.data.builder
    if not isinstance(loop, N.For) or not isinstance(loop.builder, N.NewBuilder):
        return None
    if not isinstance(loop.builder.type, Appender) or loop.builder.annotations:
        return None
    if loop.builder.arg is not None and can_fail(loop.builder.arg):
        return None
    return loop


def _leaves(e: N.Expr, b: str) -> list[str] | None:
    """The kinds of the leaves of a producer body ("merge" or "skip"), or None when the body
    is not made of `let`s and `if`s ending in `merge(b, v)` or `b`."""
    match e:
        case N.Ident(name=n) if n == b:
            return ["skip"]
        case N.Merge(builder=N.Ident(name=n), value=v) if n == b and b not in free_vars(v):
            return ["merge"]
        case N.If(cond=c, then=t, else_=f) if b not in free_vars(c):
            left, right = _leaves(t, b), _leaves(f, b)
            return None if left is None or right is None else left + right
        case N.Let(name=n, value=v, body=body) if n != b and b not in free_vars(v):
            return _leaves(body, b)
        case _:
            return None


def _splice(e: N.Expr, b1: str, b2: str, consume) -> N.Expr:
    """The producer body with `b1` -> `b2` and each `merge(b1, v)` -> `consume(v)`."""
    match e:
        case N.Ident():
            return N.Ident(b2, ty=None, loc=e.loc)
        case N.Merge(value=v):
            return consume(v)
        case N.If(then=t, else_=f):
            return replace(e, then=_splice(t, b1, b2, consume),
                           else_=_splice(f, b1, b2, consume), ty=None)
        case N.Let(body=body):
            return replace(e, body=_splice(body, b1, b2, consume), ty=None)
    raise AssertionError("not a producer body")  # pragma: no cover - _leaves said it was


def _untyped(lam: N.Lambda) -> N.Lambda:
    return replace(lam, params=tuple(replace(p, type=None) for p in lam.params), ty=None)


def _fuse_one(loop: N.For, names: NameSupply) -> N.Expr | None:
    producer = _producer(loop.iters[0])
    if producer is None or can_fail(loop.builder):
        return None
    prod = freshen(producer.func, names)
    cons = freshen(loop.func, names)
    b1, i1, _ = (p.name for p in prod.params)
    b2, i2, x2 = (p.name for p in cons.params)
    leaves = _leaves(prod.body, b1)
    if leaves is None:
        return None
    is_map = all(k == "merge" for k in leaves)
    if uses(cons.body, i2) and not is_map:
        return None  # after a filter the consumer's index is not the producer's
    if can_fail(prod.body) and can_fail(cons.body):
        return None
    consumer_body = substitute(cons.body, {i2: N.Ident(i1)}, names) if is_map else cons.body

    def consume(v: N.Expr) -> N.Expr:
        return N.Let(x2, v, consumer_body, loc=v.loc)

    body = _splice(prod.body, b1, b2, consume)
    params = (cons.params[0], prod.params[1], prod.params[2])
    func = _untyped(replace(prod, params=params, body=body))
    return replace(loop, iters=producer.iters, func=func, ty=None)


def _map_value(lam: N.Lambda) -> tuple[list[N.Let], N.Expr] | None:
    """A producer body `let ...; merge(b, v)`: its lets and v."""
    b = lam.params[0].name
    lets, e = [], lam.body
    while isinstance(e, N.Let) and e.name != b and b not in free_vars(e.value):
        lets.append(e)
        e = e.body
    if isinstance(e, N.Merge) and isinstance(e.builder, N.Ident) and e.builder.name == b:
        if b not in free_vars(e.value):
            return lets, e.value
    return None


def _fuse_zip(loop: N.For, names: NameSupply) -> N.Expr | None:
    producers = [_producer(it) for it in loop.iters]
    if not any(p is not None for p in producers) or can_fail(loop.builder):
        return None
    cons = freshen(loop.func, names)
    b2, i2, x2 = (p.name for p in cons.params)
    x_new = names.fresh("x")
    iters, elems = [], []
    for k, (it, producer) in enumerate(zip(loop.iters, producers, strict=True)):
        element = N.GetField(N.Ident(x_new), k)
        if producer is None or len(producer.iters) != 1:
            iters.append(it)
            elems.append(element)
            continue
        prod = freshen(producer.func, names)
        shape = _map_value(prod)
        if shape is None or can_fail(prod.body):
            return None
        lets, value = shape
        for let in reversed(lets):
            value = replace(let, body=value, ty=None)
        value = N.Let(prod.params[1].name, N.Ident(i2), value)
        value = N.Let(prod.params[2].name, element, value)
        iters.append(producer.iters[0])
        elems.append(value)
    if iters == list(loop.iters):
        return None
    body = N.Let(x2, N.MakeStruct(tuple(elems)), cons.body)
    params = (cons.params[0], cons.params[1], N.Param(x_new))
    func = _untyped(replace(cons, params=params, body=body))
    return replace(loop, iters=tuple(iters), func=func, ty=None)


def _rules(names: NameSupply) -> list[Rule]:
    def fuse(m):
        loop: N.For = m["loop"]
        if len(loop.iters) == 1:
            return _fuse_one(loop, names)
        return _fuse_zip(loop, names)

    return [Rule("fuse-vertical", Pat(N.For, name="loop"), fuse)]


def run(program: N.Program) -> N.Program:
    body = rewrite(program.body, _rules(program_names(program)))
    return program if body == program.body else N.Program(program.params, body)
