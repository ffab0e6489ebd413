"""The C allocator's settings for array work (glibc only; set once, when daybreak is imported).

glibc's malloc hands blocks of 128 KB and more to `mmap` (32 MB and more always: that is the
ceiling of its threshold), unmaps them when they are freed, and gives the top of its heap back
to the system whenever more than twice that much lies free there. Array code allocates and
frees the same big blocks on every call, so every call faults the same pages in again: a
tier-0 `x * 2.0 + 1.0` on 10^5 elements took 715 us where the same calls take 55 us with the
pages kept, and Shallow Water at 4096^2 (~2 GB of 128 MB arrays per call) spent 1.0 s of its
1.5 s faulting 4 KB pages in, or, with transparent huge pages (which native code asks for on
blocks of 4 MB and more, as NumPy's allocator does), 0.1 s on most calls and 1-4 s on some:
the kernel compacting memory for the huge pages, worse the longer the machine has run.

So daybreak sets, for its process: no `mmap` for blocks (all come from the heap, and freed
ones are reused in place), and a trim threshold that follows the work (`retain`): at least
256 MB of free heap is kept for reuse, and after a native run that allocated N bytes, up to 2N
(at most a quarter of the machine's memory, and 2 GB: mallopt takes an int), so the next
run of that size finds its memory
mapped. Memory in use is the same; what changes is that freed memory stays mapped, up to that
bound, and that a freed block in the middle of the heap is reused rather than unmapped.
Measured (Shallow Water 4096^2, 3 steps): 0.41 s per call with no page fault, where the
default settings gave 0.52 s and 1.4-2.6 s. `DAYBREAK_MALLOC_TUNING=0` in the environment
leaves the allocator as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

RETAIN_FLOOR = 256 << 20  # free heap always kept for reuse
_MALLOPT_MAX = (1 << 31) - 1  # mallopt takes an int
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # glibc's mallopt parameters
_mallopt = None
_retained = [0]  # the trim threshold in force

tuned = False


def tune_allocator() -> bool:
    """Apply the settings above (once); whether they are in force."""
    global tuned, _mallopt
    if (
        tuned
        or os.environ.get("DAYBREAK_MALLOC_TUNING", "1") == "0"
        or not sys.platform.startswith("linux")
    ):
        return tuned
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt  # glibc; musl and others have none
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    tuned = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, RETAIN_FLOOR))
    if tuned:
        _mallopt, _retained[0] = mallopt, RETAIN_FLOOR
    return tuned


def _ceiling() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError):
        return 1 << 30


def retain(nbytes: int) -> None:
    """A run just allocated `nbytes`: keep up to twice that of free heap mapped (at most a
    quarter of the machine's memory), so that the next run of its size reuses it."""
    if _mallopt is None:
        return
    want = min(2 * int(nbytes), _CEILING, _MALLOPT_MAX)
    if want > _retained[0]:
        want = min(max(want, _retained[0] * 2), _CEILING, _MALLOPT_MAX)  # (in steps)
        if _mallopt(_M_TRIM_THRESHOLD, want):
            _retained[0] = want


_CEILING = _ceiling()


def _load_memcmp():
    try:
        memcmp = ctypes.CDLL(ctypes.util.find_library("c") or None).memcmp
    except (OSError, AttributeError, TypeError):
        return None
    memcmp.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    memcmp.restype = ctypes.c_int
    return memcmp


_memcmp = _load_memcmp()


def same_bytes(a, b) -> bool:
    """Whether two C-contiguous NumPy arrays hold the same bytes: C's `memcmp` (one read of
    each, no temporary; about half what copying one costs), NumPy's comparison of the bytes
    where there is no C library to ask."""
    if a.nbytes != b.nbytes:
        return False
    if _memcmp is None or not (a.flags.c_contiguous and b.flags.c_contiguous):
        return bool((a.reshape(-1).view("u1") == b.reshape(-1).view("u1")).all())
    address = a.__array_interface__["data"][0]
    return _memcmp(address, b.__array_interface__["data"][0], a.nbytes) == 0
