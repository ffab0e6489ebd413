"""fuse_consumer: a loop over a result that is also kept joins the loop that produces it.

`let r = result(for(d, {appender, ...}, |b, i, x| {e0, ...})); body`, where `body` both keeps
`r.$0` (so vertical fusion cannot dissolve it) and runs `result(for(r.$0, B, g))`: the
consumer becomes one more builder of the producer's loop, its body run where `e0` merges
(once per element, in order, as it would read them), and its result a field of `r`. One pass
over `d` instead of two. The same for a single appender (`let y = result(for(d, appender,
..)); {y, sum(y)}`), which becomes a struct of two builders.

Only where sound: the consumer is always evaluated by `body` (not under an `if` or a lambda),
uses nothing bound inside `body` nor any other part of `r`, cannot fail (it now runs earlier),
builds a new builder, and reads its index only when `e0` merges on every iteration (a map).
A consumer into a scanner joins too: the joined loop then runs in order on one thread (a scan
must), doing the producer's work in the same pass as the scan, which reads every element in
order anyway. The producer itself must be an appender: a scanner's result is its running
values, not the values merged.

Before:
    let y = result(for(x, appender[f64], |b, i, e| merge(b, e * 2.0)));
    {y, result(for(y, merger[f64,+], |s, j, v| merge(s, v)))}
After:
    let r = result(for(x, {appender[f64], merger[f64,+]}, |b, i, e|
        let merged = e * 2.0; {merge(b.$0, merged), let v = merged; merge(b.$1, v)}));
    {r.$0, r.$1}

The value the producer merges is bound once where it is a plain map's (`merge(b.$k, v)`) and
nothing before it can fail; otherwise each merge path's value is spliced into the consumer.

>>> from daybreak.ir import parse
>>> from daybreak.ir.typecheck import typecheck
>>> from daybreak.optimizer import data_passes
>>> p = typecheck(parse("|x: vec[f64]| let y = result(for(x, appender[f64], |b, i, e| "
...                     "merge(b, e * 2.0))); {y, result(for(y, merger[f64,+], |s, j, v| "
...                     "merge(s, v)))}"))
>>> data_passes(p), data_passes(run(p))
(2, 1)
"""

from __future__ import annotations

from dataclasses import replace

from daybreak.ir import nodes as N
from daybreak.ir.substitute import NameSupply, substitute
from daybreak.ir.types import Appender

from .analysis import can_fail, is_trivial, uses
from .loop_body import MergePaths, field_bodies, merge_paths, peel_lets, splice, wrap_lets
from .memo import Facts
from .names import freshen, program_names
from .rules import Pat, Rule, rewrite
from .uses import UseWalk, field_reads, rewrite_uses


class _Producer:
    """The producer loop as a struct of builders: its builders, lets, per-builder bodies."""

    def __init__(self, loop: N.For, names: NameSupply):
        func = freshen(loop.func, names)
        self.loop = loop
        self.b, self.i, self.x = (p.name for p in func.params)
        self.single = not isinstance(loop.builder, N.MakeStruct)
        self.lets: list[N.Let] = []
        body = func.body
        if self.single:
            b_struct = names.fresh("b")
            body = substitute(body, {self.b: N.GetField(N.Ident(b_struct), 0)}, names)
            self.b = b_struct
            self.builders: list[N.Expr] = [loop.builder]
            self.elems: list[N.Expr] | None = [body]
            return
        self.builders = list(loop.builder.elems)
        fields = field_bodies(body, self.b, len(self.builders))
        if fields is not None:
            self.lets, self.elems = fields[0], list(fields[1].elems)
        else:
            self.elems = None

    def field(self, k: int) -> N.GetField:
        return N.GetField(N.Ident(self.b), k)


def _appender_field(prod: _Producer, k: int, facts: Facts) -> MergePaths | None:
    builder = prod.builders[k]
    if not (isinstance(builder, N.NewBuilder) and isinstance(builder.type, Appender)):
        return None  # (a scanner's result holds its running values, not the values merged)
    if builder.annotations or field_reads(prod.elems[k], prod.b, facts) not in ({k}, set()):
        return None
    return merge_paths(prod.elems[k], prod.field(k))


def _consumer_of(node: N.Expr, r: str, single: bool) -> int | None:
    """The field `k` of `r` that `node` = `result(for(r.$k, NewBuilder, g))` loops over."""
    if not (isinstance(node, N.Result) and isinstance(node.builder, N.For)):
        return None
    loop = node.builder
    if len(loop.iters) != 1 or not loop.iters[0].is_plain:
        return None
    data = loop.iters[0].data
    if single:
        k = 0 if data == N.Ident(r) else None
    elif isinstance(data, N.GetField) and data.expr == N.Ident(r):
        k = data.index
    else:
        k = None
    if k is None or not _new_builders(loop.builder):
        return None
    if uses(node, r) != 1 or can_fail(loop.builder) or can_fail(loop.func.body):
        return None
    return k


def _new_builders(e: N.Expr) -> bool:
    """A new builder, or a struct of them (what horizontal fusion leaves)."""
    if isinstance(e, N.MakeStruct):
        return all(_new_builders(f) for f in e.elems)
    return isinstance(e, N.NewBuilder) and not e.annotations


def _consumer_shape(node: N.Expr, r: str, single: bool) -> bool:
    """A cheap first look: `result(for(r or r.$k, ...))` over one plain iterator."""
    if not (isinstance(node, N.Result) and isinstance(node.builder, N.For)):
        return False
    iters = node.builder.iters
    if len(iters) != 1 or not iters[0].is_plain:
        return False
    data = iters[0].data
    if isinstance(data, N.GetField):
        data = data.expr
    return isinstance(data, N.Ident) and data.name == r


class _Uses:
    """How `body` uses the loop's name `r`: how often, whether whole (not field by field),
    and the loops over it that `body` always runs with none of their names rebound."""

    def __init__(self, body: N.Expr, r: str, single: bool, facts: Facts):
        self.count, self.whole, self.consumers = 0, False, []
        walk = UseWalk(r, facts)

        def see(e: N.Expr, where) -> bool:
            if isinstance(e, N.Ident):
                self.count += 1
                self.whole = True
                return True
            if isinstance(e, N.GetField) and isinstance(e.expr, N.Ident) and e.expr.name == r:
                self.count += 1
                return True
            if (
                where.strict
                and _consumer_shape(e, r, single)
                and not walk.rebinds(facts.free_vars(e))
            ):
                self.consumers.append(e)
            return False

        walk.visit(body, see)


def _absorb(let: N.Let, names: NameSupply, facts: Facts) -> N.Expr | None:
    loop: N.For = let.value.builder
    if let.annotations or facts.can_fail(loop.builder):
        return None
    single = not isinstance(loop.builder, N.MakeStruct)
    found = _Uses(let.body, let.name, single, facts)
    if found.count < 2:
        return None  # used once: inlining and vertical fusion leave no array at all
    if not single and found.whole:
        return None  # `r` used whole: one more field would change its type
    for node in found.consumers:
        k = _consumer_of(node, let.name, single)
        if k is None or facts.free_builders(node):
            continue
        prod = _Producer(loop, names)
        if prod.elems is None or k >= len(prod.elems):
            return None
        paths = _appender_field(prod, k, facts)
        consumer = freshen(node.builder.func, names)
        b2, i2, x2 = (p.name for p in consumer.params)
        if paths is None or (uses(consumer.body, i2) and not paths.is_map):
            continue
        new_field = prod.field(len(prod.builders))
        body = substitute(consumer.body, {b2: new_field, i2: N.Ident(prod.i)}, names)
        if _share_merged_value(prod, k, facts, names):
            elem = N.Let(x2, prod.elems[k].value, body)  # (the name the producer merges)
        else:
            elem = splice(prod.elems[k], lambda v, x2=x2, body=body: N.Let(x2, v, body), new_field)
        return _rebuild(let, prod, node, node.builder.builder, elem, names, facts)
    return None


def _share_merged_value(prod: _Producer, k: int, facts: Facts, names: NameSupply) -> bool:
    """Bind the value field `k` merges once, for the producer and the consumer both: field
    `k` is `lets; merge(b.$k, v)` (a map) and nothing the fields before it compute can fail
    (the value and its lets now run before them: a failure stays the first). Its lets and
    `let t = v` go with the producer's lets, and field `k` becomes `merge(b.$k, t)`. A
    gather's value (`lookup`s, which `cse` never shares) was otherwise computed twice."""
    lets, e = peel_lets(prod.elems[k], avoid=prod.b)
    if not (isinstance(e, N.Merge) and e.builder == prod.field(k)) or is_trivial(e.value):
        return False
    if prod.b in facts.free_vars(e.value) or any(facts.can_fail(f) for f in prod.elems[:k]):
        return False
    name = names.fresh("merged")
    prod.lets = [*prod.lets, *lets, N.Let(name, e.value, e.value)]  # (bodies: `wrap_lets`)
    prod.elems[k] = N.Merge(prod.field(k), N.Ident(name))
    return True


def _rebuild(
    let: N.Let,
    prod: _Producer,
    consumer: N.Result,
    builder: N.Expr,
    elem: N.Expr,
    names: NameSupply,
    facts: Facts,
) -> N.Expr:
    inner = wrap_lets(prod.lets, N.MakeStruct((*prod.elems, elem)))
    params = (N.Param(prod.b), N.Param(prod.i), N.Param(prod.x))
    func = N.Lambda(params, inner, loc=prod.loop.func.loc)
    builders = N.MakeStruct((*prod.builders, builder))
    new_loop = replace(prod.loop, builder=builders, func=func, ty=None)
    name = names.fresh(let.name)
    new_result = N.GetField(N.Ident(name), len(prod.builders))
    whole = N.GetField(N.Ident(name), 0) if prod.single else N.Ident(name)

    def put(e: N.Expr, walk: UseWalk) -> N.Expr | None:
        # every copy of the consumer that could move to the let reads the new field; every
        # other use of the loop's name reads the loop under its new name (fresh: no capture)
        if e == consumer and not walk.rebinds(facts.free_vars(e)):
            return new_result
        if isinstance(e, N.Ident):
            return replace(whole, loc=e.loc)
        return None

    body = rewrite_uses(let.body, let.name, facts, put)
    return N.Let(name, replace(let.value, builder=new_loop, ty=None), body, loc=let.loc)


_LOOP_LET = Pat(N.Let, name="let", value=Pat(N.Result, builder=Pat(N.For)))


def run(program: N.Program) -> N.Program:
    names = program_names(program)
    facts = Facts()
    rules = [Rule("fuse-consumer", _LOOP_LET, lambda m: _absorb(m["let"], names, facts))]
    body = rewrite(program.body, rules)
    return program if body == program.body else N.Program(program.params, body)
