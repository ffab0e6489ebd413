"""Counters of what daybreak did: compile time, cache hits and misses, run time, bytes in and
out, and every fallback with its reason.

>>> import daybreak as db
>>> sorted(db.stats())[:4]
['bytes_in', 'bytes_out', 'cache_disk_hits', 'cache_hits']
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

_lock = threading.Lock()


@dataclass
class Stats:
    compiles: int = 0  # programs compiled by LLVM (cache misses)
    compile_seconds: float = 0.0
    cache_hits: int = 0  # served from the in-memory cache
    cache_disk_hits: int = 0  # served from the on-disk cache (no LLVM optimisation/codegen)
    cache_misses: int = 0
    cache_rebuilt: int = 0  # corrupt or stale disk entries detected and rebuilt
    runs: int = 0
    scheduler_hits: int = 0  # compiled programs found by their graph's structure (no rebuild)
    written_in_place: int = 0  # runs that wrote their result into the array's region itself
    statements_replayed: int = 0  # statements run as their program again, calls not recorded
    statements_at_once: int = 0  # statements whose calls ran as NumPy's own, unasked (`replay`)
    handed_over: int = 0  # arrays a hot loop reads by element, rebound there to NumPy's own
    library_runs: int = 0  # graphs the scheduler ran in the real library (tier 0)
    snapshots_guarded: int = 0  # snapshots of the user's memory held by a write guard
    snapshots_copied: int = 0  # snapshots of the user's memory copied when made
    run_seconds: float = 0.0
    bytes_in: int = 0
    bytes_out: int = 0
    fallbacks: Counter = field(default_factory=Counter)  # reason -> count


STATS = Stats()


def record(**deltas) -> None:
    """Add to counters: `record(runs=1, run_seconds=0.2)`."""
    with _lock:
        for name, delta in deltas.items():
            setattr(STATS, name, getattr(STATS, name) + delta)


def count_library_run() -> None:
    """`record(library_runs=1)`, without the keywords (a Python loop of calls computed at
    once counts one per call)."""
    with _lock:
        STATS.library_runs += 1


def count_at_once(calls: int) -> None:
    """A statement run at once (`frontends/numpy/replay.py`): its `calls` ran in the
    library (NumPy's own)."""
    with _lock:
        STATS.statements_at_once += 1
        STATS.library_runs += calls


def count_scheduler_hit() -> None:
    """`record(scheduler_hits=1)`: a cached native run."""
    with _lock:
        STATS.scheduler_hits += 1


def count_replayed(written: bool) -> None:
    """A statement replayed (`frontends/numpy/replay.py`): a cached native run, written into
    the array's region itself (`written`) or not."""
    with _lock:
        STATS.statements_replayed += 1
        STATS.scheduler_hits += 1
        STATS.written_in_place += written


def count_snapshot(guarded: bool) -> None:
    """`record(snapshots_guarded=1)` or `record(snapshots_copied=1)`."""
    with _lock:
        if guarded:
            STATS.snapshots_guarded += 1
        else:
            STATS.snapshots_copied += 1


def count_guarded_snapshot() -> None:
    """`count_snapshot(guarded=True)` without the keyword (a Python loop reading the user's
    array takes a snapshot per call)."""
    with _lock:
        STATS.snapshots_guarded += 1


def payload_bytes(value) -> int:
    """The bytes of data in a value crossing the native boundary: array buffers and scalars,
    summed through tuples, lists and dicts. A long Python list is estimated from its first
    `_EXACT_ITEMS` items, so counting never costs as much as the run.

    >>> import numpy as np
    >>> payload_bytes((np.zeros(4), [np.zeros(2, np.int8)], 3))
    42
    """
    if hasattr(value, "nbytes"):  # NumPy arrays and scalars, pyarrow arrays
        return int(value.nbytes)
    if isinstance(value, dict):
        return payload_bytes(list(value.keys())) + payload_bytes(list(value.values()))
    if isinstance(value, tuple | list):
        head = value[:_EXACT_ITEMS]
        counted = sum(payload_bytes(item) for item in head)
        return counted if len(value) <= _EXACT_ITEMS else counted * len(value) // len(head)
    if isinstance(value, bool | int | float):
        return 8
    if isinstance(value, bytes | str):
        return len(value)
    return 0


_EXACT_ITEMS = 4096


def record_run(seconds: float, args, result, bytes_in: int = 0, bytes_out: int = -1) -> None:
    """Count one run of a compiled program: its time and the bytes in and out (arrays and
    scalars counted without the general walk: a Python loop runs programs thousands of
    times; `bytes_in`: those of arguments counted before, not in `args`; `bytes_out`: those
    of a result written elsewhere, counted instead of `result`'s)."""
    for a in args:
        kind = type(a)
        bytes_in += (
            a.nbytes
            if kind is np.ndarray
            else 8
            if kind is float or kind is int
            else payload_bytes(a)
        )
    kind = type(result)
    if bytes_out < 0:
        bytes_out = (
            result.nbytes
            if kind is np.ndarray
            else 8
            if kind is float or kind is int
            else payload_bytes(result)
        )
    with _lock:
        STATS.runs += 1
        STATS.run_seconds += seconds
        STATS.bytes_in += bytes_in
        STATS.bytes_out += bytes_out


FALLBACK_LOG = logging.getLogger("daybreak.fallback")


def record_fallback(reason: str) -> None:
    """Count a fallback (the real library, or the interpreter, did the work) and log it on
    the `daybreak.fallback` logger, at INFO, so that a user can see each one as it happens:
    `logging.getLogger("daybreak.fallback").setLevel(logging.INFO)` with a handler."""
    with _lock:
        STATS.fallbacks[reason] += 1
    FALLBACK_LOG.info("fallback: %s", reason)


def stats(reset: bool = False) -> dict:
    """A snapshot of the counters (and reset them when `reset=True`)."""
    global STATS
    with _lock:
        snapshot = asdict(STATS)
        snapshot["fallbacks"] = dict(STATS.fallbacks)
        if reset:
            STATS = Stats()
    return snapshot
