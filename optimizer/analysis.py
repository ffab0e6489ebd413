"""Facts about expressions that every pass asks: can it fail, is it cheap, where is a name used.

A pass may move, drop or duplicate an expression only when the program still means the same
thing, runtime errors included (docs/ir.md): an expression that *can fail* (an unchecked
`lookup`, `assert`, a bounded `iter`, a `zip`, a vecmerger merge, a native call, a loop that
might not end) must not be dropped, and must not be moved past another one that can fail.

>>> from daybreak.ir.parser import parse_expr
>>> can_fail(parse_expr("x + 1")), can_fail(parse_expr("lookup(v, 3L)"))
(False, True)
"""

from __future__ import annotations

from daybreak.ir import nodes as N
from daybreak.ir.dispatch import IterTable, NodeTable
from daybreak.ir.ops import OPS
from daybreak.ir.substitute import free_vars
from daybreak.ir.types import Func, VecMerger, in_merge_order

# Whether a node itself (not its children) may raise a runtime error, per node kind: a
# table of ir/dispatch.py, so a new node kind fails tests/test_completeness.py until it says.
_CAN_FAIL = NodeTable("can fail")


def node_can_fail(node: N.Expr) -> bool:
    """Whether this node itself (not its children) may raise a runtime error."""
    return _CAN_FAIL[type(node)](node)


@_CAN_FAIL.register(
    N.Literal, N.Ident, N.MakeVector, N.MakeStruct, N.GetField, N.Cast, N.Ascribe, N.Let,
    N.If, N.Lambda, N.Apply, N.Result, N.NewBuilder, N.Sort,
)  # fmt: skip
def _never(node) -> bool:
    return False


@_CAN_FAIL.register(N.Op)
def _op_can_fail(node: N.Op) -> bool:
    decl = OPS.get(node.op)
    return decl is not None and decl.can_fail  # the op's declared trait


@_CAN_FAIL.register(N.CUDF, N.Iterate)
def _always(node) -> bool:
    return True  # native code may fail; iterate may not terminate


@_CAN_FAIL.register(N.For)
def _for_can_fail(node: N.For) -> bool:
    if len(node.iters) > 1:
        return True  # zip of unequal lengths
    return iter_can_fail(node.iters[0])


@_CAN_FAIL.register(N.Merge)
def _merge_can_fail(node: N.Merge) -> bool:
    return isinstance(node.builder.ty, VecMerger) or node.builder.ty is None  # (out of bounds)


# Whether the bounds check of an iterator may raise, per iterator kind (a table too).
_ITER_CAN_FAIL = IterTable("can fail iterator")


def iter_can_fail(it: N.Iter) -> bool:
    """Whether the bounds check of one iterator may raise (a bounded `iter`, a `rangeiter`
    whose stride is not a positive literal)."""
    return _ITER_CAN_FAIL[it.kind](it)


@_ITER_CAN_FAIL.register("scalar")
def _bounds_can_fail(it: N.Iter) -> bool:
    return not it.is_plain  # bounds given: they may lie outside the vector


@_ITER_CAN_FAIL.register("range")
def _stride_can_fail(it: N.Iter) -> bool:
    return not (isinstance(it.stride, N.Literal) and it.stride.value > 0)  # (stride > 0)


def can_fail(expr: N.Expr) -> bool:
    """Whether evaluating `expr` might raise a runtime error (conservative)."""
    return any(node_can_fail(n) for n in expr.walk())


def has_costly_op(expr: N.Expr) -> bool:
    """Whether `expr` computes an op declared `costly` (a transcendental: see ir/ops.py)."""
    return any(isinstance(n, N.Op) and OPS[n.op].costly for n in expr.walk())


def builds_in_merge_order(builder: N.Expr) -> bool:
    """Whether the builder a loop starts from (a new builder, or a struct of them) must be
    merged in order (a scanner: its loop never runs side by side)."""
    if isinstance(builder, N.NewBuilder):
        return in_merge_order(builder.type)
    if isinstance(builder, N.MakeStruct):
        return any(builds_in_merge_order(e) for e in builder.elems)
    return builder.ty is not None and in_merge_order(builder.ty)


def is_trivial(expr: N.Expr) -> bool:
    """Names and literals: free to copy anywhere."""
    return isinstance(expr, (N.Ident, N.Literal)) and not expr.annotations


def is_field_path(expr: N.Expr) -> bool:
    """A name or a field of one, `v` or `r.$0.$1`: as cheap to repeat as the name itself, and
    it cannot fail."""
    while isinstance(expr, N.GetField) and not expr.annotations:
        expr = expr.expr
    return isinstance(expr, N.Ident) and not expr.annotations


def needs_context(e: N.Expr) -> bool:
    """Whether the type of `e` comes from its context (an empty vector `[]` inside): equal
    nodes may then have different types, and moving `e` may lose its type."""
    return any(isinstance(n, N.MakeVector) and not n.elems for n in e.walk())


def is_value(expr: N.Expr) -> bool:
    """A plain value (not a builder, not a function), so it may be bound and shared."""
    return expr.ty is not None and expr.ty.is_value and not isinstance(expr.ty, Func)


# ----------------------------------------------------------------------------------------------
# Evaluation order. A child is "strict" when its parent always evaluates it, before its own
# result; "deferred" when it runs conditionally or repeatedly (if branches, the right side of
# && and ||, lambda bodies).


def strict_children(node: N.Expr) -> tuple[N.Expr, ...]:
    """The children `node` always evaluates, in evaluation order: those its kind declares
    evaluated exactly once (nodes.children_with_scope), less the function of a loop, `iterate`
    or `sort` (the node calls it per element; the lambda as a value does nothing). A lambda
    applied on the spot runs its body once, after its arguments."""
    if isinstance(node, N.Apply) and isinstance(node.func, N.Lambda):
        return (*node.args, node.func.body)
    calls_func = bool(getattr(node, "func_roles", ()))
    return tuple(
        child.expr
        for child in N.children_with_scope(node)
        if child.evaluation is N.Evaluation.ONCE and not (calls_func and child.expr is node.func)
    )


def uses(expr: N.Expr, name: str) -> int:
    """How many free occurrences of `name` are in `expr`."""
    return sum(
        1
        for node, bound in N.walk_with_scope(expr)
        if isinstance(node, N.Ident) and node.name == name and name not in bound
    )


def use_is_first(body: N.Expr, name: str, facts=None) -> bool:
    """Whether the one use of `name` in `body` is reached, in evaluation order, before
    anything that can fail, and only through strict positions (so evaluating the bound
    value at its use instead of before `body` raises the same errors). `facts` (a
    memo.Facts) caches free names and failure per node: asked of every `let` of a long
    chain, uncached, this would be quadratic."""
    fv = facts.free_vars if facts is not None else free_vars
    fails = facts.can_fail if facts is not None else can_fail
    return _first(body, name, fv, fails) is True


def _first(e: N.Expr, name: str, fv, fails):
    """True: the use is reached first; False: something failing (or a deferred position)
    comes first; None: `e` neither uses `name` nor can fail."""
    while True:
        if isinstance(e, N.Ident):
            return True if e.name == name else None
        if name not in fv(e):
            return False if fails(e) else None
        if isinstance(e, N.Let) and e.name == name:
            return False if fails(e.value) else None  # pragma: no cover - name is free
        if isinstance(e, N.For):
            return _first_in_loop(e, name, fv, fails)
        if isinstance(e, N.Let):  # down a chain of lets without recursing once per let
            found = _first(e.value, name, fv, fails)
            if found is not None:
                return found
            e = e.body
            continue
        for child in strict_children(e):
            found = _first(child, name, fv, fails)
            if found is not None:
                return found
        # The use is in a deferred position.
        return False


def _first_in_loop(loop: N.For, name: str, fv, fails):
    # A loop checks each iterator's bounds right after evaluating it, and the zip's lengths
    # after all of them, before it builds its builder (the interpreter's order).
    for it in loop.iters:
        for child in it.children():
            found = _first(child, name, fv, fails)
            if found is not None:
                return found
        if iter_can_fail(it):
            return False
    if len(loop.iters) > 1:
        return False
    found = _first(loop.builder, name, fv, fails)
    return False if found is None else found  # else the use is in the body (deferred)
