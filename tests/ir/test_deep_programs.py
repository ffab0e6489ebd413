"""Programs that nest deep: no phase of the IR may stop at Python's recursion limit.

Every test here runs with Python's default limit (1000 frames): equality, hashing, parsing,
printing, type checking, the linearity check and the interpreter's compiler walk with explicit
stacks; the interpreter's run raises the limit as far as the program needs.
"""

from __future__ import annotations

import sys

import pytest

import daybreak as db
from daybreak.ir import format, parse, typecheck
from daybreak.ir import nodes as N
from daybreak.ir.errors import ParseError, TypeCheckError
from daybreak.ir.interp import interpret
from daybreak.ir.linearity import check_linear
from daybreak.ir.parser import parse_expr
from daybreak.ir.trampoline import trampoline
from daybreak.ir.types import I32, I64, MAX_TYPE_DEPTH

DEEP = 10_000  # the depth for the parser
NESTED = 3_000  # deeper than any recursion in 1000 frames could go, and quick to run


@pytest.fixture(autouse=True)
def default_recursion_limit():
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(before)


def _sum(n: int) -> str:
    return "|a: i32| " + " + ".join(["a"] * n)


def test_a_500_term_sum_reads_back_equal_with_equal_hashes():
    p = parse(_sum(500))
    again = parse(format(p))
    assert again == p and hash(again) == hash(p)
    assert again != parse(_sum(499))


# One shape per way a program can nest: each is NESTED levels deep.
SHAPES = {
    "left-nested sum": (_sum(NESTED), NESTED),
    "right-nested sum": ("|a: i32| " + "a + (" * (NESTED - 1) + "a" + ")" * (NESTED - 1), NESTED),
    "negations": ("|a: i32| " + "-(" * NESTED + "a" + ")" * NESTED, 1),
    "nested ifs": ("|a: i32| " + "if(a > 0, " * NESTED + "a" + ", a)" * NESTED, 1),
    "nested lets in values": ("|a: i32| " + "let x = " * NESTED + "a" + "; x" * NESTED, 1),
    "nested lambdas applied": (
        "|a: i32| " + "(|x: i32| " * NESTED + "x + 1" + ")(a)" * NESTED,
        2,
    ),  # fmt: skip
}


@pytest.mark.parametrize("shape", SHAPES)
def test_deep_programs_parse_print_check_and_run(shape):
    text, one = SHAPES[shape]
    p = parse(text)
    assert parse(format(p)) == p
    assert hash(parse(text)) == hash(p)
    typed = typecheck(p)
    assert typed.body.ty == I32
    assert check_linear(typed) == []
    assert interpret(typed, [1]) == one


def test_10_000_nested_negations_parse_print_and_run():
    p = parse("-(" * DEEP + "7" + ")" * DEEP)
    assert parse(format(p)) == p
    assert interpret(typecheck(p), []) == 7  # an even number of negations


def test_a_10_000_term_sum_parses_prints_and_runs():
    p = parse(_sum(DEEP))
    assert parse(format(p)) == p
    assert interpret(typecheck(p), [2]) == 2 * DEEP


def test_the_interp_backend_runs_a_2000_term_sum():
    f = db.compile(_sum(2000), backend="interp")
    assert int(f(3)) == 6000


def test_deep_trees_built_without_text():
    """Frontends build nodes directly: no parser ever saw these."""
    body: N.Expr = N.Ident("a")
    for k in range(NESTED):
        body = N.Op("+", (body, N.Literal(k, I64)))
    p = N.Program((N.Param("a", I64),), body)
    assert parse(format(p)) == p and hash(parse(format(p))) == hash(p)
    assert N.tree_depth(p.body) == NESTED + 1
    typed = typecheck(p)
    assert interpret(typed, [1]) == 1 + sum(range(NESTED))  # (running raises the limit)


def test_deep_merges_into_a_loop_builder_check_linear():
    merges = "b"
    for k in range(NESTED):
        merges = f"merge({merges}, x + {k})"
    text = f"|v: vec[i32]| result(for(v, appender[i32], |b, i, x| {merges}))"
    typed = typecheck(parse(text))
    assert check_linear(typed) == []
    assert interpret(typed, [(7,)]) == tuple(range(7, 7 + NESTED))


def test_a_deep_macro_argument():
    arg = "-(" * DEEP + "x" + ")" * DEEP
    p = parse(f"|v: vec[i32]| map(v, |x| {arg})")
    assert interpret(typecheck(p), [(1, 2)]) == (1, 2)


def test_equality_tells_deep_trees_apart():
    a = parse_expr("-(" * NESTED + "x" + ")" * NESTED)
    b = parse_expr("-(" * NESTED + "y" + ")" * NESTED)
    assert a != b and a == parse_expr("-(" * NESTED + "x" + ")" * NESTED)


def test_a_walk_error_reaches_the_caller_through_the_walks_between():
    """An exception in a sub-walk is thrown into its caller, whose `finally` runs."""
    cleaned = []

    def walk(n):
        try:
            if n == 0:
                raise ValueError("at the bottom")
            return (yield walk(n - 1))
        finally:
            cleaned.append(n)

    with pytest.raises(ValueError, match="at the bottom"):
        trampoline(walk(DEEP))
    assert cleaned == list(range(DEEP + 1))


def test_types_nesting_past_the_limit_are_located_errors():
    deep = MAX_TYPE_DEPTH  # a struct in a struct ... of i32: one level more than the limit
    with pytest.raises(TypeCheckError, match="nests more than 100 levels") as info:
        typecheck(parse("|a: i32| " + "{" * deep + "a" + "}" * deep))
    assert (info.value.loc.line, info.value.loc.col) == (1, 10)
    assert typecheck(parse("|a: i32| " + "{" * (deep - 1) + "a" + "}" * (deep - 1)))
    with pytest.raises(TypeCheckError, match="nests more than 100 levels"):
        typecheck(parse("|v: vec[i32]| " + "map(" * deep + "v" + ", |x| [x])" * deep))
    with pytest.raises(ParseError, match="this type nests 101 levels deep") as info:
        parse("|v: " + "vec[" * deep + "i32" + "]" * deep + "| 1")
    assert (info.value.loc.line, info.value.loc.col) == (1, 5)


def test_a_deep_tree_built_without_text_prints():
    e: N.Expr = N.Ident("x")
    for _ in range(DEEP):
        e = N.Op("neg", (e,))
    text = format(e)
    assert text.count("-") == DEEP and parse_expr(text) == e
