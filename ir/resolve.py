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
from .macros import ExpansionBudget, MacroDef, expand
from .nodes import (
    BARE_ITER_KIND,
    CUDF,
    ITER_KINDS,
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
    map_tree,
    rebuild,
)
from .ops import CALL_OPS
from .substitute import NameSupply
from .trampoline import Walk, trampoline
from .types import SCALARS

# The calls that write an iterator (one per iterator kind), then zip, which writes several.
ITERATOR_CALLS = {kind.keyword: kind for kind in ITER_KINDS.values()}
ITERATOR_NAMES = (*ITERATOR_CALLS, "zip")

# Words that can never name a variable: the grammar's keywords, the special forms, the iterators
# and the literal words.
RESERVED = frozenset(
    {
        "let", "macro", "type", "true", "false", "inf", "nan", "inff", "nanf", "cudf",
        "vec", "dict", "appender", "merger", "dictmerger", "groupmerger", "vecmerger", "scanner",
        "if", "for", "merge", "result", "iterate", "sort", *ITERATOR_NAMES,
    }
)  # fmt: skip


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class CallResolver:
    """Resolves every call of an expression tree; see the module docstring.

    `macros` maps names to the macros visible; `names` supplies fresh names for hygiene. The
    walk is written as generators run by `trampoline` (a sub-walk is `yield`ed), so that
    programs nest as deep as they like.
    """

    def __init__(
        self, macros: dict[str, MacroDef], names: NameSupply, budget: ExpansionBudget | None
    ):
        self.macros = macros
        self.names = names
        self.budget = budget or ExpansionBudget()

    def resolve(self, e: Expr, scope: frozenset[str]) -> Expr:
        return trampoline(self.expr(e, scope))

    # -- the walk ---------------------------------------------------------------------------

    def expr(self, e: Expr, scope: frozenset[str]) -> Walk[Expr]:
        match e:
            case Apply(func=Ident(name=name), args=args) if name not in scope:
                return (yield self._call(e, name, args, scope))
            case Let(value=value, body=body):
                value = yield self.expr(value, scope)
                body = yield self.expr(body, function_scope(scope, e))
                return replace(e, value=value, body=body)
            case Lambda(body=body):
                return replace(e, body=(yield self.expr(body, function_scope(scope, e))))
            case CUDF(args=None):
                raise ParseError("cudf[name, T] needs an argument list: cudf[name, T](args)",
                                 e.loc)  # fmt: skip
            case _:
                return rebuild(e, (yield self.each(e.children(), scope)))

    def each(self, exprs, scope) -> Walk[tuple[Expr, ...]]:
        out = []
        for e in exprs:
            out.append((yield self.expr(e, scope)))
        return tuple(out)

    def _call(self, call: Apply, name: str, args, scope) -> Walk[Expr]:
        special = SPECIAL_FORMS.get(name)
        if special is not None:
            arity, build = special
            self._check_arity(call, name, args, arity)
            node = yield build(self, call, args, scope)
        elif name in self.macros:
            resolved = yield self.macro_args(args, scope)
            call = replace(call, annotations=call.func.annotations + call.annotations)
            out = expand(self.macros[name], resolved, call, self.names, self.budget)
            if any(_is_call(a, n) for a in resolved for n in ITERATOR_NAMES):
                out = place_iterators(out)
            return out
        elif name in CALL_OPS:
            self._check_arity(call, name, args, CALL_OPS[name].arity)
            node = Op(name, (yield self.each(args, scope)))
        elif name in SCALARS:
            self._check_arity(call, name, args, 1)
            node = Cast(SCALARS[name], (yield self.expr(args[0], scope)))
        elif name in ITERATOR_NAMES:
            raise ParseError(f"{name}(...) may only be the data of a for loop", call.loc)
        else:  # an unbound name: left for the type checker to report
            return replace(call, args=(yield self.each(args, scope)))
        return replace(node, loc=call.loc, annotations=call.func.annotations + call.annotations)

    def macro_args(self, args, scope) -> Walk[tuple[Expr, ...]]:
        """The arguments of a macro call. An iterator (`zip(a, b)`, `iter(v, ...)`) stays a
        call: Weld expands macros before it reads iterators, so `map(zip(a, b), f)` loops
        over both (see `place_iterators`)."""
        out = []
        for a in args:
            out.append((yield self.loop_data(a, scope)))
        return tuple(out)

    def loop_data(self, e: Expr, scope) -> Walk[Expr]:
        """`e` resolved as the data of a for loop: an iterator call stays a call, with its
        arguments resolved (those of `zip` may be iterators themselves)."""
        if _is_call(e, "zip"):
            return replace(e, args=(yield self.macro_args(e.args, scope)))
        if _is_iterator(e):
            return replace(e, args=(yield self.each(e.args, scope)))
        return (yield self.expr(e, scope))

    @staticmethod
    def _check_arity(call: Apply, name: str, args, arity: int) -> None:
        if len(args) != arity:
            raise ParseError(
                f"{name} takes {_plural(arity, 'argument')}, given {len(args)}", call.loc
            )

    def lambda_arg(self, e: Expr, scope, what: str) -> Walk[Lambda]:
        """An argument that must be a lambda literal (its arity is the type checker's to check,
        with the types in hand)."""
        out = yield self.expr(e, scope)
        if not isinstance(out, Lambda):
            raise ParseError(f"{what} must be a lambda, |...| body", e.loc)
        return out

    # -- the data of a for loop --------------------------------------------------------------

    def iters(self, e: Expr, scope) -> Walk[tuple[Iter, ...]]:
        return iterators_of((yield self.loop_data(e, scope)))


def _is_call(e: Expr, name: str) -> bool:
    # Iterator names are reserved, so no scope check is needed.
    return isinstance(e, Apply) and isinstance(e.func, Ident) and e.func.name == name


def _is_iterator(e: Expr) -> bool:
    """`iter(...)` or `rangeiter(...)`: one iterator (zip is several)."""
    return any(_is_call(e, keyword) for keyword in ITERATOR_CALLS)


def iterators_of(data: Expr) -> tuple[Iter, ...]:
    """The iterators of a for loop's data, whose calls' arguments are already resolved:
    `zip(a, iter(b, 0L, n, 1L))` gives two, `v` one."""
    if _is_call(data, "zip"):
        if not data.args:
            raise ParseError("zip needs at least one vector", data.loc)
        return tuple(_one_iter(a) for a in data.args)
    return (_one_iter(data),)


def _one_iter(e: Expr) -> Iter:
    if e.annotations and any(_is_call(e, n) for n in ITERATOR_NAMES):
        raise ParseError("annotations cannot be put on an iterator", e.loc)
    if _is_call(e, "zip"):
        raise ParseError("zip(...) cannot be nested", e.loc)
    if not _is_iterator(e):  # a vector alone
        return Iter(BARE_ITER_KIND.name, e)
    kind = ITERATOR_CALLS[e.func.name]
    for form in kind.forms:
        if len(form) == len(e.args):
            return Iter(kind.name, **dict(zip(form, e.args, strict=True)))
    counts = " or ".join(str(len(form)) for form in kind.forms)
    raise ParseError(f"{kind.keyword} takes {counts} arguments: {kind.usage()}", e.loc)


def place_iterators(expr: Expr) -> Expr:
    """A macro's expansion with the iterators its arguments brought in (`map(zip(a, b), f)`)
    made the data of the loops they landed in; an iterator anywhere else is an error."""
    stack = [expr]
    while stack:  # every iterator call must be (part of) a loop's data
        node = stack.pop()
        if isinstance(node, Apply) and any(_is_call(node, n) for n in ITERATOR_NAMES):
            raise ParseError(f"{node.func.name}(...) may only be the data of a for loop",
                             node.loc)  # fmt: skip
        if isinstance(node, For) and any(_passed_iterator(it) for it in node.iters):
            stack += [node.builder, node.func]
            for it in node.iters:
                stack += _loop_data_parts(it.data) if _passed_iterator(it) else it.children()
        else:
            stack += node.children()

    def place(node: Expr) -> Expr:
        if not isinstance(node, For) or not any(_passed_iterator(it) for it in node.iters):
            return node
        iters = []
        for it in node.iters:
            iters.extend(iterators_of(it.data) if _passed_iterator(it) else (it,))
        return replace(node, iters=tuple(iters))

    return map_tree(expr, place)


def _loop_data_parts(data: Expr) -> list[Expr]:
    """The expressions inside an iterator call that is a loop's data (zip's iterators are
    data too; iterators_of says which nestings are wrong)."""
    parts = []
    for a in data.args:
        is_iterator = any(_is_call(a, n) for n in ITERATOR_NAMES)
        parts += _loop_data_parts(a) if is_iterator and _is_call(data, "zip") else [a]
    return parts


def _passed_iterator(it: Iter) -> bool:
    """A loop input that is an iterator call passed in for a macro parameter."""
    return it.is_plain and any(_is_call(it.data, n) for n in ITERATOR_NAMES)


# ----------------------------------------------------------------------------------------------
# The special forms: name -> (number of arguments, builder of the node).

Build = Callable[[CallResolver, Apply, tuple[Expr, ...], frozenset[str]], Walk[Expr]]


def _for(r: CallResolver, call, args, scope) -> Walk[Expr]:
    data, builder, func = args
    iters = yield r.iters(data, scope)
    builder = yield r.expr(builder, scope)
    return For(iters, builder, (yield r.lambda_arg(func, scope, "the function of for")))


def _iterate(r: CallResolver, call, args, scope) -> Walk[Expr]:
    func = yield r.lambda_arg(args[1], scope, "the function of iterate")
    return Iterate((yield r.expr(args[0], scope)), func)


def _sort(r: CallResolver, call, args, scope) -> Walk[Expr]:
    data = yield r.expr(args[0], scope)
    return Sort(data, (yield r.lambda_arg(args[1], scope, "the function of sort")))


def _plain(node_type) -> Build:
    def build(r: CallResolver, call, args, scope) -> Walk[Expr]:
        return node_type(*(yield r.each(args, scope)))

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
    expr: Expr,
    functions: frozenset[str],
    macros: dict[str, MacroDef],
    names: NameSupply,
    budget: ExpansionBudget | None = None,
) -> Expr:
    """`expr` with every call resolved (see the module docstring); `functions` are the names
    bound to functions around it (a macro body's parameters); `budget` bounds what macro
    expansion may add (one budget for a whole program)."""
    return CallResolver(macros, names, budget).resolve(expr, functions)


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
