"""The CUDA backend: programs lowered to CUDA C++ (lower.py, loops.py), compiled with NVRTC
through CuPy and run as one cooperative kernel per program (docs/cuda.md).

Two backends share the lowering:

- `cuda` runs on an NVIDIA GPU (device.py). Without CuPy or a device, compiling raises
  `UnsupportedError`, and `db.compile` falls back to the CPU backend, counted.
- `cuda-emu` compiles the same kernels as C++ with the machine's g++ and runs them on one
  host thread per CUDA thread (emulator.py): what tests the kernels where there is no GPU.

    >>> import numpy as np, daybreak as db
    >>> f = db.compile("|v: vec[f64]| result(for(v, merger[f64,+], |b, i, x| merge(b, x)))",
    ...                backend="cuda-emu")
    >>> f(np.arange(100.0))
    np.float64(4950.0)
"""

from __future__ import annotations

import os
import time

from ...ir.errors import LoweringError
from ...ir.linearity import check_linear
from ...ir.nodes import Program
from ...ir.typecheck import typecheck
from ...runtime.stats import record
from . import dicts, loops, sort  # noqa: F401  (register the handlers of those files)
from .device import device_launcher
from .emulator import build
from .executable import CudaExecutable, EmulatedLauncher
from .lower import ErrorTable, lower_program


def _lower(program: Program):
    typed = typecheck(program)
    problems = check_linear(typed)
    if problems:  # builders are updated in place: only linear programs mean the same thing
        raise LoweringError(f"not compiled by cuda: {problems[0]}", program.body.loc)
    return typed, lower_program(typed, ErrorTable())


class _Compiled:
    """Compiled programs by program and source text (errors point into the text)."""

    def __init__(self):
        self._compiled: dict = {}

    def get_or_make(self, program: Program, make):
        loc = program.body.loc
        key = (program, loc.source if loc is not None else None)
        hit = self._compiled.get(key)
        if hit is not None:
            record(cache_hits=1)
            return hit
        start = time.perf_counter()
        executable = make()
        record(compile_seconds=time.perf_counter() - start)
        if len(self._compiled) > 512:
            self._compiled.pop(next(iter(self._compiled)))
        self._compiled[key] = executable
        return executable


class CudaBackend:
    name = "cuda"
    optimized = True  # db.compile hands it optimised programs (daybreak/api.py)

    def __init__(self):
        self._cache = _Compiled()

    def compile(self, program: Program) -> CudaExecutable:
        def make():
            typed, kernel = _lower(program)
            return CudaExecutable(typed, kernel, device_launcher(kernel))

        return self._cache.get_or_make(program, make)


def emulated_grid() -> tuple[int, int]:
    """The emulated grid: `DAYBREAK_CUDA_EMU_GRID=blocks,threads` (default 3 blocks of 4
    threads: several blocks, so block sums and the grid barrier are exercised)."""
    blocks, threads = os.environ.get("DAYBREAK_CUDA_EMU_GRID", "3,4").split(",")
    return int(blocks), int(threads)


class CudaEmulatorBackend:
    name = "cuda-emu"
    optimized = True

    def __init__(self):
        self._cache = _Compiled()

    def compile(self, program: Program) -> CudaExecutable:
        def make():
            typed, kernel = _lower(program)
            function = build({"p": kernel}).db_emu_p
            executable = CudaExecutable(typed, kernel, EmulatedLauncher(function, *emulated_grid()))
            executable.backend = self.name
            return executable

        return self._cache.get_or_make(program, make)


__all__ = ["CudaBackend", "CudaEmulatorBackend", "emulated_grid"]
