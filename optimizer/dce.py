"""dce: drop what no output needs — unused `let`s, and unused builders of a loop that builds
several results at once.

* `let x = e; body` with `x` unused -> `body`, when `e` cannot fail (dropping it must not
  drop a runtime error).
* `let r = result(for(d, {B0, B1, B2}, |b, i, x| {e0, e1, e2})); body` where `body` reads only
  some fields of `r` -> the loop without the other builders and their merges (when those
  merges cannot fail and each `ek` touches only its own builder `b.$k`).

Before:
    let r = result(for(v, {merger[f64,+], merger[f64,max]}, |b, i, x|
        {merge(b.$0, x), merge(b.$1, x)}));
    let unused = r.$0 * 2.0;
    r.$1
After:
    let r = result(for(v, merger[f64,max], |b, i, x| merge(b, x)));
    r
"""

from __future__ import annotations

from dataclasses import replace

from daybreak.ir import nodes as N

from .analysis import can_fail
from .loop_body import field_bodies, wrap_lets
from .memo import Facts, count_uses
from .rules import Pat, Rule, rewrite
from .uses import field_reads, rewrite_uses


def _drop_unused_lets(expr: N.Expr) -> N.Expr:
    """One walk: lets whose name is never used and whose value cannot fail disappear."""
    counts, facts = count_uses(expr), Facts()

    def go(e: N.Expr) -> N.Expr:
        while isinstance(e, N.Let) and not e.annotations:
            info = counts.get(id(e))
            if info is None or info.uses or facts.can_fail(e.value):
                break
            e = e.body
        return N.map_children(e, go)

    return go(expr)


# ----------------------------------------------------------------------------------------------
# Unused builders of a struct of builders.


def _renumber(
    body: N.Expr, name: str, new_index: dict[int, int], unwrap: bool, facts: Facts
) -> N.Expr:
    """`name.$k` -> `name.$new_index[k]` (or `name` itself when `unwrap`) for the free uses of
    `name`, each of which reads a field."""

    def renumber(e: N.Expr, _) -> N.Expr | None:
        if not (isinstance(e, N.GetField) and isinstance(e.expr, N.Ident)):
            return None
        return replace(e.expr, ty=e.ty) if unwrap else replace(e, index=new_index[e.index])

    return rewrite_uses(body, name, facts, renumber)


def _unused_builders(m, facts: Facts):
    let: N.Let = m["let"]
    loop: N.For = let.value.builder
    builders: N.MakeStruct = loop.builder
    reads = field_reads(let.body, let.name, facts)
    if not reads or len(reads) == len(builders.elems):
        return None
    b_name = loop.func.params[0].name
    fields = field_bodies(loop.func.body, b_name, len(builders.elems))
    if fields is None:
        return None
    lets, struct = fields
    elems = struct.elems
    drop = [k for k in range(len(builders.elems)) if k not in reads]
    for k in drop:
        if can_fail(elems[k]) or can_fail(builders.elems[k]):
            return None
    for k, body_k in enumerate(elems):
        if field_reads(body_k, b_name, facts) not in ({k}, set()):
            return None  # a field's merges touch another builder
    keep = sorted(reads)
    new_index = {k: j for j, k in enumerate(keep)}
    unwrap = len(keep) == 1
    new_elems = [_renumber(elems[k], b_name, new_index, unwrap, facts) for k in keep]
    new_builders = [builders.elems[k] for k in keep]
    if unwrap:
        new_builder, new_inner = new_builders[0], new_elems[0]
    else:
        new_builder = replace(builders, elems=tuple(new_builders), ty=None)
        new_inner = replace(struct, elems=tuple(new_elems), ty=None)
    func = replace(loop.func, body=wrap_lets(lets, new_inner), ty=None)
    func = replace(func, params=(replace(func.params[0], type=None), *func.params[1:]))
    new_loop = replace(loop, builder=new_builder, func=func, ty=None)
    new_result = replace(let.value, builder=new_loop, ty=None)
    new_body = _renumber(let.body, let.name, new_index, unwrap, facts)
    return replace(let, value=new_result, body=new_body, ty=None)


_STRUCT_LOOP = Pat(N.Result, builder=Pat(N.For, builder=Pat(N.MakeStruct)))


def _rules(facts: Facts) -> list[Rule]:
    return [
        Rule(
            "unused-builders",
            Pat(N.Let, name="let", value=_STRUCT_LOOP),
            lambda m: _unused_builders(m, facts),
        )
    ]


def run(program: N.Program) -> N.Program:
    with N.deep_recursion():
        body = _drop_unused_lets(rewrite(program.body, _rules(Facts())))
    return program if body == program.body else N.Program(program.params, body)
