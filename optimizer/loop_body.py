"""The loop-body view: a loop's body as `let`s and `if`s that end, on every path, in a merge
into the loop's builder or in the builder itself. Vertical fusion, consumer fusion, gather
fusion, dead-builder removal and presizing all read bodies this way; this file is the one
place that says what the shape is.

    |b, i, x| let y = x * 2.0; if(y > 0.0, merge(b, y), b)

has the lets `[let y = x * 2.0]` and two paths: one merges (`merge(b, y)`), one skips (`b`).
A loop whose every path merges exactly once is a *map* (it keeps the count and order of its
input); one whose paths merge at most once is a *filter*. Fusing another loop into it puts
that loop's body where the merges were (`splice`).

A struct of builders `{B0, B1}` has a body `lets; {e0, e1}`: one such view per field
(`field_bodies`).

>>> from daybreak.ir.parser import parse_expr
>>> body = parse_expr("let y = x * 2.0; if(y > 0.0, merge(b, y), b)")
>>> merge_paths(body, N.Ident("b"))
MergePaths(merges=True, skips=True)
>>> lets, rest = peel_lets(body, avoid="b")
>>> [let.name for let in lets], type(rest).__name__
(['y'], 'If')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from daybreak.ir import nodes as N
from daybreak.ir.substitute import free_vars


def peel_lets(e: N.Expr, avoid: str | None = None) -> tuple[list[N.Let], N.Expr]:
    """The `let`s at the top of `e`, outermost first, and the expression they wrap. With
    `avoid` (the loop's builder), only lets that neither bind nor use that name: the first
    one that does is left in the rest."""
    lets: list[N.Let] = []
    while isinstance(e, N.Let):
        if avoid is not None and (e.name == avoid or avoid in free_vars(e.value)):
            break
        lets.append(e)
        e = e.body
    return lets, e


def wrap_lets(lets: list[N.Let], inner: N.Expr) -> N.Expr:
    """`inner` inside `lets` again, the first outermost (types dropped: the type checker
    gives them back after the pass)."""
    for let in reversed(lets):
        inner = replace(let, body=inner, ty=None)
    return inner


def _root(target: N.Expr) -> str:
    """The builder's name in a target `b` or `b.$k.$j`."""
    while isinstance(target, N.GetField):
        target = target.expr
    return target.name


@dataclass(frozen=True)
class MergePaths:
    """How the paths through a body end: some merge once (`merges`), some leave the builder
    as it is (`skips`)."""

    merges: bool
    skips: bool

    @property
    def is_map(self) -> bool:
        """Every path merges exactly once: one element out per element in, in order."""
        return not self.skips


def merge_paths(body: N.Expr, target: N.Expr) -> MergePaths | None:
    """The paths of `body` when it is `let`s and `if`s ending in `merge(target, v)` or in
    `target` itself, where `target` is the loop's builder `b` or a field `b.$k` of it and
    nothing else touches `b`; else None."""
    b = _root(target)
    found = {"merge": False, "skip": False}
    pending = [body]
    while pending:
        _, e = peel_lets(pending.pop(), avoid=b)
        match e:
            case N.Merge(builder=t, value=v) if t == target and b not in free_vars(v):
                found["merge"] = True
            case _ if e == target:
                found["skip"] = True
            case N.If(cond=c, then=t, else_=f) if b not in free_vars(c):
                pending += (f, t)
            case _:
                return None
    return MergePaths(found["merge"], found["skip"])


def splice(body: N.Expr, consume: Callable[[N.Expr], N.Expr], builder: N.Expr) -> N.Expr:
    """`body` (a shape `merge_paths` accepted) with each `merge(_, v)` replaced by
    `consume(v)` and each path that keeps the builder ending in `builder` instead. Types are
    dropped along the way: the new body builds something else."""
    lets, e = peel_lets(body)
    match e:
        case N.Merge(value=v):
            inner = consume(v)
        case N.If(then=t, else_=f):
            inner = replace(
                e, then=splice(t, consume, builder), else_=splice(f, consume, builder), ty=None
            )
        case _:
            inner = replace(builder, loc=e.loc)
    return wrap_lets(lets, inner)


def map_value(func: N.Lambda) -> tuple[list[N.Let], N.Expr] | None:
    """A loop function `|b, i, x| lets; merge(b, v)` (a map with no branch): its lets and `v`,
    when neither the lets nor `v` touch `b`; else None."""
    b = func.params[0].name
    lets, e = peel_lets(func.body, avoid=b)
    if isinstance(e, N.Merge) and e.builder == N.Ident(b) and b not in free_vars(e.value):
        return lets, e.value
    return None


def field_bodies(body: N.Expr, b: str, count: int) -> tuple[list[N.Let], N.MakeStruct] | None:
    """A loop body for a struct of `count` builders, `lets; {e0, ..., e(count-1)}` with no let
    touching `b`: its lets and the struct of the fields' bodies; else None."""
    lets, e = peel_lets(body, avoid=b)
    if isinstance(e, N.MakeStruct) and len(e.elems) == count:
        return lets, e
    return None
