"""Weld programs read as Weld reads them: macros expand before iterators are read, and integer
literals take Weld's suffixes."""

from __future__ import annotations

import pytest

from daybreak.ir import format, parse, typecheck
from daybreak.ir.errors import ParseError
from daybreak.ir.interp import interpret
from daybreak.ir.nodes import Literal
from daybreak.ir.parser import parse_expr
from daybreak.ir.types import I8, I32, I64


def run(text: str, *args):
    return interpret(typecheck(parse(text)), list(args))


# ----------------------------------------------------------------------------------------------
# Macros over iterators.


def test_map_over_a_zip():
    text = "|a: vec[i32], b: vec[i32]| map(zip(a, b), |p| p.$0 + p.$1)"
    assert run(text, (1, 2), (10, 20)) == (11, 22)
    p = parse(text)
    assert parse(format(p)) == p
    assert "for(zip(a, b)" in format(p)


def test_filter_over_an_iter_with_bounds_and_a_zip_holding_one():
    assert run("|v: vec[i64]| filter(iter(v, 1L, 4L, 1L), |x| x > 1L)", (5, 1, 2, 3, 4)) == (2, 3)
    text = "|a: vec[i32], b: vec[i32]| map(zip(a, iter(b, 1L, 3L, 1L)), |p| p.$0 * p.$1)"
    assert run(text, (2, 3), (0, 10, 100)) == (20, 300)


def test_a_macro_of_the_program_passes_a_zip_on():
    text = """macro dot(a, b) =
      result(for(zip(a, b), merger[f64,+], |s, i, p| merge(s, p.$0 * p.$1)));
    macro pairs(d) = map(d, |p| p.$0 - p.$1);
    |x: vec[f64], y: vec[f64]| {dot(x, y), pairs(zip(x, y))}"""
    assert run(text, (1.0, 2.0), (3.0, 5.0)) == (13.0, (-2.0, -3.0))


# Where an iterator passed to a macro lands anywhere but a loop's data, it is an error there.
MISPLACED = [
    (
        "macro m(d) = {map(d, |x| x), len(d)};\n|a: vec[i32]| m(zip(a, a))",
        "zip(...) may only be the data of a for loop",
        17,
    ),  # fmt: skip
    ("|a: vec[i32]| map(zip(zip(a, a), a), |p| p)", "zip(...) cannot be nested", 23),
    ("|a: vec[i32]| map(zip(a, len(zip(a, a))), |p| p)", "may only be the data", 30),
    ("|a: vec[i32]| map(iter(zip(a, a)), |p| p)", "may only be the data", 24),
]


def test_an_iterator_passed_to_a_macro_is_read_only_as_loop_data():
    assert run("|a: vec[i32]| map(zip(a), |p| p + 1)", (1, 2)) == (2, 3)
    for text, message, col in MISPLACED:
        with pytest.raises(ParseError) as info:
            parse(text)
        assert message in info.value.message
        assert (info.value.loc.line, info.value.loc.col) == (text.count("\n") + 1, col)


# ----------------------------------------------------------------------------------------------
# Integer literal suffixes, as Weld's lexer reads them: `c`/`C` after hex digits is the i8
# suffix, not a digit.


def test_hex_literals_take_the_i8_suffix_as_weld_does():
    for text, value, ty in [
        ("0x7Fc", 127, I8),
        ("0x7fC", 127, I8),
        ("0xFC", 15, I8),
        ("0xcc", 12, I8),
        ("0xc", 12, I32),  # a lone `c` is the digit
        ("0x7FcL", 0x7FC, I64),  # before another suffix, `c` is a digit
        ("0xff", 255, I32),
    ]:
        assert parse_expr(text) == Literal(value, ty), text


def test_a_hex_i8_out_of_range_is_located():
    with pytest.raises(ParseError, match="0xffc is out of range for i8") as info:
        parse("|x: i8|\n  x + 0xffc")
    assert (info.value.loc.line, info.value.loc.col) == (2, 7)
