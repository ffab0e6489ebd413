"""The LLVM engine: one MCJIT execution engine per process, modules optimised with the new
pass manager at O3 for the host CPU (all its features, e.g. AVX-512), verified before JIT.
"""

from __future__ import annotations

import threading
from functools import cache

import llvmlite.binding as llvm

_lock = threading.Lock()


@cache
def _target_machine() -> llvm.TargetMachine:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(),
        features=llvm.get_host_cpu_features().flatten(),
        opt=3,
        reloc="default",
        codemodel="jitdefault",
    )


@cache
def _engine() -> llvm.ExecutionEngine:
    tm = _target_machine()
    backing = llvm.parse_assembly("")
    backing.triple = tm.triple
    backing.data_layout = str(tm.target_data)
    return llvm.create_mcjit_compiler(backing, tm)


def target_data() -> llvm.TargetData:
    return _target_machine().target_data


def triple() -> str:
    return _target_machine().triple


def optimize(module: llvm.ModuleRef, speed_level: int = 3) -> None:
    """Run the O3 pipeline (with loop and SLP vectorisation) over `module`."""
    tm = _target_machine()
    pto = llvm.create_pipeline_tuning_options(speed_level=speed_level)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pto.loop_unrolling = True
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModulePassManager()
    mpm.run(module, pb)


def compile_ir(text: str, name: str) -> tuple[llvm.ModuleRef, dict[str, int]]:
    """Parse, verify, optimise and JIT-compile LLVM IR text; return the module and the
    addresses of its defined functions."""
    mod = llvm.parse_assembly(text)
    mod.name = name
    mod.triple = triple()
    mod.data_layout = str(target_data())
    mod.verify()
    optimize(mod)
    with _lock:
        engine = _engine()
        engine.add_module(mod)
        engine.finalize_object()
        engine.run_static_constructors()
        addresses = {
            f.name: engine.get_function_address(f.name)
            for f in mod.functions
            if not f.is_declaration
        }
    return mod, addresses


def optimized_ir(text: str) -> str:
    """The optimised LLVM IR of `text` (for explain and tests: did the loop vectorise?)."""
    mod = llvm.parse_assembly(text)
    mod.triple = triple()
    mod.data_layout = str(target_data())
    mod.verify()
    optimize(mod)
    return str(mod)


def assembly(text: str) -> str:
    mod = llvm.parse_assembly(text)
    mod.triple = triple()
    mod.data_layout = str(target_data())
    optimize(mod)
    return _target_machine().emit_assembly(mod)
