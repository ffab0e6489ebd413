"""The CPU emulation of the CUDA backend: generated kernels compiled as C++ by the machine's
g++ (emulate.h supplies CUDA's names) and run on one host thread per CUDA thread.

It tests the kernels' logic where there is no GPU: the test suite runs the corpus and the
property tests through it against the interpreter. The shared library of a source is kept on
disk (by the source's hash) in the cache folder, or a temporary one when the cache is off.

    >>> from daybreak.ir.parser import parse
    >>> from daybreak.ir.typecheck import typecheck
    >>> from daybreak.backends.cuda.lower import ErrorTable, lower_program
    >>> k = lower_program(typecheck(parse("|x: i64| x + 1L")), ErrorTable())
    >>> lib = build({"p0": k})
    >>> callable(lib.db_emu_p0)
    True
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ...ir.errors import UnsupportedError
from ...runtime.cache import cache_dir, key_for
from .lower import Kernel
from .source import emulator_source

COMPILER = os.environ.get("DAYBREAK_CXX", "g++")
FLAGS = ("-std=c++17", "-O1", "-shared", "-fPIC", "-pthread", "-w")
_temporary: list[str] = []
_loaded: dict[str, ctypes.CDLL] = {}


def available() -> bool:
    return shutil.which(COMPILER) is not None


def _folder() -> Path:
    root = cache_dir()
    if root is not None:
        folder = root / "cuda-emulator"
    else:
        if not _temporary:
            _temporary.append(tempfile.mkdtemp(prefix="daybreak-cuda-emulator-"))
        folder = Path(_temporary[0])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def build(kernels: dict[str, Kernel]) -> ctypes.CDLL:
    """The shared library of `kernels` (program `name` is `db_emu_<name>`)."""
    if not available():
        raise UnsupportedError("the cuda emulator", "cuda", f"no C++ compiler ({COMPILER})")
    source = emulator_source(kernels)
    digest = key_for(source, COMPILER, *FLAGS)[:24]
    lib = _loaded.get(digest)
    if lib is not None:
        return lib
    folder = _folder()
    target = folder / f"emu-{digest}.so"
    if not target.exists():
        src = folder / f"emu-{digest}-{os.getpid()}.cpp"
        partial = folder / f"emu-{digest}-{os.getpid()}.so"
        src.write_text(source)
        done = subprocess.run(
            [COMPILER, *FLAGS, str(src), "-o", str(partial)], capture_output=True, text=True
        )
        src.unlink(missing_ok=True)
        if done.returncode != 0:
            raise RuntimeError(f"the emulated kernels did not compile:\n{done.stderr[-4000:]}")
        os.replace(partial, target)  # (atomic: another process may be building the same)
    lib = ctypes.CDLL(str(target))
    signature = [ctypes.c_int, ctypes.c_int] + [ctypes.c_void_p] * 2 + [ctypes.c_int64]
    signature += [ctypes.c_void_p] * 2
    for name in kernels:
        function = getattr(lib, f"db_emu_{name}")
        function.argtypes, function.restype = signature, None
    _loaded[digest] = lib
    return lib
