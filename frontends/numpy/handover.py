"""A hot Python loop's array, read and written element by element, handed to NumPy itself.

    for i in range(1, n):
        for j in range(i):
            A[i, j] -= np.dot(A[i, :j], A[j, :j])
            A[i, j] /= A[j, j]

Each subscript and store of a computed daybreak array in such a loop is a Python call
(`methods._subscript`, `assignment.setitem`: ~0.2-0.3 us over NumPy's own indexing, which
runs in C): a Cholesky factorisation of 400 x 400 paid 0.38x NumPy's time for it, a
triangular solve or a CSR product about half. Nothing of daybreak's runs in them — each
subscript is already NumPy's indexing of the computed buffer — so the cost is the call
itself, and only the array's type can remove it.

Counted per array (`ndarray._hot`): each element read or store, and each read or store of
a part under `SMALL_PART` elements, adds one; reading a bigger part (a lazy view to fuse, a
slice of a time step's stencil) starts the count again (storing NumPy's data into one is
neither: NumPy computed it). At `HOT` in a row, the names of the frame running the
subscript that hold the array are bound to NumPy's array over its buffer
(`frames.rebind`): the loop's subscripts are NumPy's own from then on. What it costs:
whatever that frame does with those names later is NumPy's too, unfused (a whole-array
expression after the loop: NumPy's speed, not daybreak's); the array's other holders (the
caller's name, a list) keep the daybreak array.

Why it is NumPy's semantics: the buffer becomes the user's memory first (what
`np.asarray(b)` makes it, `ndarray._handed_out`): lazy values made from the daybreak array
later read it through a snapshot, and pending ones reading it now are computed before the
loop can write it. The daybreak array and the NumPy one are one array then (`np.asarray(u)` is
`u`): each sees the other's writes. Not a view of another daybreak array (its writes go
through its base), nor a read-only buffer, nor under a trace or profile function (a
debugger's frame), nor a frame of daybreak's own code. Where the names cannot be rebound
(the array is read through an attribute or a container, or in a short call of a helper
each time), the count waits `RETRY` more before asking again. `db.config(handover=False)`
turns it off.
"""

from __future__ import annotations

import sys

import numpy as np

from daybreak.runtime.config import SETTINGS
from daybreak.runtime.stats import record

from ..frames import CAN_REBIND, rebind
from ..snapshots import UNARMED_SNAPSHOTS
from ..statements import user_frame

HOT = 128  # element reads and writes in a row that make a loop hot
# Parts read or stored that count as element work: NumPy's work on a bigger one (a row of
# 4,096 doubles: ~2-4 us a call) dwarfs the call's own cost, and a time step's slices of a
# stencil (heat_3d's 38^3 at S) are whole-array work that replays may compile
SMALL_PART = 1 << 12
RETRY = 1024  # more of them before asking again where no name could be rebound
# (id(code), line) -> code: the lines whose selections (`count_part`) handed an array over; a
# later array's first such read there goes at once (a line: a selection's first read may be
# lazy, its count made by the next call on the line; the code held: its id names no other
# code meanwhile)
HANDED_AT: dict = {}
_LIMIT = 4096


def hand_over(a, frame=None, site: bool = False) -> None:
    """Bind the names of `frame` (by default the user's frame running `a`'s subscript or
    store) that hold `a` to NumPy's array over `a`'s buffer, when `a` may go (the module
    docstring); else count again from `-RETRY`. `site`: the subscript is remembered
    (`HANDED_AT`)."""
    a._hot = -RETRY
    if frame is None:
        frame = user_frame()
    if (
        not CAN_REBIND
        or not SETTINGS.handover
        or frame is None
        or a._base is not None
        or not a._shape
        or UNARMED_SNAPSHOTS
        or sys.gettrace() is not None
        or sys.getprofile() is not None
    ):
        return
    found = a.concrete()
    if type(found) is not np.ndarray or not found.flags.writeable:
        return
    if a._memory is None:
        a._handed_out(found, a._held)  # (pending values reading it are computed first)
        found = a.concrete()
        if a._memory is None or type(found) is not np.ndarray:
            return
    try:
        done = rebind(frame, a, found)
    except Exception:  # noqa: BLE001 - a frame this interpreter will not rebind: left alone
        done = False
    if done:
        a._hot = 0
        record(handed_over=1)
        if site:
            if len(HANDED_AT) >= _LIMIT:
                HANDED_AT.clear()
            HANDED_AT[(id(frame.f_code), frame.f_lineno)] = frame.f_code


def count_part(a, size: int) -> None:
    """Count a read of `size` elements of `a` outside the subscript's own slot (a selection
    by a key of data, `indexing._selected`): under `SMALL_PART` it is element work, at `HOT`
    the handover; more starts the count again. A line whose selections handed an array over before
    (`HANDED_AT`: a loop's earlier call of the function, with an array of its own) hands
    the array it reads first over at once (azimint_naive's `data[mask]`: 128 of 400 steps a
    call read the call's new `data` as daybreak's first). (The subscript's slot and the
    in-place store count inline: a Python loop's every subscript passes there.)"""
    if size < SMALL_PART:
        hot = a._hot + 1
        a._hot = hot
        if hot >= HOT:
            hand_over(a, site=True)
        elif hot == 1 and HANDED_AT:
            frame = user_frame()
            if frame is not None and HANDED_AT.get((id(frame.f_code), frame.f_lineno)) is (
                frame.f_code
            ):
                hand_over(a, frame)
    else:
        a._hot = 0
