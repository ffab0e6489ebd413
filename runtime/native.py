"""The host's view of native data: ctypes mirrors of the native layout of IR values
(backends/llvm/layout.py describes the LLVM side: bool is one byte, vec[T] is {T*, i64},
structs are C structs), and calls of native functions by Weld's UDF convention.

>>> import ctypes
>>> from daybreak.ir.types import I64, Struct, Vec
>>> ctypes.sizeof(ctype(Struct((I64, Vec(I64)))))
24
"""

from __future__ import annotations

import ctypes

import numpy as np

from ..ir.types import Dict, Scalar, Struct, Type, Vec

_CTYPES_SCALARS = {
    "bool": ctypes.c_uint8,
    "i8": ctypes.c_int8,
    "i16": ctypes.c_int16,
    "i32": ctypes.c_int32,
    "i64": ctypes.c_int64,
    "u8": ctypes.c_uint8,
    "u16": ctypes.c_uint16,
    "u32": ctypes.c_uint32,
    "u64": ctypes.c_uint64,
    "f32": ctypes.c_float,
    "f64": ctypes.c_double,
}

_ctypes_cache: dict[Type, type] = {}


class VecStruct(ctypes.Structure):
    """{T*, i64} with the data pointer kept as an integer address."""

    _fields_ = [("data", ctypes.c_void_p), ("len", ctypes.c_int64)]


def ctype(t: Type):
    """The ctypes mirror of `lltype(t)` (same size and field offsets on this platform)."""
    if t in _ctypes_cache:
        return _ctypes_cache[t]
    if isinstance(t, Scalar):
        c = _CTYPES_SCALARS[t.kind]
    elif isinstance(t, Vec):
        c = VecStruct
    elif isinstance(t, Struct):
        c = type(
            "Struct",
            (ctypes.Structure,),
            {"_fields_": [(f"f{i}", ctype(f)) for i, f in enumerate(t.fields)]},
        )
    elif isinstance(t, Dict):
        c = ctypes.c_void_p
    else:
        raise TypeError(f"values of type {t} do not cross the native boundary")
    _ctypes_cache[t] = c
    return c


def _to_c(value, t: Type, keep: list):
    """A NumPy-marshalled value as its ctypes mirror (buffers kept alive by `keep`)."""
    if isinstance(t, Scalar):
        return ctype(t)(int(value) if t.kind == "bool" else value)
    if isinstance(t, Struct):
        return ctype(t)(*(_to_c(v, f, keep) for v, f in zip(value, t.fields, strict=True)))
    if isinstance(t, Vec) and isinstance(t.elem, Scalar):
        array = np.ascontiguousarray(value, dtype=t.elem.dtype)
        keep.append(array)
        return VecStruct(array.ctypes.data, len(array))
    raise TypeError(f"a native UDF cannot take a {t} here")


def _from_c(value, t: Type):
    """A ctypes mirror back to NumPy. Buffers a UDF returns belong to the UDF (Weld's rule):
    they are copied, never freed."""
    if isinstance(t, Scalar):
        return t.dtype.type(value.value if hasattr(value, "value") else value)
    if isinstance(t, Struct):
        return tuple(_from_c(getattr(value, f"f{i}"), f) for i, f in enumerate(t.fields))
    if isinstance(t, Vec) and isinstance(t.elem, Scalar):
        n = value.len
        if n == 0:
            return np.empty(0, t.elem.dtype)
        buf = (ctypes.c_char * (n * t.elem.dtype.itemsize)).from_address(value.data)
        return np.frombuffer(buf, t.elem.dtype).copy()
    raise TypeError(f"a native UDF cannot return a {t} here")


def native_caller(address: int, arg_types: tuple[Type, ...], ret_type: Type):
    """A Python function calling the native function at `address` by Weld's convention
    (`void f(T1* a1, ..., R* out)`), on NumPy-marshalled values (scalars, vectors of scalars,
    structs of those)."""
    proto = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * (len(arg_types) + 1)))
    fn = proto(address)

    def call(*args):
        if len(args) != len(arg_types):
            raise TypeError(f"the native function takes {len(arg_types)} arguments")
        keep: list = []
        cargs = [_to_c(v, t, keep) for v, t in zip(args, arg_types, strict=True)]
        out = ctype(ret_type)()
        fn(*(ctypes.addressof(a) for a in cargs), ctypes.addressof(out))
        return _from_c(out, ret_type)

    return call
