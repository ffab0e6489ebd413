"""Tree utilities for generated programs: clearing types, counting nodes, and ill-typed
mutants (one operand swapped for a literal of another scalar type).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from daybreak.ir.nodes import Expr, If, Literal, MakeVector, Op, Program, map_children
from daybreak.ir.ops import OPS
from daybreak.ir.types import BOOL, I32, I64, Scalar, Vec

# Operators whose operands all have one scalar type: where `ill_typed_mutant` swaps an operand.
_HOMOGENEOUS = {
    n for n, d in OPS.items() if d.arity == 2 and n not in ("lookup", "optlookup", "keyexists")
}


def mutation_sites(program: Program) -> list[tuple[int, tuple, Scalar]]:
    """Where a typed program (`programs(typed=True)`) can be made ill-typed by one swap:
    (index of the parent node in `program.body.walk()` order, the operand's slot, a wrong
    scalar type for it). The operand is one whose type its siblings fix: an operand of a binary
    operator, a choice of select, the condition of if, a vector element, a lookup index.
    """
    return [
        (index, slot, wrong)
        for index, node in enumerate(program.body.walk())
        for slot, wrong in _mutation_slots(node)
    ]


def ill_typed_mutant(program: Program, site: tuple[int, tuple, Scalar]) -> Program:
    """program with the operand at `site` (from mutation_sites) replaced by a literal of the
    wrong type."""
    index, slot, wrong = site
    node = next(n for k, n in enumerate(program.body.walk()) if k == index)
    literal = Literal(_some_value(wrong), wrong)
    return Program(program.params, _replace_at(program.body, index, _swap(node, slot, literal)))


def _mutation_slots(node: Expr) -> list[tuple[tuple, Scalar]]:
    """(where, the wrong type) pairs: where is ("args", k), ("elems", k) or ("cond",)."""

    def other(t):
        return Scalar("f32") if t == I64 else I64

    match node:
        case Op(op="select", args=(_, a, _)) if isinstance(a.ty, Scalar):
            return [(("args", 1), other(a.ty))]
        case Op(op=name, args=(a, b)) if name in _HOMOGENEOUS and isinstance(a.ty, Scalar):
            return [(("args", 1), other(b.ty))]
        case Op(op="lookup", args=(v, _)) if isinstance(v.ty, Vec):
            return [(("args", 1), Scalar("f64"))]
        case If(cond=c) if c.ty == BOOL:
            return [(("cond",), I32)]
        case MakeVector(elems=(a, _, *_)) if isinstance(a.ty, Scalar):
            return [(("elems", 1), other(a.ty))]
    return []


def _swap(node: Expr, slot: tuple, new: Expr) -> Expr:
    if slot[0] == "cond":
        return replace(node, cond=new)
    items = list(getattr(node, slot[0]))
    items[slot[1]] = new
    return replace(node, **{slot[0]: tuple(items)})


def _some_value(t: Scalar):
    return 1.5 if t.is_float else 7


def _replace_at(root: Expr, index: int, new: Expr) -> Expr:
    """root with its index-th node (in `walk()` order) replaced by new."""
    counter = itertools.count()

    def visit(node: Expr) -> Expr:
        k = next(counter)
        if k == index:
            # Skip the replaced subtree's nodes so later indices stay aligned with walk().
            for _ in range(sum(1 for _ in node.walk()) - 1):
                next(counter)
            return new
        return map_children(node, visit)

    return visit(root)


def strip_types(e: Expr) -> Expr:
    """e with every `ty` cleared, as the parser produces it (lambda params keep their types,
    which are part of the text)."""
    e = map_children(e, strip_types)
    return replace(e, ty=None) if e.ty is not None else e
