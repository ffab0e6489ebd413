"""The native runtime, written as LLVM IR with llvmlite and compiled once per process.

Program modules only declare these functions; MCJIT links them to the runtime module.

A run gets a context `ctx` (`CTX` below; each worker thread of a parallel loop gets its own,
adopted by the main one after the join):

* `db_run(ctx, entry, args, out)` is how the host calls a program: it runs `entry` under a
  guard (`db_guard`) that a stopped run returns to;
* `db_alloc(ctx, nbytes)` mallocs and records the block, so that after the run the host frees
  every block the results do not adopt — repeated runs never leak. A block that cannot be had
  (malloc fails, or the size overflowed) stops the run with OUT_OF_MEMORY, which the host
  raises as MemoryError: native code never sees a null block;
* `db_grow(ctx, block, old_bytes, new_bytes)` is a bigger copy of a builder's block, which
  replaces it: the old block is freed at once (builders grow geometrically, so a builder of
  n bytes has asked for O(n) and holds O(n));
* `db_fail(ctx, code)` records the first runtime error (an index out of bounds, a failed
  assert, ...). Code carries on with safe values (an out-of-bounds load reads nothing) and the
  host raises `WeldRuntimeError` with the message and location of that code;
* `db_stop(ctx, code)` records the error and leaves the run at once (a longjmp to the
  innermost `db_guard` of this thread): for errors that leave nothing safe to carry on with,
  OUT_OF_MEMORY, and INTERRUPTED (Ctrl-C, runtime_interrupt.py);
* `db_poll(ctx)`: what loops call when their Ctrl-C check fires (runtime_interrupt.py);
* `db_free(ctx, block)` frees a block before the run ends (an intermediate after its last
  use) and forgets it (searching the recent allocations first); a block it does not know
  (another thread's, or none of the run's) is left alone;
* `db_release(ctx)` frees every block of the context (the host, after a failed run);
* `db_adopt(ctx, worker_ctx)` moves a worker's allocations into `ctx` and keeps the first
  error (workers are adopted in loop order, so "first" means first in the loop);
* `db_parallel_for(...)` runs a top-level loop on threads (runtime_parallel.py);
* `db_pack_strings(strings, n, out)` copies n strings (`{i8*, i64}` each) one after the
  other into `out`: the data buffer of an Arrow binary array, for the host.

Every block the run allocates is in some context's list when the run stops, so the host frees
everything after a MemoryError or a KeyboardInterrupt as after a normal run.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from contextlib import contextmanager

from llvmlite import ir

from .cgutils import declare, for_range, i64, memcpy
from .layout import I32, I64, VOIDPTR

# {i8** allocations, i64 count, i64 capacity, i64 error, i64 threads, i64 grain,
#  i8* jmp, i64 stopped, i64* interrupts, i64 seen, i64 until_watch,
#  i64 allocation_count, i64 allocated_bytes, i64 live_blocks, i64* abort, i64 abort_word,
#  i8* out_base, i64* out_rows, i64 out_count, i64 out_row_len, i64 out_used}
# (runtime_guard.py, runtime_interrupt.py, runtime_memory.py; the out_ fields: where the host
# asks the result to be written, `loops.destination`)
CTX = ir.LiteralStructType(
    [
        VOIDPTR.as_pointer(),
        I64,
        I64,
        I64,
        I64,
        I64,
        VOIDPTR,
        I64,
        I64.as_pointer(),
        I64,
        I64,
        I64,
        I64,
        I64,
        I64.as_pointer(),
        I64,
        VOIDPTR,
        I64.as_pointer(),
        I64,
        I64,
        I64,
    ]
)
CTX_PTR = CTX.as_pointer()
(
    ALLOCATIONS,
    COUNT,
    CAPACITY,
    ERROR,
    THREADS,
    GRAIN,
    JMP,
    STOPPED,
    INTERRUPTS,
    SEEN,
    UNTIL_WATCH,
    ALLOCATION_COUNT,
    ALLOCATED_BYTES,
    LIVE_BLOCKS,
    ABORT,  # the run's abort word, shared by its threads: a stop of one stops them all
    ABORT_WORD,  # that word, in the context of the run's first thread (db_run points at it)
    OUT_BASE,  # where the host asks the result loop to write (NULL: the run's own buffer)
    OUT_ROWS,  # the offset of each row there, in elements (a row loop's destination)
    OUT_COUNT,  # the rows (a row loop) or elements (a map) the destination holds
    OUT_ROW_LEN,  # the elements of one row there
    OUT_USED,  # set by the run: whether it wrote there (else its result is its own)
) = range(21)

# Error codes of the runtime itself (a program's own error sites are numbered from 1).
OUT_OF_MEMORY = -1
INTERRUPTED = -2

# void body(ctx*, env*, start, end, builder_slot*)
BODY_FN = ir.FunctionType(ir.VoidType(), [CTX_PTR, VOIDPTR, I64, I64, VOIDPTR])
# void fresh(ctx*, like_slot*, out_slot*, start, end): the builder of iterations [start, end)
FRESH_FN = ir.FunctionType(ir.VoidType(), [CTX_PTR, VOIDPTR, VOIDPTR, I64, I64])
# void merge(ctx*, dst_slot*, src_slot*)
MERGE_FN = ir.FunctionType(ir.VoidType(), [CTX_PTR, VOIDPTR, VOIDPTR])
# void entry(ctx*, args*, out*): a program
ENTRY_FN = ir.FunctionType(ir.VoidType(), [CTX_PTR, VOIDPTR, VOIDPTR])
# void guarded(ctx*, arg*): what db_guard runs
GUARDED_FN = ir.FunctionType(ir.VoidType(), [CTX_PTR, VOIDPTR])

_SIGNATURES = {
    "db_alloc": ir.FunctionType(VOIDPTR, [CTX_PTR, I64]),
    "db_grow": ir.FunctionType(VOIDPTR, [CTX_PTR, VOIDPTR, I64, I64]),
    "db_fail": ir.FunctionType(ir.VoidType(), [CTX_PTR, I64]),
    "db_stop": ir.FunctionType(ir.VoidType(), [CTX_PTR, I64]),
    "db_adopt": ir.FunctionType(ir.VoidType(), [CTX_PTR, CTX_PTR]),
    "db_free": ir.FunctionType(ir.VoidType(), [CTX_PTR, VOIDPTR]),
    "db_poll": ir.FunctionType(ir.VoidType(), [CTX_PTR]),
    "db_release": ir.FunctionType(ir.VoidType(), [CTX_PTR]),
    "db_guard": ir.FunctionType(I64, [CTX_PTR, GUARDED_FN.as_pointer(), VOIDPTR]),
    "db_run": ir.FunctionType(ir.VoidType(), [CTX_PTR, ENTRY_FN.as_pointer(), VOIDPTR, VOIDPTR]),
    "db_parallel_for": ir.FunctionType(
        ir.VoidType(),
        [
            CTX_PTR,
            BODY_FN.as_pointer(),
            FRESH_FN.as_pointer(),
            MERGE_FN.as_pointer(),
            VOIDPTR,
            VOIDPTR,
            I64,
            I64,
            I64,
            I64,
        ],
    ),
}
_NO_RETURN = {"db_stop"}


class Context(ctypes.Structure):
    """The host's view of `CTX`."""

    _fields_ = [
        ("allocations", ctypes.POINTER(ctypes.c_void_p)),
        ("count", ctypes.c_int64),
        ("capacity", ctypes.c_int64),
        ("error", ctypes.c_int64),
        ("threads", ctypes.c_int64),
        ("grain", ctypes.c_int64),
        ("jmp", ctypes.c_void_p),
        ("stopped", ctypes.c_int64),
        ("interrupts", ctypes.c_void_p),
        ("seen", ctypes.c_int64),
        ("until_watch", ctypes.c_int64),
        # What the run asked of malloc (all threads; tests of growth read them): blocks,
        # their bytes, and the blocks still held when it ended (not freed on the way).
        ("allocation_count", ctypes.c_int64),
        ("allocated_bytes", ctypes.c_int64),
        ("live_blocks", ctypes.c_int64),
        ("abort", ctypes.c_void_p),
        ("abort_word", ctypes.c_int64),
        ("out_base", ctypes.c_void_p),
        ("out_rows", ctypes.c_void_p),
        ("out_count", ctypes.c_int64),
        ("out_row_len", ctypes.c_int64),
        ("out_used", ctypes.c_int64),
    ]


# The runtime's process-wide words, one global struct (the host reads and writes it through
# the address `db_state` returns): the SIGINT counter, a word that never changes (what runs
# that do not watch Ctrl-C read instead), the fault-injection countdown, and the SIGINT
# handler that was installed before the runtime's (runtime_interrupt.py).
STATE = ir.LiteralStructType([I64, I64, I64, VOIDPTR])
SIGINTS, QUIET, FAIL_COUNTDOWN, PREVIOUS_HANDLER = range(4)


class RuntimeState(ctypes.Structure):
    """The host's view of `STATE`."""

    _fields_ = [
        ("sigints", ctypes.c_int64),
        ("quiet", ctypes.c_int64),
        # > 0: the allocation this many allocations from now fails (a test hook; 0: off)
        ("fail_countdown", ctypes.c_int64),
        ("previous_handler", ctypes.c_void_p),
    ]


def declare_runtime(module: ir.Module) -> dict[str, ir.Function]:
    """Declarations of the runtime functions in a program module."""
    out = {}
    for name, fnty in _SIGNATURES.items():
        fn = module.globals.get(name) or ir.Function(module, fnty, name)
        if name in _NO_RETURN:
            fn.attributes.add("noreturn")
        out[name] = fn
    return out


def field(b: ir.IRBuilder, ptr: ir.Value, index: int) -> ir.Value:
    return b.gep(ptr, [ir.Constant(I32, 0), ir.Constant(I32, index)])


def define(module: ir.Module, name: str) -> tuple[ir.Function, ir.IRBuilder]:
    fn = ir.Function(module, _SIGNATURES.get(name) or ir.FunctionType(ir.VoidType(), []), name)
    if name in _NO_RETURN:
        fn.attributes.add("noreturn")
    return fn, ir.IRBuilder(fn.append_basic_block("entry"))


def internal(module: ir.Module, name: str, ret: ir.Type, args: list[ir.Type]):
    """A runtime-private function: (function, builder at its entry)."""
    fn = ir.Function(module, ir.FunctionType(ret, args), name)
    fn.linkage = "internal"
    return fn, ir.IRBuilder(fn.append_basic_block("entry"))


class Runtime:
    """The runtime module being built: the C library functions it calls, its state global,
    and its functions by name (each builder adds its own)."""

    def __init__(self):
        self.module = ir.Module(name="daybreak_runtime")
        m = self.module
        self.malloc = declare(m, "malloc", VOIDPTR, [I64])
        self.realloc = declare(m, "realloc", VOIDPTR, [VOIDPTR, I64])
        self.free = declare(m, "free", ir.VoidType(), [VOIDPTR])
        self.abort = declare(m, "abort", ir.VoidType(), [])
        self.abort.attributes.add("noreturn")
        self.state = ir.GlobalVariable(m, STATE, "db.state")
        self.state.linkage = "internal"
        self.state.initializer = ir.Constant(STATE, [0, 0, 0, None])
        self.functions: dict[str, ir.Function] = {}

    def word(self, b: ir.IRBuilder, index: int) -> ir.Value:
        return field(b, self.state, index)


def build_runtime_module() -> str:
    """The LLVM IR text of the runtime module."""
    from . import runtime_guard, runtime_interrupt, runtime_memory, runtime_parallel

    rt = Runtime()
    for part in (runtime_guard, runtime_interrupt, runtime_memory, runtime_parallel):
        part.build(rt)  # in this order: each calls functions of the ones before
    _build_pack_strings(rt.module)
    _build_state_accessor(rt)
    return str(rt.module)


def _build_state_accessor(rt: Runtime) -> None:
    fn = ir.Function(rt.module, ir.FunctionType(VOIDPTR, []), "db_state")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    b.ret(b.bitcast(rt.state, VOIDPTR))


def _build_pack_strings(module) -> None:
    string = ir.LiteralStructType([VOIDPTR, I64])
    fn = ir.Function(
        module,
        ir.FunctionType(ir.VoidType(), [string.as_pointer(), I64, VOIDPTR]),
        "db_pack_strings",
    )
    strings, n, out = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    at = b.alloca(I64)
    b.store(i64(0), at)
    with for_range(b, n, "s") as k:
        item = b.load(b.gep(strings, [k]))
        length = b.extract_value(item, 1)
        memcpy(b, b.gep(out, [b.load(at)]), b.extract_value(item, 0), length)
        b.store(b.add(b.load(at), length), at)
    b.ret_void()


HUGE_PAGE_BYTES = 1 << 22  # NumPy's threshold for madvise(MADV_HUGEPAGE)
MADV_HUGEPAGE = 14  # Linux's value (other systems number their advice otherwise: not asked)
LINUX = sys.platform.startswith("linux")

_runtime_lock = threading.Lock()
_runtime_addresses: dict[str, int] = {}


def ensure_runtime(compile_ir) -> None:
    """Compile the runtime module into the process's JIT once (before any program module)."""
    with _runtime_lock:
        if not _runtime_addresses:
            _runtime_addresses.update(compile_ir(build_runtime_module()))


def runtime_address(name: str) -> int:
    """The address of a runtime function (after `ensure_runtime`), for host code to call."""
    return _runtime_addresses[name]


_state: RuntimeState | None = None


def runtime_state() -> RuntimeState:
    """The runtime's process-wide words (after `ensure_runtime`)."""
    global _state
    if _state is None:
        address = ctypes.CFUNCTYPE(ctypes.c_void_p)(runtime_address("db_state"))()
        _state = RuntimeState.from_address(address)
    return _state


@contextmanager
def failing_allocation(k: int):
    """Make the k-th native allocation from now on fail as if malloc had (a test hook; after
    `ensure_runtime`, e.g. once a program is compiled):

        with failing_allocation(3):
            f(v)  # MemoryError when the run allocates 3 times or more
    """
    state = runtime_state()
    state.fail_countdown = k
    try:
        yield
    finally:
        state.fail_countdown = 0


__all__ = [
    "CTX",
    "CTX_PTR",
    "Context",
    "INTERRUPTED",
    "OUT_OF_MEMORY",
    "declare_runtime",
    "failing_allocation",
    "runtime_state",
]
