"""fold: constant folding and algebraic simplification, as rules (see rules.py).

Operators on literals are computed with the operator's own `evaluate` from ops.OPS (so
folding wraps integers, rounds f32 and treats NaN exactly as every backend does); identities
hold only where they hold bit for bit: `x + 0` drops for integers but not floats (-0.0 + 0 is
0.0), `x * 0` folds for integers only, and nothing is dropped that could raise an error.

Before:
    let n = 2 * 3;  {x * 1 + i32(n), {x, lookup(v, 0L)}.$0, if(true, a, b), if(c, a, -a)}
After:
    {x + 6, {x, lookup(v, 0L)}.$0, a, select(c, a, -a)}
(`inline` substitutes `n`; `{..}.$0` keeps the lookup, which could fail; an `if` between
cheap values that cannot fail becomes a branch-free `select`: predication.)
"""

from __future__ import annotations

import math

from daybreak.ir import nodes as N
from daybreak.ir.interp import cast_function
from daybreak.ir.ops import OPS
from daybreak.ir.substitute import free_vars
from daybreak.ir.types import I64, Scalar

from .analysis import can_fail, is_value, needs_context
from .rules import Pat, Rule, X, Y, Z, rewrite

# ----------------------------------------------------------------------------------------------
# Predicates used by the patterns.


def _scalar_lit(e: N.Expr) -> bool:
    return isinstance(e, N.Literal) and isinstance(e.type, Scalar)


def _lit_is(value):
    """A scalar literal equal to `value` (bit for bit for floats: -0.0 is not 0.0)."""

    def test(e: N.Expr) -> bool:
        if not _scalar_lit(e) or isinstance(e.value, bool) != isinstance(value, bool):
            return False
        if isinstance(e.value, float):
            return math.copysign(1.0, e.value) == math.copysign(1.0, value) and e.value == value
        return e.value == value

    return test


def _int(e: N.Expr) -> bool:
    return isinstance(e.ty, Scalar) and e.ty.is_int


def _float(e: N.Expr) -> bool:
    return isinstance(e.ty, Scalar) and e.ty.is_float


def lit(name: str, value) -> Pat:
    return Pat(N.Literal, name=name, where=_lit_is(value))


def op(name: str, *args: Pat, bind: str | None = "node") -> Pat:
    """An operator node (bound as "node"; nested ones pass bind=None)."""
    return Pat(N.Op, name=bind, op=name, args=tuple(args))


def either_order(name: str, pattern: Pat, rewrite) -> list[Rule]:
    """The rule for `a op b` and, when `op` is declared commutative, for `b op a` as well: an
    identity of a commutative operator is written once."""
    rules = [Rule(name, pattern, rewrite)]
    if OPS[pattern.fields["op"]].commutative:
        a, b = pattern.fields["args"]
        swapped = Pat(N.Op, name=pattern.name, op=pattern.fields["op"], args=(b, a))
        rules.append(Rule(f"{name} (swapped)", swapped, rewrite))
    return rules


ZERO, ONE, TRUE, FALSE = lit("k", 0), lit("k", 1), lit("k", True), lit("k", False)
F_ZERO, F_NEG_ZERO, F_ONE = lit("k", 0.0), lit("k", -0.0), lit("k", 1.0)
INT_X, FLOAT_X = Pat(name="x", where=_int), Pat(name="x", where=_float)

# ----------------------------------------------------------------------------------------------
# Rewrites.


def _literal(value, ty) -> N.Literal:
    return N.Literal(value, ty, ty=ty)


def _fold_op(m):
    node: N.Op = m["node"]
    decl = OPS.get(node.op)
    if decl is None or decl.effect or not isinstance(node.ty, Scalar):
        return None
    if not all(_scalar_lit(a) for a in node.args):
        return None
    try:
        value = decl.evaluate([a.value for a in node.args], [a.type for a in node.args], node.ty)
    except Exception:  # a runtime error stays a runtime error: leave it to run
        return None
    return _literal(value, node.ty)


def _fold_cast(m):
    node: N.Cast = m["node"]
    return _literal(cast_function(node.expr.type, node.to)(node.expr.value), node.to)


def _zero_like(m):
    node = m["node"]
    return _literal(0, node.ty)


def _getfield_struct(m):
    node: N.GetField = m["node"]
    elems = node.expr.elems
    if not is_value(node) or node.index >= len(elems):
        return None
    if any(can_fail(e) for k, e in enumerate(elems) if k != node.index):
        return None
    return elems[node.index]


def _getfield_let(m):
    node: N.GetField = m["node"]
    let: N.Let = node.expr
    inner = N.GetField(let.body, node.index, ty=node.ty, loc=node.loc, annotations=node.annotations)
    return N.Let(let.name, let.value, inner, ty=node.ty, loc=let.loc, annotations=let.annotations)


def _let_float(m):
    # `let x = (let y = v; b); body` -> `let y = v; let x = b; body`: same order, flatter.
    outer: N.Let = m["node"]
    inner: N.Let = outer.value
    if inner.name == outer.name or inner.name in free_vars(outer.body) or inner.annotations:
        return None
    new_outer = N.Let(
        outer.name,
        inner.body,
        outer.body,
        ty=outer.ty,
        loc=outer.loc,
        annotations=outer.annotations,
    )
    return N.Let(inner.name, inner.value, new_outer, ty=outer.ty, loc=inner.loc)


_CHEAP = 8  # nodes: what an `if` branch may cost to be computed anyway by `select`


def _cheap(e: N.Expr) -> bool:
    nodes = list(e.walk())
    return (
        len(nodes) <= _CHEAP
        and not can_fail(e)
        and all(isinstance(n, (N.Literal, N.Ident, N.Op, N.Cast, N.GetField)) for n in nodes)
    )


def _predicate(m):
    # `if(c, a, b)` -> `select(c, a, b)` on cheap scalar branches: no branch in the loop, so
    # it can vectorise; both sides are computed, which is safe since neither can fail.
    node: N.If = m["node"]
    if not isinstance(node.ty, Scalar) or node.annotations:
        return None
    if not (_cheap(node.then) and _cheap(node.else_)):
        return None
    return N.Op("select", (node.cond, node.then, node.else_), ty=node.ty, loc=node.loc)


def _len_vector(m):
    node: N.Op = m["node"]
    vec: N.MakeVector = node.args[0]
    if any(can_fail(e) for e in vec.elems):
        return None
    return _literal(len(vec.elems), I64)


def _lookup_vector(m):
    node: N.Op = m["node"]
    vec, index = node.args
    if not 0 <= index.value < len(vec.elems):
        return None  # the out-of-bounds error must still happen
    if any(can_fail(e) for k, e in enumerate(vec.elems) if k != index.value):
        return None
    return vec.elems[index.value]


def _keep_expr(m):
    return m["node"].expr


def _keep(name: str):
    return lambda m: m[name]


def _unless_fails(keep: str, dropped: str):
    """Keep `keep`, dropping `dropped`, which must not be able to fail."""
    return lambda m: m[keep] if not can_fail(m[dropped]) else None


def _const_unless_fails(dropped: str, const: str):
    return lambda m: m[const] if not can_fail(m[dropped]) else None


RULES: list[Rule] = [
    # Literal arithmetic, comparisons, math functions, casts.
    Rule("fold-op", Pat(N.Op, name="node"), _fold_op),
    Rule("fold-cast", Pat(N.Cast, name="node", expr=Pat(where=_scalar_lit)), _fold_cast),
    Rule("cast-same", Pat(N.Cast, name="node", where=lambda n: n.expr.ty == n.to), _keep_expr),
    Rule(
        "ascribe-same",
        Pat(
            N.Ascribe,
            name="node",
            where=lambda n: n.expr.ty == n.type and not needs_context(n.expr),
        ),
        _keep_expr,
    ),
    # Identities (bit-exact: float +0 is not an identity, -0.0 is).
    *either_order("add-zero", op("+", INT_X, ZERO), _keep("x")),
    Rule("add-neg-zero", op("+", FLOAT_X, F_NEG_ZERO), _keep("x")),
    Rule("sub-zero", op("-", INT_X, ZERO), _keep("x")),
    Rule("fsub-zero", op("-", FLOAT_X, F_ZERO), _keep("x")),
    *either_order("mul-one", op("*", INT_X, ONE), _keep("x")),
    *either_order("fmul-one", op("*", FLOAT_X, F_ONE), _keep("x")),
    Rule("div-one", op("/", INT_X, ONE), _keep("x")),
    Rule("fdiv-one", op("/", FLOAT_X, F_ONE), _keep("x")),
    *either_order("mul-zero", op("*", INT_X, ZERO), _const_unless_fails("x", "k")),
    Rule("sub-self", op("-", INT_X, X), lambda m: None if can_fail(m["x"]) else _zero_like(m)),
    Rule("and-self", op("&", X, X), _keep("x")),
    Rule("or-self", op("|", X, X), _keep("x")),
    Rule("neg-neg", op("neg", op("neg", X, bind=None)), _keep("x")),
    Rule("not-not", op("not", op("not", X, bind=None)), _keep("x")),
    # Boolean short-circuits.
    Rule("true-and", op("&&", TRUE, X), _keep("x")),
    Rule("false-and", op("&&", FALSE, X), _keep("k")),
    Rule("and-true", op("&&", X, TRUE), _keep("x")),
    Rule("and-false", op("&&", X, FALSE), _const_unless_fails("x", "k")),
    Rule("true-or", op("||", TRUE, X), _keep("k")),
    Rule("false-or", op("||", FALSE, X), _keep("x")),
    Rule("or-false", op("||", X, FALSE), _keep("x")),
    Rule("or-true", op("||", X, TRUE), _const_unless_fails("x", "k")),
    # Choices.
    Rule("select-true", op("select", TRUE, X, Y), _unless_fails("x", "y")),
    Rule("select-false", op("select", FALSE, X, Y), _unless_fails("y", "x")),
    Rule("select-same", op("select", Z, X, X), _unless_fails("x", "z")),
    Rule("if-true", Pat(N.If, cond=TRUE, then=X, else_=Y), _keep("x")),
    Rule("if-false", Pat(N.If, cond=FALSE, then=X, else_=Y), _keep("y")),
    Rule("if-same", Pat(N.If, cond=Z, then=X, else_=X), _unless_fails("x", "z")),
    Rule("predicate", Pat(N.If, name="node"), _predicate),
    # Structs and vectors built in place.
    Rule("getfield-struct", Pat(N.GetField, name="node", expr=Pat(N.MakeStruct)), _getfield_struct),
    Rule("getfield-let", Pat(N.GetField, name="node", expr=Pat(N.Let)), _getfield_let),
    Rule("let-float", Pat(N.Let, name="node", value=Pat(N.Let)), _let_float),
    Rule("len-vector", op("len", Pat(N.MakeVector)), _len_vector),
    Rule(
        "lookup-vector", op("lookup", Pat(N.MakeVector), Pat(N.Literal, where=_int)), _lookup_vector
    ),
]


def _keep_type(old: N.Expr, new: N.Expr) -> N.Expr:
    # A replacement cut off from what told the type checker its type states the type itself.
    if old.ty is not None and old.ty.is_value and needs_context(new):
        if not (isinstance(new, N.Ascribe) and new.type == old.ty):
            return N.Ascribe(new, old.ty, ty=old.ty, loc=new.loc)
    return new


def run(program: N.Program) -> N.Program:
    body = rewrite(program.body, RULES, finish=_keep_type)
    return program if body == program.body else N.Program(program.params, body)
