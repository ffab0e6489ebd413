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


def first_call(make, args) -> tuple[float, object]:
    """Seconds for making a function (`make()`) and calling it once on `args`, and the
    function: what a user waits for the first time (compilation included)."""
    start = time.perf_counter()
    fn = make()
    fn(*args)
    return time.perf_counter() - start, fn


def best_in_rounds(functions: dict, args, repeat: int) -> dict:
    """{name: best seconds} of calling each function on `args`, `repeat` rounds over all of
    them (not all repeats of one, then the next), so that a change in the machine's load
    during the run affects them alike."""
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(repeat):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn(*args)
            best[name] = min(best[name], time.perf_counter() - start)
    return best
