"""Soundness: optimised and unoptimised programs agree, on random programs and data.

The programs come from the IR generator (tests/ir/generators.py); the verifier (type check and
linearity) runs after every pass. The interpreter is the oracle; the LLVM backend, which
optimises before lowering, is checked on a smaller number of programs.
"""

from __future__ import annotations

import re

from hypothesis import given, note, settings

from daybreak.backends.interp import InterpBackend
from daybreak.backends.llvm import LLVMBackend
from daybreak.ir.errors import WeldRuntimeError
from daybreak.ir.linearity import check_linear
from daybreak.ir.printer import format as format_ir
from daybreak.ir.typecheck import typecheck
from daybreak.optimizer import OptimizeReport, optimize

from ..ir.generators import programs, values_difference

_interp = InterpBackend()
_llvm = LLVMBackend()


def _check(program, args, backend):
    note(format_ir(program))
    typed = typecheck(program)
    report = OptimizeReport(typed)
    optimized = optimize(typed, verify=True, report=report)
    note(format_ir(optimized))
    assert optimized.params == typed.params
    assert optimized.body.ty == typed.body.ty
    if not check_linear(typed):
        assert not check_linear(optimized)
    expected = _interp.compile(typed)(*args)
    got = backend.compile(optimized)(*args)
    difference = values_difference(got, expected, typed.body.ty, rtol=1e-9, atol=1e-12)
    assert difference is None, difference


@settings(max_examples=250)
@given(programs(typed=False, max_nodes=50))
def test_optimized_agrees_on_interp(case):
    program, args = case
    _check(program, args, _interp)


@settings(max_examples=40)
@given(programs(typed=False, max_nodes=40))
def test_optimized_agrees_on_llvm(case):
    program, args = case
    if check_linear(typecheck(program)):
        return  # llvm refuses non-linear programs before optimising
    _check(program, args, _llvm)


_ZIP_LENGTHS = re.compile(r"zip of iterators of different lengths \([0-9, ]*\)")


def _outcome(program, args):
    try:
        return "value", _interp.compile(program)(*args)
    except WeldRuntimeError as err:
        # A zip that repeats an iterator (`zip(p, p, q)`) loses the repeat, and fused zips
        # check their producers' iterators at once: the same error at the same point, whose
        # message lists the lengths of the zip that is left (as in test_fusion_shapes).
        return "error", _ZIP_LENGTHS.sub("zip of iterators of different lengths", str(err))


@settings(max_examples=120)
@given(programs(typed=False, max_nodes=40, allow_runtime_errors=True))
def test_runtime_errors_are_kept(case):
    """With unguarded lookups and failing asserts: the optimised program raises exactly the
    error the original raises (not another one first, and not none)."""
    program, args = case
    typed = typecheck(program)
    note(format_ir(typed))
    kind, expected = _outcome(typed, args)
    got_kind, got = _outcome(optimize(typed, verify=True), args)
    assert got_kind == kind, (got, expected)
    if kind == "error":
        assert got == expected
    else:
        assert values_difference(got, expected, typed.body.ty, rtol=1e-9, atol=1e-12) is None
