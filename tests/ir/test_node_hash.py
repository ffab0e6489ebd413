"""Nodes cache their structural hash: computed once, from the children's, never carried into
a copy that may differ."""

import copy
import math
import pickle
from dataclasses import replace

from hypothesis import given, settings

from daybreak.ir import nodes as N
from daybreak.ir.parser import parse, parse_expr
from daybreak.ir.printer import format as format_ir
from daybreak.ir.types import F64, I64

from .generators import programs


def _cached(node: N.Expr) -> bool:
    return getattr(node, "_hash", None) is not None


def test_hashing_a_tree_caches_the_hash_of_every_subtree():
    e = parse_expr("let x = 1; for(v, appender[i64], |b, i, y| merge(b, y + x))")
    assert not any(_cached(n) for n in e.walk())
    hash(e)
    assert all(_cached(n) for n in e.walk())


def test_equal_trees_hash_alike_whatever_their_types_and_places():
    typed = N.Op("+", (N.Ident("x", ty=I64), N.Literal(1, I64, ty=I64)), ty=I64)
    plain = parse_expr("x + 1L")
    assert typed == plain and hash(typed) == hash(plain)
    nan = N.Literal(math.nan, F64)
    assert nan == N.Literal(math.nan, F64) and hash(nan) == hash(N.Literal(math.nan, F64))
    annotated = replace(plain, annotations=(("size", "3"),))
    assert annotated != plain and hash(annotated) != hash(plain)


def test_copies_compute_their_own_hash():
    e = parse_expr("let x = 1; x + 2")
    hash(e)
    renamed = replace(e, name="y")
    assert not _cached(renamed) and renamed != e
    other_body = N.rebuild(e, (e.value, parse_expr("x + 3")))
    assert not _cached(other_body) and other_body != e and hash(other_body) != hash(e)
    # a pickle may be read by another process, where strings hash differently
    for copied in (pickle.loads(pickle.dumps(e)), copy.deepcopy(e), N.with_fields(e)):
        assert not _cached(copied) and copied == e and hash(copied) == hash(e)


def test_a_shared_subtree_is_hashed_once():
    e = N.Ident("x")
    for _ in range(200):  # 2^200 paths through the tree, 201 distinct nodes
        e = N.Op("+", (e, e))
    assert isinstance(hash(e), int)
    assert e == N.Op("+", (e.args[0], e.args[1]))


def test_a_subtree_shared_by_two_parents_is_hashed_before_both():
    shared = parse_expr("x * 2")
    left, right = N.Op("neg", (shared,)), N.Op("neg", (shared,))
    root = N.Op("+", (left, right))
    assert hash(root) == hash(parse_expr("-(x * 2) + -(x * 2)"))


def test_a_deep_tree_hashes_without_recursion():
    e = N.Ident("x")
    for k in range(50_000):
        e = N.Op("+", (e, N.Literal(k, I64)))
    assert hash(e) == hash(N.Op("+", e.args)) and _cached(e.args[0].args[0])


@settings(max_examples=40, deadline=None)
@given(programs(typed=False, max_depth=4, max_nodes=50, max_len=5))
def test_a_program_read_back_from_its_text_hashes_alike(case):
    program, _ = case
    again = parse(format_ir(program))
    assert again == program and hash(again) == hash(program)
    assert hash(again.body) == hash(program.body)
