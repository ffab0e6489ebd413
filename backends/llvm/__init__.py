"""The LLVM backend: typed IR -> LLVM IR (llvmlite) -> optimised native code (MCJIT).

Compiled programs are cached in memory (keyed by the program's structure; the most recently
used PROGRAM_CACHE_SIZE) and on disk (keyed by the hash of the LLVM IR, the CPU and the LLVM
version; see runtime/cache.py), so the same program compiles once per process and skips LLVM's
optimiser and code generator in new processes. An executable holds its machine code: dropped
from the memory cache, it still runs, and its code is freed once nothing holds it
(backends/llvm/jit.py).

>>> import numpy as np, daybreak as db
>>> f = db.compile("|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, x*x)))",
...                backend="llvm")
>>> float(f(np.array([1.0, 2.0, 3.0])))
14.0
"""

from __future__ import annotations

import hashlib
import time

from llvmlite import ir

from ...ir.errors import LoweringError
from ...ir.linearity import check_linear
from ...ir.nodes import Program, deep_recursion
from ...ir.typecheck import typecheck
from ...runtime import cache
from ...runtime.stats import record
from ...runtime.udf import NATIVE_GENERATION
from . import jit, write_guard
from .executable import NativeExecutable
from .lower import ErrorTable, Lowerer
from .runtime_ir import ensure_runtime

CODE_VERSION = "llvm-1"  # bump when lowering changes what the same IR text means
# Compiled programs kept in memory (each holds ~100-150 KB of machine code and metadata).
PROGRAM_CACHE_SIZE = 256


class LLVMBackend:
    name = "llvm"
    optimized = True  # db.compile hands it optimised programs (daybreak/api.py)

    def __init__(self):
        self._compiled = cache.LRU(PROGRAM_CACHE_SIZE)

    def lower(self, program: Program) -> tuple[str, ErrorTable]:
        """The LLVM IR text of a typed program, and its runtime error sites."""
        module = ir.Module(name="daybreak")
        module.triple = jit.triple()
        module.data_layout = str(jit.target_data())
        errors = ErrorTable()
        Lowerer(module, errors).lower_program(program)
        return str(module), errors

    def compile(self, program: Program) -> NativeExecutable:
        with deep_recursion():
            return self._compile(program)

    def _compile(self, program: Program) -> NativeExecutable:
        # Equal programs share code, but runtime errors point into the text a program came
        # from, so the text is part of the key; and code calls native functions at the
        # addresses registered when it was compiled (`NATIVE_GENERATION`).
        loc = program.body.loc
        key = (program, loc.source if loc is not None else None, NATIVE_GENERATION[0])
        hit = self._compiled.get(key)
        if hit is not None:
            record(cache_hits=1)
            return hit
        start = time.perf_counter()
        ensure_runtime(_jit_runtime)
        typed = typecheck(program)
        problems = check_linear(typed)
        if problems:
            # Builders are updated in place here; only linear programs mean the same thing.
            raise LoweringError(f"not compiled by llvm: {problems[0]}", program.body.loc)
        text, errors = self.lower(typed)
        code = _jit_cached(text, jit.compile_program)
        record(compile_seconds=time.perf_counter() - start)
        executable = NativeExecutable(typed, code.addresses["entry"], errors, text)
        executable.jit_code = code  # the machine code lives as long as the executable
        self._compiled.put(key, executable)
        return executable


def _jit_runtime(text: str) -> dict[str, int]:
    """Load the native runtime into the process's engine for good, and make its functions
    resolvable by name in the engines of programs (which call them)."""
    code = _jit_cached(text, _load_for_good)
    jit.publish(code.addresses)
    return code.addresses


def write_guards():
    """The write guards (`write_guard.py`), compiled into the process's engine for good (from
    the disk cache when a previous process stored them), or None where there are none."""
    return write_guard.load(lambda text: _jit_cached(text, _load_unoptimized).addresses)


def _load_for_good(text: str, name: str, cached_object: bytes | None) -> jit.JitCode:
    return jit.JitCode(*jit.compile_ir(text, name, cached_object))


def _load_unoptimized(text: str, name: str, cached_object: bytes | None) -> jit.JitCode:
    # (the guards may load while a script waits: `frontends/snapshots.py`, and LLVM's O3
    # pipeline took longer than their code generation, for calls that cost ~1 us of ctypes)
    return jit.JitCode(*jit.compile_ir(text, name, cached_object, optimized=False))


def _jit_cached(text: str, load) -> jit.JitCode:
    """JIT-compile LLVM IR text with `load` (jit.compile_program or alike), from the object
    code a previous process stored in the disk cache when there is a usable one, else
    compiling it and storing its object code there."""
    facts = {
        "code": CODE_VERSION,
        "host": jit.host_fingerprint(),
        "ir_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    key = cache.key_for(facts["code"], facts["host"], facts["ir_sha256"])
    name = f"db_{key[:16]}"
    cached = _stored_object(key, facts)
    if cached is not None:
        try:
            with cache.handing_over(key):
                code = load(text, name, cached)
            record(cache_disk_hits=1)
            return code
        except RuntimeError:  # jit.UnusableObject, or llvmlite's report of a refused load
            cache.discard(key)
            record(cache_rebuilt=1)
    code = load(text, name, None)
    record(cache_misses=1, compiles=1)
    if code.object_code is not None:
        cache.store(key, code.object_code, facts)
    return code


def _stored_object(key: str, facts: dict[str, str]) -> bytes | None:
    """The object code stored under `key` for `facts`, if any (an entry that cannot be used
    is discarded, and counted in db.stats()["cache_rebuilt"]). The jit checks the object code
    itself before MCJIT sees it."""
    try:
        return cache.load(key, facts)
    except cache.CorruptEntry:
        record(cache_rebuilt=1)
        return None
