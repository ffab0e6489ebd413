"""The write guards (`backends/llvm/write_guard.py`) on their own: a guarded buffer's reserve
holds what the buffer held when it was guarded, whoever writes the buffer afterwards (NumPy,
another thread, a write into a partly covered first or last page), and however guards over
the same pages overlap; faults that are not a guard's still end the process as before."""

from __future__ import annotations

import itertools
import mmap
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daybreak.backends.llvm import write_guard, write_guards

pytestmark = pytest.mark.skipif(not write_guard.AVAILABLE, reason="no write guards here")
PAGE = write_guard.PAGE
SERIALS = itertools.count(1 << 40)  # (snapshots.py numbers its guards from 1)


@pytest.fixture(scope="module")
def guards():
    return write_guards()


class Guard:
    """One guard over `buffer`, with its reserve (as `snapshots._guarded` makes them)."""

    def __init__(self, guards, buffer: np.ndarray):
        self.guards, self.buffer = guards, buffer
        start = buffer.__array_interface__["data"][0]
        offset = start % PAGE
        self.room = mmap.mmap(
            -1, offset + buffer.nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
        )
        self.reserve = np.frombuffer(
            self.room, dtype=buffer.dtype, count=buffer.size, offset=offset
        )
        self.serial = next(SERIALS)
        self.index = guards.protect(
            start, buffer.nbytes, self.reserve.__array_interface__["data"][0], self.serial, 0
        )
        assert self.index >= 0

    def release(self):
        self.guards.detach(self.index)
        self.guards.release(self.index, self.serial)


def test_a_write_copies_the_buffer_first(guards):
    u = np.arange(100_000.0)
    before = u.copy()
    g = Guard(guards, u)
    assert guards.intact(g.index)
    counts = guards.counters()
    u[50_000] = -1.0  # a whole page: protected
    assert u[50_000] == -1.0
    assert not guards.intact(g.index)
    np.testing.assert_array_equal(g.reserve, before)
    assert guards.counters()["copies"] == counts["copies"] + 1
    g.release()
    u[60_000] = -2.0  # writable again, no copy
    assert guards.counters()["copies"] == counts["copies"] + 1


def test_reading_the_reserve_first_copies_it(guards):
    u = np.arange(100_000.0)
    g = Guard(guards, u)
    np.testing.assert_array_equal(g.reserve, u)  # the read faults and fills the reserve
    assert not guards.intact(g.index)  # (copied: programs read the reserve from now on)
    u[:] = 0.0
    assert g.reserve[12345] == 12345.0
    g.release()


@pytest.mark.parametrize("where", [0, 1, -1, -2])
def test_a_write_into_a_partly_covered_page_is_seen(guards, where):
    base = np.arange(120_000.0)
    u = base[3:-5]  # starts and ends inside pages other objects may share
    before = u.copy()
    g = Guard(guards, u)
    u[where] = 99.0  # (not protected: the comparison of those pages sees it)
    assert not guards.intact(g.index)
    guards.detach(g.index)
    np.testing.assert_array_equal(g.reserve, before)
    g.release()


def test_overlapping_guards_each_keep_their_snapshot(guards):
    base = np.arange(200_000.0)
    a, b = base[:150_000], base[50_000:]
    g1 = Guard(guards, a)
    a_before, b_before = a.copy(), b.copy()
    g2 = Guard(guards, b)
    g1_index = g1.index
    guards.release(g1_index, g1.serial)  # released while g2 still covers its pages: STALE
    base[100_000] = -5.0  # inside both: g2 copies, the pages become writable
    np.testing.assert_array_equal(g2.reserve, b_before)
    base[10_000] = -6.0  # only the released guard's pages: no copy, no crash
    assert base[10_000] == -6.0
    g2.release()
    del a_before


def test_writes_from_another_thread(guards):
    u = np.arange(300_000.0)
    before = u.copy()
    g = Guard(guards, u)

    def write():
        u[100_000:200_000] = 1.0

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(g.reserve, before)
    assert (u[100_000:200_000] == 1.0).all()
    g.release()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 60_000), st.integers(1, 60_000)), min_size=1, max_size=5),
    st.lists(st.integers(0, 119_999), max_size=6),
    st.integers(0, 4),
)
def test_random_guards_and_writes(guards, spans, writes, released):
    """Guards over random (overlapping) spans of one buffer, some released, then random
    writes: every live guard's reserve holds what its span held when it was made."""
    base = np.arange(120_000.0)
    made = []
    for start, length in spans:
        part = base[start : start + length]
        if part.nbytes < 2 * PAGE:
            continue
        made.append((Guard(guards, part), part.copy()))
    for g, _ in made[:released]:
        g.release()
    for k in writes:
        base[k] = -1.0
    for g, before in made[released:]:
        guards.detach(g.index)
        np.testing.assert_array_equal(g.reserve, before)
        g.release()


def test_other_faults_still_end_the_process():
    """A segmentation fault that is no guard's reaches the handler installed before (here
    Python's faulthandler, which prints the stack) and ends the process."""
    script = textwrap.dedent(
        """
        import faulthandler, ctypes, numpy as np
        faulthandler.enable()
        from daybreak.backends.llvm import write_guards
        import test_llvm_write_guard as t
        g = write_guards()
        u = np.arange(100_000.0)
        keep = t.Guard(g, u)
        u[50_000] = 1.0  # a guard's fault: handled
        print("handled", flush=True)
        ctypes.string_at(8)  # not a guard's
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=__file__.rsplit("/", 1)[0],
    )
    assert "handled" in done.stdout
    assert done.returncode != 0
    assert "Segmentation fault" in done.stderr


def test_a_parked_guard_is_revived_while_unwritten_and_ends_on_a_write(guards):
    u = np.arange(100_000.0)
    g = Guard(guards, u)
    assert guards.park(g.index)  # nothing reads it: pages stay protected, nothing copies
    assert guards.revive(g.index, g.serial)  # unwritten: a snapshot again, no system call
    before = u.copy()
    u[50_000] = 1.0  # protected again: copied first
    np.testing.assert_array_equal(g.reserve, before)
    g.release()

    h = Guard(guards, u)
    copies = guards.counters()["copies"]
    assert guards.park(h.index)
    u[60_000] = 2.0  # parked: the page becomes writable, nothing is copied
    assert guards.counters()["copies"] == copies
    assert not guards.revive(h.index, h.serial)  # ended by the write
    assert guards.release(h.index, h.serial) == 0  # (its slot is free: a no-op)
    u[70_000] = 3.0  # still writable
    assert guards.counters()["copies"] == copies


def test_a_stale_serial_touches_nothing(guards):
    u = np.arange(100_000.0)
    g = Guard(guards, u)
    assert guards.park(g.index)
    u[50_000] = 1.0  # ends the parked guard; its slot is free for the next
    h = Guard(guards, np.arange(100_000.0))
    assert not guards.revive(g.index, g.serial)
    guards.release(g.index, g.serial)  # the old serial: h's guard stays
    assert guards.intact(h.index)
    h.release()
