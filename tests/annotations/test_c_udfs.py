"""Annotated C functions as the IR's native functions (`cudf[name, T]`): compiled programs
and the interpreter call them, with the same results as the C functions called from Python."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import daybreak as db
from daybreak.annotations import AnnotationError, annotate, pipeline
from daybreak.annotations.c_functions import load, register_udfs
from daybreak.ir.errors import WeldRuntimeError
from daybreak.ir.types import F64, Vec
from daybreak.runtime.udf import lookup_udf, unregister_udf

PROGRAM = """|a: vec[f64], b: vec[f64]|
  let r = cudf[vdAdd, vec[f64]](a, b);
  let e = cudf[vdExp, vec[f64]](cudf[vdScale, vec[f64]](r, 0.5));
  {e, cudf[vdSum, f64](e), result(for(e, merger[f64,+], |m, i, x| merge(m, x * 2.0)))}"""


@pytest.fixture(scope="module")
def vml(vml_path, vml_header):
    lib = load(vml_path, vml_header)
    yield lib
    for name in lib.functions:
        with contextlib.suppress(KeyError):  # (a test may have unregistered it)
            unregister_udf(name)


def _expected(lib, a, b):
    r = np.empty_like(a)
    lib.vdAdd(len(a), a, b, r)
    lib.vdScale(len(a), r, 0.5, r)
    lib.vdExp(len(a), r, r)
    return r


def test_the_vector_functions_are_registered_with_their_ir_signatures(vml):
    assert lookup_udf("vdAdd").arg_types == (Vec(F64), Vec(F64))
    assert lookup_udf("vdAdd").ret_type == Vec(F64)
    assert lookup_udf("vdSum").ret_type == F64
    assert lookup_udf("vdScale").vector.roles == ("size", "in", "scalar", "out")


@pytest.mark.parametrize("backend", ["llvm", "interp"])
@pytest.mark.parametrize("n", [0, 1, 1000])
def test_programs_call_the_c_functions(vml, backend, n):
    rng = np.random.default_rng(n)
    a, b = rng.random(n), rng.random(n)
    e, s, twice = db.compile(PROGRAM, backend=backend)(a, b)
    want = _expected(vml, a, b)
    np.testing.assert_array_equal(e, want)  # the same C code computed each element
    assert s == pytest.approx(float(want.sum()), rel=1e-12)
    assert twice == pytest.approx(2 * float(want.sum()), rel=1e-12)


@pytest.mark.parametrize("backend", ["llvm", "interp"])
def test_vectors_of_different_lengths_are_a_runtime_error(vml, backend):
    f = db.compile(PROGRAM, backend=backend)
    with pytest.raises((WeldRuntimeError, ValueError), match="different lengths"):
        f(np.ones(10), np.ones(9))


def test_a_compiled_program_runs_piece_by_piece_under_an_annotation(vml):
    """A program mixing C calls and loops, annotated like any function: each piece of the
    arrays runs through the whole compiled program, on the worker threads."""
    text = PROGRAM.rsplit("{", 1)[0] + "e"
    f = annotate(db.compile(text), "S", "S", returns="S")
    old = db.config(split_piece_bytes=8 * 1024, threads=2)
    try:
        a, b = np.random.default_rng(1).random((2, 100_000))
        with pipeline():
            got = f(a, b)
        np.testing.assert_array_equal(np.asarray(got), _expected(vml, a, b))
    finally:
        db.config(**old)


def test_registering_again_recompiles_against_the_new_address(vml_path, vml_header):
    text = "|a: vec[f64]| cudf[vdSum, f64](a)"
    load(vml_path, vml_header)
    first = db.compile(text)
    names = register_udfs(load(vml_path, vml_header, register=False))
    assert "vdAdd" in names and "vdSum" in names and len(names) == 13
    second = db.compile(text)
    assert first is not second and second(np.arange(4.0)) == 6.0


def test_a_scalar_parameter_cannot_be_split(vml_path):
    header = """// @splittable(a: S, s: S, r: mut S)
void vdScale(long n, const double *a, double s, double *r);"""
    with pytest.raises(AnnotationError, match=r"1:25: s is not a pointer") as info:
        load(vml_path, header, register=False)
    assert "^" in str(info.value)


def test_a_daybreak_numpy_expression_feeds_c_calls_piece_by_piece(vml):
    import daybreak.numpy as dnp

    old = db.config(split_piece_bytes=64 * 1024, threads=2)
    try:
        a, b = np.random.default_rng(3).random((2, 300_000)) + 0.5
        expr = dnp.log(dnp.asarray(a)) * 3.0 + 1.0  # pending: computed per piece
        r = np.empty_like(a)
        with pipeline():
            vml.vdAdd(len(a), expr, b, r)
            total = vml.vdSum(len(a), r)
        want = np.empty_like(a)
        vml.vdAdd(len(a), np.log(a) * 3.0 + 1.0, b, want)
        np.testing.assert_allclose(r, want, rtol=1e-15)
        assert float(total) == pytest.approx(float(want.sum()), rel=1e-12)
        assert expr.concrete() is None
    finally:
        db.config(**old)
