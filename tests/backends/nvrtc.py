"""Compiling CUDA source with NVRTC (what CuPy's RawModule uses on the device), from the
`nvidia-cuda-nvrtc` wheel and the machine's CUDA headers, for the compile checks of
test_cuda.py. `compile_ptx` is None where either is missing."""

from __future__ import annotations

import ctypes
import glob
import os
import shutil
from pathlib import Path


def _library() -> str | None:
    try:
        import nvidia
    except ImportError:
        return None
    for root in nvidia.__path__:
        found = sorted(glob.glob(os.path.join(root, "*", "lib", "libnvrtc.so*")))
        found = [f for f in found if "builtins" not in f]
        if found:
            return found[0]
    return None


def _include_dirs() -> list[str]:
    """CUDA's headers (cooperative groups; CUDA 13 keeps libcu++ in include/cccl): from
    CUDA_PATH, /usr/local/cuda, or beside nvcc."""
    nvcc = shutil.which("nvcc")
    roots = [os.environ.get("CUDA_PATH", ""), "/usr/local/cuda"]
    roots += [str(Path(nvcc).resolve().parents[1])] if nvcc else []
    for root in filter(None, roots):
        include = Path(root) / "include"
        if (include / "cooperative_groups.h").exists():
            cccl = include / "cccl"
            return [str(include)] + ([str(cccl)] if cccl.exists() else [])
    return []


def _compiler():
    path, includes = _library(), _include_dirs()
    if path is None or not includes:
        return None
    nvrtc = ctypes.CDLL(path)

    def compile_ptx(source: str, arch: str = "compute_90") -> str:
        """The PTX of `source`; AssertionError with NVRTC's log when it does not compile."""
        program = ctypes.c_void_p()
        nvrtc.nvrtcCreateProgram(ctypes.byref(program), source.encode(), b"db.cu", 0, None, None)
        try:
            options = [f"--gpu-architecture={arch}".encode(), b"-std=c++17"]
            options += [f"-I{d}".encode() for d in includes]
            status = nvrtc.nvrtcCompileProgram(
                program, len(options), (ctypes.c_char_p * len(options))(*options)
            )
            size = ctypes.c_size_t()
            nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
            log = ctypes.create_string_buffer(size.value)
            nvrtc.nvrtcGetProgramLog(program, log)
            assert status == 0, log.value.decode(errors="replace")[-4000:]
            nvrtc.nvrtcGetPTXSize(program, ctypes.byref(size))
            ptx = ctypes.create_string_buffer(size.value)
            nvrtc.nvrtcGetPTX(program, ptx)
            return ptx.value.decode()
        finally:
            nvrtc.nvrtcDestroyProgram(ctypes.byref(program))

    return compile_ptx


compile_ptx = _compiler()
