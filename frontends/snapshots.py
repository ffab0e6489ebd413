"""What a lazy value reads for the user's memory: a snapshot, copied only when it must be.

A lazy value made from memory the user may still write (`Param.borrowed`) must mean what the
memory held when the value was made. `take(param)` gives the node such a value reads:

* a **guarded snapshot** (`GuardedSnapshot`), where the backend has write guards
  (`backends/llvm/write_guard.py`): the buffer's whole pages are made read-only, nothing is
  copied, and the first write into them (the user's NumPy, daybreak's own writes, any
  thread) copies the buffer into the snapshot's reserve before it happens. A program run
  while the buffer is unwritten reads the buffer itself (`run_value`); everything else reads
  the reserve (`cached`), which is copied into on its first read if nothing was before. A
  snapshot is shared by the lazy values made while the buffer is unwritten, so no
  comparison is needed before sharing it either. When its last reader is computed the
  guard is parked (pages still protected, no reader), and the next snapshot of the same
  unwritten buffer revives it with no system call.
* an **unarmed snapshot** (a `GuardedSnapshot` with no guard yet, `UNARMED`) where the
  statement running stores its value at once, running nothing but daybreak's operators
  until then (`statements.stores_at_once`): it reads the buffer itself, which nothing can
  write before the store. When the statement's store ends (`statement_stored`), a snapshot
  still read (the stored array's own pending expression reads it, say) is guarded then,
  or copied; one the value alone read goes with it, never guarded (jacobi_2d's statement:
  253-264 -> 188-210 us, the guard's two system calls and their bookkeeping).
* a **copy** (`Param` over `cached.copy()`) where there are no guards (yet: they compile on
  the background thread after the process's first compile, or once copies pass
  `COPIED_BEFORE_GUARDS`), for small or strided buffers, or when the guards' table is full.
  It is shared while C's `memcmp` finds the buffer unchanged.

A program that read the user's buffer in place must not return a view of it: the user may
write it later, and a computed value must not change (`unalias`, after each run).
"""

from __future__ import annotations

import atexit
import ctypes
import itertools
import mmap
import sys
import threading
import weakref
from collections.abc import Callable

import numpy as np

from daybreak.runtime.memory import same_bytes
from daybreak.runtime.stats import count_guarded_snapshot, count_snapshot

from .lazy import _UNSET, Param
from .statements import stores_at_once, user_frame, within

# Smaller buffers are copied: the copy costs about what a guard does. A guard and its release
# cost ~20 us in this VM whatever the size (four system calls and their bookkeeping), what a
# copy of 512 KB costs (64 KB: 1.4 us; 1 MB: 31 us). A Python loop's call over the user's
# arrays of 100 KB paid ~115 us a call in guards (`a < b` of NumPy's, then `logical_and`).
MIN_BYTES = 1 << 19
# Unarmed snapshots (a statement that stores at once) cost no system call: from this size
UNARMED_MIN_BYTES = 1 << 16

_loader: list[Callable | None] = [None]  # daybreak.api registers the backend's
_guards: list = [None]  # the loaded WriteGuards, once they are
_loading = threading.Lock()
_state = {"started": False, "failed": None}
_submit: list[Callable | None] = [None]
_copied = [0]  # bytes copied for snapshots before the guards were asked for
COPIED_BEFORE_GUARDS = 256 << 20
_lent: list[np.ndarray] = []  # user buffers programs read in place since the last `unalias`
_live: dict = {}  # serial -> weak reference to each live guarded snapshot
UNARMED = -2  # a GuardedSnapshot's `_index` while its statement runs (no guard yet)
_unarmed: list = []  # weak references to the unarmed snapshots of statements not yet stored
UNARMED_SNAPSHOTS = _unarmed  # (`unarmed_pending()` is `bool(UNARMED_SNAPSHOTS)`, inline)
_statement: list = [(None, None, 0, -1)]  # the statement they were made in (`stores_at_once`)


def use_write_guards(load: Callable) -> None:
    """Set the function that loads the write guards (`-> WriteGuards | None`): daybreak.api
    registers the LLVM backend's, so frontends reach it without importing the backend."""
    _loader[0] = load


def load_now() -> object | None:
    """Load the guards on this thread (what the background thread does); the guards or None."""
    with _loading:
        if _guards[0] is None and _state["failed"] is None and _loader[0] is not None:
            try:
                _guards[0] = _loader[0]()
                if _guards[0] is None:
                    _state["failed"] = "not available on this platform"
            except Exception as why:  # noqa: BLE001 - no guards: snapshots copy, as before
                _state["failed"] = f"{type(why).__name__}: {why}"
        return _guards[0]


def use_background(submit: Callable) -> None:
    """Set how the guards are loaded off the calling thread (the scheduler's compile thread:
    `submit(fn)`)."""
    _submit[0] = submit


def start_loading() -> None:
    """Load the guards on the background thread, once. Asked after the process compiled its
    first program, when LLVM is loaded and warm (loading them costs ~40 ms then; before, ~0.4
    s of imports and LLVM's start, holding the GIL, which would hold up a script's first
    calls), or once the copies made for snapshots (and those not made, `copies_now`, and
    the comparisons with them, at half weight) pass `COPIED_BEFORE_GUARDS` (a process whose
    work stays in the library, reading big inputs call after call). Until then snapshots
    are copies."""
    if not _state["started"] and _loader[0] is not None and _submit[0] is not None:
        _state["started"] = True
        _submit[0](load_now)


class GuardedSnapshot(Param):
    """A snapshot of a borrowed buffer held by a write guard. `cached` is the reserve (what
    the buffer held, once copied: reading it copies it first); `lend()` the user's buffer
    itself while the guard finds it unwritten."""

    __slots__ = ("_user", "_index", "_serial", "_map", "_owner", "_self")

    def lend(self) -> np.ndarray:
        """What a program run now reads: the user's buffer while unwritten (then `unalias`
        checks what the program returns), else the reserve."""
        index = self._index
        if index == UNARMED or (index >= 0 and _guards[0].intact(index)):
            _lent.append(self._user)
            return self._user
        self.settle()
        return self.cached

    def copied(self) -> np.ndarray | None:
        """NumPy's copy of the user's buffer while the guard finds it unwritten (what the
        snapshot holds, in memory the heap has mapped already), else None (the reserve
        holds it, copied). For an array that reads the whole snapshot as its own value (`b =
        u.copy()`, then `b` read or written): filling the reserve instead faults in every
        page of a fresh mapping (a 12.8 MB copy: ~4 ms, NumPy's ~1 ms)."""
        index = self._index
        if index == UNARMED or (index >= 0 and _guards[0].intact(index)):
            return self._user.copy()
        return None

    def settle(self) -> None:
        """Copy into the reserve now (a no-op once copied); an unarmed snapshot becomes a
        copy of the buffer."""
        if self._index >= 0:
            _guards[0].detach(self._index)
        elif self._index == UNARMED:
            with _arming:
                if self._index == UNARMED:
                    _copy_instead(self)

    def _holders(self) -> tuple[int, int]:
        """References to the reserve's mapping and to its array: more than `_ALONE` (this
        node's own) when a view of the reserve outlives the node."""
        return sys.getrefcount(self._map), sys.getrefcount(self.cached)

    def __del__(self):
        index = getattr(self, "_index", -1)
        if index < 0:
            return
        self._index = -1
        _live.pop(self._serial, None)
        found = _guards[0]
        if self._holders() != _ALONE:
            found.detach(index)  # a view of the reserve outlives this node: fill it first
            found.release(index, self._serial)
            return
        owner = self._owner()
        if owner is not None and owner._snapshot is self._self and found.park(index):
            # The array is likely read again (the next call of a loop): keep its pages
            # protected, so that the next snapshot of it costs no system call.
            owner._snapshot = _Parked(owner, index, self._serial, self._map, self.cached)
        elif found.release(index, self._serial):
            _unused(self._map)  # untouched and still inaccessible: the next guard's


def _alone() -> tuple[int, int]:
    """`_holders()` of a snapshot whose reserve nothing else holds (the node's own slots)."""
    room = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    snap = GuardedSnapshot(np.frombuffer(room, np.uint8), None)
    snap._index, snap._map = -1, room
    del room
    return snap._holders()


_ALONE = _alone()


class _Parked:
    """A borrowed buffer's parked guard (`write_guard`'s PARKED): its slot, serial and
    reserve; released when the borrowed node dies (`_unpark`)."""

    __slots__ = ("index", "serial", "room", "reserve", "ref")

    def __init__(self, owner: Param, index: int, serial: int, room: mmap.mmap, reserve):
        self.index, self.serial, self.room, self.reserve = index, serial, room, reserve
        self.ref = weakref.ref(owner, _unpark)
        _parked[id(self.ref)] = self

    def end(self) -> None:
        """Release the guard (when it is still this one's) and keep its reserve."""
        if _parked.pop(id(self.ref), None) is not None and _guards[0].release(
            self.index, self.serial
        ):
            _unused(self.room)


_parked: dict[int, _Parked] = {}  # id(weak reference to the borrowed node) -> its parked guard


def _unpark(ref) -> None:
    found = _parked.get(id(ref))
    if found is not None:
        found.end()


_SPARE_BYTES = 1 << 30  # reserves kept for reuse (address space only: never written)
_spare: dict[int, list] = {}
_spare_bytes = [0]
_serials = itertools.count(1)


def _reserve_offset(start: int) -> int:
    """Where in its reserve's mapping a buffer starting at address `start` begins: at the
    same offset within a page, a whole page in for a buffer that starts a page. Then every
    reserve of one size has its whole pages at one place (from the mapping's second page to
    the last whole one), whatever the buffer's alignment: a released reserve, whose whole
    pages are still inaccessible, is reused by a guard that copies its first and last
    partial pages only where it left them accessible. (Placed at offset 0, a page-aligned
    buffer's reserve hid the mapping's first page, where the next buffer of that size with
    another alignment copied its first bytes: a fault inside the guards' lock, a hang.)"""
    return start % _guards[0].page or _guards[0].page


def _reserve(size: int) -> tuple[mmap.mmap, bool]:
    """A private mapping of `size` bytes for a reserve, and whether its whole pages are
    inaccessible already: one a released guard never wrote (its whole pages still hidden and
    unmapped: the guard need not hide them again, a system call; `mmap` and `munmap` cost ~10
    us each), else new."""
    kept = _spare.get(size)
    if kept:
        _spare_bytes[0] -= size
        return kept.pop(), True
    return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS), False


def _unused(room: mmap.mmap) -> None:
    size = len(room)
    if _spare_bytes[0] + size <= _SPARE_BYTES and len(_spare.setdefault(size, [])) < 4:
        _spare[size].append(room)
        _spare_bytes[0] += size


def _guardable(flat: np.ndarray) -> bool:
    return _guards[0] is not None and flat.nbytes >= MIN_BYTES and flat.flags.c_contiguous


def _snapshot_over(
    param: Param, room: mmap.mmap, index: int, serial: int, reserve=None
) -> GuardedSnapshot:
    """The node over guard `index` of the borrowed `param`, whose reserve is `room` (viewed as
    `reserve`, the array over it a parked guard kept), made without `Param`'s general
    constructor: a loop reading the user's array makes one per call."""
    flat = param.cached
    if reserve is None:
        reserve = _reserve_view(flat, room, _reserve_offset(flat.__array_interface__["data"][0]))
    snap = GuardedSnapshot.__new__(GuardedSnapshot)
    snap.inputs, snap.cached, snap.weight, snap._signature = (), reserve, 1, _UNSET
    snap.type, snap.source, snap.borrowed = param.type, reserve, False
    snap.key = ("id", id(reserve))
    snap._snapshot = None
    snap._user, snap._index, snap._serial, snap._map = flat, index, serial, room
    snap._owner, snap._self = weakref.ref(param), weakref.ref(snap)
    _live[serial] = snap._self
    param._snapshot = snap._self
    count_guarded_snapshot()
    return snap


def _guarded(param: Param) -> GuardedSnapshot | None:
    made = _protect(param.cached)
    return None if made is None else _snapshot_over(param, *made[:3])


def _protect(flat: np.ndarray) -> tuple[mmap.mmap, int, int, int] | None:
    """A guard over the buffer `flat`: (its reserve's mapping, slot, serial, the buffer's
    offset in the mapping), or None where no guard can be had."""
    found = _guards[0]
    if found is None or not _guardable(flat):
        return None
    start = flat.__array_interface__["data"][0]
    offset = _reserve_offset(start)
    room, hidden = _reserve(offset + flat.nbytes)
    serial = next(_serials)
    into = ctypes.addressof(ctypes.c_char.from_buffer(room)) + offset
    index = found.protect(start, flat.nbytes, into, serial, hidden)
    return None if index < 0 else (room, index, serial, offset)


def _reserve_view(flat: np.ndarray, room: mmap.mmap, offset: int) -> np.ndarray:
    """The reserve `room` as an array like `flat` (its bytes from `offset` on)."""
    reserve = np.frombuffer(room, dtype=flat.dtype, count=flat.size, offset=offset)
    return reserve if flat.ndim == 1 else reserve.reshape(flat.shape)


def copies_now(nbytes: int) -> bool:
    """Whether a snapshot of `nbytes` of the user's memory taken now would be a copy (the
    guards are not loaded yet): the caller may rather compute now what it would record, a
    pass over the same memory that the copy would cost too (`_on_user_memory`). The bytes
    count toward loading the guards, as copies do (`COPIED_BEFORE_GUARDS`)."""
    if _guards[0] is not None or nbytes < MIN_BYTES:
        return False
    _count_copy(nbytes)
    return True


def _count_copy(nbytes: int) -> None:
    """Count `nbytes` copied for snapshots (or not copied, `copies_now`; or compared, at
    half weight) while the guards are not asked for: past `COPIED_BEFORE_GUARDS` they start
    loading."""
    if not _state["started"]:
        _copied[0] += nbytes
        if _copied[0] >= COPIED_BEFORE_GUARDS:
            start_loading()


def take(param: Param) -> Param:
    """The node a lazy value made now reads instead of the borrowed `param` (`Param.snapshot`):
    the last snapshot while the buffer still holds what it held (or its parked guard, while
    nothing wrote it), else a new one."""
    found = param._snapshot
    if found is not None:
        kind = type(found)
        if kind is weakref.ReferenceType:
            found = found()  # (held weakly: released once no lazy value reads it)
            if found is not None and found._index == UNARMED:
                if within(user_frame(), _statement[0]):
                    return found  # (this statement's: it has not stored yet)
                _arm_alive()  # (a statement that raised before its store left it)
            if found is not None and found._index >= 0 and _guards[0].intact(found._index):
                return found
        elif kind is _Parked:
            param._snapshot = None
            if _parked.pop(id(found.ref), None) is not None:
                if _guards[0].revive(found.index, found.serial):
                    return _snapshot_over(
                        param, found.room, found.index, found.serial, found.reserve
                    )
                _unused(found.room)  # (a write ended it: its reserve was never written)
        elif not _guardable(param.cached) and same_bytes(found.cached, param.cached):
            # (a copy is shared only where a guard cannot be made instead) A comparison is
            # a pass a guard would spare too, a read where a copy reads and writes: it
            # counts half toward loading the guards. (Counted whole, a first call's time
            # loop comparing its inputs hundreds of times, jacobi_2d's 200 MB, loaded them
            # within that call: LLVM's start, holding the GIL half the time, doubled it.)
            _count_copy(param.cached.nbytes // 2)
            return found
    flat = param.cached
    frame = None
    if _unarmed:
        frame = user_frame()
        if not within(frame, _statement[0]):
            _arm_alive()  # (another statement's, which raised before its store)
    if flat.flags.c_contiguous and flat.nbytes >= min(MIN_BYTES, UNARMED_MIN_BYTES):
        found = stores_at_once(frame if frame is not None else user_frame())
        if found is not None:
            _statement[0] = found
            return _unarmed_over(param)
    guarded = _guarded(param)
    if guarded is not None:
        return guarded
    found = param._snapshot = Param(param.cached.copy(), param.type)
    _COPIED_FOR[found] = weakref.ref(param)
    count_snapshot(guarded=False)
    _count_copy(param.cached.nbytes)
    return found


# Each copied snapshot's borrowed Param, weakly: the copy is also the buffer of the array a
# `copy()` of the user's array made, and a buffer handed to the user later is that Param's
# snapshot no longer (`copied_for`).
_COPIED_FOR: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def copied_for(node) -> Param | None:
    """The borrowed Param whose last snapshot is the copy `node` (held by its `_snapshot`,
    a reference that reads nothing), else None."""
    owner = _COPIED_FOR.get(node) if type(node) is Param else None
    owner = owner() if owner is not None else None
    return owner if owner is not None and owner._snapshot is node else None


def settle(param: Param) -> None:
    """Daybreak is about to write the borrowed `param` in place (`Param.written`): its last
    snapshot is filled now (a program writing the buffer must not read it through the
    snapshot; a parked guard is released), and lazy values made from now on read a new one."""
    found = param._snapshot
    kind = type(found)
    if kind is weakref.ReferenceType:
        found = found()
        if found is not None:
            found.settle()
    elif kind is _Parked:
        found.end()
    param._snapshot = None


def guarded_and_read(param: Param) -> GuardedSnapshot | None:
    """The guarded snapshot a lazy value still reads for the borrowed `param` (taken while
    the buffer held what it holds), else None: daybreak's write into the buffer now copies
    it into the snapshot's reserve first (`settle`); computing the readers first spares
    that copy, since a snapshot nothing reads any more is only parked."""
    found = param._snapshot
    if type(found) is weakref.ReferenceType:
        found = found()
        if found is not None and (found._index >= 0 or found._index == UNARMED):
            return found
    return None


def intact(snapshot: GuardedSnapshot) -> bool:
    """Whether the buffer still holds what it held when `snapshot` was taken (nothing copied
    into its reserve yet): a program may read the buffer itself."""
    index = snapshot._index
    return index == UNARMED or (index >= 0 and bool(_guards[0].intact(index)))


def give_up(snapshot: GuardedSnapshot, param: Param) -> None:
    """End the guard of `snapshot`, a snapshot of the borrowed `param`, WITHOUT filling its
    reserve: the caller has proved that nothing will read the snapshot again (its only
    readers are a pending value that dies unread once a program has written the buffer in
    place, `assignment._in_place_over_snapshot`). The reserve stays inaccessible; the
    snapshot is inert from now on (its `__del__` does nothing)."""
    if snapshot._index == UNARMED:
        with _arming:
            if snapshot._index == UNARMED:
                snapshot._index = -1
                snapshot.cached = snapshot.source = None  # (inert: nothing reads it again)
                if type(param._snapshot) is weakref.ReferenceType and param._snapshot() is snapshot:
                    param._snapshot = None
                return
    index, serial = snapshot._index, snapshot._serial
    snapshot._index = -1
    # (its reserve was never filled and stays inaccessible: a read, which the proof rules
    # out, fails in Python rather than faulting)
    snapshot.cached = snapshot.source = None
    _live.pop(serial, None)
    if type(param._snapshot) is weakref.ReferenceType and param._snapshot() is snapshot:
        param._snapshot = None
    _guards[0].release(index, serial)


def _unarmed_over(param: Param) -> GuardedSnapshot:
    """The snapshot of the borrowed `param` for a statement that stores its value before
    anything but daybreak runs: the buffer itself, with no guard yet (`UNARMED`)."""
    flat = param.cached
    snap = GuardedSnapshot.__new__(GuardedSnapshot)
    snap.inputs, snap.cached, snap.weight, snap._signature = (), flat, 1, _UNSET
    snap.type, snap.source, snap.borrowed = param.type, flat, False
    snap.key = ("unarmed", id(snap))
    snap._snapshot = None
    snap._user, snap._index, snap._serial, snap._map = flat, UNARMED, 0, None
    snap._owner, snap._self = weakref.ref(param), weakref.ref(snap)
    param._snapshot = snap._self
    _unarmed.append(snap._self)
    return snap


def unarmed_pending() -> bool:
    """Whether unarmed snapshots await their statement's store."""
    return bool(_unarmed)


def statement_stored() -> None:
    """The statement the unarmed snapshots were made in stored its value (`setitem`, at its
    end, after dropping what a temporary value read): a snapshot still read now (by the
    array stored into, a pending blend of the value) is guarded, or copied; the others died
    unguarded."""
    _arm_alive()


def _arm_alive() -> None:
    with _arming:
        found = [ref() for ref in _unarmed]
        _unarmed.clear()
        _statement[0] = (None, None, 0, -1)
        for snap in found:
            if snap is not None and snap._index == UNARMED:
                _arm(snap)


# Arming (or copying) an unarmed snapshot, one thread at a time: a guard's system call lets
# go of the GIL, and two threads arming one snapshot made two guards over its buffer, one
# of them left with a reserve nobody held (a write into the buffer then faulted inside the
# handler: found by four threads running time steps over one shared array).
_arming = threading.Lock()


def _arm(snap: GuardedSnapshot) -> None:
    """Guard the unarmed `snap` from now on (as `_guarded` guards a new one), or copy the
    buffer into it where no guard can be had."""
    made = _protect(snap._user)
    if made is None:
        _copy_instead(snap)
        return
    room, index, serial, offset = made
    snap.cached = snap.source = _reserve_view(snap._user, room, offset)
    snap._index, snap._serial, snap._map = index, serial, room
    _live[serial] = snap._self
    count_guarded_snapshot()


def _copy_instead(snap: GuardedSnapshot) -> None:
    """The unarmed `snap` as a copy of its buffer (no guard: nothing to release later)."""
    snap.cached = snap.source = snap._user.copy()
    snap._index = -1
    count_snapshot(guarded=False)


def run_value(node):
    """A leaf's value for a program run now (`cached`, or a guarded snapshot's `lend`)."""
    if type(node) is GuardedSnapshot:
        return node.lend()
    return node.cached


def unalias(values: list) -> list:
    """`values` computed by a run that read user buffers in place, none of them a view of
    those buffers (a view is copied): what the user writes later must not change them."""
    if _lent:
        lent = tuple(_lent)
        _lent.clear()
        for k, value in enumerate(values):
            if isinstance(value, np.ndarray) and any(np.may_share_memory(value, u) for u in lent):
                values[k] = value.copy()
    return values


def stats() -> dict:
    """The guards' counters (faults handled, buffers copied, ...), for db.stats()."""
    found = _guards[0]
    out = found.counters() if found is not None else {}
    out["live"], out["parked"] = sum(r() is not None for r in _live.values()), len(_parked)
    if _state["failed"]:
        out["unavailable"] = _state["failed"]
    return out


@atexit.register
def _release_all() -> None:
    """At exit, every guard filled and released: nothing may fault once the handler's code
    is gone with the engine."""
    found = _guards[0]
    if found is None:
        return
    for ref in list(_live.values()):
        snap = ref()
        index = snap._index if snap is not None else -1
        if index >= 0:
            snap._index = -1
            found.detach(index)
            found.release(index, snap._serial)
    for parked in list(_parked.values()):
        parked.end()


__all__ = [
    "GuardedSnapshot",
    "load_now",
    "run_value",
    "copies_now",
    "start_loading",
    "stats",
    "use_background",
    "take",
    "unalias",
    "use_write_guards",
]
