"""Whole translation units around lowered kernels: for the device (NVRTC), for the compile
checks (nvcc, several programs in one unit) and for the CPU emulation (g++).

    >>> from daybreak.ir.parser import parse
    >>> from daybreak.ir.typecheck import typecheck
    >>> from daybreak.backends.cuda.lower import ErrorTable, lower_program
    >>> k = lower_program(typecheck(parse("|x: f64| x * 2.0")), ErrorTable())
    >>> 'extern "C" __global__' in device_source(k)
    True
"""

from __future__ import annotations

from pathlib import Path

from .lower import Kernel

_HERE = Path(__file__).parent
PRELUDE = (_HERE / "prelude.cuh").read_text()
EMULATE = (_HERE / "emulate.h").read_text()

# What CUDA itself provides the prelude: the grid barrier of cooperative groups.
_CUDA_ENV = """#include <cooperative_groups.h>
__device__ __forceinline__ void db_grid_barrier() { cooperative_groups::this_grid().sync(); }
"""


def device_source(kernel: Kernel) -> str:
    """One program, its kernel `db_program` callable by name (NVRTC through CuPy)."""
    return "\n".join(
        [_CUDA_ENV, '#define DB_KERNEL extern "C" __global__', PRELUDE, kernel.kernel, ""]
    )


def check_source(kernels: dict[str, Kernel]) -> str:
    """Several programs in one unit, each in a namespace of its name (nvcc compile checks)."""
    parts = [_CUDA_ENV, "#define DB_KERNEL __global__", PRELUDE]
    parts += [f"namespace {name} {{\n{k.kernel}\n}}" for name, k in kernels.items()]
    return "\n".join([*parts, ""])


def emulator_source(kernels: dict[str, Kernel]) -> str:
    """Several programs for the CPU emulation: program `name` runs through the C function
    `db_emu_<name>(blocks, threads, args, arena, cap, status, out)`."""
    parts = [EMULATE, "#define DB_KERNEL", PRELUDE]
    for name, k in kernels.items():
        parts.append(f"namespace {name} {{\n{k.kernel}\n}}")
        parts.append(
            f'extern "C" void db_emu_{name}(int blocks, int threads, const char *args, '
            "char *arena, db_i64 cap, db_status *status, char *out) {\n"
            f"  db_emu_launch(blocks, threads, [=] {{ {name}::db_program(args, arena, cap, "
            "status, out); });\n}"
        )
    return "\n".join([*parts, ""])
