"""Calling compiled programs: arguments in without copies, results out without copies.

* A `vec[scalar]` argument that is a 1-D NumPy array of the exact dtype passes its buffer's
  address (copied only when not contiguous). Other values are checked and converted by the
  rules of runtime/marshal.py, as the interpreter's are (a TypeError or ValueError naming the
  parameter when they do not fit). Inputs are never written.
* A `vec[scalar]` result that is a block the run allocated becomes a NumPy array owning that
  block (freed by a finaliser); other results (nested vectors, a slice of an input) are copied.
* Every other block the run allocated is freed when the call returns, so repeated calls do not
  leak — also when the run stopped: out of memory (MemoryError) or Ctrl-C (KeyboardInterrupt).
"""

from __future__ import annotations

import _signal
import ctypes
import functools
import signal
import threading
import time
import weakref

import numpy as np

from ...ir.errors import WeldRuntimeError
from ...ir.nodes import Program
from ...ir.types import STRING, Dict, Scalar, Struct, Type, Vec
from ...runtime.config import SETTINGS
from ...runtime.destination import WRITTEN, Destination
from ...runtime.marshal import to_interp
from ...runtime.memory import retain
from ...runtime.stats import record_run
from ..base import Executable
from .layout import VecStruct, ctype
from .loops import destination_loop
from .lower import ErrorTable
from .runtime_interrupt import CAN_WATCH
from .runtime_ir import INTERRUPTED, OUT_OF_MEMORY, Context, runtime_address, runtime_state

_libc = ctypes.CDLL(None)
_libc.free.argtypes = [ctypes.c_void_p]
_libc.free.restype = None
_free = _libc.free


def _struct_dtype(t: Struct) -> np.dtype | None:
    """The aligned NumPy dtype matching {scalars...} in LLVM/C layout, or None."""
    if not all(isinstance(f, Scalar) for f in t.fields):
        return None
    return np.dtype([(f"f{i}", f.dtype) for i, f in enumerate(t.fields)], align=True)


class NativeExecutable(Executable):
    """A compiled program: call it with the program's arguments (by position or name)."""

    backend = "llvm"

    def __init__(self, program: Program, address: int, errors: ErrorTable, llvm_ir: str):
        super().__init__(program)
        self.llvm_ir = llvm_ir
        self._errors = errors
        self._params = program.params
        self._arg_struct = type(
            "Args",
            (ctypes.Structure,),
            {"_fields_": [(f"p{i}", ctype(p.type)) for i, p in enumerate(program.params)]},
        )
        self._out_type = ctype(program.body.ty)
        self._result_type = program.body.ty
        self._entry = address
        self._run = _run_native()  # (the runtime is compiled before any program)
        self._fast = [_FAST_IN.get(p.type) for p in program.params]
        self.last_context: Context | None = None  # the last run's (its counters: tests)
        # "map", "rows" or None: whether (and how) the result loop writes a destination the
        # host gives (`_launch`'s `into`, `loops.destination_loop`)
        found = destination_loop(program.body)
        self.destination_kind = found[1] if found is not None else None

    def __call__(self, *args, **kwargs):
        if kwargs or len(args) != len(self._params):
            args = self.bind_arguments(args, kwargs)
        return self.run(args, SETTINGS.threads)

    def run(self, args, threads: int):
        """The program on `args` (one per parameter, in order) with `threads` threads."""
        keep_alive: list = []
        natives = []
        for value, p, fast in zip(args, self._params, self._fast, strict=True):
            native = fast(value) if fast is not None else None
            natives.append(
                native if native is not None else _to_native(value, p.type, p.name, keep_alive)
            )
        return self._launch(self._arg_struct(*natives), threads, args, 0)

    def partial(self, fixed: dict):
        """`run` with the parameters at the positions in `fixed` bound to its values: the
        call takes the other parameters' values in order, and the thread count. The bound
        values are converted once, into a packed template each call copies (a Python loop
        runs one structure thousands of times: its sizes and strides never change)."""
        keep_alive: list = [fixed]  # (the template points into what the values hold)
        template = self._arg_struct()
        fixed_bytes = 0
        for k, value in fixed.items():
            p = self._params[k]
            fast = self._fast[k]
            native = fast(value) if fast is not None else None
            if native is None:
                native = _to_native(value, p.type, p.name, keep_alive)
            setattr(template, f"p{k}", native)
            fixed_bytes += value.nbytes if isinstance(value, np.ndarray) else 8
        free = [(f"p{k}", p, self._fast[k]) for k, p in enumerate(self._params) if k not in fixed]
        copy, launch = self._arg_struct.from_buffer_copy, self._launch

        def call(values: list, threads: int, into: Destination | None = None):
            packed = copy(template)
            held: list = []
            for value, (field, p, fast) in zip(values, free, strict=True):
                native = fast(value) if fast is not None else None
                if native is None:
                    native = _to_native(value, p.type, p.name, held)
                setattr(packed, field, native)
            return launch(packed, threads, values, fixed_bytes, keep_alive, into)  # (held)

        return call

    def _launch(self, packed, threads: int, args, fixed_bytes: int, _held=None, into=None):
        """Run on the packed arguments (`args`: their values, for the statistics). `into`:
        where the host asks the program's result to be written (`Destination`); the run then
        returns `WRITTEN` when it wrote there (it does where the program's result loop
        writes exactly what the destination holds: `loops.destination_loop`), else its
        result as always."""
        ctx = Context()  # (fields set one by one: twice as fast as keywords)
        ctx.threads, ctx.grain = min(threads, SETTINGS.threads), SETTINGS.grain
        ctx.interrupts = _interrupt_word()
        if into is not None:
            ctx.out_base, ctx.out_rows = into.base, into.rows
            ctx.out_count, ctx.out_row_len = into.count, into.row_length
        self.last_context = ctx
        out = self._out_type()
        start = time.perf_counter()
        allocated: set[int] | None = None
        try:
            # ctypes releases the GIL for the duration of the native call. (Inside the try: a
            # Ctrl-C during the run raises KeyboardInterrupt as soon as the call returns.)
            self._run(_address(ctx), self._entry, _address(packed), _address(out))
            if ctx.error:
                raise _run_error(ctx, self._errors)
            # blocks freed during the run (intermediates after their last use) are NULL here
            count = ctx.count
            if count:
                blocks = ctx.allocations
                allocated = {blocks[i] for i in range(count)}
                allocated.discard(None)
                allocated.discard(0)
            else:
                allocated = set()
            if ctx.out_used:
                result = WRITTEN  # (the vector it returns is the destination's, not a block)
                record_run(time.perf_counter() - start, args, None, fixed_bytes, into.nbytes)
                retain(ctx.allocated_bytes)
                return result
            result = _from_native(out, self._result_type, allocated)
            record_run(time.perf_counter() - start, args, result, fixed_bytes)
            retain(ctx.allocated_bytes)  # the next run of this size reuses that memory
            return result
        finally:
            _release(ctx, allocated)


_address = ctypes.addressof


# ----------------------------------------------------------------------------------------------
# Running: the runtime's entry point, Ctrl-C, and what a failed run raises.


@functools.cache
def _native(name: str, arguments: int):
    """The runtime function `name` (taking `arguments` pointers), callable from Python."""
    proto = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * arguments)
    return proto(runtime_address(name))


def _run_native():
    """`db_run(ctx, entry, args, out)` (runtime_guard.py)."""
    return _native("db_run", 4)


def _release(ctx: Context, unadopted: set[int] | None) -> None:
    """Free the run's blocks that no result adopted: those left in `unadopted`; or, when the
    host never got as far as sorting them out (the run failed, or memory ran out even for
    the set), every block — natively (db_release), which needs no memory from Python."""
    if unadopted is None:
        _native("db_release", 1)(ctypes.addressof(ctx))
        return
    for ptr in unadopted:
        _free(ptr)
    table = _word(_address(ctx) + _ALLOCATIONS).value  # (a cast costs ~1 us more)
    if table:
        _free(table)


_word = ctypes.c_void_p.from_address
_ALLOCATIONS = Context.allocations.offset  # the run's table of blocks, in its context

_MAIN_THREAD = threading.main_thread().ident
_SIGINT = int(signal.SIGINT)
# Bound once: `_interrupt_word` runs on every call. (_signal's getsignal: signal's wraps its
# answer in an enum, 15x slower.)
_thread_id, _handler_of, _KEYBOARD_INTERRUPT = (
    threading.get_ident,
    _signal.getsignal,
    signal.default_int_handler,
)
_words: tuple[int, int] | None = None  # addresses of the SIGINT counter and the quiet word


def _interrupt_word() -> int:
    """What the run's Ctrl-C checks read (runtime_interrupt.py): the runtime's SIGINT counter
    when Ctrl-C raises KeyboardInterrupt in this thread (the main thread, default handler);
    otherwise a word that never changes, so the run goes on as Python would."""
    global _words
    if _words is None:
        state = runtime_state()
        _words = (
            ctypes.addressof(state) + type(state).sigints.offset,
            ctypes.addressof(state) + type(state).quiet.offset,
        )
    if CAN_WATCH and _thread_id() == _MAIN_THREAD and _handler_of(_SIGINT) is _KEYBOARD_INTERRUPT:
        return _words[0]
    return _words[1]


def _out_of_memory(ctx: Context, errors: ErrorTable) -> BaseException:
    return MemoryError("native code could not allocate memory (the run's blocks are freed)")


def _interrupted(ctx: Context, errors: ErrorTable) -> BaseException:
    # The SIGINT that stopped the run is pending in Python: its handler raises
    # KeyboardInterrupt here (PyDLL functions raise the error they leave set).
    ctypes.pythonapi.PyErr_CheckSignals()
    return KeyboardInterrupt()


_RUNTIME_ERRORS = {OUT_OF_MEMORY: _out_of_memory, INTERRUPTED: _interrupted}


def _run_error(ctx: Context, errors: ErrorTable) -> BaseException:
    """The exception of a run that recorded an error: Ctrl-C first (the user asked to stop,
    whatever else went wrong), then the first error recorded."""
    code = INTERRUPTED if ctx.stopped == INTERRUPTED else ctx.error
    runtime_error = _RUNTIME_ERRORS.get(code)
    if runtime_error is not None:
        return runtime_error(ctx, errors)
    message, loc = errors.lookup(code)
    return WeldRuntimeError(message, loc)


# ----------------------------------------------------------------------------------------------
# Arguments.


def _array_in(dtype: np.dtype):
    """The fast path of a vec[scalar] argument: a plain 1-D contiguous array of the exact
    dtype passes its address (the caller's argument list keeps it alive); None: anything
    else, for the general path's checks and conversions."""

    def convert(value):
        if type(value) is np.ndarray and value.dtype == dtype and value.ndim == 1:
            flags = value.flags
            if flags.c_contiguous:
                n = len(value)
                if n and flags.writeable:
                    # (the buffer's address through ctypes: 1 us, where `value.ctypes.data`
                    # costs 3.5 us; that needs a writable, non-empty buffer)
                    return VecStruct(ctypes.addressof(ctypes.c_char.from_buffer(value)), n)
                return VecStruct(value.ctypes.data, n)
        return None

    return convert


def _int_in(value):
    return value if type(value) is int and -(1 << 63) <= value < (1 << 63) else None


def _float_in(value):
    return value if type(value) is float else None


# Per parameter type, the conversion of the values programs are called with most (arrays of
# the exact dtype, Python ints as sizes, Python floats as scalars), checked in a few
# microseconds; everything else takes `_to_native`. Booleans and strings always do (their
# bytes are normalised there).
_FAST_IN: dict = {
    Vec(Scalar(k)): _array_in(Scalar(k).dtype)
    for k in ("i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64")
}
_FAST_IN.update({Scalar("i64"): _int_in, Scalar("f64"): _float_in})


def _to_native(value, t: Type, name: str, keep: list):
    """The native form of argument `value` (of parameter `name`, of type `t`). NumPy arrays of
    the exact dtype, and lists of them, pass their buffers as they are; every other value is
    checked and converted by the interpreter's marshalling (runtime/marshal.py), so that both
    backends accept the same values and raise the same errors, and then laid out."""
    if isinstance(t, Dict):
        return _dict_in(value, t, name, keep)
    native = _without_copy(value, t, keep)
    if native is None:
        native = _laid_out(to_interp(value, t, name), t, keep)
    return native


def _without_copy(value, t: Type, keep: list) -> VecStruct | None:
    """A vector argument that is already in the native layout, passed by address; None when
    the value needs checking or converting."""
    if not isinstance(t, Vec):
        return None
    if t.elem == STRING:
        strings = _strings_in(value, keep)
        if strings is not None:
            return strings
    if isinstance(value, bytes | bytearray) and t == STRING:
        value = np.frombuffer(value, np.int8)
    if isinstance(value, np.ndarray) and isinstance(t.elem, Vec) and type(value) is np.ndarray:
        # rows of a 2-D array, or an object array of arrays: the elements may pass as they are
        if value.ndim == 2 or (value.ndim == 1 and value.dtype == object):
            value = list(value)
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or isinstance(value, np.ma.MaskedArray):
            return None
        if isinstance(t.elem, Scalar):
            if value.dtype != t.elem.dtype or not value.dtype.isnative:
                return None
        elif isinstance(t.elem, Struct) and _same_fields(value.dtype, t.elem):
            value = value.astype(_struct_dtype(t.elem))  # LLVM's aligned layout (a copy)
        else:
            return None
        value = _bools_as_0_or_1(np.ascontiguousarray(value), t.elem)
        keep.append(value)
        return VecStruct(value.ctypes.data, len(value))
    if isinstance(value, list | tuple) and isinstance(t.elem, Vec):
        items = [_without_copy(v, t.elem, keep) for v in value]
        if any(item is None for item in items):
            return None
        array = (VecStruct * max(len(items), 1))(*items)
        keep.append(array)
        return VecStruct(ctypes.addressof(array), len(items))
    return None


def _bools_as_0_or_1(array: np.ndarray, elem: Type) -> np.ndarray:
    """`array` with its bools (the elements, or struct fields) as bytes 0 or 1. A NumPy bool
    is a byte, and views, `frombuffer`, ctypes and Arrow can put any byte there: NumPy and the
    interpreter read every nonzero byte as true, compiled code expects 0 or 1 (it truncates,
    negates and widens the byte). Normalising here, once per argument, keeps every emitter
    that loads a bool simple; clean data (the usual case) costs one vectorised scan, no copy."""
    if isinstance(elem, Scalar):
        return _bool_bytes_fixed(array) if elem.kind == "bool" else array
    for i, field in enumerate(elem.fields):
        if field.kind == "bool":  # `array` is our aligned copy here: fix it in place
            column = array[f"f{i}"]
            fixed = _bool_bytes_fixed(column)
            if fixed is not column:
                column[...] = fixed
    return array


def _bool_bytes_fixed(bools: np.ndarray) -> np.ndarray:
    """The bools themselves when every byte is 0 or 1, else a copy with 1 for any nonzero."""
    raw = bools.view(np.uint8)
    return raw != 0 if raw.size and raw.max() > 1 else bools


_DESCRIPTOR = np.dtype([("data", np.uint64), ("len", np.int64)])  # = VecStruct


def _strings_in(value, keep: list) -> VecStruct | None:
    """Strings (vec[vec[i8]]) in Arrow layout: one byte buffer plus offsets, turned into the
    native {ptr, len} descriptors with vectorised NumPy (the bytes are not copied again).
    Takes a pyarrow string/binary array (no nulls), a list of bytes/str, or a NumPy bytes
    array; None for anything else (checked by the general path)."""
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pa = None
    if pa is not None and isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if pa is not None and isinstance(value, pa.Array):
        if value.null_count or not (
            pa.types.is_string(value.type)
            or pa.types.is_large_string(value.type)
            or pa.types.is_binary(value.type)
            or pa.types.is_large_binary(value.type)
        ):
            return None
        _, offsets_buf, data_buf = value.buffers()[:3]
        wide = pa.types.is_large_string(value.type) or pa.types.is_large_binary(value.type)
        offsets = np.frombuffer(offsets_buf, np.int64 if wide else np.int32)
        offsets = offsets[value.offset : value.offset + len(value) + 1].astype(np.int64)
        base = data_buf.address if data_buf is not None else 0
        keep.append(value)
    elif isinstance(value, list | tuple) and all(isinstance(v, bytes | str) for v in value):
        try:
            encoded = [v.encode() if isinstance(v, str) else v for v in value]
        except UnicodeEncodeError:  # a lone surrogate: the checked path names the parameter
            return None
        data = np.frombuffer(b"".join(encoded) or b"\0", np.uint8)
        lengths = np.fromiter(map(len, encoded), np.int64, len(encoded))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        base = data.ctypes.data
        keep.append(data)
    elif isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind == "S":
        value = np.ascontiguousarray(value)
        width = value.dtype.itemsize
        lengths = np.char.str_len(value).astype(np.int64) if len(value) else np.zeros(0, np.int64)
        starts = np.arange(len(value), dtype=np.int64) * width
        descriptors = np.empty(len(value), _DESCRIPTOR)
        descriptors["data"] = value.ctypes.data + starts
        descriptors["len"] = lengths
        keep.extend([value, descriptors])
        return VecStruct(descriptors.ctypes.data, len(value))
    else:
        return None
    descriptors = np.empty(len(offsets) - 1, _DESCRIPTOR)
    descriptors["data"] = base + offsets[:-1].astype(np.uint64)
    descriptors["len"] = np.diff(offsets)
    keep.append(descriptors)
    return VecStruct(descriptors.ctypes.data, len(descriptors))


def _same_fields(dtype: np.dtype, t: Struct) -> bool:
    """A structured dtype whose fields are, in order, exactly the scalar fields of `t`."""
    if dtype.names is None or len(dtype.names) != len(t.fields) or _struct_dtype(t) is None:
        return False
    return all(
        dtype.fields[n][0] == f.dtype and dtype.fields[n][0].isnative
        for n, f in zip(dtype.names, t.fields, strict=True)
    )


# ----------------------------------------------------------------------------------------------
# Results.


def _from_native(value, t: Type, allocated: set[int]):
    if isinstance(t, Scalar):
        if isinstance(value, ctypes._SimpleCData):
            # a program's scalar result: its Python value first (NumPy reads a ctypes object
            # as an array, through its buffer: 3.5 us against 0.4 us)
            value = value.value
        return t.dtype.type(value)
    if isinstance(t, Struct):
        return tuple(
            _from_native(getattr(value, f"f{i}"), f, allocated) for i, f in enumerate(t.fields)
        )
    if isinstance(t, Vec):
        return _vec_out(value, t, allocated)
    if isinstance(t, Dict):
        return _dict_out(value, t, allocated)
    raise TypeError(f"values of type {t} cannot be returned by the llvm backend yet")


# Weak references that free adopted blocks when the buffer over them dies (lighter than
# `weakref.finalize`, which also registers for interpreter exit: a Python loop adopts a
# block per run, and the memory goes back at exit anyway).
_ADOPTED: dict = {}  # id(reference) -> reference (ctypes buffers are not hashable)


def _free_with(buf, ptr: int) -> None:
    def release(ref, ptr=ptr):
        _ADOPTED.pop(id(ref), None)
        _free(ptr)

    ref = weakref.ref(buf, release)
    _ADOPTED[id(ref)] = ref


def _vec_out(vec: VecStruct, t: Vec, allocated: set[int]):
    n, ptr = vec.len, vec.data or 0
    elem = t.elem
    if elem == STRING:
        return _strings_out(n, ptr)
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
            _free_with(buf, ptr)
            out = np.frombuffer(buf, dtype)
        else:
            buf = (ctypes.c_char * (n * dtype.itemsize)).from_address(ptr)
            out = np.frombuffer(buf, dtype).copy()
        if isinstance(elem, Struct):
            # users see packed records: drop the padding (a copy), or view them when there is
            # none (the layouts are then the same)
            plain = np.dtype([(f"f{i}", f.dtype) for i, f in enumerate(elem.fields)])
            return out.view(plain) if plain.itemsize == dtype.itemsize else out.astype(plain)
        if elem.kind == "bool":
            return out.view(np.bool_)
        return out
    nested = _nested_dtype(elem)
    if nested is not None:
        # structs of structs of scalars: read the block as a nested structured array and
        # zip its columns (NumPy scalars, like the interpreter), without a per-row ctypes hop
        if n == 0:
            return []
        buf = (ctypes.c_char * (n * nested.itemsize)).from_address(ptr)
        return _rows(np.frombuffer(buf, nested), elem)
    elem_c = ctype(elem)
    items = (elem_c * n).from_address(ptr) if n else []
    return [_from_native(items[i], elem, allocated) for i in range(n)]


_STRING_REFS = np.dtype([("data", np.uint64), ("len", np.int64)])  # a vec[i8]: {i8*, i64}


def _strings_out(n: int, ptr: int):
    """n native strings as an Arrow binary array: offsets from their lengths (NumPy), the
    bytes copied one after the other by the runtime's `db_pack_strings`."""
    import pyarrow as pa

    if n == 0:
        return pa.array([], type=pa.binary())
    refs = np.frombuffer(
        (ctypes.c_char * (n * _STRING_REFS.itemsize)).from_address(ptr), _STRING_REFS
    )
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(refs["len"], out=offsets[1:])
    data = np.empty(int(offsets[-1]), np.uint8)
    if len(data):
        _pack_strings()(ptr, n, data.ctypes.data)
    if offsets[-1] < 2**31:
        return pa.Array.from_buffers(
            pa.binary(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)]
        )
    return pa.Array.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


_pack = None


def _pack_strings():
    global _pack
    if _pack is None:
        proto = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p)
        _pack = proto(runtime_address("db_pack_strings"))
    return _pack


def _nested_dtype(t: Type) -> np.dtype | None:
    """The aligned structured dtype of a struct whose leaves are all scalars (C layout)."""
    if isinstance(t, Scalar):
        return t.dtype
    if not isinstance(t, Struct):
        return None
    parts = [_nested_dtype(f) for f in t.fields]
    if any(p is None for p in parts):
        return None
    return np.dtype([(f"f{i}", p) for i, p in enumerate(parts)], align=True)


def _rows(array: np.ndarray, t: Struct) -> list:
    columns = []
    for i, f in enumerate(t.fields):
        column = array[f"f{i}"]
        if isinstance(f, Struct):
            columns.append(_rows(column, f))
        elif f.kind == "bool":
            columns.append(column.view(np.bool_))
        else:
            columns.append(column)
    return list(zip(*columns, strict=True))


# ----------------------------------------------------------------------------------------------
# Dictionaries cross as the address of a vec[{K,V}] of their pairs; the entry function builds
# the hash tables from them and turns result dicts back into pairs (backends/llvm/dicts.py).


def _dict_in(value, t: Dict, name: str, keep: list) -> int:
    """Checked (and keys made canonical) by the interpreter's marshalling, then laid out."""
    return _laid_out(to_interp(value, t, name), t, keep)


def _laid_out(value, t: Type, keep: list):
    """An interpreter value of type `t` in the native layout (kept alive by `keep`)."""
    if isinstance(t, Scalar):
        return int(value) if t.kind == "bool" else value
    if isinstance(t, Struct):
        return ctype(t)(*(_laid_out(v, f, keep) for v, f in zip(value, t.fields, strict=True)))
    if isinstance(t, Dict):
        pairs = _laid_out(tuple(value.items()), Vec(Struct((t.key, t.value))), keep)
        keep.append(pairs)
        return ctypes.addressof(pairs)
    dtype = t.elem.dtype if isinstance(t.elem, Scalar) else None
    if isinstance(t.elem, Struct):
        dtype = _struct_dtype(t.elem)
    if dtype is not None:
        array = np.array(list(value), dtype=dtype)
        keep.append(array)
        return VecStruct(array.ctypes.data, len(array))
    array = (ctype(t.elem) * max(len(value), 1))()
    for i, x in enumerate(value):
        array[i] = _laid_out(x, t.elem, keep)
    keep.append(array)
    return VecStruct(ctypes.addressof(array), len(value))


def _dict_out(address, t: Dict, allocated: set[int]) -> dict:
    if isinstance(address, ctypes.c_void_p):
        address = address.value
    pairs = VecStruct.from_address(address)
    pair = Struct((t.key, t.value))
    if _struct_dtype(pair) is not None:
        records = _vec_out(pairs, Vec(pair), allocated)
        return dict(zip(records["f0"], records["f1"], strict=True))
    items = (ctype(pair) * pairs.len).from_address(pairs.data) if pairs.len else []
    return {_key_out(p.f0, t.key): _from_native(p.f1, t.value, allocated) for p in items}


def _key_out(value, t: Type):
    """Keys as runtime/marshal.py gives them: struct keys and vector keys tuples, strings
    bytes."""
    if isinstance(t, Scalar):
        return t.dtype.type(value)
    if isinstance(t, Struct):
        return tuple(_key_out(getattr(value, f"f{i}"), f) for i, f in enumerate(t.fields))
    if t == STRING:
        return ctypes.string_at(value.data, value.len) if value.len else b""
    items = (ctype(t.elem) * value.len).from_address(value.data) if value.len else []
    return tuple(_key_out(x, t.elem) for x in items)
