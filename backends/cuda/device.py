"""Running kernels on an NVIDIA GPU through CuPy: NVRTC compiles the source (`RawModule`,
which also keeps compiled code on disk), a cooperative launch runs it, and memory is CuPy's.

Arguments that are CuPy arrays are used where they are; NumPy arrays are copied to the
device once per call. Results stay on the device (CuPy arrays over the run's arena) when any
argument was a CuPy array, and come back as NumPy arrays otherwise. Running out of device
memory raises CuPy's `OutOfMemoryError`, a `MemoryError`.
"""

from __future__ import annotations

import numpy as np

from ...ir.errors import UnsupportedError
from ...ir.types import Scalar, Vec
from .executable import Launcher, Memory, element_dtype, result_dtype
from .source import device_source

THREADS_PER_BLOCK = 256


def cupy_or_none():
    try:
        import cupy
    except ImportError:
        return None
    return cupy


def device_count() -> int:
    cupy = cupy_or_none()
    if cupy is None:
        return 0
    try:
        return cupy.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - no driver, no device: no GPU to run on
        return 0


def require_device():
    cupy = cupy_or_none()
    if cupy is None:
        raise UnsupportedError("this machine", "cuda", "CuPy is not installed")
    if device_count() == 0:
        raise UnsupportedError("this machine", "cuda", "no CUDA device")
    return cupy


class DeviceMemory(Memory):
    def __init__(self, cupy):
        self.cupy = cupy

    def array_in(self, value, t: Vec, name: str):
        cp = self.cupy
        if isinstance(value, cp.ndarray):
            if value.ndim == 1 and value.dtype == element_dtype(t.elem):
                return cp.ascontiguousarray(value)
            value = value.get()
        return super().array_in(value, t, name)

    def from_host(self, array: np.ndarray):
        return self.cupy.asarray(array)

    def address(self, array) -> int:
        return array.data.ptr

    def empty(self, nbytes: int):
        return self.cupy.empty(nbytes, dtype=np.uint8)

    def zeros(self, nbytes: int):
        return self.cupy.zeros(nbytes, dtype=np.uint8)

    def read(self, array) -> bytes:
        return array.get().tobytes()

    def read_at(self, pointer: int, nbytes: int) -> bytes:
        host = np.empty(nbytes, dtype=np.uint8)
        runtime = self.cupy.cuda.runtime
        runtime.memcpy(host.ctypes.data, pointer, nbytes, runtime.memcpyDeviceToHost)
        return host.tobytes()

    def vector_out(self, pointer: int, length: int, t: Vec, owners: list):
        cp = self.cupy
        layout = element_dtype(t.elem)
        if length == 0:
            return cp.empty(0, dtype=result_dtype(t.elem))
        owner = next(o for o in owners if o.data.ptr <= pointer < o.data.ptr + max(o.nbytes, 1))
        memory = cp.cuda.UnownedMemory(pointer, length * layout.itemsize, owner)
        out = cp.ndarray((length,), dtype=layout, memptr=cp.cuda.MemoryPointer(memory, 0))
        return out if isinstance(t.elem, Scalar) else out.astype(result_dtype(t.elem))

    def is_device_array(self, value) -> bool:
        return isinstance(value, self.cupy.ndarray)

    def to_host(self, value, keep_on_device: bool):
        if keep_on_device:
            return value
        if isinstance(value, tuple):
            return tuple(self.to_host(v, False) for v in value)
        if isinstance(value, self.cupy.ndarray):
            return value.get()
        return value


class DeviceLauncher(Launcher):
    """One program's kernel on the current device, launched cooperatively with as many blocks
    as can be resident at once (a grid barrier needs every block running)."""

    def __init__(self, kernel_source: str, cupy):
        self.memory = DeviceMemory(cupy)
        self.cupy = cupy
        module = cupy.RawModule(
            code=kernel_source, options=("-std=c++17",), enable_cooperative_groups=True
        )
        self.function = module.get_function("db_program")
        device = cupy.cuda.Device()
        props = cupy.cuda.runtime.getDeviceProperties(device.id)
        regs = max(int(self.function.num_regs), 1) * THREADS_PER_BLOCK
        per_sm = min(
            props["maxThreadsPerMultiProcessor"] // THREADS_PER_BLOCK,
            props["regsPerMultiprocessor"] // regs,
        )
        self.blocks = props["multiProcessorCount"] * max(per_sm, 1)

    def launch(self, args, arena, cap: int, status, out) -> None:
        while True:
            try:
                self.function(
                    (self.blocks,), (THREADS_PER_BLOCK,), (args, arena, np.int64(cap), status, out)
                )
                return
            except self.cupy.cuda.driver.CUDADriverError as e:
                # too many blocks for a cooperative launch: fewer, until one fits
                if "COOPERATIVE_LAUNCH_TOO_LARGE" not in str(e) or self.blocks == 1:
                    raise
                self.blocks = max(1, self.blocks // 2)


def device_launcher(kernel) -> DeviceLauncher:
    return DeviceLauncher(device_source(kernel), require_device())
