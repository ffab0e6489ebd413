"""How much of glibc's heap is in use: the leak checks of the native runtime's tests (fault
injection, out of memory, Ctrl-C) read it in this process and in child processes."""

import ctypes
import ctypes.util
import gc
import sys


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


# Found once, at import (`find_library` may run a program: not near an address-space limit).
_LIBC = (
    ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    if sys.platform.startswith("linux")
    else None
)
if _LIBC is not None and hasattr(_LIBC, "mallinfo2"):
    _LIBC.mallinfo2.restype = _MallInfo2
else:
    _LIBC = None


def heap_in_use(collect: bool = True) -> int | None:
    """Bytes glibc's malloc has handed out and not got back (None where there is no
    `mallinfo2`). `collect=False` when the caller must not allocate (near an address-space
    limit)."""
    if collect:
        gc.collect()
    if _LIBC is None:
        return None
    info = _LIBC.mallinfo2()
    return info.uordblks + info.hblkhd
