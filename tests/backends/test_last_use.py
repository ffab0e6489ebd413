"""The last-use analysis (optimizer/last_use.py) the LLVM backend frees intermediates by, and
the lowering state around it (backends/llvm/lower.py) restored however lowering ends.

(The analysis is an IR analysis; its tests live here, beside the backend that uses it, until
tests/optimizer takes them.)
"""

from __future__ import annotations

import pytest
from llvmlite import ir

from daybreak.backends.llvm.lower import ErrorTable, Lowerer
from daybreak.ir import nodes as N
from daybreak.ir.parser import parse
from daybreak.ir.typecheck import typecheck
from daybreak.optimizer.last_use import last_reader

STAGES = """|v: vec[f64]|
  let a = result(for(v, appender[f64], |b, i, x| merge(b, x * 2.0)));
  let s = result(for(a, merger[f64,+], |b, i, x| merge(b, x)));
  let n = len(a);
  let c = result(for(v, appender[f64], |b, i, x| merge(b, x + s)));
  {c, n}"""


def _first_let(text: str) -> N.Let:
    body = typecheck(parse(text)).body
    assert isinstance(body, N.Let)
    return body


def test_the_last_let_that_reads_a_fresh_vector_is_found():
    reader = last_reader(_first_let(STAGES))
    assert reader is not None and reader.name == "n"


@pytest.mark.parametrize(
    "text",
    [
        # the final expression reads it
        "|v: vec[f64]| let a = sort(v, |x, y| compare(x, y)); let n = len(a); {a, n}",
        # a slice of it escapes
        "|v: vec[f64]| let a = [1.0, 2.0]; let t = slice(a, 0L, 1L); let n = len(a); t",
        # the name is rebound
        "|v: vec[f64]| let a = [1.0, 2.0]; let n = len(a); let a = v; {a, n}",
        # a lambda's parameter shadows it
        "|v: vec[f64]| let a = [1.0]; let f = |a: i64| a + 1L; let n = len(a); f(n)",
        # not a fresh block: a parameter
        "|v: vec[f64]| let a = v; let n = len(a); n",
        # not a vector of scalars
        "|v: vec[f64]| let a = [v, v]; let n = len(a); n",
        # nothing reads it
        "|v: vec[f64]| let a = [1.0]; let n = len(v); n",
    ],
)
def test_no_reader_where_freeing_could_be_wrong(text):
    assert last_reader(_first_let(text)) is None


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
