"""The C allocator's settings for array work (glibc only; set once, when daybreak is imported).

glibc's malloc hands blocks of 128 KB and more to `mmap` until it has seen them freed, and it
gives the top of its heap back to the system whenever more than twice that much lies free
there. Array code frees two ~1 MB temporaries at the top of the heap on every call (a chain of
two ufuncs on 10^5 doubles does), so every call then faults the same pages in again: measured
on this project's machine, tier 0 (NumPy running a daybreak graph) took 715 us for
`x * 2.0 + 1.0` on 10^5 elements where the same calls take 55 us with the pages kept — NumPy
itself escapes by reusing its temporary in place. Native code's outputs meet the same trap.

So daybreak sets, for its process, what glibc's own adaptive rule converges to on big arrays:
blocks below 32 MB (glibc's ceiling for its adaptive mmap threshold) come from the heap, and
up to 256 MB of free heap is kept for reuse before it is given back. Memory in use is the same;
what changes is that freed memory stays mapped, up to that bound. Blocks of 32 MB and more are
mapped and unmapped as before (32 MB is glibc's ceiling for the threshold; native code asks
for huge pages for blocks of 4 MB and more, as NumPy's allocator does). Measured and left out:
no `mmap` at all (NumPy's Shallow Water 2x faster in the same process, daybreak's 1.5x slower).

`DAYBREAK_MALLOC_TUNING=0` in the environment leaves the allocator as it is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters

tuned = False


def tune_allocator() -> bool:
    """Apply the settings above (once); whether they are in force."""
    global tuned
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
    tuned = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return tuned
