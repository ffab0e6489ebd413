"""The interp backend: compile = typecheck + keep; calls marshal NumPy values in and out."""

import numpy as np
import pytest

from daybreak.backends import get_backend
from daybreak.backends.base import Backend, Executable
from daybreak.backends.interp import InterpBackend
from daybreak.ir.errors import TypeCheckError, WeldRuntimeError
from daybreak.ir.parser import parse
from daybreak.ir.types import F64, Vec
from daybreak.runtime.udf import lookup_udf, register_udf, registered_udfs, unregister_udf


def compile_text(text: str) -> Executable:
    return InterpBackend().compile(parse(text))


def test_backend_protocol_and_registry():
    backend = get_backend("interp")
    assert isinstance(backend, Backend) and backend.name == "interp"
    f = backend.compile(parse("|a: i64, b: i64| a * b + 1L"))
    assert isinstance(f, Executable)
    assert f.signature == "|a: i64, b: i64| -> i64"
    assert f.program.body.ty is not None  # the executable keeps the typed program
    out = f(6, 7)
    assert type(out) is np.int64 and out == 43


def test_sum_of_squares_from_the_docs():
    f = compile_text("|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, x * x)))")
    out = f(np.array([1.0, 2.0, 3.0]))
    assert type(out) is np.float64 and out == 14.0


def test_arguments_by_position_and_name():
    f = compile_text("|a: i32, b: f64| f64(a) - b")
    assert f(1, 0.5) == 0.5
    assert f(b=0.5, a=1) == 0.5
    assert f(1, b=0.25) == 0.75
    with pytest.raises(TypeError, match=r"takes 2 arguments, got 3"):
        f(1, 2.0, 3)
    with pytest.raises(TypeError, match=r"is missing 'b'"):
        f(1)
    with pytest.raises(TypeError, match=r"no parameter 'c'"):
        f(1, 2.0, c=3)
    with pytest.raises(TypeError, match=r"parameter 'a' is given twice"):
        f(1, 2.0, a=3)


def test_marshalling_errors_name_the_parameter():
    f = compile_text("|v: vec[f64], n: i32| len(v) + i64(n)")
    assert f(np.zeros(3), 2) == 5
    with pytest.raises(TypeError, match=r"parameter 'v' \(vec\[f64\]\): .*got int64"):
        f(np.zeros(3, dtype=np.int64), 2)
    with pytest.raises(ValueError, match=r"parameter 'n' \(i32\): .*out of range"):
        f(np.zeros(3), 2**40)


def test_results_come_back_as_numpy():
    f = compile_text("""|v: vec[i32]|
      let groups = result(for(v, groupmerger[i32,i64], |b, i, x| merge(b, {x % 2, i})));
      {map(v, |x| f32(x) * 0.5f), groups, tovec(groups)}""")
    scaled, groups, entries = f(np.array([1, 2, 3], dtype=np.int32))
    assert scaled.dtype == np.float32 and scaled.tolist() == [0.5, 1.0, 1.5]
    assert set(groups) == {0, 1} and groups[1].tolist() == [0, 2]
    assert isinstance(entries, list) and entries[0][0] == 0  # vec[{i32,vec[i64]}]: a list


def test_type_errors_surface_at_compile():
    with pytest.raises(TypeCheckError):
        compile_text("|a: i32| a + 1.0")


def test_runtime_errors_surface_from_calls():
    f = compile_text("|v: vec[i32]| lookup(v, 3L)")
    with pytest.raises(WeldRuntimeError, match="out of bounds"):
        f(np.array([1], dtype=np.int32))


@pytest.fixture
def clean_udfs():
    before = set(registered_udfs())
    yield
    for name in set(registered_udfs()) - before:
        unregister_udf(name)


def test_cudf_calls_registered_python_functions_with_numpy_values(clean_udfs):
    seen = []

    def norm(v):
        seen.append(v)
        return np.sqrt((v * v).sum())

    register_udf("test_norm", norm, [Vec(F64)], F64)
    f = compile_text("|v: vec[f64]| cudf[test_norm, f64](v) * 2.0")
    assert f(np.array([3.0, 4.0])) == 10.0
    assert isinstance(seen[0], np.ndarray) and seen[0].dtype == np.float64
    assert lookup_udf("test_norm").fn is norm


def test_cudf_registered_after_compile_and_decorator_form(clean_udfs):
    f = compile_text("|x: i64| cudf[test_late, vec[i64]](x)")

    @register_udf("test_late")
    def late(x):
        return np.arange(int(x), dtype=np.int64)

    assert f(3).tolist() == [0, 1, 2]


def test_cudf_errors(clean_udfs):
    f = compile_text("|x: f64| cudf[test_missing, f64](x)")
    with pytest.raises(WeldRuntimeError, match="no function is registered as 'test_missing'"):
        f(1.0)
    register_udf("test_missing", lambda x: np.float32(x))
    with pytest.raises(TypeError, match=r"the result of cudf\[test_missing, f64\]"):
        f(1.0)
    register_udf("test_missing", lambda x: x, ["f32"], "f64")
    with pytest.raises(TypeError, match=r"registered as taking \(f32\)"):
        f(1.0)
    with pytest.raises(KeyError, match="test_nothing"):
        lookup_udf("test_nothing")
    with pytest.raises(TypeError, match="not callable"):
        register_udf("test_bad", 3)
