"""Where the host asks a compiled program to write its result (the executable's `into`).

`X[region] = value`, with `value` a pending array computed by native code, wrote the value
into a fresh buffer and then copied it into the region (a 700 x 700 stencil statement: the
copy was a third of its time). A `Destination` asks the program's result loop to write the
region itself; a program writes it only when its result is exactly what the destination
holds (`backends/llvm/loops.destination_loop`), and says so by returning `WRITTEN`.

>>> import numpy as np
>>> region = np.zeros((4, 6))[1:3, 1:5]
>>> d = Destination.of(region)
>>> d.count, d.row_length, d.nbytes
(2, 4, 64)
"""

from __future__ import annotations

import dataclasses

import numpy as np

WRITTEN = object()  # what a run returns when it wrote its result into the destination


@dataclasses.dataclass(frozen=True, slots=True)
class Destination:
    """`base`: the address of the first element; for rows, `rows` is the address of an array
    of `count` int64 offsets (in elements, from `base`) of rows of `row_length` elements each
    (`offsets` holds it alive); for a contiguous region, `rows` is 0 and `count` its elements
    in a row from `base`. The caller keeps the memory alive and writable for the run, and
    nothing the program reads may lie in it (the program writes it while it reads)."""

    base: int
    rows: int
    count: int
    row_length: int
    nbytes: int
    offsets: np.ndarray | None = None

    @classmethod
    def of(cls, region: np.ndarray, as_rows: bool = True) -> Destination | None:
        """The destination of a writable NumPy array whose last axis is contiguous: its rows
        in C order (`as_rows`), or its elements when it is C-contiguous; None otherwise."""
        item = region.itemsize
        if not region.flags.writeable or region.ndim == 0 or region.strides[-1] != item:
            return None
        base = region.__array_interface__["data"][0]
        if not as_rows:
            if not region.flags.c_contiguous:
                return None
            return cls(base, 0, region.size, 1, region.nbytes)
        offsets, address = _offsets(
            region.shape[:-1], tuple(s // item for s in region.strides[:-1])
        )
        return cls(base, address, len(offsets), region.shape[-1], region.nbytes, offsets)


_OFFSETS: dict = {}


def _offsets(shape: tuple[int, ...], strides: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """The element offset of each row of a region with these leading axes, in C order, and
    its address (kept per shape and strides: a Python loop writes the same region every
    step, and asking an array for its address, `.ctypes.data`, costs microseconds)."""
    key = (shape, strides)
    found = _OFFSETS.get(key)
    if found is None:
        offsets = np.zeros(1, np.int64)
        for n, s in zip(shape, strides, strict=True):
            offsets = (offsets[:, None] + np.arange(n, dtype=np.int64) * s).reshape(-1)
        if len(_OFFSETS) > 256:
            _OFFSETS.clear()
        offsets.flags.writeable = False
        found = _OFFSETS[key] = (offsets, offsets.ctypes.data)
    return found
