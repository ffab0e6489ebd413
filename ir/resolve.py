"""What a call is: resolving `name(args)` after parsing, with the enclosing scope in hand.

The grammar has one call rule. Here each call `name(args)` becomes what the name stands for,
looked up in this order:

0. a function in scope (a `let` bound to a lambda, or a macro's parameter) -> `Apply`;

1. a special form (`if`, `for`, `merge`, `result`, `iterate`, `sort`) -> its own node;
2. a macro (Weld's standard ones, then the program's) -> its expansion (macros.py);
3. a builtin operator from `ops.CALL_OPS` (`exp`, `lookup`, `select`, ...) -> `Op`;
4. a scalar type (`i64`, `f32`, ...) -> `Cast`.

So `let abs = |x: i32| x; abs(-1)` calls the lambda, while in `|exp: f64| exp(exp)` the
parameter, which is not a function (lambdas are not values), leaves the builtin `exp`
callable. Special-form names and the iterator names (`iter`, `rangeiter`, `zip`) are reserved:
they cannot be bound at all. `scope` below is the set of function names in scope.

>>> from daybreak.ir.parser import parse_expr
>>> e = parse_expr("if(c, exp(x), f64(n))")
>>> e.then, e.else_
(Op(op='exp', args=(Ident(name='x'),)), Cast(to=Scalar(kind='f64'), expr=Ident(name='n')))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from .errors import ParseError
from .macros import MacroDef, expand
from .nodes import (
    CUDF,
    Apply,
    Cast,
    Expr,
    For,
    Ident,
    If,
    Iter,
    Iterate,
    Lambda,
    Let,
    Merge,
    Op,
    Result,
    Sort,
    map_children,
)
from .ops import CALL_OPS
from .substitute import NameSupply
from .types import SCALARS

ITERATOR_NAMES = ("iter", "rangeiter", "zip")

# Words that can never name a variable: the grammar's keywords, the special forms, the iterators
# and the literal words.
RESERVED = frozenset(
    {
        "let", "macro", "type", "true", "false", "inf", "nan", "inff", "nanf", "cudf",
        "vec", "dict", "appender", "merger", "dictmerger", "groupmerger", "vecmerger",
        "if", "for", "merge", "result", "iterate", "sort", *ITERATOR_NAMES,
    }
)  # fmt: skip


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class CallResolver:
    """Resolves every call of an expression tree; see the module docstring.

    `macros` maps names to the macros visible; `names` supplies fresh names for hygiene.
    """

    def __init__(self, macros: dict[str, MacroDef], names: NameSupply):
        self.macros = macros
        self.names = names

    # -- the walk ---------------------------------------------------------------------------

    def expr(self, e: Expr, scope: frozenset[str]) -> Expr:
        match e:
            case Apply(func=Ident(name=name), args=args) if name not in scope:
                return self._call(e, name, args, scope)
            case Let(value=value, body=body):
                inner = function_scope(scope, e)
                return replace(e, value=self.expr(value, scope), body=self.expr(body, inner))
            case Lambda(body=body):
                return replace(e, body=self.expr(body, function_scope(scope, e)))
            case CUDF(args=None):
                raise ParseError("cudf[name, T] needs an argument list: cudf[name, T](args)",
                                 e.loc)  # fmt: skip
            case _:
                return map_children(e, lambda c: self.expr(c, scope))

    def _call(self, call: Apply, name: str, args, scope) -> Expr:
        special = SPECIAL_FORMS.get(name)
        if special is not None:
            arity, build = special
            self._check_arity(call, name, args, arity)
            node = build(self, call, args, scope)
        elif name in self.macros:
            resolved = tuple(self.expr(a, scope) for a in args)
            call = replace(call, annotations=call.func.annotations + call.annotations)
            return expand(self.macros[name], resolved, call, self.names)
        elif name in CALL_OPS:
            self._check_arity(call, name, args, CALL_OPS[name].arity)
            node = Op(name, tuple(self.expr(a, scope) for a in args))
        elif name in SCALARS:
            self._check_arity(call, name, args, 1)
            node = Cast(SCALARS[name], self.expr(args[0], scope))
        elif name in ITERATOR_NAMES:
            raise ParseError(f"{name}(...) may only be the data of a for loop", call.loc)
        else:  # an unbound name: left for the type checker to report
            return replace(call, args=tuple(self.expr(a, scope) for a in args))
        return replace(node, loc=call.loc, annotations=call.func.annotations + call.annotations)

    @staticmethod
    def _check_arity(call: Apply, name: str, args, arity: int) -> None:
        if len(args) != arity:
            raise ParseError(
                f"{name} takes {_plural(arity, 'argument')}, given {len(args)}", call.loc
            )

    def lambda_arg(self, e: Expr, scope, what: str) -> Lambda:
        """An argument that must be a lambda literal (its arity is the type checker's to check,
        with the types in hand)."""
        out = self.expr(e, scope)
        if not isinstance(out, Lambda):
            raise ParseError(f"{what} must be a lambda, |...| body", e.loc)
        return out

    # -- the data of a for loop --------------------------------------------------------------

    def iters(self, e: Expr, scope) -> tuple[Iter, ...]:
        if _is_call(e, "zip"):
            if not e.args:
                raise ParseError("zip needs at least one vector", e.loc)
            return tuple(self.one_iter(a, scope) for a in e.args)
        return (self.one_iter(e, scope),)

    def one_iter(self, e: Expr, scope) -> Iter:
        if e.annotations and any(_is_call(e, n) for n in ITERATOR_NAMES):
            raise ParseError("annotations cannot be put on an iterator", e.loc)
        if _is_call(e, "iter"):
            parts = [self.expr(a, scope) for a in e.args]
            if len(parts) == 1:
                return Iter("scalar", parts[0])
            if len(parts) != 4:
                raise ParseError("iter takes 1 or 4 arguments: iter(v, start, end, stride)", e.loc)
            return Iter("scalar", *parts)
        if _is_call(e, "rangeiter"):
            if len(e.args) != 3:
                raise ParseError("rangeiter takes 3 arguments: rangeiter(start, end, stride)",
                                 e.loc)  # fmt: skip
            return Iter("range", None, *(self.expr(a, scope) for a in e.args))
        if _is_call(e, "zip"):
            raise ParseError("zip(...) cannot be nested", e.loc)
        return Iter("scalar", self.expr(e, scope))


def _is_call(e: Expr, name: str) -> bool:
    # Iterator names are reserved, so no scope check is needed.
    return isinstance(e, Apply) and isinstance(e.func, Ident) and e.func.name == name


# ----------------------------------------------------------------------------------------------
# The special forms: name -> (number of arguments, builder of the node).

Build = Callable[[CallResolver, Apply, tuple[Expr, ...], frozenset[str]], Expr]


def _for(r: CallResolver, call, args, scope) -> Expr:
    data, builder, func = args
    return For(
        r.iters(data, scope),
        r.expr(builder, scope),
        r.lambda_arg(func, scope, "the function of for"),
    )


def _iterate(r: CallResolver, call, args, scope) -> Expr:
    func = r.lambda_arg(args[1], scope, "the function of iterate")
    return Iterate(r.expr(args[0], scope), func)


def _sort(r: CallResolver, call, args, scope) -> Expr:
    return Sort(r.expr(args[0], scope), r.lambda_arg(args[1], scope, "the function of sort"))


def _plain(node_type) -> Build:
    def build(r: CallResolver, call, args, scope) -> Expr:
        return node_type(*(r.expr(a, scope) for a in args))

    return build


SPECIAL_FORMS: dict[str, tuple[int, Build]] = {
    "if": (3, _plain(If)),
    "merge": (2, _plain(Merge)),
    "result": (1, _plain(Result)),
    "for": (3, _for),
    "iterate": (2, _iterate),
    "sort": (2, _sort),
}


def resolve_calls(
    expr: Expr, functions: frozenset[str], macros: dict[str, MacroDef], names: NameSupply
) -> Expr:
    """`expr` with every call resolved (see the module docstring); `functions` are the names
    bound to functions around it (a macro body's parameters)."""
    return CallResolver(macros, names).expr(expr, functions)


def function_scope(scope: frozenset[str], node: Expr) -> frozenset[str]:
    """The function names in scope inside the binder `node` (a Let's body, a Lambda's body):
    the rule the printer must follow too, so that text reads back as the same calls."""
    if isinstance(node, Let):
        return scope | {node.name} if isinstance(node.value, Lambda) else scope - {node.name}
    if isinstance(node, Lambda):
        return scope - {p.name for p in node.params}
    return scope


def callable_names(macros) -> frozenset[str]:
    """Names that a call resolves to something other than `Apply` when no function of that
    name is in scope."""
    return frozenset(SPECIAL_FORMS) | frozenset(macros) | frozenset(CALL_OPS) | frozenset(SCALARS)


__all__ = [
    "RESERVED",
    "ITERATOR_NAMES",
    "SPECIAL_FORMS",
    "CallResolver",
    "resolve_calls",
    "function_scope",
    "callable_names",
]
