"""Builder linearity: is every builder used once, as Weld requires?

Compiled backends update builders in place, which is the meaning of `merge` only when each
builder value is used once (merged into, looped over, given to `result`, or returned from a
loop body). The reference interpreter gives every program a meaning; compiled backends call
`check_linear` and refuse the others.

    >>> from daybreak.ir import parse, typecheck
    >>> check_linear(typecheck(parse("let b = appender[i32]; {result(merge(b, 1)), result(b)}")))
    ["builder 'b' is used more than once"]
    >>> require_linear(typecheck(parse("let b = appender[i32]; {result(merge(b, 1)), result(b)}")))
    Traceback (most recent call last):
    ...
    daybreak.ir.errors.LinearityError: 1:53: builder 'b' is used more than once
    ...

The check is conservative and syntactic:
* a builder variable (a let or a lambda parameter of builder type) is used once on every path:
  uses in the two branches of an `if` count once, uses of different fields of a struct of
  builders are different uses;
* a loop body does not use builders from outside the loop (each iteration would use them);
* a loop body returns the builder it was given (merged, looped over, or chosen by `if`).
"""

from __future__ import annotations

from collections import Counter

from . import nodes as N
from .errors import LinearityError
from .trampoline import Walk, trampoline
from .types import Type

_MANY = 2


def _is_builder(t: Type | None) -> bool:
    return t is not None and t.is_builder


def check_linear(program: N.Program) -> list[str]:
    """The linearity violations of a typed program (empty when it is linear)."""
    return [problem.message for problem in linearity_errors(program)]


def require_linear(program: N.Program) -> None:
    """Raise the first linearity violation of a typed program, located where it happens: a
    program that uses a builder twice is the user's mistake, whatever the backend."""
    problems = linearity_errors(program)
    if problems:
        raise problems[0]


def linearity_errors(program: N.Program) -> list[LinearityError]:
    """The linearity violations of a typed program, each at the node where it happens."""
    problems: list[LinearityError] = []
    free = _free_builder_names(program.body)
    _check_scope(program.body, problems, _let_bound_lambdas(program.body), free)
    return problems


def _free_builder_names(root: N.Expr) -> dict[int, frozenset[str]]:
    """id(node) -> the builder-typed names `node` uses without binding them, for every node
    (one walk, children before parents). A name's uses are then looked for only in the
    subtrees that have it free: a chain of n builder lets costs n, not n^3."""
    free: dict[int, frozenset[str]] = {}
    for node in reversed(list(root.walk())):  # (descendants before their ancestors)
        if id(node) in free:
            continue
        names: set[str] = set()
        if isinstance(node, N.Ident) and _is_builder(node.ty):
            names.add(node.name)
        for child in N.children_with_scope(node):
            inner = free[id(child.expr)]
            names.update(inner.difference(child.binds) if child.binds else inner)
        free[id(node)] = frozenset(names)
    return free


def _let_bound_lambdas(expr: N.Expr) -> dict[str, N.Lambda | None]:
    """name -> the lambda a let binds to it (None when the name is bound to several things)."""
    found: dict[str, N.Lambda | None] = {}
    for node in expr.walk():
        if isinstance(node, N.Let):
            value = node.value if isinstance(node.value, N.Lambda) else None
            found[node.name] = value if node.name not in found else None
    return found


def _check_scope(expr: N.Expr, problems: list[LinearityError], lambdas, free) -> None:
    """Check the builder variables bound anywhere in `expr` and every loop body in it."""
    for node in expr.walk():
        if isinstance(node, N.Let) and _is_builder(node.value.ty):
            _check_uses(node.name, node.body, problems, free)
        elif isinstance(node, N.For):
            lam = node.func
            builder_param = lam.params[0].name
            _check_uses(builder_param, lam.body, problems, free)
            outside = free[id(lam.body)].difference(p.name for p in lam.params)
            for name in sorted(outside):
                where = _uses_of(name, lam.body)[0]
                problems.append(LinearityError(
                    f"the loop body uses builder '{name}' from outside the loop", where.loc
                ))  # fmt: skip
            if not trampoline(_derived_from(lam.body, frozenset([builder_param]), lambdas)):
                problems.append(LinearityError(
                    "a loop body must return the builder it was given", lam.body.loc
                ))  # fmt: skip


def _check_uses(name: str, scope: N.Expr, problems: list[LinearityError], free) -> None:
    for usage in trampoline(_usages_walk(scope, name, free)):
        paths = sorted((path, c) for (n, path), c in usage.items() if n == name)
        if _conflict(paths):
            uses = _uses_of(name, scope)  # the second use is the mistake (one use in a loop)
            where = uses[1] if len(uses) > 1 else uses[0]
            problems.append(LinearityError(f"builder '{name}' is used more than once", where.loc))
            return


def _uses_of(name: str, scope: N.Expr) -> list[N.Expr]:
    """The builder-typed occurrences of `name` in `scope`, in evaluation order."""
    return [n for n in scope.walk() if isinstance(n, N.Ident) and n.name == name
            and _is_builder(n.ty)]  # fmt: skip


def _conflict(paths: list[tuple[tuple[int, ...], int]]) -> bool:
    """Two uses of one builder conflict when one's field path is a prefix of the other's
    (`b` and `b.$0`; `b.$0` twice), or one path is used twice."""
    for i, (p, c) in enumerate(paths):
        if c > 1:
            return True
        for q, _ in paths[i + 1 :]:
            if q[: len(p)] == p:
                return True
    return False


_MAX_ALTERNATIVES = 64


_NONE = [Counter()]


def _usages_walk(expr: N.Expr, name: str, free) -> Walk[list[Counter]]:
    """The possible uses of the builder `name` by `expr`, one Counter of (name, field path)
    per combination of `if` branches (capped: beyond the cap, branches are merged, which is
    conservative). Subtrees where `name` is not free (`free`) have none; a binder of `name`
    hides the uses below it (another variable)."""
    if name not in free[id(expr)]:
        return _NONE
    path = _field_path(expr)
    if path is not None:
        return [Counter({path: 1})]
    if isinstance(expr, N.If):
        cond = yield _usages_walk(expr.cond, name, free)
        then = yield _usages_walk(expr.then, name, free)
        return _product(cond, then + (yield _usages_walk(expr.else_, name, free)))
    if isinstance(expr, N.For):
        alternatives = _NONE
        for child in expr.children():
            if child is not expr.func:
                alternatives = _product(alternatives, (yield _usages_walk(child, name, free)))
        repeated = Counter()
        if name not in (p.name for p in expr.func.params):
            for usage in (yield _usages_walk(expr.func.body, name, free)):
                for key in usage:
                    repeated[key] = _MANY  # used once per iteration
        return _product(alternatives, [repeated])
    alternatives = _NONE
    for child in N.children_with_scope(expr):
        if name not in child.binds:
            alternatives = _product(alternatives, (yield _usages_walk(child.expr, name, free)))
    return alternatives


def _product(left: list[Counter], right: list[Counter]) -> list[Counter]:
    out = [a + b for a in left for b in right]
    if len(out) > _MAX_ALTERNATIVES:
        merged = Counter()
        for usage in out:
            merged |= usage  # the largest count of each key: still flags every conflict
        out = [merged]
    return out


def _field_path(expr: N.Expr) -> tuple[str, tuple[int, ...]] | None:
    """`b` -> ("b", ()), `b.$0.$1` -> ("b", (0, 1)) for builder-typed names; else None."""
    fields: list[int] = []
    node = expr
    while isinstance(node, N.GetField) and _is_builder(node.expr.ty):
        fields.append(node.index)
        node = node.expr
    if isinstance(node, N.Ident) and _is_builder(node.ty):
        return node.name, tuple(reversed(fields))
    return None


def _derived_from(expr: N.Expr, names: frozenset[str], lambdas) -> Walk[bool]:
    """Whether every builder `expr` returns comes from the builders named in `names` (the
    loop's builder parameter, and lets bound to builders derived from it)."""

    def derived(e: N.Expr, within: frozenset[str] = names) -> Walk[bool]:
        return _derived_from(e, within, lambdas)

    match expr:
        case N.Ident(name=n):
            return n in names
        case N.GetField(expr=inner) | N.Ascribe(expr=inner):
            return (yield derived(inner))
        case N.Merge(builder=b) | N.For(builder=b):
            return (yield derived(b))
        case N.If(then=a, else_=b):
            return (yield derived(a)) and (yield derived(b))
        case N.MakeStruct(elems=elems):
            for e in elems:
                if _is_builder(e.ty) and not (yield derived(e)):
                    return False
            return True
        case N.Let(name=bound, value=value, body=body):
            if _is_builder(value.ty) and (yield derived(value)):
                return (yield derived(body, names | {bound}))
            return (yield derived(body, names - {bound}))
        case N.Apply(func=func, args=args):
            lam = func if isinstance(func, N.Lambda) else None
            if isinstance(func, N.Ident):
                lam = lambdas.get(func.name)
            if lam is None:
                return False
            passed = []
            for p, a in zip(lam.params, args, strict=True):
                if _is_builder(a.ty) and (yield derived(a)):
                    passed.append(p.name)
            return (yield derived(lam.body, frozenset(passed)))
        case _:
            return False
