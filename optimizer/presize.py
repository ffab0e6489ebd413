"""presize: give an appender the size its loop will build, or an upper bound of it.

A loop runs a known number of times: `len(v)` over a vector `v`; `(end - start + stride - 1)
/ stride` over `iter(v, start, end, stride)` or `rangeiter(start, end, stride)` (for a zip,
its first iterator's count: they all agree when the loop runs). When every path of the body
merges into the appender once (a map), that count is its exact size and becomes its
capacity hint, so it never grows. When every path merges at most once (a filter), the count
is an upper bound: the appender gets it too, marked `@(size: at_most)`, so a backend may
give back what the filter did not use. Also for each appender of a struct of builders
(after horizontal fusion). The bounds are repeated in the hint only when they are names,
literals or `len` of a name (cheap, and cannot fail).

Before:
    |v: vec[f64], n: i64|
      {result(for(v, appender[f64], |b, i, x| merge(b, x * 2.0))),
       result(for(rangeiter(0L, n, 2L), appender[i64], |b, i, k| if(k > 3L, merge(b, k), b)))}
After:
    |v: vec[f64], n: i64|
      {result(for(v, appender[f64](len(v)), |b, i, x| merge(b, x * 2.0))),
       result(for(rangeiter(0L, n, 2L), @(size: at_most) appender[i64]((n + 1L) / 2L),
                  |b, i, k| if(k > 3L, merge(b, k), b)))}
"""

from __future__ import annotations

from dataclasses import replace

from daybreak.ir import nodes as N
from daybreak.ir.types import I64, Appender

from .analysis import is_field_path
from .loop_body import MergePaths, field_bodies, merge_paths
from .rules import Pat, Rule, rewrite

AT_MOST = ("size", "at_most")  # the annotation of a hint that is an upper bound


def _cheap(e: N.Expr | None) -> bool:
    """A name, a literal, or `len` of a name: free to repeat, cannot fail."""
    match e:
        case N.Ident() | N.Literal():
            return not e.annotations
        case N.Op(op="len", args=(N.Ident(),)):
            return not e.annotations
    return False


def _lit(value: int) -> N.Literal:
    return N.Literal(value, I64, ty=I64)


def _is_lit(e: N.Expr, value: int) -> bool:
    return isinstance(e, N.Literal) and e.value == value and not isinstance(e.value, bool)


def _op(op: str, a: N.Expr, b: N.Expr) -> N.Expr:
    """`a op b` with the identities of 0 and 1 applied (fold does not run after this pass)."""
    if op in "+-" and _is_lit(b, 0):
        return a
    if op in "*/" and _is_lit(b, 1):
        return a
    if isinstance(a, N.Literal) and isinstance(b, N.Literal) and op in "+-":
        return _lit(a.value + b.value if op == "+" else a.value - b.value)
    return N.Op(op, (a, b), ty=I64)


def _count(it: N.Iter) -> N.Expr | None:
    """How many elements the iterator yields (when it does not fail), as an i64 expression."""
    if it.is_plain:
        return N.Op("len", (it.data,), ty=I64) if is_field_path(it.data) else None
    bounds = (it.start, it.end, it.stride)
    if not all(_cheap(e) and e.ty == I64 for e in bounds):
        return None
    start, end, stride = bounds
    span = _op("-", end, start)
    if _is_lit(stride, 1):
        return span
    return _op("/", _op("+", span, _op("-", stride, _lit(1))), stride)


def _bare_appender(e: N.Expr) -> bool:
    return (
        isinstance(e, N.NewBuilder)
        and isinstance(e.type, Appender)
        and e.arg is None
        and not e.annotations
    )


def _sized(builder: N.NewBuilder, paths: MergePaths | None, count: N.Expr) -> N.NewBuilder:
    if paths is None or not paths.merges:
        return builder
    if paths.is_map:
        return replace(builder, arg=count)
    return replace(builder, arg=count, annotations=(AT_MOST,))


def _presize_builder(
    builder: N.Expr, body: N.Expr, target: N.Expr, b: str, length: N.Expr
) -> N.Expr:
    """`builder` (an appender, or a struct of builders, nested or not) with its appenders
    sized, where `body` is what the loop body gives for `builder` (reached as `target`)."""
    if _bare_appender(builder):
        return _sized(builder, merge_paths(body, target), length)
    if not isinstance(builder, N.MakeStruct):
        return builder
    fields = field_bodies(body, b, len(builder.elems))
    if fields is None:
        return builder
    elems = tuple(
        _presize_builder(f, e, N.GetField(target, k), b, length)
        for k, (f, e) in enumerate(zip(builder.elems, fields[1].elems, strict=True))
    )
    if all(new is old for new, old in zip(elems, builder.elems, strict=True)):
        return builder
    return replace(builder, elems=elems)


def _presize(m):
    loop: N.For = m["loop"]
    counts = [c for c in map(_count, loop.iters) if c is not None]
    if not counts:
        return None
    b = loop.func.params[0].name
    builder = _presize_builder(loop.builder, loop.func.body, N.Ident(b), b, counts[0])
    return None if builder is loop.builder else replace(loop, builder=builder)


RULES = [Rule("presize-appender", Pat(N.For, name="loop"), _presize)]


def run(program: N.Program) -> N.Program:
    body = rewrite(program.body, RULES)
    return program if body == program.body else N.Program(program.params, body)
