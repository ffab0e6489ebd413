"""Marshalling between Python/NumPy values and interpreter values (docs/ir.md, "From Python").

Every bad input must raise TypeError or ValueError whose message names the parameter."""

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daybreak.ir.types import (
    BOOL,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    SCALARS,
    STRING,
    U8,
    U64,
    Appender,
    Dict,
    Struct,
    Vec,
)
from daybreak.runtime.marshal import call_python_udf, from_interp, to_interp

INT_RANGES = {
    "i8": (-(2**7), 2**7 - 1),
    "i16": (-(2**15), 2**15 - 1),
    "i32": (-(2**31), 2**31 - 1),
    "i64": (-(2**63), 2**63 - 1),
    "u8": (0, 2**8 - 1),
    "u16": (0, 2**16 - 1),
    "u32": (0, 2**32 - 1),
    "u64": (0, 2**64 - 1),
}


def fails(error, value, ty, *fragments, name="p"):
    """Assert that converting `value` raises `error` naming the parameter and saying
    `fragments`."""
    with pytest.raises(error) as info:
        to_interp(value, ty, name)
    message = str(info.value)
    assert f"parameter '{name}' ({ty})" in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ----------------------------------------------------------------------------------------------
# Scalars


@pytest.mark.parametrize("kind", sorted(INT_RANGES))
def test_int_scalars_in_and_out(kind):
    t = SCALARS[kind]
    lo, hi = INT_RANGES[kind]
    for v in (lo, 0, hi):
        assert to_interp(v, t, "n") == v
        assert to_interp(t.dtype.type(v), t, "n") == v
        out = from_interp(v, t)
        assert type(out) is t.dtype.type and out == v
    fails(ValueError, hi + 1, t, "out of range", name="n")
    fails(ValueError, lo - 1, t, "out of range", name="n")
    fails(TypeError, 1.0, t, "got float", name="n")
    fails(TypeError, True, t, "got bool", name="n")
    fails(TypeError, "1", t, "got str", name="n")
    other = np.int16(1) if kind != "i16" else np.int32(1)
    fails(TypeError, other, t, "got a NumPy", name="n")


def test_float_scalars():
    assert to_interp(1.5, F64, "x") == 1.5
    assert to_interp(3, F64, "x") == 3.0 and isinstance(to_interp(3, F64, "x"), float)
    assert to_interp(np.float64("nan"), F64, "x") != to_interp(np.float64("nan"), F64, "x")
    # f32 parameters round Python floats to the nearest float32
    assert to_interp(0.1, F32, "x") == float(np.float32(0.1))
    assert to_interp(np.float32(0.1), F32, "x") == float(np.float32(0.1))
    assert to_interp(math.inf, F32, "x") == math.inf
    fails(ValueError, 1e300, F32, "out of range for f32", name="x")
    fails(ValueError, 10**400, F64, "out of range", name="x")
    fails(TypeError, np.float32(1.0), F64, "NumPy float64", "got a NumPy float32", name="x")
    fails(TypeError, np.float64(1.0), F32, name="x")
    fails(TypeError, None, F64, "got NoneType", name="x")
    fails(TypeError, False, F64, "got bool", name="x")
    out = from_interp(0.25, F32)
    assert type(out) is np.float32 and out == 0.25
    assert type(from_interp(0.25, F64)) is np.float64


def test_bool_scalars_and_zero_d_arrays():
    assert to_interp(True, BOOL, "c") is True
    assert to_interp(np.bool_(False), BOOL, "c") is False
    assert to_interp(np.array(7, dtype=np.int32), I32, "c") == 7
    fails(TypeError, 1, BOOL, "got int", name="c")
    fails(TypeError, np.array(7, dtype=np.int64), I32, name="c")
    assert type(from_interp(True, BOOL)) is np.bool_


# ----------------------------------------------------------------------------------------------
# Vectors of scalars


@pytest.mark.parametrize("kind", sorted(SCALARS))
def test_scalar_vectors_round_trip(kind):
    t = SCALARS[kind]
    arr = np.array([0, 1, 1], dtype=t.dtype)
    value = to_interp(arr, Vec(t), "v")
    assert isinstance(value, tuple) and len(value) == 3
    out = from_interp(value, Vec(t))
    assert out.dtype == t.dtype and out.ndim == 1 and np.array_equal(out, arr)
    empty = from_interp((), Vec(t))
    assert empty.dtype == t.dtype and empty.shape == (0,)


def test_vector_extremes_are_exact():
    big = np.array([2**64 - 1, 0], dtype=np.uint64)
    assert to_interp(big, Vec(U64), "v") == (2**64 - 1, 0)
    assert np.array_equal(from_interp((2**64 - 1, 0), Vec(U64)), big)
    f32 = np.array([0.1, np.inf, -0.0], dtype=np.float32)
    back = from_interp(to_interp(f32, Vec(F32), "v"), Vec(F32))
    assert back.tobytes() == f32.tobytes()


def test_vector_dtype_and_shape_errors():
    msg = fails(TypeError, np.array([1, 2], dtype=np.int32), Vec(F64))
    assert msg == "parameter 'p' (vec[f64]): expected a 1-D array of float64, got int32"
    fails(TypeError, [1.0, 2.0], Vec(F64), "expected a 1-D array of float64, got list")
    fails(ValueError, np.zeros((2, 3)), Vec(F64), "got a 2-D array of float64")
    fails(TypeError, np.zeros((2, 3), dtype=np.int64), Vec(F64), "2-D array of int64")
    fails(TypeError, np.array(["a"], dtype=object), Vec(F64), "got object")
    fails(TypeError, 3.0, Vec(F64), "got float")


def test_array_subclasses():
    fails(TypeError, np.ma.masked_array([1.0, 2.0], mask=[0, 1]), Vec(F64), "masked arrays")

    class Sub(np.ndarray):
        pass

    assert to_interp(np.array([1.0, 2.0]).view(Sub), Vec(F64), "v") == (1.0, 2.0)
    fails(ValueError, np.zeros((1, 2)).view(Sub), Vec(F64), "2-D array")


def test_vector_other_byte_order_and_strided():
    be = np.array([1.5, 2.5], dtype=">f8")
    assert to_interp(be, Vec(F64), "v") == (1.5, 2.5)
    strided = np.arange(10, dtype=np.int64)[::3]
    assert to_interp(strided, Vec(I64), "v") == (0, 3, 6, 9)


# ----------------------------------------------------------------------------------------------
# Strings: vec[i8] and vec[vec[i8]]


def test_string_parameter():
    assert to_interp(b"ab\xff", STRING, "s") == (97, 98, -1)
    assert to_interp("é", STRING, "s") == (-61, -87)  # UTF-8 bytes as i8
    assert to_interp(np.frombuffer(b"hi", dtype=np.int8), STRING, "s") == (104, 105)
    fails(TypeError, np.frombuffer(b"hi", dtype=np.uint8), STRING, "int8, got uint8")
    fails(TypeError, ["h", "i"], STRING, "or bytes or str", "got list")


def test_strings_from_lists_numpy_and_arrow():
    want = ((97,), (), (98, 99))
    t = Vec(STRING)
    assert to_interp([b"a", b"", b"bc"], t, "s") == want
    assert to_interp(["a", "", "bc"], t, "s") == want
    assert to_interp(np.array(["a", "", "bc"]), t, "s") == want
    assert to_interp(np.array([b"a", b"", b"bc"]), t, "s") == want
    assert to_interp(np.array(["a", "", "bc"], dtype=object), t, "s") == want
    int8s = [np.frombuffer(s, dtype=np.int8) for s in (b"a", b"", b"bc")]
    assert to_interp(int8s, t, "s") == want
    for typ in (pa.string(), pa.large_string(), pa.binary(), pa.large_binary()):
        values = ["a", "", "bc"] if "string" in str(typ) else [b"a", b"", b"bc"]
        assert to_interp(pa.array(values, type=typ), t, "s") == want
    assert to_interp(pa.chunked_array([["a"], ["", "bc"]]), t, "s") == want
    assert to_interp(pa.array(["x", "a", "", "bc"]).slice(1), t, "s") == want


def test_string_errors_name_the_parameter_and_position():
    t = Vec(STRING)
    fails(ValueError, pa.array(["a", None]), t, "at [1]", "cannot be null", name="names")
    fails(TypeError, pa.array([1, 2]), t, "Arrow string or binary array", "int64", name="names")
    fails(TypeError, ["a", 3], t, "at [1]", "got int", name="names")
    fails(TypeError, "abc", t, "expected a list of vec[i8]", name="names")
    fails(ValueError, ["\ud800"], t, "UTF-8", name="names")


def test_strings_out_are_an_arrow_binary_array():
    out = from_interp(((97,), (), (98, 99), (-1,)), Vec(STRING))
    assert isinstance(out, pa.Array) and out.type == pa.binary()
    assert out.to_pylist() == [b"a", b"", b"bc", b"\xff"]
    one = from_interp((104, 105), STRING)  # a single string stays an int8 array
    assert one.dtype == np.int8 and one.tobytes() == b"hi"


# ----------------------------------------------------------------------------------------------
# Vectors of vectors, structs and dicts


def test_nested_vectors():
    t = Vec(Vec(F64))
    value = to_interp([np.array([1.0]), np.array([], dtype=np.float64)], t, "m")
    assert value == ((1.0,), ())
    assert to_interp(np.ones((2, 2)), t, "m") == ((1.0, 1.0), (1.0, 1.0))
    out = from_interp(value, t)
    assert isinstance(out, list) and out[0].dtype == np.float64 and out[1].shape == (0,)
    fails(TypeError, [np.array([1, 2])], t, "at [0]", "float64, got int64", name="m")
    fails(TypeError, np.array([1.0]), t, "expected a list of vec[f64]", name="m")


def test_vector_of_structs_structured_array():
    t = Vec(Struct((I32, F64)))
    arr = np.array([(1, 0.5), (2, 1.5)], dtype=[("a", np.int32), ("b", np.float64)])
    value = to_interp(arr, t, "rows")
    assert value == ((1, 0.5), (2, 1.5))
    assert to_interp([(1, 0.5), (2, 1.5)], t, "rows") == value
    out = from_interp(value, t)
    assert out.dtype == np.dtype([("f0", np.int32), ("f1", np.float64)])
    assert out.tolist() == [(1, 0.5), (2, 1.5)]
    empty = from_interp((), t)
    assert empty.shape == (0,) and empty.dtype.names == ("f0", "f1")
    wrong = np.zeros(2, dtype=[("a", np.int64), ("b", np.float64)])
    fails(TypeError, wrong, t, "structured array of {i32,f64}", name="rows")
    fails(TypeError, np.zeros(2), t, "list of tuples", name="rows")
    fails(ValueError, [(1, 0.5, 3)], t, "at [0]", "2 fields, got 3", name="rows")
    fails(TypeError, [(1, "x")], t, "at [0].$1", "got str", name="rows")


def test_vector_of_nested_structs():
    t = Vec(Struct((I8, Struct((BOOL, F32)))))
    dt = np.dtype([("a", np.int8), ("s", [("b", np.bool_), ("c", np.float32)])])
    arr = np.array([(1, (True, 0.5))], dtype=dt)
    assert to_interp(arr, t, "v") == ((1, (True, 0.5)),)
    out = from_interp(((1, (True, 0.5)),), t)  # not all fields scalars: a list of tuples
    assert isinstance(out, list) and out[0][1][1] == np.float32(0.5)
    assert type(out[0][0]) is np.int8


def test_vector_of_structs_with_vectors_is_a_list_of_tuples():
    t = Vec(Struct((I64, Vec(F64))))
    value = to_interp([(1, np.array([2.0]))], t, "v")
    assert value == ((1, (2.0,)),)
    out = from_interp(value, t)
    assert isinstance(out, list) and out[0][1].dtype == np.float64


def test_vector_of_dicts():
    t = Vec(Dict(I64, F64))
    value = to_interp([{1: 2.0}, {}], t, "v")
    assert value == ({1: 2.0}, {})
    assert from_interp(value, t) == [{1: 2.0}, {}]


# ----------------------------------------------------------------------------------------------
# Structs and dicts


def test_structs():
    t = Struct((I32, Vec(F64), BOOL))
    value = to_interp((1, np.array([1.0]), False), t, "s")
    assert value == (1, (1.0,), False)
    assert to_interp([1, np.array([1.0]), False], t, "s") == value
    out = from_interp(value, t)
    assert isinstance(out, tuple) and type(out[0]) is np.int32 and out[1].dtype == np.float64
    fails(ValueError, (1, np.array([1.0])), t, "3 fields, got 2", name="s")
    fails(TypeError, 5, t, "tuple of 3 fields, got int", name="s")
    fails(TypeError, (1, [1.0], False), t, "at .$1", "got list", name="s")
    fails(ValueError, (2**40, np.array([1.0]), False), t, "at .$0", "out of range", name="s")


def test_dicts_with_scalar_struct_and_string_keys():
    d = to_interp({1: 0.5, 2: 1.5}, Dict(I64, F64), "d")
    assert d == {1: 0.5, 2: 1.5}
    out = from_interp(d, Dict(I64, F64))
    assert out == {1: 0.5, 2: 1.5} and all(type(k) is np.int64 for k in out)
    t = Dict(Struct((I32, BOOL)), Vec(F64))
    value = to_interp({(1, True): np.array([1.0])}, t, "d")
    assert value == {(1, True): (1.0,)}
    back = from_interp(value, t)
    assert list(back) == [(1, True)] and back[(1, True)].dtype == np.float64
    s = Dict(STRING, I64)
    value = to_interp({b"ab": 1, "c": 2}, s, "d")
    assert value == {(97, 98): 1, (99,): 2}
    assert from_interp(value, s) == {b"ab": 1, b"c": 2}
    v = Dict(Vec(I32), I32)
    assert to_interp({(1, 2): 3}, v, "d") == {(1, 2): 3}
    assert from_interp({(1, 2): 3}, v) == {(1, 2): 3}


def test_dict_keys_are_canonical():
    d = to_interp({float("nan"): 1, 0.0: 2}, Dict(F64, I32), "d")
    assert len(d) == 2 and d[0.0] == 2
    two_nans = {float("nan"): 1, float("nan"): 2}  # two NaN objects: two Python keys
    fails(ValueError, two_nans, Dict(F64, I32), "are the same key", name="d")
    assert to_interp({-0.0: 1}, Dict(F64, I32), "d") == {0.0: 1}


def test_dict_errors():
    t = Dict(I32, F64)
    fails(TypeError, [(1, 2.0)], t, "expected a dict, got list", name="d")
    fails(TypeError, {"a": 1.0}, t, "at ['a'] (the key)", "got str", name="d")
    fails(TypeError, {1: "x"}, t, "at [1]", "got str", name="d")
    fails(ValueError, {2**40: 1.0}, t, "out of range", name="d")


def test_builders_cannot_cross():
    fails(TypeError, (), Appender(I32), "cannot be passed", name="b")
    with pytest.raises(TypeError, match="cannot be returned"):
        from_interp(None, Appender(I32))
    with pytest.raises(TypeError, match="cannot be returned"):
        from_interp((None,), Struct((Appender(I32),)))


# ----------------------------------------------------------------------------------------------
# UDF calls: NumPy values out, checked values back in


def test_call_python_udf_marshals_both_ways():
    seen = []

    def norm(v, k):
        seen.append((v, k))
        return float(np.sqrt((v * v).sum())) * int(k)

    out = call_python_udf("norm", norm, [(3.0, 4.0), 2], [Vec(F64), I32], F64)
    assert out == 10.0
    assert seen[0][0].dtype == np.float64 and type(seen[0][1]) is np.int32
    with pytest.raises(TypeError, match=r"the result of cudf\[bad, vec\[f64\]\]: .*got list"):
        call_python_udf("bad", lambda: [1.0], [], [], Vec(F64))


# ----------------------------------------------------------------------------------------------
# Bad input never crashes: any junk for any type is a TypeError or ValueError naming 'p'.

JUNK = [
    None,
    object(),
    "x",
    b"x",
    1,
    -1,
    2**70,
    1.5,
    float("nan"),
    True,
    (),
    (1,),
    (1, 2.0),
    [],
    [1],
    [None],
    {},
    {1: 2},
    {(1,): None},
    np.int8(1),
    np.float32(1),
    np.zeros(3),
    np.zeros(3, dtype=np.int8),
    np.zeros((2, 2), dtype=np.int32),
    np.zeros(0, dtype=[("a", np.int32)]),
    np.array(["a"]),
    np.array([None], dtype=object),
    np.ma.masked_array([1, 2], mask=[0, 1]),
    pa.array([1, 2]),
    pa.array(["a"]),
]

TYPES = [
    BOOL,
    I8,
    I16,
    I32,
    I64,
    U8,
    U64,
    F32,
    F64,
    Vec(I8),
    Vec(F64),
    Vec(Vec(I8)),
    Vec(Vec(I32)),
    Vec(Struct((I32, F64))),
    Vec(Struct((I32, Vec(I8)))),
    Struct((I32,)),
    Struct((F64, Vec(I32))),
    Dict(I32, F64),
    Dict(STRING, Vec(I64)),
    Dict(Struct((I32, I32)), I32),
    Vec(Dict(I32, I32)),
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(JUNK), st.sampled_from(TYPES))
def test_junk_is_rejected_cleanly_or_accepted(value, ty):
    try:
        converted = to_interp(value, ty, "p")
    except (TypeError, ValueError) as e:
        assert f"parameter 'p' ({ty})" in str(e)
    else:
        from_interp(converted, ty)  # whatever is accepted can be handed back
