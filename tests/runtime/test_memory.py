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
