"""runtime/memory.py: the allocator settings daybreak applies to its process (glibc), and the
switch that leaves them alone. Each check runs in a fresh interpreter: mallopt settings are
process-wide and cannot be read back, so the test reads what `tune_allocator` reports and
what a freed heap block does afterwards (it stays mapped for reuse)."""

import os
import subprocess
import sys

import pytest

import daybreak  # noqa: F401 - importing daybreak applies the settings in this process
from daybreak.runtime import memory

LINUX_GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION") is not None

# Allocates and frees a 1 MB block twice and prints how many minor page faults the second
# allocation (touching every page) caused: with the heap kept, almost none.
_PROBE = r"""
import resource, sys
{setup}
import numpy as np
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    a = np.ones(1 << 17); b = np.ones(1 << 17); del a, b
before = faults()
for _ in range(50):
    a = np.ones(1 << 17); b = np.ones(1 << 17); del a, b
print(faults() - before)
"""


def _faults(setup: str, env: dict) -> int:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(setup=setup)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


@pytest.mark.skipif(not LINUX_GLIBC, reason="the settings are glibc's")
def test_daybreak_keeps_freed_heap_for_reuse():
    assert memory.tuned
    env = dict(os.environ, DAYBREAK_MALLOC_TUNING="1")
    tuned = _faults("import daybreak", env)
    plain = _faults("", env)
    # 50 rounds of two 1 MB arrays: 256 pages each time with glibc's defaults, ~0 kept
    assert tuned < 200 <= plain, (tuned, plain)


@pytest.mark.skipif(not LINUX_GLIBC, reason="the settings are glibc's")
def test_the_switch_leaves_the_allocator_alone():
    env = dict(os.environ, DAYBREAK_MALLOC_TUNING="0")
    out = subprocess.run(
        [sys.executable, "-c", "import daybreak.runtime.memory as m, daybreak; print(m.tuned)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(not LINUX_GLIBC, reason="the settings are glibc's")
def test_the_free_heap_kept_follows_the_runs():
    """After a native run that allocated N bytes, up to 2N of free heap stays mapped (never
    less than the floor, never more than mallopt's int): the next run of that size reuses
    it instead of faulting fresh pages in."""
    script = r"""
import daybreak
from daybreak.runtime import memory
floor = memory._retained[0]
memory.retain(100 << 20)
small = memory._retained[0]
memory.retain(300 << 20)
grown = memory._retained[0]
memory.retain(1 << 40)
print(floor, small, grown, memory._retained[0])
"""
    env = dict(os.environ, DAYBREAK_MALLOC_TUNING="1")
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    floor, small, grown, most = map(int, out.stdout.split())
    assert floor == small == memory.RETAIN_FLOOR  # 2 x 100 MB is below the floor
    assert grown >= 600 << 20 or grown == memory._CEILING
    assert most <= (1 << 31) - 1


def test_native_runs_report_what_they_allocated(monkeypatch):
    import numpy as np

    from daybreak.backends.llvm import executable

    seen = []
    monkeypatch.setattr(executable, "retain", seen.append)
    f = daybreak.compile("|v: vec[f64]| result(for(v, appender[f64], |b, i, x| merge(b, x)))")
    f(np.ones(1000))
    assert seen and seen[-1] >= 8000
