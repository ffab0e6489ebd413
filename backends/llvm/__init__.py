"""The LLVM backend: typed IR -> LLVM IR (llvmlite) -> optimised native code (MCJIT).

Compiled programs are cached in memory (keyed by the program's structure) and on disk (keyed
by the hash of the LLVM IR, the CPU and the LLVM version; see runtime/cache.py), so the same
program compiles once per process and skips LLVM's optimiser and code generator in new
processes.

>>> import numpy as np, daybreak as db
>>> f = db.compile("|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, x*x)))",
...                backend="llvm")
>>> float(f(np.array([1.0, 2.0, 3.0])))
14.0
"""

from __future__ import annotations

import pickle
import threading
import time

from llvmlite import ir

from ...ir.errors import LoweringError
from ...ir.linearity import check_linear
from ...ir.nodes import Program, deep_recursion
from ...ir.typecheck import typecheck
from ...runtime import cache
from ...runtime.stats import record
from . import jit
from .executable import NativeExecutable
from .lower import ErrorTable, Lowerer
from .runtime_ir import ensure_runtime

CODE_VERSION = "llvm-1"  # bump when lowering changes what the same IR text means


class LLVMBackend:
    name = "llvm"
    optimized = True  # db.compile hands it optimised programs (daybreak/api.py)

    def __init__(self):
        self._compiled: dict[Program, NativeExecutable] = {}
        self._lock = threading.Lock()

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
        # from, so the text is part of the key.
        loc = program.body.loc
        key = (program, loc.source if loc is not None else None)
        hit = self._compiled.get(key)
        if hit is not None:
            record(cache_hits=1)
            return hit
        start = time.perf_counter()
        ensure_runtime(_jit_cached)
        typed = typecheck(program)
        problems = check_linear(typed)
        if problems:
            # Builders are updated in place here; only linear programs mean the same thing.
            raise LoweringError(f"not compiled by llvm: {problems[0]}", program.body.loc)
        text, errors = self.lower(typed)
        addresses = _jit_cached(text)
        record(compile_seconds=time.perf_counter() - start)
        executable = NativeExecutable(typed, addresses["entry"], errors, text)
        with self._lock:
            self._compiled[key] = executable
        return executable


def _jit_cached(text: str) -> dict[str, int]:
    """JIT-compile LLVM IR text, loading its object code from the disk cache when a previous
    process made it, and storing it there otherwise. Returns the function addresses."""
    key = cache.key_for(CODE_VERSION, jit.host_fingerprint(), text)
    cached = None
    try:
        stored = cache.load(key)
        if stored is not None:
            cached = pickle.loads(stored)["object"]
    except (cache.CorruptEntry, pickle.UnpicklingError, KeyError, EOFError, TypeError):
        record(cache_rebuilt=1)
    addresses, obj = jit.compile_ir(text, f"db_{key[:16]}", cached)
    if cached is None:
        record(cache_misses=1, compiles=1)
        if obj is not None:
            cache.store(key, pickle.dumps({"object": obj}))
    else:
        record(cache_disk_hits=1)
    return addresses
