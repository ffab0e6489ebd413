"""The parser: literals, operators and precedence, every syntactic form, aliases, errors."""

from __future__ import annotations

import logging
import math
import struct

import pytest
from lark import Lark

from daybreak.ir.errors import ParseError
from daybreak.ir.nodes import (
    CUDF,
    ITER_KINDS,
    Apply,
    Ascribe,
    Cast,
    For,
    GetField,
    Ident,
    If,
    Iter,
    Iterate,
    Lambda,
    Let,
    Literal,
    MakeStruct,
    MakeVector,
    Merge,
    NewBuilder,
    Op,
    Param,
    Program,
    Result,
    Sort,
)
from daybreak.ir.ops import INFIX_BY_SYMBOL, INFIX_LEVELS, OPS
from daybreak.ir.parser import grammar_text, parse, parse_expr, parse_type
from daybreak.ir.printer import format
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
    U16,
    U32,
    U64,
    Appender,
    Dict,
    DictMerger,
    GroupMerger,
    Merger,
    Scanner,
    Struct,
    Unknown,
    Vec,
    VecMerger,
)

x, y, z = Ident("x"), Ident("y"), Ident("z")


def lit(v, t=I32):
    return Literal(v, t)


def bits(v: float) -> bytes:
    return struct.pack("<d", v)


# ----------------------------------------------------------------------------------------------
# The grammar itself.


def test_grammar_has_no_lalr_conflicts(caplog):
    # lark resolves shift/reduce conflicts silently unless debug is on; there must be none.
    with caplog.at_level(logging.DEBUG, logger="lark"):
        Lark(grammar_text(), parser="lalr", debug=True, start=["program", "expr", "type"])
    assert not [r for r in caplog.records if "conflict" in r.getMessage().lower()]


def test_operator_rules_come_from_the_ops_table():
    text = grammar_text()
    for level, decls in INFIX_LEVELS.items():
        assert f"?infix_{level}:" in text
        for d in decls:
            assert f'"{d.symbol}"' in text


# ----------------------------------------------------------------------------------------------
# Literals.


@pytest.mark.parametrize(
    "text,value,ty",
    [
        ("0", 0, I32),
        ("42", 42, I32),
        ("-2147483648", -(2**31), I32),
        ("2147483647", 2**31 - 1, I32),
        ("1c", 1, I8),
        ("1C", 1, I8),
        ("-128c", -128, I8),
        ("7si", 7, I16),
        ("1l", 1, I64),
        ("1L", 1, I64),
        ("-9223372036854775808L", -(2**63), I64),
        ("255u8", 255, U8),
        ("65535u16", 65535, U16),
        ("1u32", 1, U32),
        ("18446744073709551615u64", 2**64 - 1, U64),
        ("0xff", 255, I32),
        ("0xffL", 255, I64),
        ("0XFFu8", 255, U8),
        ("-0b10000000c", -128, I8),
        ("0x7fc", 127, I8),  # as in Weld, a trailing `c` after hex digits is the i8 suffix
        ("0x7FC", 127, I8),
        ("0xc", 12, I32),  # (a lone hex digit `c` is a digit)
        ("0x7fcL", 0x7FC, I64),
        ("0b101c", 5, I8),
        ("0b101", 5, I32),
        ("true", True, BOOL),
        ("false", False, BOOL),
    ],
)
def test_int_and_bool_literals(text, value, ty):
    e = parse_expr(text)
    assert e == Literal(value, ty)
    assert type(e.value) is type(value)


@pytest.mark.parametrize(
    "text,value,ty",
    [
        ("1.0", 1.0, F64),
        ("1.5e3", 1500.0, F64),
        ("1e-5", 1e-5, F64),
        ("2.5E+10", 2.5e10, F64),
        ("-0.0", -0.0, F64),
        ("1.0f", 1.0, F32),
        ("1.0F", 1.0, F32),
        ("1e5f", 1e5, F32),
        ("0.1f", float.fromhex("0x1.99999ap-4"), F32),  # rounded to f32
        ("inf", math.inf, F64),
        ("-inf", -math.inf, F64),
        ("inff", math.inf, F32),
        ("-inff", -math.inf, F32),
    ],
)
def test_float_literals(text, value, ty):
    e = parse_expr(text)
    assert e.type == ty
    assert bits(e.value) == bits(value)


def test_nan_literals():
    for text, ty, negative in [("nan", F64, False), ("nanf", F32, False), ("-nan", F64, True)]:
        e = parse_expr(text)
        assert e.type == ty and math.isnan(e.value)
        assert (math.copysign(1.0, e.value) < 0) == negative
        assert e == parse_expr(text)  # NaN literals compare by bits


def test_minus_before_a_number_is_part_of_it_only_where_an_operand_is_expected():
    assert parse_expr("-3") == lit(-3)
    assert parse_expr("-(3)") == Op("neg", (lit(3),))
    assert parse_expr("- 3") == Op("neg", (lit(3),))
    assert parse_expr("a-3") == Op("-", (Ident("a"), lit(3)))
    assert parse_expr("a - -3") == Op("-", (Ident("a"), lit(-3)))
    assert parse_expr("a*-3") == Op("*", (Ident("a"), lit(-3)))
    assert parse_expr("-x") == Op("neg", (x,))
    assert parse_expr("inf-1.0") == Op("-", (lit(math.inf, F64), lit(1.0, F64)))


def test_strings():
    assert parse_expr('"abc"') == Literal(b"abc", STRING)
    assert parse_expr('""') == Literal(b"", STRING)
    assert parse_expr(r'"a\"b\\c\nd\te\x00\xff"').value == b'a"b\\c\nd\te\x00\xff'


@pytest.mark.parametrize(
    "text,message",
    [
        ("2147483648", "out of range for i32"),
        ("-2147483649", "out of range for i32"),
        ("128c", "out of range for i8"),
        ("256u8", "out of range for u8"),
        ("-1u8", "out of range for u8"),
        ("0x100000000", "out of range for i32"),
        ("1e400", "out of range for f64"),
        ("1e39f", "out of range for f32"),
        (r'"\q"', "unknown escape"),
        ('"é"', "ASCII"),
    ],
)
def test_bad_literals_are_syntax_errors(text, message):
    with pytest.raises(ParseError, match=message) as info:
        parse_expr(text)
    assert (info.value.loc.line, info.value.loc.col) == (1, 1)


# ----------------------------------------------------------------------------------------------
# Operators: precedence and associativity, checked against the ops table.


def _infix_symbols():
    return sorted(INFIX_BY_SYMBOL, key=lambda s: INFIX_BY_SYMBOL[s].level)


@pytest.mark.parametrize("loose", _infix_symbols())
@pytest.mark.parametrize("tight", _infix_symbols())
def test_precedence_of_every_pair_of_infix_operators(loose, tight):
    lo, hi = INFIX_BY_SYMBOL[loose], INFIX_BY_SYMBOL[tight]
    if lo.level >= hi.level:
        return
    # `x loose y tight z` groups the tighter operator first, from either side.
    assert parse_expr(f"x {loose} y {tight} z") == Op(lo.name, (x, Op(hi.name, (y, z))))
    assert parse_expr(f"x {tight} y {loose} z") == Op(lo.name, (Op(hi.name, (x, y)), z))


@pytest.mark.parametrize("sym", [d.symbol for d in OPS.values() if d.form == "infix" and d.chain])
def test_chaining_operators_associate_left(sym):
    name = INFIX_BY_SYMBOL[sym].name
    assert parse_expr(f"x {sym} y {sym} z") == Op(name, (Op(name, (x, y)), z))


@pytest.mark.parametrize("sym", ["==", "!=", "<", "<=", ">", ">="])
def test_comparisons_do_not_chain(sym):
    with pytest.raises(ParseError, match="do not chain"):
        parse_expr(f"x {sym} y {sym} z")
    assert parse_expr(f"(x {sym} y) {sym} z") == Op(
        INFIX_BY_SYMBOL[sym].name, (Op(INFIX_BY_SYMBOL[sym].name, (x, y)), z)
    )


def test_prefix_binds_tighter_than_infix_and_looser_than_postfix():
    assert parse_expr("-x * y") == Op("*", (Op("neg", (x,)), y))
    assert parse_expr("!x && y") == Op("&&", (Op("not", (x,)), y))
    assert parse_expr("-x.$0") == Op("neg", (GetField(x, 0),))
    assert parse_expr("--x") == Op("neg", (Op("neg", (x,)),))
    assert parse_expr("-x: i32") == Op("neg", (Ascribe(x, I32),))


def test_call_syntax_operators_and_casts():
    assert parse_expr("exp(x)") == Op("exp", (x,))
    assert parse_expr("lookup(x, 1L)") == Op("lookup", (x, lit(1, I64)))
    assert parse_expr("select(x, y, z)") == Op("select", (x, y, z))
    assert parse_expr("min(x, y)") == Op("min", (x, y))
    assert parse_expr("i64(x)") == Cast(I64, x)
    assert parse_expr("u8(x)") == Cast(U8, x)
    for name, decl in OPS.items():
        if decl.form == "call":
            args = ", ".join(["x"] * decl.arity)
            assert parse_expr(f"{name}({args})") == Op(name, (x,) * decl.arity)


def test_wrong_number_of_arguments():
    with pytest.raises(ParseError, match="exp takes 1 argument, given 2"):
        parse_expr("exp(x, y)")
    with pytest.raises(ParseError, match="if takes 3 arguments, given 2"):
        parse_expr("if(x, y)")
    with pytest.raises(ParseError, match="i64 takes 1 argument"):
        parse_expr("i64()")


# ----------------------------------------------------------------------------------------------
# Forms.


def test_let_and_let_with_type():
    assert parse_expr("let x = 1; x") == Let("x", lit(1), x)
    assert parse_expr("let x: i64 = 1L; x") == Let("x", Ascribe(lit(1, I64), I64), x)
    # both spellings of an ascribed let value are one tree
    assert parse_expr("let x = 1L: i64; x") == parse_expr("let x: i64 = 1L; x")
    chain = parse_expr("let a = 1; let b = a + 1; b")
    assert chain == Let("a", lit(1), Let("b", Op("+", (Ident("a"), lit(1))), Ident("b")))


def test_lambda_and_apply():
    lam = Lambda((Param("x", I32), Param("y")), Op("+", (x, y)))
    assert parse_expr("|x: i32, y| x + y") == lam
    assert parse_expr("(|x: i32, y| x + y)(1, 2)") == Apply(lam, (lit(1), lit(2)))
    assert parse_expr("|| 1") == Lambda((), lit(1))
    assert parse_expr("|x| |y| x | y") == Lambda(
        (Param("x"),), Lambda((Param("y"),), Op("|", (x, y)))
    )
    assert parse_expr("f(1)(2)") == Apply(Apply(Ident("f"), (lit(1),)), (lit(2),))
    assert parse_expr("f()") == Apply(Ident("f"), ())


def test_vectors_structs_fields_ascription():
    assert parse_expr("[1, 2]") == MakeVector((lit(1), lit(2)))
    assert parse_expr("[]: vec[f64]") == Ascribe(MakeVector(()), Vec(F64))
    assert parse_expr("{1, 2.0}") == MakeStruct((lit(1), lit(2.0, F64)))
    assert parse_expr("{}") == MakeStruct(())
    assert parse_expr("x.$0.$12") == GetField(GetField(x, 0), 12)
    assert parse_expr("{x}.$0") == GetField(MakeStruct((x,)), 0)


def test_if_merge_result_iterate_sort():
    assert parse_expr("if(x, y, z)") == If(x, y, z)
    assert parse_expr("result(merge(x, 1))") == Result(Merge(x, lit(1)))
    assert parse_expr("iterate(x, |s| {s, false})") == Iterate(
        x, Lambda((Param("s"),), MakeStruct((Ident("s"), lit(False, BOOL))))
    )
    assert parse_expr("sort(x, |a, b| 0)") == Sort(x, Lambda((Param("a"), Param("b")), lit(0)))


def test_for_and_its_iterators():
    body = Lambda((Param("b"), Param("i"), Param("e")), Ident("b"))
    b = "appender[i32]"
    app = NewBuilder(Appender(I32))
    assert parse_expr(f"for(x, {b}, |b, i, e| b)") == For((Iter("scalar", x),), app, body)
    assert parse_expr(f"for(iter(x, 1L, 5L, 2L), {b}, |b, i, e| b)") == For(
        (Iter("scalar", x, lit(1, I64), lit(5, I64), lit(2, I64)),), app, body
    )
    assert parse_expr(f"for(iter(x), {b}, |b, i, e| b)") == For((Iter("scalar", x),), app, body)
    assert parse_expr(f"for(rangeiter(0L, 9L, 1L), {b}, |b, i, e| b)") == For(
        (Iter("range", None, lit(0, I64), lit(9, I64), lit(1, I64)),), app, body
    )
    zipped = parse_expr(
        f"for(zip(x, iter(y, 0L, 1L, 1L), rangeiter(0L, 1L, 1L)), {b}, |b, i, e| b)"
    )
    assert [it.kind for it in zipped.iters] == ["scalar", "scalar", "range"]
    # zip of one vector is the vector itself, as in Weld
    assert parse_expr(f"for(zip(x), {b}, |b, i, e| b)") == parse_expr(f"for(x, {b}, |b, i, e| b)")


@pytest.mark.parametrize(
    "kind,form",
    [
        pytest.param(k, f, id=f"{k.keyword}({', '.join(f)})")
        for k in ITER_KINDS.values()
        for f in k.forms
    ],
)
def test_every_declared_iterator_form_reads_and_prints_back(kind, form):
    # the parser and the printer both read the declaration (nodes.ITER_KINDS)
    parts = {name: Ident(f"p{n}") for n, name in enumerate(form)}
    loop = For((Iter(kind.name, **parts),), x, Lambda((Param("b"), Param("i"), Param("e")), x))
    text = format(loop)
    assert text.startswith(
        "for(p0," if kind.bare and form == kind.forms[0] else f"for({kind.keyword}("
    )
    assert parse_expr(text) == loop


@pytest.mark.parametrize(
    "text,message",
    [
        ("zip(x, y)", "only be the data of a for loop"),
        ("iter(x, 0L, 1L, 1L)", "only be the data of a for loop"),
        ("for(iter(x, 1L), appender, |b, i, e| b)", "iter takes 1 or 4 arguments"),
        ("for(rangeiter(1L), appender, |b, i, e| b)", "rangeiter takes 3 arguments"),
        ("for(zip(zip(x, y), z), appender, |b, i, e| b)", "cannot be nested"),
        ("for(zip(), appender, |b, i, e| b)", "zip needs at least one vector"),
        ("for(x, appender, f)", "the function of for must be a lambda"),
        ("iterate(x, 3)", "the function of iterate must be a lambda"),
        ("sort(x, y)", "the function of sort must be a lambda"),
    ],
)
def test_iterator_and_lambda_errors(text, message):
    with pytest.raises(ParseError, match=message):
        parse_expr(text)


def test_builders():
    assert parse_expr("appender") == NewBuilder(Appender(Unknown()))
    assert parse_expr("appender[?]") == NewBuilder(Appender(Unknown()))
    assert parse_expr("appender[i32](10L)") == NewBuilder(Appender(I32), lit(10, I64))
    assert parse_expr("appender(10L)") == NewBuilder(Appender(Unknown()), lit(10, I64))
    assert parse_expr("merger[f64,+]") == NewBuilder(Merger(F64, "+"))
    assert parse_expr("merger[i32, min](5)") == NewBuilder(Merger(I32, "min"), lit(5))
    assert parse_expr("merger[{i32,f64},*]") == NewBuilder(Merger(Struct((I32, F64)), "*"))
    assert parse_expr("dictmerger[i64,f64,max]") == NewBuilder(DictMerger(I64, F64, "max"))
    assert parse_expr("groupmerger[vec[i8],i32]") == NewBuilder(GroupMerger(STRING, I32))
    assert parse_expr("vecmerger[f64,+](x)") == NewBuilder(VecMerger(F64, "+"), x)
    assert parse_expr("scanner[f64,+]") == NewBuilder(Scanner(F64, "+"))
    assert parse_expr("scanner[ u8 , max ]") == NewBuilder(Scanner(U8, "max"))
    with pytest.raises(ParseError, match="takes one argument, given 2"):
        parse_expr("appender[i32](1, 2)")


def test_cudf():
    assert parse_expr("cudf[add_five, i64](x)") == CUDF("add_five", I64, (x,))
    assert parse_expr("cudf[f,vec[f32]](x, y)") == CUDF("f", Vec(F32), (x, y))
    assert parse_expr("cudf[now, i64]()") == CUDF("now", I64, ())
    assert parse_expr('cudf["my.mod:f", i64](x)') == CUDF("my.mod:f", I64, (x,))
    with pytest.raises(ParseError, match="needs an argument list"):
        parse_expr("cudf[f, i64]")


def test_annotations():
    e = parse_expr("@(impl: global) dictmerger[i64,i64,+]")
    assert e == NewBuilder(DictMerger(I64, I64, "+"), annotations=(("impl", "global"),))
    e = parse_expr("@(impl: local, size: 100L) dictmerger[i64,i64,+](10L)")
    assert e.arg == lit(10, I64)
    assert e.annotations == (("impl", "local"), ("size", "100L"))
    # an annotation applies to the prefix-level expression after it
    e = parse_expr("@(predicate: true) x + y")
    assert e == Op("+", (Ident("x", annotations=(("predicate", "true"),)), y))
    e = parse_expr("@(predicate: true) if(x, y, z)")
    assert e.annotations == (("predicate", "true"),) and isinstance(e, If)
    e = parse_expr('@(a: 1.5f, b: -2, c: "two words", d: inf) x')
    assert e.annotations == (("a", "1.5f"), ("b", "-2"), ("c", "two words"), ("d", "inf"))
    assert parse_expr("@(a: b) @(c: d) x").annotations == (("a", "b"), ("c", "d"))
    # annotations take part in equality (passes act on them)
    assert parse_expr("@(a: b) x") != x


def test_types():
    assert parse_type("i32") == I32
    assert parse_type("vec[vec[i8]]") == Vec(STRING)
    assert parse_type("dict[{i32,bool}, vec[f64]]") == Dict(Struct((I32, BOOL)), Vec(F64))
    assert parse_type("{}") == Struct(())
    assert parse_type("{appender[?], merger[i64,max]}") == Struct(
        (Appender(Unknown()), Merger(I64, "max"))
    )
    assert parse_type("?") == Unknown()
    with pytest.raises(ParseError, match="unknown type i33"):
        parse_type("vec[i33]")


def test_type_aliases():
    p = parse("type pair = {i64, f64}; type pairs = vec[pair]; |v: pairs| lookup(v, 0L): pair")
    pair = Struct((I64, F64))
    assert p.params == (Param("v", Vec(pair)),)
    assert p.body == Ascribe(Op("lookup", (Ident("v"), lit(0, I64))), pair)
    with pytest.raises(ParseError, match="unknown type later"):
        parse("type a = vec[later]; type later = i32; 1")
    with pytest.raises(ParseError, match="defined twice"):
        parse("type a = i32; type a = i64; 1")
    with pytest.raises(ParseError, match="cannot be redefined"):
        parse("type i32 = i64; 1")


def test_programs():
    p = parse("|a: vec[f64], n: i64| n")
    assert p == Program((Param("a", Vec(F64)), Param("n", I64)), Ident("n"))
    assert parse("1 + 2") == Program((), Op("+", (lit(1), lit(2))))
    with pytest.raises(ParseError, match="program parameter n needs a type"):
        parse("|a: i32, n| n")


def test_comments_and_whitespace():
    text = "# a program\n|x: i32|   # its input\n\n  x +  # more\n 1 # done"
    assert parse(text) == parse("|x: i32| x + 1")


def test_weld_documentation_examples():
    # From Weld's docs/language.md: they must parse unchanged.
    for text in [
        "let b = appender[i32]; let b2 = merge(b, 5); let b3 = merge(b2, 6); result(b3)",
        "let b = merger[i32,+]; let b2 = merge(b, 5); let b3 = merge(b2, 6); result(b3)",
        "let b = appender[i32]; let data = [1, 2, 3];"
        " let b2 = for(data, b, |b: appender[i32], i: i64, n: i32| merge(b, 2 * n)); result(b2)",
        "let b = appender[i32]; let data = [1, 2, 3, 4, 5, 6];"
        " let b2 = for(iter(data, 0L, 3L, 1L), b, |b: appender[i32], i: i64, n: i32|"
        " merge(b, 2 * n)); result(b2)",
        "let b1 = appender[i32]; let b2 = appender[i32]; let data = [1, 2, 3];"
        " let bs = for(data, {b1, b2}, |bs: {appender[i32], appender[i32]}, i: i64, n: i32|"
        " {merge(bs.$0, n), merge(bs.$1, 2 * n)}); {result(bs.$0), result(bs.$1)}",
        "cudf[add_five,i64](x)",
    ]:
        parse(text)


# ----------------------------------------------------------------------------------------------
# Names and scope.


@pytest.mark.parametrize("word", ["let", "if", "for", "merge", "result", "zip", "iter", "inf"])
def test_reserved_words_cannot_be_bound(word):
    with pytest.raises(ParseError, match="reserved word"):
        parse(f"let {word} = 1; 2")
    with pytest.raises(ParseError, match="reserved word"):
        parse(f"|{word}: i32| 2")


def test_bound_names_shadow_builtins():
    # A let-bound `abs` is an ordinary function; unbound it is the builtin.
    e = parse_expr("let abs = |x: i32| x; abs(-1)")
    assert e.body == Apply(Ident("abs"), (lit(-1),))
    assert parse_expr("abs(-1)") == Op("abs", (lit(-1),))
    # only a name bound to a function can be applied: a value of that name hides nothing
    e = parse_expr("|i64: i32| i64(i64)")
    assert e.body == Cast(I64, Ident("i64"))
    e = parse_expr("let exp = 1.0; exp(exp)")
    assert e.body == Op("exp", (Ident("exp"),))
    # an inner value binding hides an outer function of the same name
    e = parse_expr("let f = |x: i32| x; let abs = 2; (let abs = |y: i32| y; abs(1)) + abs(f(abs))")
    inner, outer = e.body.body.args
    assert inner.body == Apply(Ident("abs"), (lit(1),))
    assert outer == Op("abs", (Apply(Ident("f"), (Ident("abs"),)),))
    # a name bound only in a sibling scope does not shadow
    e = parse_expr("{(|exp| exp)(1), exp(1.0)}")
    assert e.elems[1] == Op("exp", (lit(1.0, F64),))


def test_duplicate_parameters():
    with pytest.raises(ParseError, match="parameter x appears twice"):
        parse_expr("|x, x| x")
    with pytest.raises(ParseError, match="macro parameter a appears twice"):
        parse("macro m(a, a) = a; 1")


def test_unknown_functions_are_left_for_the_type_checker():
    assert parse_expr("frobnicate(1)") == Apply(Ident("frobnicate"), (lit(1),))


# ----------------------------------------------------------------------------------------------
# Locations and error messages.


def test_nodes_carry_locations():
    text = "|v: vec[i32]|\n  let s = v;\n  len(s) + 1"
    p = parse(text)
    let = p.body
    assert (let.loc.line, let.loc.col) == (2, 3)
    add = let.body
    assert (add.loc.line, add.loc.col) == (3, 3)  # a node starts where its text starts
    assert (add.args[1].loc.line, add.args[1].loc.col) == (3, 12)
    assert add.loc.source == text


def _error(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(text)
    return info.value


def test_syntax_error_points_at_the_token_with_a_caret():
    err = _error("|v: vec[i32]|\n  let s = v\n  s")
    lines = str(err).splitlines()
    assert lines[0].startswith("3:3: unexpected `s`; expected")
    assert "an operator" in lines[0] and "`;`" in lines[0]
    assert lines[1] == "    s"
    assert lines[2] == "    ^"
    assert isinstance(err, SyntaxError)  # users catch parse errors as syntax errors


def test_error_kinds():
    assert str(_error("1 +")).startswith("1:4: unexpected end of input; expected an operand")
    assert str(_error("1 $ 2")).startswith("1:3: unexpected character '$'")
    assert str(_error("(1")).startswith("1:3: unexpected end of input")
    assert str(_error('f("abc)')).startswith("1:3: unterminated string literal")
    assert str(_error("vec[i32]")).startswith("1:4: unexpected `[`")
    err = _error("let x = 300c; x")
    assert (err.loc.line, err.loc.col) == (1, 9)


def test_not_text():
    with pytest.raises(TypeError):
        parse(b"1")  # type: ignore[arg-type]
