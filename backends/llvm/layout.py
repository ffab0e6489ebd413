"""How IR types are laid out in LLVM (and, mirrored, in ctypes for marshalling).

| IR type | LLVM |
|---|---|
| bool | i8 (0 or 1) — one representation in registers and memory, so no conversions |
| iN, uN | iN (signedness lives in the operations) |
| f32, f64 | float, double |
| vec[T] | {T*, i64} — data pointer and length |
| {T, U} | a literal struct {T, U} |
| dict[K,V], dictmerger, groupmerger | i8* — a hash table of the runtime (see dicts.py) |
| appender[T] | {T*, i64, i64}* — data, length, capacity, updated in place |
| merger[T,op] | T* — the running value (an alloca, so LLVM keeps it in a register) |
| vecmerger[T,op] | {T*, i64}* — the vector being updated in place |
| struct of builders | a literal struct of the builders above |
"""

from __future__ import annotations

import ctypes

from llvmlite import ir

from ...ir.types import (
    Appender,
    Dict,
    DictMerger,
    GroupMerger,
    Merger,
    Scalar,
    Struct,
    Type,
    Vec,
    VecMerger,
)

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
VOIDPTR = I8.as_pointer()

_SCALARS: dict[str, ir.Type] = {
    "bool": I8,
    "i8": I8,
    "i16": ir.IntType(16),
    "i32": I32,
    "i64": I64,
    "u8": I8,
    "u16": ir.IntType(16),
    "u32": I32,
    "u64": I64,
    "f32": ir.FloatType(),
    "f64": ir.DoubleType(),
}


def vec_type(elem: ir.Type) -> ir.LiteralStructType:
    return ir.LiteralStructType([elem.as_pointer(), I64])


def appender_state(elem: ir.Type) -> ir.LiteralStructType:
    return ir.LiteralStructType([elem.as_pointer(), I64, I64])


def lltype(t: Type) -> ir.Type:
    """The LLVM type of values of IR type `t`."""
    if isinstance(t, Scalar):
        return _SCALARS[t.kind]
    if isinstance(t, Vec):
        return vec_type(lltype(t.elem))
    if isinstance(t, Struct):
        return ir.LiteralStructType([lltype(f) for f in t.fields])
    if isinstance(t, Dict | DictMerger | GroupMerger):
        return VOIDPTR
    if isinstance(t, Appender):
        return appender_state(lltype(t.elem)).as_pointer()
    if isinstance(t, Merger):
        return lltype(t.elem).as_pointer()
    if isinstance(t, VecMerger):
        return vec_type(lltype(t.elem)).as_pointer()
    raise TypeError(f"no LLVM layout for {t}")


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
