"""Counters of what daybreak did: compile time, cache hits and misses, run time, bytes in and
out, and every fallback with its reason.

>>> import daybreak as db
>>> sorted(db.stats())[:4]
['bytes_in', 'bytes_out', 'cache_disk_hits', 'cache_hits']
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import asdict, dataclass, field

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


def record_fallback(reason: str) -> None:
    with _lock:
        STATS.fallbacks[reason] += 1


def stats(reset: bool = False) -> dict:
    """A snapshot of the counters (and reset them when `reset=True`)."""
    global STATS
    with _lock:
        snapshot = asdict(STATS)
        snapshot["fallbacks"] = dict(STATS.fallbacks)
        if reset:
            STATS = Stats()
    return snapshot
