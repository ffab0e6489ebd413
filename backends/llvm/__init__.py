"""The LLVM backend: typed IR -> LLVM IR (llvmlite) -> optimised native code (MCJIT).

>>> import numpy as np, daybreak as db
>>> f = db.compile("|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, x*x)))",
...                backend="llvm")
>>> float(f(np.array([1.0, 2.0, 3.0])))
14.0
"""

from __future__ import annotations

import itertools

from llvmlite import ir

from ...ir.nodes import Program
from ...ir.typecheck import typecheck
from . import jit
from .executable import NativeExecutable
from .lower import ErrorTable, Lowerer

_module_ids = itertools.count()


class LLVMBackend:
    name = "llvm"

    def lower(self, program: Program) -> tuple[str, ErrorTable]:
        """The LLVM IR text of a typed program, and its runtime error sites."""
        module = ir.Module(name=f"daybreak{next(_module_ids)}")
        module.triple = jit.triple()
        module.data_layout = str(jit.target_data())
        errors = ErrorTable()
        Lowerer(module, errors).lower_program(program)
        return str(module), errors

    def compile(self, program: Program) -> NativeExecutable:
        typed = typecheck(program)
        text, errors = self.lower(typed)
        _, addresses = jit.compile_ir(text, f"daybreak{next(_module_ids)}")
        return NativeExecutable(typed, addresses["entry"], errors, text)
