"""Per-node facts computed once, bottom-up, and cached by node identity, so passes that ask
them of every `let` in a long chain stay linear (free names, can it fail, size).

What identifies an expression up to structure is the node itself: nodes hash by structure,
with the hash cached on each node (ir/nodes.py), and compare as `==` does (types ignored), so
passes key their tables by nodes directly."""

from __future__ import annotations

from dataclasses import dataclass

from daybreak.ir import nodes as N

from .analysis import node_can_fail


class Facts:
    def __init__(self):
        self._fv: dict[int, tuple[N.Expr, frozenset[str]]] = {}
        self._fails: dict[int, tuple[N.Expr, bool]] = {}
        self._sizes: dict[int, tuple[N.Expr, int]] = {}
        self._context: dict[int, tuple[N.Expr, bool]] = {}
        self._builders: dict[int, tuple[N.Expr, frozenset[str]]] = {}
        self._scoped: dict[int, tuple[N.Expr, tuple[N.ScopedChild, ...]]] = {}

    def scoped_children(self, e: N.Expr) -> tuple[N.ScopedChild, ...]:
        """nodes.children_with_scope, cached: the walks along a name's uses pass the same
        nodes once per `let` they are asked about."""
        hit = self._scoped.get(id(e))
        if hit is not None and hit[0] is e:
            return hit[1]
        out = N.children_with_scope(e)
        self._scoped[id(e)] = (e, out)
        return out

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
        if isinstance(e, N.Ident):
            out = frozenset((e.name,))
        else:
            out = _union_in_scope(e, self.free_vars)
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
        if isinstance(e, N.Ident):
            out = frozenset((e.name,)) if e.ty is not None and e.ty.is_builder else frozenset()
        else:
            out = _union_in_scope(e, self.free_builders)
        self._builders[id(e)] = (e, out)
        return out


_NO_NAMES: frozenset[str] = frozenset()


def _union_in_scope(e: N.Expr, names_of) -> frozenset[str]:
    """The union of `names_of(child)` over the children of `e`, less the names `e` binds
    around each child (as its kind declares)."""
    kids = e.children()
    if not kids:
        return _NO_NAMES
    if not N.binders(e):
        return _NO_NAMES.union(*map(names_of, kids))
    out: frozenset[str] = frozenset()
    for child in N.children_with_scope(e):
        names = names_of(child.expr)
        out |= names.difference(child.binds) if child.binds else names
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
        if isinstance(e, N.Ident):
            bound = scope.get(e.name)
            if bound is not None and bound[0] is not None:
                info = out.setdefault(bound[0], Binder())
                info.uses += 1
                info.in_lambda |= depth > bound[1]
            continue
        if not N.binders(e) and not isinstance(e, N.Lambda):
            stack.extend([(kid, scope, depth) for kid in e.children()])
            continue  # (a lambda without parameters still runs its body per call)
        let_id = None
        if isinstance(e, N.Let):
            let_id = id(e)
            out.setdefault(let_id, Binder())
        for child in N.children_with_scope(e):
            inner = depth + (child.evaluation is N.Evaluation.PER_CALL)
            if child.binds:
                stack.append(
                    (child.expr, {**scope, **dict.fromkeys(child.binds, (let_id, inner))}, inner)
                )
            else:
                stack.append((child.expr, scope, inner))
    return out
