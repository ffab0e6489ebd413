"""Properties of the IR's front half, on random well-typed programs (tests/ir/generators.py):

* printing then parsing gives the same program, and printing is a fixpoint;
* type inference succeeds and finds, at every node, the type the generator built it for;
* the reference interpreter runs every program and returns a value of that type, in the
  marshalled format, the same whether the program came from nodes or from its text;
* a program made ill-typed by swapping one operand for another scalar type is rejected with a
  TypeCheckError (located, when the program came from text).

Example counts scale with the hypothesis profile (tests/conftest.py): `ci` runs the numbers
written here, `dev` a fifth of them, `thorough` twenty times as many.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from daybreak.backends.interp import InterpBackend
from daybreak.ir import nodes as N
from daybreak.ir.errors import TypeCheckError, WeldRuntimeError
from daybreak.ir.nodes import Program
from daybreak.ir.parser import parse as parse_ir
from daybreak.ir.printer import format as format_ir
from daybreak.ir.typecheck import typecheck
from daybreak.ir.types import Struct, Vec

from .generators import (
    check_marshalled,
    ill_typed_mutant,
    mutation_sites,
    programs,
    programs_text,
    strip_types,
    types,
    values,
    values_difference,
    values_equal,
)

# Sizes for the property runs: big enough to reach nested loops, small enough to run fast.
_SIZES = dict(max_depth=4, max_nodes=50, max_len=5)


def examples(n: int):
    """`n` examples under the `ci` profile, scaled for the others."""
    return settings(max_examples=max(1, n * settings.default.max_examples // 100))


def untyped(program: Program) -> Program:
    return Program(program.params, strip_types(program.body))


def show(program: Program, args=()) -> None:
    """Attach the program's text (or its repr, if printing fails) to a failing example."""
    try:
        note(format_ir(untyped(program)))
    except Exception as e:  # the printer may be what is broken
        note(f"(format failed: {e!r})\n{program!r}")
    if args:
        note(f"args = {args!r}")


def run_interp(program: Program, args):
    return InterpBackend().compile(program)(*args)


# ----------------------------------------------------------------------------------------------
# The generator itself.


@examples(50)
@given(programs(typed=True, **_SIZES))
def test_generator_types_every_node_and_untyped_strips_them(case):
    program, args = case
    assert all(n.ty is not None for n in program.body.walk())
    assert all(n.ty is None for n in untyped(program).body.walk())
    assert len(args) == len(program.params)
    for value, p in zip(args, program.params, strict=True):
        check_marshalled(value, p.type, p.name)
    lengths = {len(a) for a, p in zip(args, program.params, strict=True) if isinstance(p.type, Vec)}
    assert len(lengths) <= 1, "vector parameters must share one length"


@examples(100)
@given(st.data(), types(max_depth=3))
def test_values_are_marshalled_and_equal_to_themselves(data, ty):
    v = data.draw(values(ty))
    check_marshalled(v, ty)
    assert values_equal(v, v, ty, rtol=0.0, atol=0.0), values_difference(v, v, ty, 0.0, 0.0)


def test_values_equal_on_floats_nan_and_dicts():
    import math

    import numpy as np

    from daybreak.ir.types import F32, F64, I64, Dict

    nan = math.nan
    assert values_equal(np.float64(nan), np.float64(nan), F64)
    assert not values_equal(np.float64(nan), np.float64(1.0), F64)
    assert values_equal(np.float64(1.0), np.float64(1.0 + 1e-9), F64)
    assert not values_equal(np.float64(1.0), np.float64(1.0 + 1e-9), F64, rtol=0.0, atol=0.0)
    assert not values_equal(np.float64(math.inf), np.float64(1e308), F64)
    assert values_equal(np.float32(1.0), np.float32(1.00001), F32)  # f32: looser by default
    vec = Vec(F64)
    assert values_equal(np.array([1.0, nan]), np.array([1.0, nan]), vec)
    assert not values_equal(np.array([1.0, nan]), np.array([1.0, 2.0]), vec)
    assert not values_equal(np.array([1.0]), np.array([1.0, 2.0]), vec)
    d = Dict(F64, I64)
    assert values_equal({nan: np.int64(1), -0.0: np.int64(2)}, {0.0: 2, float("nan"): 1}, d)
    assert not values_equal({1.0: np.int64(1)}, {1.0: np.int64(2)}, d)
    assert not values_equal({1.0: np.int64(1)}, {2.0: np.int64(1)}, d)
    s = Struct((I64, Vec(I64)))
    assert values_equal((1, np.array([2])), (np.int64(1), [2]), s)
    assert "$1[0]" in values_difference((1, np.array([2])), (1, np.array([3])), s)


# ----------------------------------------------------------------------------------------------
# Printer and parser.


@examples(200)
@given(programs(**_SIZES))
def test_print_parse_round_trip(case):
    program, _ = case
    show(program)
    text = format_ir(program)
    parsed = parse_ir(text)
    assert parsed == program
    assert format_ir(parsed) == text


@examples(30)
@given(programs_text(max_nodes=30))
def test_programs_text_parses_and_is_canonical(case):
    text, _ = case
    note(text)
    assert format_ir(parse_ir(text)) == text


# ----------------------------------------------------------------------------------------------
# Type inference.


@examples(150)
@given(programs(typed=True, **_SIZES))
def test_typecheck_infers_the_intended_types(case):
    intended, _ = case
    show(intended)
    typed = typecheck(untyped(intended))
    assert typed.return_type == intended.body.ty
    want, got = list(intended.body.walk()), list(typed.body.walk())
    assert len(want) == len(got), "typecheck changed the shape of the tree"
    for w, g in zip(want, got, strict=True):
        assert type(w) is type(g)
        assert g.ty == w.ty, f"{type(w).__name__}: inferred {g.ty}, intended {w.ty}"


@examples(100)
@given(programs(typed=True, **_SIZES), st.data())
def test_ill_typed_mutants_are_rejected(case, data):
    program, _ = case
    sites = mutation_sites(program)
    assume(sites)
    site = data.draw(st.sampled_from(sites))
    mutant = ill_typed_mutant(program, site)
    show(mutant)
    with pytest.raises(TypeCheckError):
        typecheck(untyped(mutant))
    # From text, the error must point at the mutated expression (or inside it).
    parsed = parse_ir(format_ir(untyped(mutant)))
    with pytest.raises(TypeCheckError) as caught:
        typecheck(parsed)
    loc = caught.value.loc
    assert loc is not None, f"no location on: {caught.value}"
    mutated = next(n for k, n in enumerate(parsed.body.walk()) if k == site[0])
    inside = {(n.loc.line, n.loc.col) for n in mutated.walk() if n.loc is not None}
    # A mutated lambda applied on the spot changes the type its parameter takes: the error
    # then rightly points at the argument that no longer fits.
    inside |= {
        (a.loc.line, a.loc.col)
        for n in parsed.body.walk()
        if isinstance(n, N.Apply) and n.func is mutated
        for arg in n.args
        for a in arg.walk()
        if a.loc is not None
    }
    where = f"{caught.value}\nbut the mutated node is at {mutated.loc}"
    assert (loc.line, loc.col) in inside, where


# ----------------------------------------------------------------------------------------------
# The reference interpreter.


@examples(150)
@given(programs(typed=True, **_SIZES))
def test_interpreter_runs_every_program(case):
    program, args = case
    show(program, args)
    out = run_interp(untyped(program), args)
    check_marshalled(out, program.body.ty)
    again = run_interp(untyped(program), args)
    assert values_equal(out, again, program.body.ty, rtol=0.0, atol=0.0)


@examples(100)
@given(programs(typed=True, **_SIZES))
def test_interpreter_gives_the_same_result_from_text(case):
    program, args = case
    show(program, args)
    out = run_interp(untyped(program), args)
    from_text = run_interp(parse_ir(format_ir(untyped(program))), args)
    diff = values_difference(out, from_text, program.body.ty, rtol=0.0, atol=0.0)
    assert diff is None, diff


@examples(100)
@given(programs(typed=True, allow_runtime_errors=True, **_SIZES))
def test_unsafe_programs_fail_only_with_runtime_errors(case):
    program, args = case
    show(program, args)
    try:
        out = run_interp(untyped(program), args)
    except WeldRuntimeError as e:
        assert str(e)
        return
    check_marshalled(out, program.body.ty)
