"""Names and binders: free variables, fresh names, capture-avoiding substitution, beta reduction.

The binders of the IR are `let` and lambda parameters (the functions of `for`, `iterate` and
`sort` are lambdas). Substituting an expression for a name renames any binder that would
capture one of the expression's free names, so meaning never changes:

>>> from daybreak.ir.parser import parse_expr
>>> from daybreak.ir.printer import format
>>> e = parse_expr("let y = 1; x + y")
>>> format(substitute(e, {"x": parse_expr("y")}, NameSupply({"x", "y"})))
'let y__1 = 1;\\ny + y__1'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from .nodes import (
    Apply,
    Ascribe,
    Expr,
    Ident,
    Lambda,
    Let,
    Literal,
    Param,
    binders,
    children_with_scope,
    rebuild,
    walk_with_scope,
)
from .trampoline import Walk, trampoline

# ----------------------------------------------------------------------------------------------
# Free variables.


def free_vars(expr: Expr) -> frozenset[str]:
    """The names `expr` uses without binding them (binders as each node kind declares them:
    nodes.children_with_scope)."""
    return frozenset(
        node.name
        for node, bound in walk_with_scope(expr)
        if type(node) is Ident and node.name not in bound
    )


def alpha_canonical(expr: Expr) -> tuple[Expr, tuple[str, ...]]:
    """`expr` with every binder renamed `$b0`, `$b1`, ... and every free name `$f0`, `$f1`, ...
    in the order the names first occur, and the free names in that order. Two expressions that
    differ only in their names (alpha-equivalent, up to a renaming of free names) have equal
    canonical forms, so code generated for one serves the other.

    >>> from daybreak.ir.parser import parse_expr
    >>> a, free_a = alpha_canonical(parse_expr("let t = x + y; t * x"))
    >>> b, free_b = alpha_canonical(parse_expr("let u = p + q; u * p"))
    >>> a == b, free_a, free_b
    (True, ('x', 'y'), ('p', 'q'))
    """
    free: dict[str, str] = {}
    bound = iter(range(1 << 62))

    def binder() -> str:
        return f"$b{next(bound)}"

    def go(e: Expr, env: Mapping[str, str]) -> Walk[Expr]:
        match e:
            case Ident(name=name):
                new = env.get(name) or free.setdefault(name, f"$f{len(free)}")
                return replace(e, name=new)
            case _:  # binders as each node kind declares them, numbered as first bound
                kids, rename = [], {}
                for child in children_with_scope(e):
                    inner = env
                    if child.binds:
                        for name in child.binds:
                            if name not in rename:
                                rename[name] = binder()
                        inner = {**env, **{name: rename[name] for name in child.binds}}
                    kids.append((yield go(child.expr, inner)))
                return rebuild(e, kids, rename=rename)

    canonical = trampoline(go(expr, {}))
    return canonical, tuple(free)


def names_in(expr: Expr) -> set[str]:
    """Every name that occurs in `expr`, bound or free (what a fresh name must avoid)."""
    out: set[str] = set()
    for node in expr.walk():
        if type(node) is Ident:
            out.add(node.name)
        else:
            out.update(binders(node))
    return out


# ----------------------------------------------------------------------------------------------
# Fresh names.

_NUMBERED = re.compile(r"__\d+$")


class NameSupply:
    """Hands out names that are not in `taken` and never the same one twice: `x` -> `x__1`.

    Deterministic: the same taken names and the same requests give the same names, so parsing
    one text twice gives equal programs.
    """

    def __init__(self, taken: Iterable[str] = ()):
        self.taken = set(taken)

    def fresh(self, base: str) -> str:
        stem = _NUMBERED.sub("", base)
        n = 1
        while f"{stem}__{n}" in self.taken:
            n += 1
        name = f"{stem}__{n}"
        self.taken.add(name)
        return name


# ----------------------------------------------------------------------------------------------
# Capture-avoiding substitution.


def substitute(
    expr: Expr, mapping: Mapping[str, Expr], names: NameSupply, *, beta: bool = False
) -> Expr:
    """`expr` with every free occurrence of each name in `mapping` replaced by its expression.

    Binders in `expr` whose name is free in a replacement are renamed (fresh names from
    `names`). With `beta=True`, an application `f(args)` where `f` is replaced by a lambda is
    reduced on the spot (see `beta_reduce`); macro expansion uses this for `func(x)` in a
    macro body.
    """
    return _Substitution(names, beta).run(expr, dict(mapping))


class _Substitution:
    def __init__(self, names: NameSupply, beta: bool):
        self.names = names
        self.beta = beta
        # Caches by identity; each entry keeps what it is keyed by alive, so that no id is
        # reused for another object while the substitution runs.
        self._fv_cache: dict[int, tuple[Expr, frozenset[str]]] = {}
        self._done: dict[tuple[int, int], tuple[Expr, dict, Expr]] = {}

    def _fv(self, e: Expr) -> frozenset[str]:
        hit = self._fv_cache.get(id(e))
        if hit is None:
            hit = self._fv_cache[id(e)] = (e, free_vars(e))
        return hit[1]

    def _captured(self, mapping: dict[str, Expr]) -> frozenset[str]:
        out: frozenset[str] = frozenset()
        for value in mapping.values():
            out |= self._fv(value)
        return out

    def _enter(self, name: str, mapping: dict[str, Expr]) -> tuple[str, dict[str, Expr]]:
        """The name a binder gets under `mapping`, and the mapping that holds inside it."""
        inner = {k: v for k, v in mapping.items() if k != name}
        if inner and name in self._captured(inner):
            new = self.names.fresh(name)
            inner[name] = Ident(new)
            return new, inner
        return name, inner

    def run(self, e: Expr, mapping: dict[str, Expr]) -> Expr:
        return trampoline(self.walk(e, mapping))

    def walk(self, e: Expr, mapping: dict[str, Expr]) -> Walk[Expr] | Expr:
        """`e` substituted (a walk, or the result when it is known at once). A subtree that
        occurs several times under one mapping is substituted once and stays shared: macro
        expansions share their arguments, and expansions of expansions would otherwise grow
        exponentially before the expansion budget could see them."""
        if not mapping:
            return e
        hit = self._done.get((id(e), id(mapping)))
        if hit is not None:
            return hit[2]
        return self._walk(e, mapping)

    def _walk(self, e: Expr, mapping: dict[str, Expr]) -> Walk[Expr]:
        out = yield self._substituted(e, mapping)
        self._done[id(e), id(mapping)] = (e, mapping, out)
        return out

    def _substituted(self, e: Expr, mapping: dict[str, Expr]) -> Walk[Expr]:
        match e:
            case Ident(name=name) if name in mapping:
                new = mapping[name]
                if new.loc is None:  # a binder's fresh name: where the old name was written
                    new = replace(new, loc=e.loc)
                return _with_annotations(new, e.annotations)
            case Apply(func=Ident(name=name), args=args) if self.beta and isinstance(
                mapping.get(name), Lambda
            ):
                lam = mapping[name]
                new_args = []
                for a in args:
                    new_args.append((yield self.walk(a, mapping)))
                if len(new_args) != len(lam.params):  # the type checker will say why
                    return replace(e, func=lam, args=tuple(new_args))
                reduced = beta_reduce(lam, tuple(new_args), self.names)
                return _with_annotations(reduced, e.annotations)
            case _:  # a binder (as its node kind declares it) that would capture is renamed
                kids, rename = [], {}
                for child in children_with_scope(e):
                    inner = mapping
                    for name in child.binds:
                        new_name, inner = self._enter(name, inner)
                        if new_name != name:
                            rename[name] = new_name
                    kids.append((yield self.walk(child.expr, inner)))
                return rebuild(e, kids, rename=rename)


def _with_annotations(e: Expr, annotations) -> Expr:
    return replace(e, annotations=tuple(annotations) + e.annotations) if annotations else e


# ----------------------------------------------------------------------------------------------
# Beta reduction.


def _duplicable(arg: Expr, param: Param) -> bool:
    # A name or a literal may be copied into every use; anything else is evaluated once, by a
    # `let`. A typed parameter keeps its type through `let p: T = arg`.
    return param.type is None and isinstance(arg, (Ident, Literal)) and not arg.annotations


def beta_reduce(lam: Lambda, args: tuple[Expr, ...], names: NameSupply) -> Expr:
    """`(|p1, p2| body)(a1, a2)` without the application: names and literals are substituted,
    other arguments are bound once by `let` (in order), typed parameters as `let p: T = a`.

    >>> from daybreak.ir.parser import parse_expr
    >>> from daybreak.ir.printer import format
    >>> lam = parse_expr("|x, y: i32| x * y")
    >>> format(beta_reduce(lam, (parse_expr("n"), parse_expr("f(2)")), NameSupply()))
    'let y: i32 = f(2);\\nn * y'
    """
    trivial = [_duplicable(a, p) for p, a in zip(lam.params, args, strict=True)]
    # Names the lets must not capture: those used by the arguments inside their scope (the
    # later arguments, and the substituted ones, which land in the body).
    substituted_fv: frozenset[str] = frozenset()
    for a, t in zip(args, trivial, strict=True):
        if t:
            substituted_fv |= free_vars(a)
    mapping: dict[str, Expr] = {}
    lets: list[tuple[str, Expr]] = []
    for k, (p, a) in enumerate(zip(lam.params, args, strict=True)):
        if trivial[k]:
            mapping[p.name] = a
            continue
        avoid = substituted_fv.union(*(free_vars(b) for b in args[k + 1 :]))
        name = names.fresh(p.name) if p.name in avoid else p.name
        if name != p.name:
            mapping[p.name] = Ident(name)
        value = Ascribe(a, p.type, loc=a.loc) if p.type is not None else a
        lets.append((name, value))
    out = substitute(lam.body, mapping, names)
    for name, value in reversed(lets):
        out = Let(name, value, out, loc=lam.loc)
    return out


__all__ = ["free_vars", "names_in", "NameSupply", "substitute", "beta_reduce"]
