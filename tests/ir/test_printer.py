"""The printer: parse(format(p)) == p for every tree, canonical spellings, layout, golden files.

Golden files live in tests/ir/golden/: `name.weld` is an input program and `name.out.weld` its
canonical text. Regenerate the outputs after an intended change with
`DAYBREAK_UPDATE_GOLDEN=1 pytest tests/ir/test_printer.py` and review the diff.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daybreak.ir.nodes import (
    CUDF,
    Apply,
    Ascribe,
    For,
    GetField,
    Ident,
    Iter,
    Lambda,
    Let,
    Literal,
    NewBuilder,
    Op,
    Param,
    Program,
)
from daybreak.ir.parser import parse, parse_expr, parse_type
from daybreak.ir.printer import deep_recursion, format, format_type
from daybreak.ir.types import (
    BOOL,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    STRING,
    U8,
    U64,
    Appender,
    Func,
    Vec,
)

from .syntax_trees import expressions, programs_params, scalar_literals, types

GOLDEN = Path(__file__).with_name("golden")
x, y = Ident("x"), Ident("y")


def roundtrip(e):
    text = format(e)
    back = parse(text) if isinstance(e, Program) else parse_expr(text)
    assert back == e, text
    assert format(back) == text, text  # canonical: printing is a fixpoint
    return text


# ----------------------------------------------------------------------------------------------
# Properties.

_settings = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(expressions())
def test_every_expression_roundtrips(e):
    roundtrip(e)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs_params(), expressions(max_leaves=10), st.sampled_from([20, 60, 100]))
def test_every_program_roundtrips_at_any_width(params, body, width):
    p = Program(params, body)
    text = format(p, width=width)
    assert parse(text) == p, text


@settings(max_examples=500, deadline=None)
@given(scalar_literals())
def test_every_literal_roundtrips(lit):
    assert parse_expr(format(lit)) == lit


@settings(max_examples=200, deadline=None)
@given(types())
def test_every_type_roundtrips(t):
    assert parse_type(format_type(t)) == t


# ----------------------------------------------------------------------------------------------
# Canonical spellings.


@pytest.mark.parametrize(
    "lit,text",
    [
        (Literal(5, I32), "5"),
        (Literal(-5, I8), "-5c"),
        (Literal(5, I16), "5si"),
        (Literal(5, I64), "5L"),
        (Literal(5, U8), "5u8"),
        (Literal(2**64 - 1, U64), "18446744073709551615u64"),
        (Literal(True, BOOL), "true"),
        (Literal(1.0, F64), "1.0"),
        (Literal(1e-5, F64), "1e-5"),
        (Literal(1e16, F64), "1e16"),
        (Literal(-2.5e-300, F64), "-2.5e-300"),
        (Literal(0.1, F64), "0.1"),
        (Literal(float.fromhex("0x1.99999ap-4"), F32), "0.1f"),
        (Literal(3.4028234663852886e38, F32), "3.4028235e38f"),
        (Literal(-0.0, F64), "-0.0"),
        (Literal(math.inf, F64), "inf"),
        (Literal(-math.inf, F32), "-inff"),
        (Literal(math.nan, F64), "nan"),
        (Literal(-math.nan, F32), "-nanf"),
        (Literal(b'a"b\\c\n\t\x00\x7f\xff', STRING), r'"a\"b\\c\n\t\x00\x7f\xff"'),
    ],
)
def test_literal_spellings(lit, text):
    assert format(lit) == text


@pytest.mark.parametrize(
    "source,text",
    [
        ("x+y*2", "x + y * 2"),
        ("(x+y)*2", "(x + y) * 2"),
        ("x-(y-1)", "x - (y - 1)"),
        ("(x-y)-1", "x - y - 1"),
        ("-(3)", "-(3)"),
        ("-(-3)", "-(-3)"),
        ("-x", "-x"),
        ("(-3).$0", "(-3).$0"),
        ("!(a && b)", "!(a && b)"),
        ("(a < b) == (c < d)", "a < b == c < d"),
        ("(a == b) == c", "(a == b) == c"),
        ("x: i32 + 1", "(x: i32) + 1"),
        ("(x: i32).$0", "(x: i32).$0"),
        ("let x = 1L: i64; x", "let x: i64 = 1L;\nx"),
        ("let x = (let y = 1; y); x", "let x = (let y = 1;\n         y);\nx"),
        ("f(x) + (let y = 1; y)", "f(x) + (let y = 1;\n        y)"),
        ("(|x| x)(1)", "(|x| x)(1)"),
        ("@(a: b) (x + y)", "@(a: b) (x + y)"),
        ("@(a: b) x + y", "@(a: b) x + y"),
        ('@(a: "two words", b: 1.5f) x', '@(a: "two words", b: 1.5f) x'),
        ("(@(a: b) x).$0", "(@(a: b) x).$0"),
        ("appender", "appender[?]"),
        ("merger[f64, +](0.0)", "merger[f64,+](0.0)"),
        ("scanner[ i64 , min ]", "scanner[i64,min]"),
        (
            "for(v, scanner[f64, *], |s, i, x| merge(s, x))",
            "for(v, scanner[f64,*], |s, i, x| merge(s, x))",
        ),
        ("cudf[f, i64](x)", "cudf[f,i64](x)"),
        ('cudf["my.mod:f", i64](x)', 'cudf["my.mod:f",i64](x)'),
        ("for(zip(a, b), appender, |b, i, x| b)", "for(zip(a, b), appender[?], |b, i, x| b)"),
        (
            "for(iter(a, 0L, 3L, 1L), appender, |b, i, x| b)",
            "for(iter(a, 0L, 3L, 1L), appender[?], |b, i, x| b)",
        ),
        ("|| 1", "|| 1"),
        ("[]: vec[i32]", "[]: vec[i32]"),
        ("{}", "{}"),
    ],
)
def test_expression_spellings(source, text):
    assert format(parse_expr(source)) == text
    assert parse_expr(text) == parse_expr(source)


def test_programs():
    assert format(parse("|x:i32|x+1")) == "|x: i32| x + 1"
    assert format(parse("1")) == "1"
    assert format(parse("|| 1")) == "1"
    assert format(Program((), Lambda((Param("a"),), x))) == "||\n  |a| x"  # not parameter a
    # a body with binders starts on its own line
    p = parse("|v: vec[i32]| result(for(v, merger[i32,+], |b, i, x| merge(b, x)))")
    assert format(p) == "|v: vec[i32]|\n  result(for(v, merger[i32,+], |b, i, x| merge(b, x)))"


def test_builder_api_trees_print():
    # Trees built without the parser (no locations, fresh names) print and parse back.
    p = Program(
        (Param("v", Vec(F64)),),
        Let(
            "t0",
            For(
                (Iter("scalar", Ident("v")),),
                NewBuilder(Appender(F64)),
                Lambda((Param("b0"), Param("i0"), Param("x0", F64)), Ident("b0")),
            ),
            Apply(Lambda((Param("z"),), GetField(Ident("z"), 0)), (Ident("t0"),)),
        ),
    )
    roundtrip(p)
    roundtrip(CUDF("f", I64, ()))
    roundtrip(Ascribe(Op("neg", (Literal(-1, I32),)), I32))


def test_unprintable_trees_say_why():
    with pytest.raises(ValueError, match="function type"):
        format(Ascribe(x, Func((I32,), I32)))
    with pytest.raises(ValueError, match="unknown operator"):
        format(Op("frobnicate", (x,)))
    with pytest.raises(ValueError, match=r"cannot have \(data, start\)"):
        format(For((Iter("scalar", x, Literal(0, I64)),), y, Lambda((), y)))
    with pytest.raises(ValueError, match="variable name"):
        format(Ident("for"))
    # calls whose text would read back as something else
    lam = Lambda((Param("z"),), x)
    with pytest.raises(ValueError, match="not the builtin exp"):
        format(Let("exp", lam, Op("exp", (x,))))
    with pytest.raises(ValueError, match="read back as the builtin exp"):
        format(Apply(Ident("exp"), (x,)))
    with pytest.raises(ValueError, match="read back as the builtin map"):
        format(Apply(Ident("map"), (x, y)))
    # ... but a value of a builtin's name hides nothing
    roundtrip(Let("exp", x, Op("exp", (Ident("exp"),))))
    roundtrip(Let("exp", lam, Apply(Ident("exp"), (x,))))
    with pytest.raises(ValueError, match="variable name"):
        format(Lambda((Param("a b"),), x))
    with pytest.raises(TypeError):
        format("x")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# Layout.


def test_long_lines_break_within_the_width():
    args = ", ".join(f"argument_number_{k}" for k in range(12))
    text = format(parse_expr(f"f({args})"), width=60)
    assert all(len(line) <= 60 for line in text.splitlines())
    assert text.startswith("f(\n  argument_number_0,\n")
    assert parse_expr(text) == parse_expr(f"f({args})")


def test_a_lambda_last_argument_breaks_after_its_parameters():
    e = parse_expr(
        "result(for(values_of_the_input, merger[f64,+], |b, i, x| merge(b, x * x + some_offset)))"
    )
    assert format(e, width=60) == (
        "result(for(values_of_the_input, merger[f64,+], |b, i, x|\n"
        "  merge(b, x * x + some_offset)))"
    )


def test_deep_and_long_trees_print_in_linear_time():
    # A long chain of lets and a long operator chain; both must print quickly and parse back.
    body = "".join(f"let x{k} = x{k - 1} + {k};\n" for k in range(1, 1000))
    p = parse("|x0: i32|\n" + body + "x999")
    with deep_recursion():
        assert parse(format(p)) == p
        e = parse_expr(" + ".join(["1"] * 1500))
        assert parse_expr(format(e)) == e


# ----------------------------------------------------------------------------------------------
# Golden files.

_GOLDEN_INPUTS = sorted(p for p in GOLDEN.glob("*.weld") if not p.name.endswith(".out.weld"))


@pytest.mark.parametrize("source", _GOLDEN_INPUTS, ids=lambda p: p.stem)
def test_golden(source: Path):
    program = parse(source.read_text())
    text = format(program) + "\n"
    expected_path = source.with_suffix(".out.weld")
    if os.environ.get("DAYBREAK_UPDATE_GOLDEN") == "1":
        expected_path.write_text(text)
    assert expected_path.exists(), f"run with DAYBREAK_UPDATE_GOLDEN=1 to create {expected_path}"
    assert text == expected_path.read_text()
    assert parse(text) == program


def test_there_are_golden_files():
    assert len(_GOLDEN_INPUTS) >= 8
