"""The LLVM lowerer's state (backends/llvm/lower.py: where code goes, and whether it is inside a
loop body or a branch) comes back as it was however lowering ends, a failure included."""

from __future__ import annotations

import pytest
from llvmlite import ir

from daybreak.backends.llvm.lower import ErrorTable, Lowerer


def test_lowering_state_comes_back_when_lowering_fails():
    module = ir.Module(name="state")
    L = Lowerer(module, ErrorTable())
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), []), "outer")
    L.builder = ir.IRBuilder(fn.append_basic_block("entry"))
    builder, ctx = L.builder, L.ctx
    other = ir.Function(module, ir.FunctionType(ir.VoidType(), []), "helper")
    with pytest.raises(RuntimeError):
        with L.emitting_into(other), L.entering_branch(), L.entering_loop_body(frozenset({1})):
            assert L.builder.function is other and L.in_loop_body and not L.straight_line
            assert L.unchecked_merges == frozenset({1})
            raise RuntimeError("an emitter failed")
    assert (L.builder, L.ctx) == (builder, ctx)
    assert (L.in_loop_body, L.straight_line, L.unchecked_merges) == (False, True, frozenset())


def test_a_loop_body_keeps_the_unchecked_merges_it_is_given_or_finds():
    L = Lowerer(ir.Module(name="state"), ErrorTable())
    with L.entering_loop_body(frozenset({7})):
        with L.entering_loop_body():  # a sort's comparator inside the loop: merges unchanged
            assert L.unchecked_merges == frozenset({7})
        with L.entering_loop_body(frozenset()):  # an inner loop: its own
            assert L.unchecked_merges == frozenset()
    assert not L.in_loop_body and L.unchecked_merges == frozenset()
