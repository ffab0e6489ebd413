"""The LLVM engine: one MCJIT execution engine per process, modules optimised with the new
pass manager at O3 for the host CPU (all its features, e.g. AVX-512), verified before JIT.
"""

from __future__ import annotations

import threading
from functools import cache

import llvmlite.binding as llvm

_lock = threading.Lock()


def _features() -> str:
    """The host's CPU features. On AVX-512 machines, also let loops use 512-bit vectors:
    LLVM prefers 256 bits there by default (for older CPUs that slow their clock on 512-bit
    code), which measured 1.2x slower on Black-Scholes here (bench/llvm_math.py)."""
    features = llvm.get_host_cpu_features().flatten()
    if "+avx512f" in features.split(","):
        features += ",-prefer-256-bit"
    return features


@cache
def _target_machine() -> llvm.TargetMachine:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(),
        features=_features(),
        opt=3,
        reloc="default",
        codemodel="jitdefault",
    )


# MCJIT's object cache, keyed by module name: objects to hand to MCJIT instead of generating
# code (from the disk cache), and the objects MCJIT generated (to store there).
_objects_in: dict[str, bytes] = {}
_objects_out: dict[str, bytes] = {}


def _notify(module, buffer) -> None:
    _objects_out[module.name] = bytes(buffer)


def _getbuffer(module) -> bytes | None:
    return _objects_in.pop(module.name, None)


@cache
def _engine() -> llvm.ExecutionEngine:
    tm = _target_machine()
    backing = llvm.parse_assembly("")
    backing.triple = tm.triple
    backing.data_layout = str(tm.target_data)
    engine = llvm.create_mcjit_compiler(backing, tm)
    engine.set_object_cache(_notify, _getbuffer)
    return engine


def host_fingerprint() -> str:
    """What compiled code depends on besides the program: the CPU and the LLVM version."""
    return f"{llvm.get_host_cpu_name()}|{_features()}|{llvm.llvm_version_info}"


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
    # The vectoriser interleaves loops by itself; the unroller on top made the code ~10%
    # bigger and compiling ~10% slower (mostly in code generation) for no measured speed-up.
    pto.loop_unrolling = False
    pb = llvm.create_pass_builder(tm, pto)
    mpm = pb.getModulePassManager()
    mpm.run(module, pb)


def compile_ir(
    text: str, name: str, cached_object: bytes | None = None
) -> tuple[dict[str, int], bytes | None]:
    """Parse, verify, optimise and JIT-compile LLVM IR text (or, given the object code a
    previous process made from the same text, load that and skip optimisation and code
    generation). Returns the addresses of the defined functions and the object code."""
    mod = llvm.parse_assembly(text)
    mod.name = name
    mod.triple = triple()
    mod.data_layout = str(target_data())
    mod.verify()
    if cached_object is None:
        optimize(mod)
    with _lock:
        engine = _engine()
        if cached_object is not None:
            _objects_in[name] = cached_object
        engine.add_module(mod)
        engine.finalize_object()
        engine.run_static_constructors()
        addresses = {
            f.name: engine.get_function_address(f.name)
            for f in mod.functions
            if not f.is_declaration
        }
        _objects_in.pop(name, None)
        produced = _objects_out.pop(name, None)
    return addresses, produced if cached_object is None else cached_object


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
