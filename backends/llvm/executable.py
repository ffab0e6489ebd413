"""Calling compiled programs: arguments in without copies, results out without copies.

* A `vec[scalar]` argument passes its NumPy buffer's address (C-contiguous arrays of the exact
  dtype; anything else is a TypeError naming the parameter). Inputs are never written.
* A `vec[scalar]` result that is a block the run allocated becomes a NumPy array owning that
  block (freed by a finaliser); other results (nested vectors, a slice of an input) are copied.
* Every other block the run allocated is freed when the call returns, so repeated calls do not
  leak.
"""

from __future__ import annotations

import ctypes
import weakref

import numpy as np

from ...ir.errors import WeldRuntimeError
from ...ir.nodes import Program
from ...ir.types import Scalar, Struct, Type, Vec
from ...runtime.config import SETTINGS
from .layout import VecStruct, ctype
from .lower import ErrorTable
from .runtime_ir import Context

_libc = ctypes.CDLL(None)
_libc.free.argtypes = [ctypes.c_void_p]
_libc.free.restype = None
_free = _libc.free


def _struct_dtype(t: Struct) -> np.dtype | None:
    """The aligned NumPy dtype matching {scalars...} in LLVM/C layout, or None."""
    if not all(isinstance(f, Scalar) for f in t.fields):
        return None
    return np.dtype([(f"f{i}", f.dtype) for i, f in enumerate(t.fields)], align=True)


class NativeExecutable:
    """A compiled program: call it with the program's arguments."""

    def __init__(self, program: Program, address: int, errors: ErrorTable, llvm_ir: str):
        self.program = program
        self.llvm_ir = llvm_ir
        self._errors = errors
        self._params = program.params
        self._arg_struct = type(
            "Args",
            (ctypes.Structure,),
            {"_fields_": [(f"p{i}", ctype(p.type)) for i, p in enumerate(program.params)]},
        )
        self._out_type = ctype(program.body.ty)
        proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
        self._entry = proto(address)

    def __call__(self, *args):
        if len(args) != len(self._params):
            names = ", ".join(p.name for p in self._params)
            raise TypeError(
                f"the program takes {len(self._params)} arguments ({names}), got {len(args)}"
            )
        keep_alive: list = []
        packed = self._arg_struct(
            *(
                _to_native(value, p.type, p.name, keep_alive)
                for value, p in zip(args, self._params, strict=True)
            )
        )
        ctx = Context(threads=SETTINGS.threads)
        out = self._out_type()
        # ctypes releases the GIL for the duration of the native call.
        self._entry(ctypes.addressof(ctx), ctypes.addressof(packed), ctypes.addressof(out))
        allocated = {ctx.allocations[i] for i in range(ctx.count)}
        try:
            if ctx.error:
                message, loc = self._errors.lookup(ctx.error)
                raise WeldRuntimeError(message, loc)
            return _from_native(out, self.program.body.ty, allocated)
        finally:
            for ptr in allocated:
                _free(ptr)
            if ctx.allocations:
                _free(ctypes.cast(ctx.allocations, ctypes.c_void_p).value)


# ----------------------------------------------------------------------------------------------
# Arguments.


def _fail(name: str, t: Type, problem: str, error=TypeError):
    raise error(f"parameter '{name}' ({t}): {problem}")


def _to_native(value, t: Type, name: str, keep: list):
    if isinstance(t, Scalar):
        return _scalar_in(value, t, name)
    if isinstance(t, Vec):
        return _vec_in(value, t, name, keep)
    if isinstance(t, Struct):
        if not isinstance(value, tuple | list) or len(value) != len(t.fields):
            _fail(
                name, t, f"expected a tuple of {len(t.fields)} values, got {type(value).__name__}"
            )
        return ctype(t)(
            *(
                _to_native(v, f, f"{name}.${i}", keep)
                for i, (v, f) in enumerate(zip(value, t.fields, strict=True))
            )
        )
    _fail(name, t, "values of this type cannot be passed to the llvm backend yet")


def _scalar_in(value, t: Scalar, name: str):
    if isinstance(value, np.generic):
        if value.dtype != t.dtype:
            _fail(name, t, f"expected a {t.dtype} scalar, got {value.dtype}")
        return value.item()
    if t.kind == "bool":
        if not isinstance(value, bool):
            _fail(name, t, f"expected a bool, got {type(value).__name__}")
        return int(value)
    if t.is_int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(name, t, f"expected an int, got {type(value).__name__}")
        info = np.iinfo(t.dtype)
        if not info.min <= value <= info.max:
            _fail(name, t, f"{value} is out of range", ValueError)
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(name, t, f"expected a float, got {type(value).__name__}")
    return float(value)


def _vec_in(value, t: Vec, name: str, keep: list) -> VecStruct:
    elem = t.elem
    if isinstance(elem, Scalar | Struct) and not (
        isinstance(elem, Struct) and _struct_dtype(elem) is None
    ):
        want = elem.dtype if isinstance(elem, Scalar) else _struct_dtype(elem)
        if isinstance(elem, Scalar) and isinstance(value, bytes | str) and elem.kind == "i8":
            value = np.frombuffer(value.encode() if isinstance(value, str) else value, np.int8)
        if isinstance(elem, Struct) and isinstance(value, list):
            value = np.array([tuple(v) for v in value], dtype=want)
        if not isinstance(value, np.ndarray):
            _fail(name, t, f"expected a 1-D NumPy array of {want}, got {type(value).__name__}")
        if value.ndim != 1:
            _fail(name, t, f"expected a 1-D array, got {value.ndim}-D", ValueError)
        if isinstance(elem, Struct):
            if len(value.dtype.names or ()) != len(elem.fields):
                _fail(name, t, f"expected a structured array with {len(elem.fields)} fields")
            value = np.asarray(value.astype(want), order="C")
        elif value.dtype != want:
            _fail(name, t, f"expected a 1-D array of {want}, got {value.dtype}")
        value = np.ascontiguousarray(value)
        keep.append(value)
        return VecStruct(value.ctypes.data, len(value))
    # vectors of vectors (and of structs with vectors): an array of element structs
    if not isinstance(value, list | tuple):
        _fail(name, t, f"expected a list, got {type(value).__name__}")
    elem_c = ctype(elem)
    array = (elem_c * max(len(value), 1))()
    for i, v in enumerate(value):
        array[i] = _to_native(v, elem, f"{name}[{i}]", keep)
    keep.append(array)
    return VecStruct(ctypes.addressof(array), len(value))


# ----------------------------------------------------------------------------------------------
# Results.


def _from_native(value, t: Type, allocated: set[int]):
    if isinstance(t, Scalar):
        return t.dtype.type(value)
    if isinstance(t, Struct):
        return tuple(
            _from_native(getattr(value, f"f{i}"), f, allocated) for i, f in enumerate(t.fields)
        )
    if isinstance(t, Vec):
        return _vec_out(value, t, allocated)
    raise TypeError(f"values of type {t} cannot be returned by the llvm backend yet")


def _vec_out(vec: VecStruct, t: Vec, allocated: set[int]):
    n, ptr = vec.len, vec.data or 0
    elem = t.elem
    dtype = (
        elem.dtype
        if isinstance(elem, Scalar)
        else (_struct_dtype(elem) if isinstance(elem, Struct) else None)
    )
    if dtype is not None:
        if n == 0:
            out = np.empty(0, dtype)
        elif ptr in allocated:
            # adopt the block: the array owns it from now on
            allocated.discard(ptr)
            buf = (ctypes.c_char * (n * dtype.itemsize)).from_address(ptr)
            weakref.finalize(buf, _free, ptr)
            out = np.frombuffer(buf, dtype)
        else:
            buf = (ctypes.c_char * (n * dtype.itemsize)).from_address(ptr)
            out = np.frombuffer(buf, dtype).copy()
        if isinstance(elem, Struct):
            # unaligned field order is what users see; drop the padding
            plain = np.dtype([(f"f{i}", f.dtype) for i, f in enumerate(elem.fields)])
            return out.astype(plain)
        if elem.kind == "bool":
            return out.view(np.bool_)
        return out
    elem_c = ctype(elem)
    items = (elem_c * n).from_address(ptr) if n else []
    return [_from_native(items[i], elem, allocated) for i in range(n)]
