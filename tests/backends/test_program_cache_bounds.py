"""Compiling many distinct programs: the in-memory caches keep the most recently used ones,
machine code nobody holds is freed, and an executable dropped from the cache still runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import daybreak as db
from daybreak import api
from daybreak.backends import get_backend
from daybreak.backends.llvm import jit

PROGRAM = "|x: vec[f64]| result(for(x, merger[f64,+], |b, i, e| merge(b, e * {}.0)))"
X = np.arange(10.0)  # each program k sums to 45 * k


@pytest.fixture
def small_caches(monkeypatch):
    backend = get_backend("llvm")
    monkeypatch.setattr(backend._compiled, "capacity", 8)
    monkeypatch.setattr(api._optimized_programs, "capacity", 8)
    monkeypatch.setattr(jit, "GENERATION_SIZE", 4)
    return backend


def test_memory_caches_keep_the_most_recent_programs(small_caches):
    for k in range(1000, 1040):
        db.compile(PROGRAM.format(k), backend="llvm")
    assert len(small_caches._compiled) == 8
    assert len(api._optimized_programs) <= 8
    recent = db.compile(PROGRAM.format(1039), backend="llvm")
    assert db.compile(PROGRAM.format(1039), backend="llvm") is recent  # still a hit


def test_evicted_executable_is_compiled_again(small_caches):
    first = db.compile(PROGRAM.format(2000), backend="llvm")
    for k in range(2001, 2040):
        db.compile(PROGRAM.format(k), backend="llvm")
    again = db.compile(PROGRAM.format(2000), backend="llvm")
    assert again is not first
    assert again(X) == first(X) == 45.0 * 2000


# In a new process: the resident memory of a process that keeps compiling new programs stops
# growing, the engines of programs nobody holds are disposed, and a program held by the user
# through all that still runs. LLVM's optimiser is switched off there: llvmlite's new pass
# manager leaks ~85 KB per run (each PassBuilder allocates PassInstrumentationCallbacks that
# are never deleted), which no caching of ours can give back.
CHILD = textwrap.dedent(
    """
    import gc, numpy as np, daybreak as db
    from daybreak import api
    from daybreak.backends import get_backend
    from daybreak.backends.llvm import jit

    jit.optimize = lambda module, speed_level=3: None
    backend = get_backend("llvm")
    backend._compiled.capacity = 16
    api._optimized_programs.capacity = 16
    jit.GENERATION_SIZE = 4
    PROGRAM = {program!r}
    x = np.arange(10.0)

    def resident_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 1e6

    def compile_and_run(k):
        assert db.compile(PROGRAM.format(k), backend="llvm")(x) == 45.0 * k

    held = db.compile(PROGRAM.format(1), backend="llvm")
    for k in range(2, 200):
        compile_and_run(k)
    gc.collect()
    before = resident_mb()
    for k in range(200, 800):
        compile_and_run(k)
    gc.collect()
    grown = resident_mb() - before
    print(grown, jit.live_engines(), len(backend._compiled), held(x))
    """
)


def test_many_programs_bounded_memory_and_held_program_runs():
    env = {**os.environ, "DAYBREAK_CACHE": "0"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(program=PROGRAM)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    grown_mb, engines, cached, held_result = done.stdout.split()
    assert float(held_result) == 45.0  # its engine outlived 200 evictions
    assert int(cached) == 16
    # the cached programs' engines (16 / 4), the held program's, the current one
    assert int(engines) <= 16 // 4 + 2
    # 600 more programs: ~35 MB when nothing is freed; bounded, only noise is left
    assert float(grown_mb) < 12.0
