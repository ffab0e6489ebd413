"""Type inference and the verifier: what is inferred, and what is rejected (message + location)."""

import pytest

from daybreak.ir import builder as B
from daybreak.ir import nodes as N
from daybreak.ir.errors import TypeCheckError
from daybreak.ir.parser import parse
from daybreak.ir.typecheck import typecheck, typecheck_expr
from daybreak.ir.types import F64, I32, I64, Appender, Merger, Struct, Vec


def body_type(text: str) -> str:
    return str(typecheck(parse(text)).body.ty)


WELL_TYPED = [
    ("1", "i32"),
    ("1L + 2L", "i64"),
    ("2.5f * 2.0f", "f32"),
    ("1 < 2", "bool"),
    ("{1, 2.0, true}.$1", "f64"),
    ("[1c, 2c]", "vec[i8]"),
    ('"abc"', "vec[i8]"),
    ("let x = 1; let x = f64(x); x", "f64"),
    ("if(true, 1L, 2L)", "i64"),
    ("select(false, 1u8, 2u8)", "u8"),
    ("exp(1.0) + erf(0.5)", "f64"),
    ("|v: vec[f64]| len(v)", "i64"),
    ("|v: vec[f64]| lookup(v, 0L)", "f64"),
    ("|v: vec[f64]| slice(v, 1L, 2L)", "vec[f64]"),
    ("|d: dict[i32,f64]| lookup(d, 1)", "f64"),
    ("|d: dict[i32,f64]| optlookup(d, 1)", "{bool,f64}"),
    ("|d: dict[i32,f64]| keyexists(d, 1)", "bool"),
    ("|d: dict[i32,f64]| tovec(d)", "vec[{i32,f64}]"),
    ("|v: vec[i32]| result(for(v, appender, |b, i, x| merge(b, x)))", "vec[i32]"),
    ("|v: vec[i32]| result(for(v, appender[?], |b, i, x| merge(b, f64(x))))", "vec[f64]"),
    ("|v: vec[i32]| result(for(v, merger[i64,max], |b, i, x| merge(b, i)))", "i64"),
    (
        "|v: vec[i32]| result(for(v, dictmerger[i32,{i64,f64},+], |b, i, x| "
        "merge(b, {x, {1L, 1.0}})))",
        "dict[i32,{i64,f64}]",
    ),
    (
        "|v: vec[i32]| result(for(v, groupmerger[i32,i64], |b, i, x| merge(b, {x, i})))",
        "dict[i32,vec[i64]]",
    ),
    (
        "|v: vec[i32]| result(for(v, vecmerger[f64,+]([0.0, 0.0]), |b, i, x| "
        "merge(b, {i % 2L, 1.0})))",
        "vec[f64]",
    ),
    (
        "|v: vec[i32], w: vec[f32]| result(for(zip(v, w), {appender[i32], merger[f32,+]}, "
        "|bs, i, x| {merge(bs.$0, x.$0), merge(bs.$1, x.$1)}))",
        "{vec[i32],f32}",
    ),
    ("result(for(rangeiter(0L, 10L, 2L), appender, |b, i, x| merge(b, x)))", "vec[i64]"),
    ("|v: vec[u8]| result(for(v, scanner[u8,*], |s, i, x| merge(s, x)))", "vec[u8]"),
    ("|v: vec[bool]| result(for(v, scanner[bool,max], |s, i, x| merge(s, x)))", "vec[bool]"),
    (
        "|v: vec[f64]| result(for(v, {scanner[f64,+], merger[f64,max]}, |b, i, x| "
        "{merge(b.$0, x), merge(b.$1, x)}))",
        "{vec[f64],f64}",
    ),
    (
        "|v: vec[f64]| result(for(iter(v, 0L, len(v), 2L), merger[f64,+], |b, i, x| merge(b, x)))",
        "f64",
    ),
    ("iterate({0L, 1L}, |s| {{s.$0 + 1L, s.$1 * 2L}, s.$0 < 10L}).$1", "i64"),
    ("|v: vec[i64]| sort(v, |a, b| compare(a, b))", "vec[i64]"),
    ("|v: vec[i64]| map(v, |x| f64(x) * 0.5)", "vec[f64]"),
    ("|v: vec[i64]| filter(v, |x| x > 2L)", "vec[i64]"),
    ("|v: vec[vec[i64]]| flatten(v)", "vec[i64]"),
    ("let f = |x: i32| x + 1; f(f(2))", "i32"),
    ("(|x| x * 2.0)(4.0)", "f64"),
    ("let e = []: vec[f64]; len(e)", "i64"),
    ("cudf[my_fn, vec[f64]](1L, 2.0)", "vec[f64]"),
    (
        "|v: vec[vec[i8]]| result(for(v, dictmerger[vec[i8],i64,+], |b, i, s| merge(b, {s, 1L})))",
        "dict[vec[i8],i64]",
    ),
    ("|x: {i32, {f64, bool}}| x.$1.$0", "f64"),
    ("assert(1 == 1)", "bool"),
    ("@(predicate: true) if(true, 1, 2)", "i32"),
]


@pytest.mark.parametrize("text,expected", WELL_TYPED)
def test_well_typed(text, expected):
    assert body_type(text) == expected


def test_every_node_is_typed_and_lambda_params_filled():
    p = typecheck(parse("|v: vec[i32]| result(for(v, appender, |b, i, x| merge(b, x + 1)))"))
    assert all(n.ty is not None for n in p.body.walk())
    lam = next(n for n in p.body.walk() if isinstance(n, N.Lambda))
    assert [prm.type for prm in lam.params] == [Appender(I32), I64, I32]
    builder = next(n for n in p.body.walk() if isinstance(n, N.NewBuilder))
    assert builder.type == Appender(I32)


def test_fully_typed_program_is_unchanged_by_typecheck():
    text = (
        "|v: vec[i32]| result(for(v, appender[i32], |b: appender[i32], i: i64, x: i32| "
        "merge(b, x + 1)))"
    )
    p = parse(text)
    assert typecheck(p) == p


def test_typecheck_is_idempotent():
    p = typecheck(parse("|v: vec[i64]| map(filter(v, |x| x > 2L), |y| y * 2L)"))
    assert typecheck(p) == p


def test_shadowing_in_nested_scopes():
    text = "|x: f64| let y = (|x: i32| x + 1)(3); x + f64(y)"
    assert body_type(text) == "f64"


def test_typecheck_expr_with_env():
    e = typecheck_expr(N.Op("+", (N.Ident("a"), N.Literal(1.0, F64))), {"a": F64})
    assert e.ty == F64


def test_builder_api_programs_typecheck():
    pb = B.ProgramBuilder()
    v = pb.param("v", Vec(F64))
    w = pb.param("w", Vec(F64))
    sums = B.for_(
        [v, w],
        B.struct(B.merger(F64, "+"), B.appender(F64)),
        lambda b, i, x: B.struct(
            B.merge(b.field(0), x.field(0) * x.field(1)), B.merge(b.field(1), x.field(0) + 1.0)
        ),
    )
    p = typecheck(pb.build(B.result(sums)))
    assert p.body.ty == Struct((F64, Vec(F64)))


# ------------------------------------------------------------------------------------------------
# Ill-typed programs: each error names the types and points at the node.

ILL_TYPED = [
    (
        "|v: vec[i32]| result(for(v, merger[i32,+], |b, i, x| merge(b, 1.5)))",
        "cannot merge f64 into merger[i32,+]",
        (1, 54),
    ),
    ("1 + 1.0", "'+': the operands have different types: i32 and f64", (1, 1)),
    ("1 < 2L", "'<': the operands have different types: i32 and i64", (1, 1)),
    ("true + true", "'+': operands must be numbers, not bool", (1, 1)),
    ("exp(1)", "exp: operands must be f32 or f64, not i32", (1, 1)),
    ("!1", "'!': operands must be bool, not i32", (1, 1)),
    ("y + 1", "undefined name 'y'", (1, 1)),
    ("if(1, 2, 3)", "the condition of if must be bool, not i32", (1, 4)),
    ("if(true, 2, 3L)", "the branches of if have different types: i32 and i64", (1, 1)),
    ("{1, 2}.$2", "{i32,i32} has no field $2", (1, 1)),
    ("(1).$0", "field access .$0 needs a struct, not i32", (1, 1)),
    (
        "|x: i32| lookup(x, 0L)",
        "lookup: the first argument of lookup must be a vec or a dict",
        (1, 10),
    ),
    ("|v: vec[i32]| lookup(v, 1.0)", "lookup: a vector index must be an integer, not f64", (1, 15)),
    ("|d: dict[i32,i32]| lookup(d, 1L)", "the key have different types: i64 and i32", (1, 20)),
    (
        "|x: i64| for(x, appender, |b, i, y| merge(b, y))",
        "the data of for must be a vector",
        (1, 10),
    ),
    (
        "|v: vec[i32]| for(v, 1, |b, i, x| b)",
        "the builder of for must be a builder, not i32",
        (1, 22),
    ),
    (
        "|v: vec[i32]| result(for(v, appender[i32], |b, i, x| 5))",
        "the loop body returns i32 but the builder is appender[i32]",
        (1, 54),
    ),
    (
        "|v: vec[i32]| result(for(v, appender[i32], |b, i| b))",
        "the function of for must take 3 parameters, not 2",
        (1, 44),
    ),
    ("|v: vec[i32]| result(v)", "result needs a builder, not vec[i32]", (1, 15)),
    ("merge(1, 2)", "merge needs a builder, not i32", (1, 1)),
    ("result(vecmerger[i32,+])", "vecmerger needs its initial vector", (1, 8)),
    ("result(merger[vec[i32],+])", "must hold a scalar or a struct of scalars", (1, 8)),
    ("result(merger[bool,+])", "+ is not defined on bool", (1, 8)),
    (
        "|v: vec[bool]| result(for(v, scanner[bool,+], |s, i, x| merge(s, x)))",
        "scanner[bool,+]: + is not defined on bool",
        (1, 30),
    ),
    ("result(scanner[bool,*])", "scanner[bool,*]: * is not defined on bool", (1, 8)),
    ("result(scanner[{i32,f64},+])", "scanner[{i32,f64},+] must hold a scalar, not", (1, 8)),
    ("result(scanner[vec[i32],max])", "scanner[vec[i32],max] must hold a scalar", (1, 8)),
    ("result(scanner[f64,+](0.0))", "scanner[f64,+] takes no argument", (1, 8)),
    (
        "|v: vec[i32]| result(for(v, scanner[i64,+], |s, i, x| merge(s, x)))",
        "cannot merge i32 into scanner[i64,+]",
        (1, 55),
    ),
    ("appender[i32]", "a program must return a value, not appender[i32]", (1, 1)),
    ("result(appender)", "cannot infer the type of this expression", (1, 1)),
    ("iterate(1, |x| x + 1)", "the function of iterate must return {i32,bool}, not i32", (1, 16)),
    (
        "|v: vec[i32]| sort(v, |a, b| a < b)",
        "the comparator of sort must return i32, not bool",
        (1, 30),
    ),
    ("[1, 2.0]", "vector elements have different types: i32 and f64", (1, 5)),
    ("let f = |x: i32| x; f(1.0)", "argument 1 has type f64 but the function takes i32", (1, 23)),
    ("let x = 1; x(2)", "only functions can be applied, not i32", (1, 12)),
    ("1.0: i32", "expression has type f64 but is declared i32", (1, 1)),
    ("i32({1, 2})", "cannot cast {i32,i32} to i32: casts are between scalars", (1, 1)),
    ("|x: appender[i32]| 1", "program parameter 'x' must be a value", None),
]


@pytest.mark.parametrize("text,message,loc", ILL_TYPED)
def test_ill_typed(text, message, loc):
    with pytest.raises(TypeCheckError) as info:
        typecheck(parse(text))
    err = info.value
    assert message in err.message
    if loc is not None:
        assert err.loc is not None, "a type error in text must have a location"
        assert (err.loc.line, err.loc.col) == loc
        rendered = str(err)
        assert rendered.startswith(f"{loc[0]}:{loc[1]}: ")
        assert "^" in rendered  # the caret under the offending column


def test_error_on_later_line_shows_that_line():
    text = "|v: vec[i32]|\n  let b = merger[i32,+];\n  result(merge(b, 2.5))"
    with pytest.raises(TypeCheckError) as info:
        typecheck(parse(text))
    lines = str(info.value).splitlines()
    assert lines[0] == "3:10: cannot merge f64 into merger[i32,+]"
    assert lines[1].strip() == "result(merge(b, 2.5))"
    assert lines[2].index("^") == lines[1].index("merge")


def test_merger_types_must_match_exactly():
    with pytest.raises(TypeCheckError, match="merger"):
        typecheck(parse("|v: vec[i32]| for(v, merger[i32,+], |b: merger[i32,*], i, x| b)"))


def test_builder_api_nodes_without_location_still_report():
    expr = N.Op("+", (N.Literal(1, I32), N.Literal(1.0, F64)))
    with pytest.raises(TypeCheckError, match="i32 and f64"):
        typecheck_expr(expr)


def test_merger_struct_values():
    t = body_type("|v: vec[f64]| result(for(v, merger[{f64,i64},+], |b, i, x| merge(b, {x, 1L})))")
    assert t == "{f64,i64}"
    assert Merger(Struct((F64, I64)), "+").result_type == Struct((F64, I64))
