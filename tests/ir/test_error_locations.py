"""Every mistake in program text is a located error of the hierarchy (`ParseError`,
`TypeCheckError`): `line:col`, the source line and a caret. No internal exception leaks.
"""

from __future__ import annotations

import pytest

from daybreak.ir import macros, parse, typecheck, typecheck_expr
from daybreak.ir.errors import LinearityError, ParseError, TypeCheckError
from daybreak.ir.interp import compile_program
from daybreak.ir.linearity import require_linear
from daybreak.ir.nodes import Program
from daybreak.ir.parser import parse_expr
from daybreak.ir.types import I32


def _raises_at(error_type, text: str, line: int, col: int, run=lambda p: typecheck(p)):
    """The error that parsing (and `run`ning) `text` raises: of `error_type`, at line:col,
    rendered with that position, the source line and a caret under the column."""
    with pytest.raises(error_type) as info:
        run(parse(text))
    err = info.value
    assert err.loc is not None, f"no location on: {err}"
    assert (err.loc.line, err.loc.col) == (line, col), str(err)
    head, source_line, caret = str(err).splitlines()[:3]
    assert head.startswith(f"{line}:{col}: ")
    assert source_line == "  " + text.splitlines()[line - 1]
    assert caret == "  " + " " * (col - 1) + "^"
    return err


# ----------------------------------------------------------------------------------------------
# Internal exceptions that leaked.


def test_a_builder_type_with_braces_in_an_error_message():
    # The message template was str.format-ted: `{i64,f64}` in the type raised KeyError.
    err = _raises_at(TypeCheckError, "result(appender[{i64,f64}](1))", 1, 28)
    assert "the argument of appender[{i64,f64}] must be i64, not i32" in err.message


def test_a_5000_digit_literal_is_out_of_range():
    digits = "1" * 5000
    err = _raises_at(ParseError, f"|x: i64|\n  x + {digits}L", 2, 7)
    assert "out of range for i64" in err.message
    assert len(err.message) < 200  # the literal is shortened in the message


def test_leading_zeros_do_not_count_as_digits():
    assert parse_expr("0" * 5000 + "12L").value == 12


# ----------------------------------------------------------------------------------------------
# Macro expansion has a budget.


def _doubling(levels: int) -> str:
    lines = ["macro m0(x) = x + x;"]
    lines += [f"macro m{k}(x) = m{k - 1}(x) + m{k - 1}(x);" for k in range(1, levels + 1)]
    return "\n".join(lines) + f"\n|a: i32| m{levels}(a)"


def test_a_40_level_doubling_macro_stops_at_the_budget():
    # 2^41 nodes: the expansion stops, at the call that went over the budget.
    err = _raises_at(ParseError, _doubling(40), 16, 25)
    assert "macro expansion makes the program too large" in err.message


def test_the_budget_counts_shared_arguments_as_the_tree_they_stand_for():
    # m_k(x) = m_{k-1}(m_{k-1}(x)): the argument is shared, not copied, so expanding is fast;
    # the budget still counts the tree it stands for (2^(2^k) nodes).
    lines = ["macro m0(x) = x + x;"]
    lines += [f"macro m{k}(x) = m{k - 1}(m{k - 1}(x));" for k in range(1, 41)]
    _raises_at(ParseError, "\n".join(lines) + "\n|a: i32| m40(a)", 6, 18)


def test_programs_under_the_budget_expand(monkeypatch):
    monkeypatch.setattr(macros, "MAX_EXPANDED_NODES", 1000)
    parse(_doubling(6))  # 2^7 nodes for the program, 2^8 in all
    _raises_at(ParseError, _doubling(7), 9, 10)  # the program's own call goes over


# ----------------------------------------------------------------------------------------------
# Type errors that had no location.

LOCATED = [
    ("|v: vec[?]| 1", "program parameter 'v' needs a complete type", (1, 2)),
    ("|n: i64, b: appender[i32]| 1", "program parameter 'b' must be a value", (1, 10)),
    ("|v: vec[appender[i32]]| 1", "vec[appender[i32]] holds a builder", (1, 2)),
    # `t` renamed inside the expansion (the argument uses a `t` of its own)
    ("macro m(a) = let t = 1; if(t, a, a);\nlet t = 2; m(t)", "must be bool, not i32", (2, 12)),
]


@pytest.mark.parametrize("text,message,loc", LOCATED)
def test_type_errors_are_located(text, message, loc):
    err = _raises_at(TypeCheckError, text, *loc)
    assert message in err.message


def test_the_interpreter_reports_an_unbound_name_as_a_located_type_error():
    typed = typecheck_expr(parse_expr("a + 1"), {"a": I32})
    with pytest.raises(TypeCheckError, match="undefined name 'a'") as info:
        compile_program(Program((), typed))
    assert (info.value.loc.line, info.value.loc.col) == (1, 1)


# ----------------------------------------------------------------------------------------------
# A builder used twice is the program's mistake, located where it is used again.


def _check_linear(program):
    require_linear(typecheck(program))


def test_a_builder_used_twice_is_a_located_linearity_error():
    text = "let b = appender[i32];\n{result(merge(b, 1)), result(b)}"
    err = _raises_at(LinearityError, text, 2, 30, run=_check_linear)
    assert isinstance(err, TypeCheckError) and "used more than once" in err.message


def test_a_loop_that_drops_its_builder_is_located_at_the_loop_body():
    text = "|v: vec[i32]| result(for(v, appender[i32], |b, i, x| merge(appender[i32], x)))"
    err = _raises_at(LinearityError, text, 1, 54, run=_check_linear)
    assert "must return the builder it was given" in err.message


def test_a_loop_that_merges_into_an_outer_builder_is_located_at_the_use():
    text = ("|v: vec[i32]| let out = appender[i32];\n"
            "  result(for(v, merger[i32,+], |b, i, x| let o = merge(out, x); b))")  # fmt: skip
    err = _raises_at(LinearityError, text, 2, 56, run=_check_linear)
    assert "builder 'out' is used more than once" in err.message  # (once per iteration)
