"""Calling a lowered program: arguments in, the launch (on the device, or emulated on CPU
threads), the arena retried when it was too small, errors and results out.

Both ways of running share everything but where memory lives (`Memory`): the device's
(CuPy arrays; device pointers in the arguments) or the host's (NumPy arrays; the emulation's
threads read host pointers).
"""

from __future__ import annotations

import abc
import ctypes
import time
from collections.abc import Callable, Sequence

import numpy as np

from ...ir.errors import WeldRuntimeError
from ...ir.ops import sort_key
from ...ir.types import Dict, Scalar, Struct, Type, Vec
from ...runtime.marshal import from_interp, to_interp
from ...runtime.native import VecStruct
from ...runtime.stats import record_run
from ..base import Executable
from .ctypes_layout import args_layout, entries_of, host_layout
from .lower import Kernel

ARENA_FULL = 1
_STATUS = ctypes.c_uint64 * 4  # error word, bytes needed, thread cursor, first failure
_NO_FAILURE = np.array([0, 0, 0, 2**64 - 1], dtype=np.uint64).view(np.uint8)


def element_dtype(t: Type) -> np.dtype:
    """The NumPy dtype of a vector element as laid out in device memory (structs aligned
    as C aligns them)."""
    if isinstance(t, Scalar):
        return t.dtype
    layout = host_layout(t)
    names = [f"f{k}" for k in range(len(t.fields))]
    return np.dtype(
        {
            "names": names,
            "formats": [element_dtype(f) for f in t.fields],
            "offsets": [getattr(layout, n).offset for n in names],
            "itemsize": ctypes.sizeof(layout),
        }
    )


def result_dtype(t: Type) -> np.dtype:
    """The dtype results are handed out in (packed records, as the other backends do)."""
    if isinstance(t, Scalar):
        return t.dtype
    return np.dtype([(f"f{k}", result_dtype(f)) for k, f in enumerate(t.fields)])


class Memory(abc.ABC):
    """Where a run's memory lives: arrays in, pointers, the arena, vectors out."""

    def array_in(self, value, t: Vec, name: str):
        """`value` as a 1-D contiguous array of the device layout of `t`'s elements."""
        dtype = element_dtype(t.elem)
        if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype == dtype:
            return self.from_host(np.ascontiguousarray(value))
        values = to_interp(value, t, name)  # the same checks (and messages) as every backend
        if isinstance(t.elem, Scalar):
            host = np.array(values, dtype=dtype)
        else:
            host = np.array(list(values), dtype=result_dtype(t.elem)).astype(dtype)
        return self.from_host(host)

    @abc.abstractmethod
    def from_host(self, array: np.ndarray):
        raise NotImplementedError

    @abc.abstractmethod
    def address(self, array) -> int:
        raise NotImplementedError

    @abc.abstractmethod
    def empty(self, nbytes: int):
        raise NotImplementedError

    @abc.abstractmethod
    def zeros(self, nbytes: int):
        raise NotImplementedError

    @abc.abstractmethod
    def vector_out(self, pointer: int, length: int, t: Vec, owners: list):
        raise NotImplementedError

    @abc.abstractmethod
    def read(self, array) -> bytes:
        raise NotImplementedError

    @abc.abstractmethod
    def read_at(self, pointer: int, nbytes: int) -> bytes:
        raise NotImplementedError

    def is_device_array(self, value) -> bool:
        return False

    def to_host(self, value, keep_on_device: bool):
        """A result's vectors as the caller gets them (see device.py)."""
        return value


class HostMemory(Memory):
    def from_host(self, array: np.ndarray):
        return array

    def address(self, array) -> int:
        return array.ctypes.data

    def empty(self, nbytes: int):
        return np.empty(nbytes, dtype=np.uint8)

    def zeros(self, nbytes: int):
        return np.zeros(nbytes, dtype=np.uint8)

    def read(self, array) -> bytes:
        return array.tobytes()

    def read_at(self, pointer: int, nbytes: int) -> bytes:
        return ctypes.string_at(pointer, nbytes)

    def vector_out(self, pointer: int, length: int, t: Vec, owners: list):
        layout = element_dtype(t.elem)
        if length == 0:
            return np.empty(0, dtype=result_dtype(t.elem))
        raw = (ctypes.c_char * (length * layout.itemsize)).from_address(pointer)
        out = np.frombuffer(raw, dtype=layout).copy()
        return out if isinstance(t.elem, Scalar) else out.astype(result_dtype(t.elem))


class Launcher(abc.ABC):
    """Runs a kernel: `launch(args_buffer, arena, cap, status, out)` with each a `Memory`
    array; `memory` says where they live."""

    memory: Memory

    @abc.abstractmethod
    def launch(self, args, arena, cap: int, status, out) -> None:
        raise NotImplementedError


class CudaExecutable(Executable):
    backend = "cuda"

    def __init__(self, program, kernel: Kernel, launcher: Launcher):
        super().__init__(program)
        self.kernel = kernel
        self.launcher = launcher
        self._args = args_layout(list(kernel.param_types))
        self._result = host_layout(kernel.result_type)
        self._arena = 1 << 20  # bytes; grown to what the last run needed

    def __call__(self, *args, **kwargs):
        values = self.bind_arguments(args, kwargs)
        start = time.perf_counter()
        result = self.run_values(values)
        record_run(time.perf_counter() - start, values, result)
        return result

    def run_values(self, values: Sequence):
        memory = self.launcher.memory
        owners: list = []  # the arrays the arguments point into (alive until the results are)
        packed = self._args()
        for k, (value, p) in enumerate(zip(values, self.program.params, strict=True)):
            setattr(packed, f"p{k}", _value_in(value, p.type, p.name, memory, owners))
        args = memory.from_host(np.frombuffer(bytes(packed), dtype=np.uint8).copy())
        while True:
            # (a run that needs more room stops at the allocation that did not fit, and
            # says how much it needed: the next run of this program starts that big)
            cap = self._arena
            arena = memory.empty(cap)
            status = memory.from_host(_NO_FAILURE.copy())
            out = memory.zeros(max(ctypes.sizeof(self._result), 16))
            self.launcher.launch(args, arena, cap, status, out)
            error, need, _, first = _STATUS.from_buffer_copy(memory.read(status))
            if error == 0:
                break
            code = first & 0xFFFF  # (the failure first in loop order)
            if code != ARENA_FULL:
                message, loc = self.kernel.errors.lookup(code)
                raise WeldRuntimeError(message, loc)
            self._arena = max(2 * cap, 2 * (need + (need >> 2)) + (1 << 20))
        raw = self._result.from_buffer_copy(memory.read(out)[: ctypes.sizeof(self._result)])
        result = _value_out(raw, self.kernel.result_type, memory, [arena, *owners])
        return memory.to_host(result, any(memory.is_device_array(v) for v in values))


def _value_in(value, t: Type, name: str, memory: Memory, owners: list):
    if isinstance(t, Vec) and isinstance(t.elem, Scalar) and isinstance(value, np.ndarray):
        array = memory.array_in(value, t, name)  # (the common case, without a Python walk)
        owners.append(array)
        return host_layout(t)(memory.address(array) if len(array) else None, len(array))
    if isinstance(t, Scalar):
        return to_interp(value, t, name)
    return _form_in(to_interp(value, t, name), t, memory, owners)


def _form_in(form, t: Type, memory: Memory, owners: list):
    """The device layout of `form`, an interpreter value of type `t` (runtime/marshal.py)."""
    if isinstance(t, Scalar):
        return form
    if isinstance(t, Struct):
        return host_layout(t)(
            *[_form_in(v, f, memory, owners) for v, f in zip(form, t.fields, strict=True)]
        )
    if isinstance(t, Dict):
        order = sort_key(t.key)
        entries = tuple(sorted(form.items(), key=lambda kv: order(kv[0])))
        return _form_in(entries, entries_of(t), memory, owners)
    if isinstance(t, Vec):
        if isinstance(t.elem, Scalar):
            host = np.array(form, dtype=t.elem.dtype)
        else:
            layout = host_layout(t.elem)
            elems = (layout * len(form))(*[_form_in(x, t.elem, memory, owners) for x in form])
            host = np.frombuffer(elems, dtype=np.uint8).copy()
        array = memory.from_host(host)
        owners.append(array)
        return VecStruct(memory.address(array) if len(form) else None, len(form))
    raise TypeError(f"values of type {t} do not cross to the device")


def _value_out(raw, t: Type, memory: Memory, owners: list):
    if isinstance(t, Scalar):
        return t.dtype.type(raw.value if isinstance(raw, ctypes._SimpleCData) else raw)
    if isinstance(t, Struct):
        return tuple(
            _value_out(getattr(raw, f"f{k}"), f, memory, owners) for k, f in enumerate(t.fields)
        )
    if isinstance(t, Vec) and _flat(t.elem):
        return memory.vector_out(raw.data or 0, raw.len, t, owners)
    return from_interp(_form_out(raw, t, memory), t)


def _flat(t: Type) -> bool:
    return isinstance(t, Scalar) or (
        isinstance(t, Struct) and all(isinstance(f, Scalar) for f in t.fields)
    )


def _form_out(raw, t: Type, memory: Memory):
    """The interpreter value of type `t` that `raw` (device layout) holds."""
    if isinstance(t, Scalar):
        return raw.value if isinstance(raw, ctypes._SimpleCData) else raw
    if isinstance(t, Struct):
        return tuple(_form_out(getattr(raw, f"f{k}"), f, memory) for k, f in enumerate(t.fields))
    if isinstance(t, Dict):
        return dict(_form_out(raw, entries_of(t), memory))
    layout = host_layout(t.elem)
    if raw.len == 0:
        return ()
    data = memory.read_at(raw.data, raw.len * ctypes.sizeof(layout))
    elems = (layout * raw.len).from_buffer_copy(data)
    return tuple(_form_out(elems[k], t.elem, memory) for k in range(raw.len))


class EmulatedLauncher(Launcher):
    """The kernel compiled as C++ (emulate.h) and run on `blocks` x `threads` host threads."""

    memory = HostMemory()

    def __init__(self, function: Callable, blocks: int, threads: int):
        self.function = function
        self.blocks, self.threads = blocks, threads

    def launch(self, args, arena, cap: int, status, out) -> None:
        a = self.memory.address
        self.function(self.blocks, self.threads, a(args), a(arena), cap, a(status), a(out))
