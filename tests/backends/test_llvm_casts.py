"""Float-to-integer casts on the LLVM backend: the IR's cast saturates (NaN to 0, out of range
to the nearest bound, `llvm.fptosi.sat`'s meaning), lowered as compares and selects around a
plain conversion so that loops of them vectorise (`backends/llvm/ops._saturating_to_int`).
Every integer type from f64 and f32, at and around each bound, against the interpreter, and
the loop's machine code has vector conversions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daybreak.backends.interp import InterpBackend
from daybreak.backends.llvm import LLVMBackend, jit
from daybreak.ir.parser import parse
from daybreak.ir.typecheck import typecheck

_INTS = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"]
_CAST = "|v: vec[{f}]| result(for(v, appender[{t}], |b, i, x| merge(b, {t}(x))))"


def _edges(t: str) -> list[float]:
    """Values at and around `t`'s bounds and zero, NaN and the infinities."""
    info = np.iinfo(("int" if t[0] == "i" else "uint") + t[1:])
    out = [np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.5, 0.999, -0.999, 1e300, -1e300]
    for bound in (float(info.min), float(info.max), float(info.max) + 1.0):
        out += [bound, np.nextafter(bound, np.inf), np.nextafter(bound, -np.inf)]
        out += [bound - 0.5, bound + 0.5, bound - 1.0, bound + 1.0]
    return out


@pytest.mark.parametrize("f", ["f64", "f32"])
@pytest.mark.parametrize("t", _INTS)
def test_saturating_casts_agree_with_the_interpreter(t, f):
    dtype = np.float64 if f == "f64" else np.float32
    with np.errstate(over="ignore"):
        values = np.array(_edges(t) * 3, dtype=dtype)  # (long enough for the vector loop)
    program = parse(_CAST.format(f=f, t=t))
    got = LLVMBackend().compile(program)(values)
    want = InterpBackend().compile(program)(values)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(_INTS),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=40),
)
def test_saturating_casts_of_any_doubles(t, xs):
    program = parse(_CAST.format(f="f64", t=t))
    values = np.array(xs, dtype=np.float64)
    got = LLVMBackend().compile(program)(values)
    want = InterpBackend().compile(program)(values)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_a_loop_of_casts_is_vector_code():
    """x86 has no vector form of `llvm.fptosi.sat`; the selects around `fptosi` vectorise
    (AVX's `vcvttpd2dq` or its wider forms)."""
    text, _ = LLVMBackend().lower(typecheck(parse(_CAST.format(f="f64", t="i32"))))
    import llvmlite.binding as llvm

    module = llvm.parse_assembly(text)
    jit.optimize(module)
    asm = jit._target_machine().emit_assembly(module)
    assert "vcvttpd2dq" in asm or "vcvttpd2qq" in asm, asm[-3000:]
