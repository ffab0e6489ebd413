"""fuse_vertical: a loop over the result of an appender loop becomes one loop.

The producer `result(for(d, appender, |b1, i1, x1| body1))` merges each element at most once
per iteration (a map: exactly once; a filter: once or not at all, under `if`s and `let`s).
The consumer `for(that, B, |b2, i2, x2| body2)` then runs once per merged value; fused, it
runs where the producer merged: `merge(b1, v)` becomes `let x2 = v; body2` and `b1` becomes
`b2`. No intermediate vector is built. A consumer that reads its index `i2` fuses only with
a map (after a filter the index would differ). A `zip` of several maps (and of other vectors
or ranges) fuses into one loop over the maps' inputs; a map over a zip adds its own iterators
to the fused zip (nested zips flatten), a slice `iter(map, s, e, k)` of a map over `v` reads
`iter(v, s, e, k)`, `zip(p, p)` reads `p` once, and a map bound by `let` and read only by
several iterators of one loop (`zip(iter(y, 1L, n, 1L), iter(y, 0L, n - 1L, 1L))`) fuses into
each. When a zip's maps are fused, a failing zip length check names the fused zip's lengths.

Not fused when it could change which runtime error comes first: producer and consumer
bodies that can both fail (they would interleave), or builders whose construction can fail.
Nor a producer computing a costly op (`exp`, `log`: `OpDecl.costly`) into a consumer that
merges in order (a scanner): the producer's loop computes its elements side by side
(vectorised), the scan's one at a time (a row's `cumsum(log(x))`: 2-4x slower fused).

Before:
    result(for(result(for(v, appender[f64], |b, i, x| if(x > 0.0, merge(b, x * 2.0), b))),
               merger[f64,+], |s, j, y| merge(s, y + 1.0)))
After:
    result(for(v, merger[f64,+], |s, i, x| if(x > 0.0, let y = x * 2.0; merge(s, y + 1.0), s)))
"""

from __future__ import annotations

from dataclasses import replace

from daybreak.ir import nodes as N
from daybreak.ir.substitute import NameSupply, substitute
from daybreak.ir.types import Appender

from . import presize
from .analysis import builds_in_merge_order, can_fail, has_costly_op, iter_can_fail, uses
from .loop_body import map_value, merge_paths, splice, wrap_lets
from .memo import Facts
from .names import freshen, program_names
from .rules import Pat, Rule, rewrite
from .uses import UseWalk, rewrite_uses


def _producer(it: N.Iter) -> N.For | None:
    """The appender loop whose result `it` iterates over, plainly; else None."""
    if not it.is_plain or not isinstance(it.data, N.Result):
        return None
    loop = it.data.builder
    if not isinstance(loop, N.For) or not isinstance(loop.builder, N.NewBuilder):
        return None
    if not isinstance(loop.builder.type, Appender):
        return None  # (a scanner's elements are its running values, not the values merged)
    if loop.builder.annotations not in ((), (presize.AT_MOST,)):
        return None
    if loop.builder.arg is not None and can_fail(loop.builder.arg):
        return None
    return loop


def _untyped(lam: N.Lambda) -> N.Lambda:
    return replace(lam, params=tuple(replace(p, type=None) for p in lam.params), ty=None)


def _fuse_one(loop: N.For, names: NameSupply) -> N.Expr | None:
    producer = _producer(loop.iters[0])
    if producer is None or can_fail(loop.builder):
        return None
    if builds_in_merge_order(loop.builder) and has_costly_op(producer.func.body):
        return None
    prod = freshen(producer.func, names)
    cons = freshen(loop.func, names)
    b1, i1, _ = (p.name for p in prod.params)
    b2, i2, x2 = (p.name for p in cons.params)
    paths = merge_paths(prod.body, N.Ident(b1))
    if paths is None:
        return None
    if uses(cons.body, i2) and not paths.is_map:
        return None  # after a filter the consumer's index is not the producer's
    if can_fail(prod.body) and can_fail(cons.body):
        return None
    consumer_body = substitute(cons.body, {i2: N.Ident(i1)}, names) if paths.is_map else cons.body

    def consume(v: N.Expr) -> N.Expr:
        return N.Let(x2, v, consumer_body, loc=v.loc)

    body = splice(prod.body, consume, N.Ident(b2))
    params = (cons.params[0], prod.params[1], prod.params[2])
    func = _untyped(replace(prod, params=params, body=body))
    return replace(loop, iters=producer.iters, func=func, ty=None)


def _iter_fails(it: N.Iter) -> bool:
    """Whether evaluating the iterator (its expressions, then its bounds check) may raise."""
    return iter_can_fail(it) or any(can_fail(c) for c in it.children())


def _sliced_producer(it: N.Iter) -> N.For | None:
    """The map in `iter(result(map over a plain v), start, end, stride)`: the slice has the
    bounds of the same slice of `v`, since a map keeps the length."""
    if not N.ITER_KINDS[it.kind].reads_data or it.is_plain or not isinstance(it.data, N.Result):
        return None
    producer = _producer(replace(it, start=None, end=None, stride=None))
    if producer is None or len(producer.iters) != 1 or not producer.iters[0].is_plain:
        return None
    return producer


def _member(
    it: N.Iter, producer: N.For, index: N.Expr, x_new: str, first: int, names: NameSupply
) -> tuple[list[N.Iter], N.Expr] | None:
    """A producer in a zip: the iterators it contributes to the fused zip (from position
    `first` in the element `x_new`), and the expression of its element at iteration `index`."""
    prod = freshen(producer.func, names)
    shape = map_value(prod)
    if shape is None or can_fail(prod.body):
        return None  # not a map, or failing work that the fused loop would reorder
    value = wrap_lets(*shape)
    i1, x1 = prod.params[1].name, prod.params[2].name
    iters = list(producer.iters)
    if not it.is_plain:  # a slice of the map: the same slice of its input
        if uses(prod.body, i1) and not all(
            isinstance(e, (N.Ident, N.Literal)) for e in (it.start, it.stride)
        ):
            return None  # the producer's index would repeat the slice's bounds
        iters = [replace(iters[0], start=it.start, end=it.end, stride=it.stride)]
        index = N.Op("+", (it.start, N.Op("*", (index, it.stride))))
    fields = [N.GetField(N.Ident(x_new), first + j) for j in range(len(iters))]
    element = fields[0] if len(fields) == 1 else N.MakeStruct(tuple(fields))
    return iters, N.Let(x1, element, N.Let(i1, index, value))


def _fuse_zip(loop: N.For, names: NameSupply) -> N.Expr | None:
    """A loop over a zip (or a slice) of maps and other iterators: one loop over the maps'
    inputs. A map over a zip adds its iterators to the fused zip; its own length check then
    joins the fused zip's, so no iterator after it may fail (it would now fail first)."""
    members = [(it, _producer(it) or _sliced_producer(it)) for it in loop.iters]
    if all(p is None for _, p in members) or can_fail(loop.builder):
        return None
    if builds_in_merge_order(loop.builder) and any(
        p is not None and has_costly_op(p.func.body) for _, p in members
    ):
        return None  # (costly work stays in a loop of its own, as in `_fuse_one`)
    cons = freshen(loop.func, names)
    b2, i2, x2 = (p.name for p in cons.params)
    x_new = names.fresh("x")
    iters: list[N.Iter] = []
    elems: list[N.Expr] = []
    check_deferred = False
    for it, producer in members:
        if check_deferred and _iter_fails(it):
            return None
        if producer is None:
            elems.append(N.GetField(N.Ident(x_new), len(iters)))
            iters.append(it)
            continue
        if check_deferred and any(_iter_fails(j) for j in producer.iters):
            return None
        member = _member(it, producer, N.Ident(i2), x_new, len(iters), names)
        if member is None:
            return None
        iters.extend(member[0])
        elems.append(member[1])
        check_deferred |= len(member[0]) > 1
    if len(loop.iters) == 1:  # one member: its element is the loop's own
        # (a struct when the member is a map over a zip: `{x.$0, x.$1}`; else `x.$0` is `x`)
        element = elems[0] if len(iters) > 1 else _single(elems[0], x_new)
        body = N.Let(x2, element, cons.body)
    else:
        body = N.Let(x2, N.MakeStruct(tuple(elems)), cons.body)
    params = (cons.params[0], cons.params[1], N.Param(x_new))
    func = _untyped(replace(cons, params=params, body=body))
    return replace(loop, iters=tuple(iters), func=func, ty=None)


def _single(element: N.Expr, x_new: str) -> N.Expr:
    """A member's element built for a zip (`x.$0`), for a loop over that member alone."""

    def go(e: N.Expr) -> N.Expr:
        if isinstance(e, N.GetField) and e.expr == N.Ident(x_new) and e.index == 0:
            return N.Ident(x_new)
        return N.map_children(e, go)

    return go(element)


def _dedupe_zip(loop: N.For, names: NameSupply) -> N.Expr | None:
    """`zip(p, p, q)` -> `zip(p, q)`, the element rebuilt as `{x.$0, x.$0, x.$1}`: an iterator
    that repeats an earlier one yields the same elements (and fails, if at all, only where the
    first one already failed), so a map `p` bound once and zipped with itself can fuse. (A
    failing length check then lists the lengths of the zip that is left.)"""
    unique: list[N.Iter] = []
    position: list[int] = []
    for it in loop.iters:
        if it in unique and not _iter_fails(it):
            position.append(unique.index(it))
        else:
            position.append(len(unique))
            unique.append(it)
    if len(unique) == len(loop.iters):
        return None
    cons = freshen(loop.func, names)
    x_new = names.fresh("x")
    if len(unique) == 1:
        fields = [N.Ident(x_new) for _ in position]
    else:
        fields = [N.GetField(N.Ident(x_new), k) for k in position]
    body = N.Let(cons.params[2].name, N.MakeStruct(tuple(fields)), cons.body)
    func = _untyped(replace(cons, params=(*cons.params[:2], N.Param(x_new)), body=body))
    return replace(loop, iters=tuple(unique), func=func, ty=None)


def _fuse_shared(let: N.Let, names: NameSupply, facts: Facts) -> N.Expr | None:
    """`let y = map; ... for(zip(iter(y, 1L, n, 1L), iter(y, 0L, n - 1L, 1L)), ..) ...`: a map
    that cannot fail, used only as the data of several iterators of one loop, fuses into that
    loop once per use (each use reads its own slice), and its array is never built."""
    if let.annotations or facts.can_fail(let.value):
        return None
    if _producer(N.Iter("scalar", let.value)) is None:
        return None
    y = N.Ident(let.name)
    loops: list[N.For] = []
    count = 0

    def see(e: N.Expr, where) -> bool:
        nonlocal count
        if isinstance(e, N.Ident):
            count += 1
        elif isinstance(e, N.For) and any(it.data == y for it in e.iters):
            loops.append(e)
        return len(loops) > 1  # two loops read it: give up

    UseWalk(let.name, facts).visit(let.body, see)
    if len(loops) != 1:
        return None
    loop = loops[0]
    readers = sum(it.data == y for it in loop.iters)
    if readers < 2 or readers != count:
        return None
    iters = tuple(replace(it, data=let.value) if it.data == y else it for it in loop.iters)
    fused = _fuse_zip(replace(loop, iters=iters), names)
    if fused is None:
        return None
    return rewrite_uses(let.body, let.name, facts, lambda e, _: fused if e is loop else None)


def _rules(names: NameSupply) -> list[Rule]:
    facts = Facts()

    def fuse(m):
        loop: N.For = m["loop"]
        if len(loop.iters) == 1:
            return _fuse_one(loop, names) or _fuse_zip(loop, names)
        return _fuse_zip(loop, names)

    return [
        Rule("dedupe-zip", Pat(N.For, name="loop"), lambda m: _dedupe_zip(m["loop"], names)),
        Rule("fuse-vertical", Pat(N.For, name="loop"), fuse),
        Rule(
            "fuse-shared-map",
            Pat(N.Let, name="let", value=Pat(N.Result)),
            lambda m: _fuse_shared(m["let"], names, facts),
        ),
    ]


def run(program: N.Program) -> N.Program:
    body = rewrite(program.body, _rules(program_names(program)))
    return program if body == program.body else N.Program(program.params, body)
