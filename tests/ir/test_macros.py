"""Macros (Weld's standard ones and the program's own), hygiene, substitution, beta reduction."""

from __future__ import annotations

import pytest

from daybreak.ir.errors import ParseError
from daybreak.ir.nodes import Ident, Let, Literal, Op
from daybreak.ir.parser import parse, parse_expr
from daybreak.ir.printer import format
from daybreak.ir.substitute import NameSupply, beta_reduce, free_vars, names_in, substitute
from daybreak.ir.types import I32


def expands_to(text: str, expected: str) -> None:
    """`text` parses to the same tree as `expected`, written without macros."""
    assert parse_expr(text) == parse_expr(expected), format(parse_expr(text))


# ----------------------------------------------------------------------------------------------
# Weld's standard macros, as docs/ir.md writes their expansions.


def test_map():
    expands_to("map(v, |x| x + 1)", "result(for(v, appender, |b, i, x| merge(b, x + 1)))")


def test_filter():
    expands_to(
        "filter(v, |x| x > 0)", "result(for(v, appender, |b, i, x| if(x > 0, merge(b, x), b)))"
    )


def test_flatten():
    expands_to(
        "flatten(v)",
        "result(for(v, appender, |b, i, x| for(x, b, |b2, i2, y| merge(b2, y))))",
    )


def test_compare():
    expands_to("compare(p, q)", "select(p < q, -1, select(q < p, 1, 0))")


def test_lambda_parameter_names_do_not_matter():
    expands_to("map(v, |e| e * e)", "map(v, |x| x * x)")


def test_nested_macros_and_locations():
    text = "|v: vec[i64]|\n  map(filter(v, |x| x > 2L), |y| y * 2L)"
    p = parse(text)
    outer = p.body
    assert (outer.loc.line, outer.loc.col) == (2, 3)  # expansion nodes point at the call
    inner = outer.builder.iters[0].data
    assert (inner.loc.line, inner.loc.col) == (2, 7)
    two = outer.builder.func.body.value.args[1]
    assert (two.loc.line, two.loc.col) == (2, 38)  # arguments keep their own locations


def test_annotations_on_a_call_go_to_the_expansion():
    e = parse_expr("@(predicate: true) compare(p, q)")
    assert e.annotations == (("predicate", "true"),)


# ----------------------------------------------------------------------------------------------
# Hygiene.


def test_macro_binders_do_not_capture_the_callers_names():
    e = parse_expr("let b = 5; map(v, |x| x + b)")
    loop = e.body.builder
    b_param = loop.func.params[0].name
    assert b_param != "b"  # renamed, because the argument uses the caller's b
    assert loop.func.body.builder == Ident(b_param)
    assert loop.func.body.value == Op("+", (Ident("x"), Ident("b")))
    assert "b" not in {p.name for p in loop.func.params}


def test_renaming_happens_only_when_needed():
    e = parse_expr("map(v, |x| x + 1)")
    assert [p.name for p in e.builder.func.params] == ["b", "i", "x"]


def test_loop_variable_named_like_a_caller_variable():
    # The caller's `i` is free in the function; the loop's own `i` must not capture it.
    e = parse_expr("|i: i32, v: vec[i32]| map(v, |x| x + i)")
    loop = e.body.builder
    assert loop.func.params[1].name != "i"
    assert loop.func.body.value == Op("+", (Ident("x"), Ident("i")))


def test_fresh_names_avoid_every_name_in_the_program():
    e = parse_expr("let b = 1; let b__1 = 2; map(v, |x| x + b + b__1)")
    assert e.body.body.builder.func.params[0].name == "b__2"


def test_the_callers_bindings_cannot_change_a_macro_body():
    # `select` is rebound by the caller; compare's body still means the builtin select.
    e = parse_expr("let select = |a: i32, b: i32, c: i32| a; compare(p, q)")
    assert isinstance(e.body, Op) and e.body.op == "select"


def test_a_bound_name_shadows_a_macro():
    e = parse_expr("let map = |a: i32, b: i32| a; map(1, 2)")
    assert e.body.func == Ident("map")


def test_parsing_is_deterministic():
    text = "let b = 5; let i = 1; map(filter(v, |x| x > b), |y| y + i)"
    assert parse(text) == parse(text)
    assert format(parse(text)) == format(parse(text))


# ----------------------------------------------------------------------------------------------
# The program's own macros.


def test_user_macro():
    p = parse("macro twice(e) = e + e; |x: i32| twice(x * 3)")
    assert format(p) == "|x: i32| x * 3 + x * 3"


def test_user_macro_with_let_is_hygienic():
    p = parse("macro inc(e) = let t = 1; e + t; |t: i32| inc(t)")
    body = p.body
    assert isinstance(body, Let) and body.name != "t"
    assert body.body == Op("+", (Ident("t"), Ident(body.name)))


def test_user_macro_applying_a_function_parameter():
    p = parse("macro apply2(f, a) = f(f(a)); |n: i32| apply2(|x| x + 2, n)")
    assert format(p) == "|n: i32|\n  let x = n + 2;\n  x + 2"
    # a non-trivial argument is evaluated once, by a let
    p = parse("macro ap(f, a) = f(a); |n: i32| ap(|x| x * x, n + 1)")
    assert format(p) == "|n: i32|\n  let x = n + 1;\n  x * x"


def test_typed_lambda_parameter_keeps_its_type():
    p = parse("|v: vec[i32]| map(v, |x: i32| x + 1)")
    merged = p.body.builder.func.body.value
    assert format(merged) == "let x: i32 = x;\nx + 1"


def test_macros_may_use_earlier_macros_but_not_later_ones():
    p = parse("macro sq(e) = e * e; macro quad(e) = sq(sq(e)); |x: i32| quad(x)")
    assert format(p) == "|x: i32| x * x * (x * x)"
    p = parse("macro a(e) = b(e); macro b(e) = e; |x: i32| a(x)")
    assert format(p) == "|x: i32| b(x)"  # b was not defined when a was: an unknown function


def test_user_macro_can_override_a_standard_one():
    p = parse("macro map(v, f) = len(v); |v: vec[i32]| map(v, |x| x)")
    assert p.body == Op("len", (Ident("v"),))


def test_macro_arity_and_definition_errors():
    with pytest.raises(ParseError, match="macro map takes 2 arguments, given 1") as info:
        parse("|v: vec[i32]| map(v)")
    assert (info.value.loc.line, info.value.loc.col) == (1, 15)
    with pytest.raises(ParseError, match="reserved word"):
        parse("macro m(for) = 1; 2")


# ----------------------------------------------------------------------------------------------
# The substitution machinery itself.


def test_free_vars_and_names():
    e = parse_expr("let a = b; |c| a + c + d")
    assert free_vars(e) == {"b", "d"}
    assert names_in(e) == {"a", "b", "c", "d"}
    assert free_vars(parse_expr("for(v, w, |b, i, x| merge(b, x + y))")) == {"v", "w", "y"}


def test_substitute_is_capture_avoiding():
    names = NameSupply({"x", "y"})
    e = substitute(parse_expr("|y| x + y"), {"x": Ident("y")}, names)
    assert e == parse_expr("|y__1| y + y__1")
    # shadowed occurrences are left alone
    e = substitute(parse_expr("x + (let x = 2; x)"), {"x": Literal(1, I32)}, NameSupply())
    assert e == parse_expr("1 + (let x = 2; x)")


def test_beta_reduce_keeps_evaluation_once_and_avoids_capture():
    lam = parse_expr("|z, y| z + y")
    # z := y (a name, substituted) and y := f(1) (bound by a let that must not capture y)
    out = beta_reduce(lam, (Ident("y"), parse_expr("f(1)")), NameSupply({"y", "z", "f"}))
    assert out == parse_expr("let y__1 = f(1); y + y__1")


def test_name_supply():
    names = NameSupply({"x", "x__1"})
    assert names.fresh("x") == "x__2"
    assert names.fresh("x__2") == "x__3"
    assert names.fresh("y") == "y__1"
