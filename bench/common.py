"""Timing helpers shared by the benchmarks: best-of-N wall time, in one process run."""

from __future__ import annotations

import os
import platform
import time


def best_of(fn, repeat: int = 5, warmup: int = 1) -> float:
    """The fastest of `repeat` timed calls (after `warmup` untimed ones), in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def table(rows: list[tuple], header: tuple) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
