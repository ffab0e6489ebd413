"""llvm == interp on random well-typed programs and data (tests/ir/generators.py).

The generator may reuse a builder; the LLVM backend refuses such non-linear programs
(ir/linearity.py). Everything it compiles must agree with the reference interpreter; a
failing program is shown as IR text.
"""

from __future__ import annotations

import pytest
from hypothesis import given, note, settings

import daybreak as db
from daybreak.backends.interp import InterpBackend
from daybreak.backends.llvm import LLVMBackend
from daybreak.ir.errors import LoweringError, UnsupportedError, WeldRuntimeError
from daybreak.ir.linearity import check_linear
from daybreak.ir.printer import format as format_ir
from daybreak.ir.typecheck import typecheck

from ..ir.generators import programs, values_difference

_interp = InterpBackend()
_llvm = LLVMBackend()


@settings(max_examples=200)
@given(programs(typed=False, max_nodes=40))
def test_llvm_agrees_with_interp(case):
    program, args = case
    text = format_ir(program)
    note(text)
    typed = typecheck(program)
    expected = _interp.compile(program)(*args)
    if check_linear(typed):
        with pytest.raises(LoweringError):
            _llvm.compile(program)
        return
    try:
        compiled = _llvm.compile(program)
    except UnsupportedError as gap:  # a recorded gap, not a wrong answer
        pytest.fail(f"llvm cannot compile a generated program: {gap}\n{text}")
    got = compiled(*args)
    difference = values_difference(got, expected, typed.body.ty, rtol=1e-9, atol=1e-12)
    assert difference is None, f"{difference}\n{text}"


@pytest.mark.parametrize("threads", [2, 3])
@settings(max_examples=60)
@given(case=programs(typed=False, max_nodes=30, max_len=12))
def test_llvm_split_loops_agree(threads, case):
    """grain=1 splits every top-level loop across threads, even on a few elements, so the
    per-thread builders and their merging are exercised on random programs."""
    program, args = case
    note(format_ir(program))
    typed = typecheck(program)
    if check_linear(typed):
        return
    before = db.config(threads=threads, grain=1)
    try:
        got = _llvm.compile(program)(*args)
    except WeldRuntimeError as err:  # pragma: no cover - the generator makes safe programs
        pytest.fail(f"{err}\n{format_ir(program)}")
    finally:
        db.config(**before)
    expected = _interp.compile(program)(*args)
    assert values_difference(got, expected, typed.body.ty, rtol=1e-9) is None
