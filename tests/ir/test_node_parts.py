"""Each node class states its parts twice, for speed: `_parts` (what it holds besides its
children, and its children) and `_kid_fields` (its children put back). Equality, hashing,
`children()` and every rebuilding walk read them, so they must say what the generic versions
(Expr's, read off the dataclass fields) say, for every node class."""

from __future__ import annotations

import pytest

from daybreak.ir import nodes as N
from daybreak.ir.parser import parse_expr

SAMPLES = [
    "1", "2.5f", '"ab"', "x", "[x, 1]", "{x, 1}", "{}", "x.$1", "x + y", "-x", "exp(x)",
    "i64(x)", "x: i32", "let y = x; y", "if(c, x, y)", "|a: i32, b| a + b", "(|a| a)(x)",
    "for(v, appender[i32], |b, i, e| merge(b, e))",
    "for(zip(v, iter(w, 1L, 3L, 1L), rangeiter(0L, 9L, 3L)), merger[i64,+], |b, i, e| b)",
    "result(b)", "merger[f64,*](1.0)", "dictmerger[i32,i64,+]", "vecmerger[i32,+](v)",
    "iterate(x, |y| {y, false})", "sort(v, |a, b| compare(a, b))", "cudf[f, i32](x, y)",
    "@(width: 4) (x + 1)",
]  # fmt: skip


NODE_CLASSES = [c for c in vars(N).values()
                if isinstance(c, type) and issubclass(c, N.Expr) and c is not N.Expr]  # fmt: skip


def _nodes():
    return [node for text in SAMPLES for node in parse_expr(text).walk()]


def test_every_node_class_is_sampled():
    sampled = {type(node) for node in _nodes()}
    assert sampled == set(NODE_CLASSES)


@pytest.mark.parametrize("cls", NODE_CLASSES, ids=lambda c: c.__name__)
def test_every_node_class_keeps_the_structural_equality_and_hash(cls):
    assert cls.__eq__ is N.Expr.__eq__ and cls.__hash__ is N.Expr.__hash__


def test_parts_say_what_the_generic_parts_say():
    for node in _nodes():
        own, kids = node._parts()
        generic_own, generic_kids = N.Expr._parts(node)
        assert kids == generic_kids and all(map(lambda a, b: a is b, kids, generic_kids))
        # every field the generic version sees (children aside) is in the node's own parts
        for value in generic_own:
            if value is not None and value != N._CHILD and not _only_children(value):
                inside = any(value in part for part in own if isinstance(part, tuple))
                assert value in own or inside, (type(node).__name__, value, own)


def test_kid_fields_put_back_what_the_generic_version_puts_back():
    for node in _nodes():
        kids = tuple(N.Ident(f"k{i}") for i in range(len(node.children())))
        fast = N.rebuild(node, kids)
        generic = N.with_fields(node, **N.Expr._kid_fields(node, kids)) if kids else node
        assert fast == generic and fast.children() == kids


def _only_children(value) -> bool:
    return isinstance(value, tuple) and all(v == N._CHILD for v in value)
