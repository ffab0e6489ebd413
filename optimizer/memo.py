"""Per-node facts computed once, bottom-up, and cached by node identity, so passes that ask
them of every `let` in a long chain stay linear (free names, can it fail)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from daybreak.ir import nodes as N

from .analysis import node_can_fail


class Facts:
    def __init__(self):
        self._fv: dict[int, tuple[N.Expr, frozenset[str]]] = {}
        self._fails: dict[int, tuple[N.Expr, bool]] = {}
        self._keys: dict[int, tuple[N.Expr, int]] = {}
        self._interned: dict[tuple, int] = {}
        self._sizes: dict[int, tuple[N.Expr, int]] = {}
        self._context: dict[int, tuple[N.Expr, bool]] = {}
        self._builders: dict[int, tuple[N.Expr, frozenset[str]]] = {}

    def key(self, e: N.Expr) -> int:
        """A small int equal for structurally equal nodes (as `==`: types ignored), computed
        once per node: hashing a deep tree again at every level would be quadratic."""
        hit = self._keys.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        if isinstance(e, N.Literal):
            shape: tuple = ("Literal", e._key())
        else:
            parts: list = [type(e).__name__, e.annotations]
            for f in fields(e):
                if f.name in ("ty", "loc", "annotations"):
                    continue
                parts.append(self._part(getattr(e, f.name)))
            shape = tuple(parts)
        k = self._interned.setdefault(shape, len(self._interned))
        self._keys[id(e)] = (e, k)
        return k

    def _part(self, v):
        if isinstance(v, N.Expr):
            return ("e", self.key(v))
        if isinstance(v, N.Iter):
            return (
                "it",
                v.kind,
                *(None if c is None else self.key(c) for c in (v.data, v.start, v.end, v.stride)),
            )
        if isinstance(v, tuple):
            return ("t", *(self._part(x) for x in v))
        return ("v", v)

    def iters_key(self, iters: tuple[N.Iter, ...]) -> tuple:
        """A key equal for structurally equal iterators (a loop's iteration space)."""
        return self._part(iters)

    def size(self, e: N.Expr) -> int:
        hit = self._sizes.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        out = 1 + sum(self.size(c) for c in e.children())
        self._sizes[id(e)] = (e, out)
        return out

    def free_vars(self, e: N.Expr) -> frozenset[str]:
        hit = self._fv.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        match e:
            case N.Ident(name=n):
                out = frozenset((n,))
            case N.Let(name=n, value=v, body=b):
                out = self.free_vars(v) | (self.free_vars(b) - {n})
            case N.Lambda(params=params, body=b):
                out = self.free_vars(b) - {p.name for p in params}
            case _:
                out = frozenset().union(*(self.free_vars(c) for c in e.children()))
        self._fv[id(e)] = (e, out)
        return out

    def can_fail(self, e: N.Expr) -> bool:
        hit = self._fails.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        out = node_can_fail(e) or any(self.can_fail(c) for c in e.children())
        self._fails[id(e)] = (e, out)
        return out

    def needs_context(self, e: N.Expr) -> bool:
        """analysis.needs_context, cached."""
        hit = self._context.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        out = (isinstance(e, N.MakeVector) and not e.elems) or any(
            self.needs_context(c) for c in e.children()
        )
        self._context[id(e)] = (e, out)
        return out

    def free_builders(self, e: N.Expr) -> frozenset[str]:
        """The free names of `e` that name builders: sharing `e` would use them twice."""
        hit = self._builders.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        match e:
            case N.Ident(name=n):
                out = frozenset((n,)) if e.ty is not None and e.ty.is_builder else frozenset()
            case N.Let(name=n, value=v, body=b):
                out = self.free_builders(v) | (self.free_builders(b) - {n})
            case N.Lambda(params=params, body=b):
                out = self.free_builders(b) - {p.name for p in params}
            case _:
                out = frozenset().union(*(self.free_builders(c) for c in e.children()))
        self._builders[id(e)] = (e, out)
        return out


@dataclass
class Binder:
    uses: int = 0
    in_lambda: bool = False


def count_uses(expr: N.Expr) -> dict[int, Binder]:
    """For each `let` (by identity): how often its name is used and whether under a lambda."""
    out: dict[int, Binder] = {}
    # scope: name -> (let id or None for other binders, lambda depth at the binding)
    stack = [(expr, {}, 0)]
    while stack:
        e, scope, depth = stack.pop()
        match e:
            case N.Ident(name=n):
                bound = scope.get(n)
                if bound is not None and bound[0] is not None:
                    info = out.setdefault(bound[0], Binder())
                    info.uses += 1
                    info.in_lambda |= depth > bound[1]
            case N.Let(name=n, value=v, body=b):
                out.setdefault(id(e), Binder())
                stack.append((v, scope, depth))
                stack.append((b, {**scope, n: (id(e), depth)}, depth))
            case N.Lambda(params=params, body=b):
                inner = dict(scope)
                for p in params:
                    inner[p.name] = (None, depth + 1)
                stack.append((b, inner, depth + 1))
            case _:
                stack.extend((c, scope, depth) for c in e.children())
    return out
