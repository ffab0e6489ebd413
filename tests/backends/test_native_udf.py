"""cudf calls to native functions registered by address (Weld's convention:
`void f(T1* a1, ..., R* out)`), from compiled code and from the interpreter."""

import numpy as np
import pytest

import daybreak as db
from daybreak.backends.llvm import jit

NATIVE = """
define void @add_five(i64* %x, i64* %out) {
  %v = load i64, i64* %x
  %r = add i64 %v, 5
  store i64 %r, i64* %out
  ret void
}
define void @vec_sum({double*, i64}* %v, double* %out) {
entry:
  %vec = load {double*, i64}, {double*, i64}* %v
  %data = extractvalue {double*, i64} %vec, 0
  %n = extractvalue {double*, i64} %vec, 1
  br label %head
head:
  %i = phi i64 [0, %entry], [%i1, %body]
  %acc = phi double [0.0, %entry], [%acc1, %body]
  %more = icmp slt i64 %i, %n
  br i1 %more, label %body, label %done
body:
  %p = getelementptr double, double* %data, i64 %i
  %x = load double, double* %p
  %acc1 = fadd double %acc, %x
  %i1 = add i64 %i, 1
  br label %head
done:
  store double %acc, double* %out
  ret void
}
"""


@pytest.fixture(scope="module")
def natives():
    addresses, _ = jit.compile_ir(NATIVE, "test_native_udfs")
    db.register_udf("add_five", address=addresses["add_five"], arg_types=["i64"], ret_type="i64")
    db.register_udf("vec_sum", address=addresses["vec_sum"], arg_types=["vec[f64]"], ret_type="f64")
    yield
    db.unregister_udf("add_five")
    db.unregister_udf("vec_sum")


@pytest.mark.parametrize("backend", ["interp", "llvm"])
def test_native_udfs(natives, backend):
    prog = (
        "|v: vec[f64], k: i64| {cudf[add_five, i64](k), cudf[vec_sum, f64](v),"
        " result(for(v, merger[i64,+], |b, i, x| merge(b, cudf[add_five, i64](i))))}"
    )
    before = db.config(strict=True)  # llvm must compile it: no fallback
    try:
        k5, total, fives = db.compile(prog, backend=backend)(np.array([1.5, 2.5, 4.0]), 10)
    finally:
        db.config(**before)
    assert (k5, total, fives) == (15, 8.0, 0 + 1 + 2 + 15)


def test_native_registration_needs_a_signature():
    with pytest.raises(TypeError, match="address, arg_types and ret_type"):
        db.register_udf("broken", address=1234)
