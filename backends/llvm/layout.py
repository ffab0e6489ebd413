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
| scanner[T,op] | {T*, i64, i64, T}* — an appender's state, then the last running value |
| vecmerger[T,op] | {T*, i64}* — the vector being updated in place |
| struct of builders | a literal struct of the builders above |
"""

from __future__ import annotations

from llvmlite import ir

from ...ir.types import (
    Appender,
    Dict,
    DictMerger,
    GroupMerger,
    Merger,
    Scalar,
    Scanner,
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


def scanner_state(elem: ir.Type) -> ir.LiteralStructType:
    # The appender's fields first, at the same positions: the appender's growth and room
    # reservation work on a scanner's state unchanged.
    return ir.LiteralStructType([elem.as_pointer(), I64, I64, elem])


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
    if isinstance(t, Scanner):
        return scanner_state(lltype(t.elem)).as_pointer()
    if isinstance(t, Merger):
        return lltype(t.elem).as_pointer()
    if isinstance(t, VecMerger):
        return vec_type(lltype(t.elem)).as_pointer()
    raise TypeError(f"no LLVM layout for {t}")


# The ctypes mirror of these layouts lives in runtime/native.py (the host side).
from ...runtime.native import VecStruct, ctype  # noqa: E402,F401
