"""Where a let-bound intermediate vector is read for the last time: an IR analysis that lets a
backend free the vector early, which keeps a multi-stage pipeline's peak memory down.

    let a = result(for(v, appender[f64], |b, i, x| merge(b, x * 2.0)));   # a fresh vector
    let s = result(for(a, merger[f64,+], |b, i, x| merge(b, x)));        # last reader of a
    let c = result(for(v, appender[f64], |b, i, x| merge(b, x + s)));    # a may be freed here
    c

`last_reader(let a)` is the `let s` node: once s's value is computed, nothing reads `a`.

Only the simple, provable case is found: a fresh block (the result of an appender or a
scanner, a vector literal, a sort) of scalars, every use of which reads it without letting it
escape (the data of a loop, `len`, `lookup` of an element), whose name no binder in its scope
rebinds, read by lets of the straight let chain that follows it and not by the chain's final
expression.

>>> from daybreak.ir.parser import parse
>>> from daybreak.ir.typecheck import typecheck
>>> p = typecheck(parse("|v: vec[f64]| let a = sort(v, |x, y| compare(x, y)); "
...                     "let n = len(a); let m = n + 1L; m"))
>>> last_reader(p.body).name
'n'
"""

from __future__ import annotations

from . import nodes as N
from .ops import OPS
from .types import Appender, Scalar, Scanner, Vec


def last_reader(let: N.Let) -> N.Let | None:
    """The let of the chain in `let.body` whose value reads `let`'s vector last, when after it
    the vector may be freed; None when it may not (or nothing reads it).

    The program must be type-checked. Freeing after the reader is right where `let` itself is
    evaluated at most once and the chain after it on the same way (not inside a loop body, a
    branch or a lambda): the caller knows where it is."""
    if not (isinstance(let.value.ty, Vec) and isinstance(let.value.ty.elem, Scalar)):
        return None
    if not _fresh(let.value) or not _only_read(let.name, let.body):
        return None
    chain, node = [], let.body
    while isinstance(node, N.Let):
        chain.append(node)
        node = node.body
    if _mentions(node, let.name):
        return None  # the final expression reads it: it may be part of the result
    readers = [link for link in chain if _mentions(link.value, let.name)]
    return readers[-1] if readers else None


def _fresh(value: N.Expr) -> bool:
    """Whether `value` makes a new block that nothing else points at."""
    if isinstance(value, N.MakeVector | N.Sort):
        return True
    return isinstance(value, N.Result) and isinstance(value.builder.ty, Appender | Scanner)


def _mentions(expr: N.Expr, name: str) -> bool:
    return any(isinstance(x, N.Ident) and x.name == name for x in expr.walk())


def _only_read(name: str, body: N.Expr) -> bool:
    """Every use of `name` in `body` reads the vector (the data of a loop, the first argument
    of an op that only reads it: `len`, `lookup`) and no binder in `body` rebinds the name."""
    uses = reads = 0
    for x in body.walk():
        if isinstance(x, N.Ident) and x.name == name:
            uses += 1
        elif name in N.binders(x):
            return False
        elif isinstance(x, N.For):
            reads += sum(_is_name(it.data, name) for it in x.iters)
        elif isinstance(x, N.Op) and OPS[x.op].reads_container:
            reads += _is_name(x.args[0], name)
    return uses == reads


def _is_name(expr: N.Expr | None, name: str) -> bool:
    return isinstance(expr, N.Ident) and expr.name == name


__all__ = ["last_reader"]
