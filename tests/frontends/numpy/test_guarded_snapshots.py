"""Snapshots of the user's memory held by write guards (`frontends/snapshots.py`), seen from
daybreak.numpy: lazy values share one guarded snapshot that nothing copies until the user
writes the array while one of them is pending, and a loop's next call revives the guard its
last call parked. (test_aliasing.py runs NumPy's aliasing rules with guards and with copies.)"""

from __future__ import annotations

import subprocess
import sys

import numpy
import pytest

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends import scheduler, snapshots

pytestmark = pytest.mark.usefixtures("guarded_snapshots")
DEFAULT_MIN_BYTES = snapshots.MIN_BYTES  # (before the fixture guards every buffer)


@pytest.mark.parametrize("nbytes", [1 << 17, 1 << 20])
def test_buffers_under_min_bytes_are_copied_larger_ones_guarded(monkeypatch, nbytes):
    """At the default threshold a snapshot of a buffer under `MIN_BYTES` is a copy (a guard
    and its release cost what copying 512 KB does), a larger one a guard; both keep the
    values the user's array held when the lazy value was made."""
    monkeypatch.setattr(snapshots, "MIN_BYTES", DEFAULT_MIN_BYTES)
    u = numpy.linspace(0.0, 1.0, nbytes // 8)
    x = dnp.asarray(u)
    before = db.stats()
    y = x * 2.0
    u[5] = -1.0
    after = db.stats()
    copied = after["snapshots_copied"] - before["snapshots_copied"]
    guarded = after["snapshots_guarded"] - before["snapshots_guarded"]
    assert (copied, guarded) == ((1, 0) if nbytes == 1 << 17 else (0, 1))
    numpy.testing.assert_array_equal(numpy.asarray(y), numpy.linspace(0.0, 1.0, nbytes // 8) * 2)


def test_a_guarded_snapshot_is_copied_only_when_the_user_writes():
    """With write guards, lazy values over the user's array share one snapshot that nothing
    copies until the user writes the array while one of them is pending."""
    u = numpy.linspace(0.0, 1.0, 100_000)
    x = dnp.asarray(u)
    before, copies = db.stats(), snapshots.stats()["copies"]
    y1, y2 = x * 2.0, x + 1.0
    after = db.stats()
    assert after["snapshots_guarded"] - before["snapshots_guarded"] == 1
    assert after["snapshots_copied"] == before["snapshots_copied"]
    numpy.testing.assert_array_equal(numpy.asarray(y1), u * 2.0)
    numpy.testing.assert_array_equal(numpy.asarray(y2), u + 1.0)
    del y1, y2
    u[50_000] = 7.0  # nothing pending reads u: no copy
    assert snapshots.stats()["copies"] == copies
    z = x * 3.0
    u[50_000] = 9.0  # z is pending: u is copied first
    assert snapshots.stats()["copies"] == copies + 1
    assert numpy.asarray(z)[50_000] == 21.0
    assert float(x[50_000]) == 9.0


def test_a_copy_of_the_users_memory_gets_a_buffer_of_its_own_when_needed():
    """`th = u.copy()` then `th` read and written (level_loop's): the copy, needed while the
    guard finds `u` unwritten, is NumPy's copy of `u` (the guard's reserve is not filled: a
    fresh mapping's every page faulted in, ~4x NumPy's copy), written in place after; `u`
    and a value made from it before keep their own, and so does the copy under `u`'s
    later writes."""
    u = numpy.linspace(0.0, 1.0, 200_000).reshape(400, 500)
    want_u = u.copy()
    x = dnp.asarray(u)
    copies = snapshots.stats()["copies"]
    th = x.copy()
    before = x * 2.0  # (another reader of the snapshot)
    assert float(th[3, 4]) == want_u[3, 4]
    for k in range(1, 400):
        th[k] = dnp.where(th[k] < th[k - 1], th[k - 1], th[k])
    assert snapshots.stats()["copies"] == copies
    want = want_u.copy()
    for k in range(1, 400):
        want[k] = numpy.where(want[k] < want[k - 1], want[k - 1], want[k])
    numpy.testing.assert_array_equal(numpy.asarray(th), want)
    numpy.testing.assert_array_equal(u, want_u)  # the user's array untouched
    u[7] = -1.0  # a value made before still reads the snapshot; the copy keeps its own
    numpy.testing.assert_array_equal(numpy.asarray(before), want_u * 2.0)
    numpy.testing.assert_array_equal(numpy.asarray(th), want)


def test_the_next_call_revives_a_parked_guard():
    """A loop reading the user's array every call: once a call's values are computed its
    guard is parked (pages still protected, no reader), and the next call's snapshot revives
    it; a write while parked ends it without a copy."""
    u = numpy.linspace(0.0, 1.0, 100_000)
    x = dnp.asarray(u)
    for _ in range(3):
        # (not inside the assert: pytest keeps an assert's parts in locals, which a read of
        # the frame's names, `frame.f_locals`, holds until the next one on 3.11-3.12)
        got = float((x * 2.0).sum())
        assert got == float((u * 2.0).sum())
        assert snapshots.stats()["parked"] >= 1
    copies = snapshots.stats()["copies"]
    u[50_000] = 5.0  # parked: no copy
    assert snapshots.stats()["copies"] == copies
    assert float((x * 2.0).sum()) == float((u * 2.0).sum())
    y = x * 3.0
    u[50_000] = 6.0  # y is pending: copied first
    assert snapshots.stats()["copies"] == copies + 1
    assert numpy.asarray(y)[50_000] == 15.0


def test_an_in_place_call_on_the_users_memory_settles_its_snapshot_before_writing():
    """`u[1:, :] -= v` on the user's guarded array: the snapshot is settled before NumPy's
    ufunc writes (no fault), a lazy value made before the write keeps the old values (its
    snapshot was filled), one made after reads the new ones, and the user's own array
    holds NumPy's answer."""
    rng = numpy.random.default_rng(3)
    u, h = rng.random((200, 300)), rng.random((200, 300))
    old, expected = u.copy(), u.copy()
    expected[1:, :] -= 0.5 * (h[1:, :] - h[:-1, :])
    x, hz = dnp.asarray(u), dnp.asarray(h)
    pending = x * 2.0  # reads u's guarded snapshot
    assert db.stats()["snapshots_guarded"] >= 1
    faults = snapshots.stats()["faults"]
    x[1:, :] -= 0.5 * (hz[1:, :] - hz[:-1, :])
    assert snapshots.stats()["faults"] == faults  # settled first: the write did not fault
    numpy.testing.assert_array_equal(u, expected)
    numpy.testing.assert_array_equal(numpy.asarray(pending), old * 2.0)
    numpy.testing.assert_array_equal(numpy.asarray(x * 2.0), expected * 2.0)
    for _ in range(3):  # a time loop: the guard parked by the last step, written again
        hz * 1.0  # (a lazy value over hz, dropped: its guard parks)
        faults = snapshots.stats()["faults"]
        x[1:, :] -= 0.5 * (hz[1:, :] - hz[:-1, :])
        expected[1:, :] -= 0.5 * (h[1:, :] - h[:-1, :])
        assert snapshots.stats()["faults"] == faults
    numpy.testing.assert_array_equal(u, expected)


def test_a_write_of_a_value_read_from_its_target_copies_no_snapshot():
    """`u[r] = f(u)` on the user's guarded array, `f(u)` pending: the value is computed
    first (into a buffer of its own), after which its snapshot of `u` is unread, so the
    write copies nothing into a reserve — in the library's runs and in native ones. A
    value made before the write and still pending keeps the old values (that one copy)."""
    rng = numpy.random.default_rng(5)
    u, h = rng.random((300, 400)), rng.random((300, 400))
    expected = u.copy()
    x, hz = dnp.asarray(u), dnp.asarray(h)
    copies, runs = snapshots.stats()["copies"], db.stats()["runs"]
    for _ in range(4):  # the first runs in the library, later ones natively
        x[1:, :] = numpy.float64(0.5) * x[1:, :] + 0.25 * (hz[1:, :] - hz[:-1, :])
        expected[1:, :] = 0.5 * expected[1:, :] + 0.25 * (h[1:, :] - h[:-1, :])
        scheduler.wait_for_compiles()
    numpy.testing.assert_allclose(u, expected, rtol=1e-14)
    assert db.stats()["runs"] > runs  # native runs among them
    assert snapshots.stats()["copies"] == copies
    old = u.copy()
    pending = x * 2.0  # a second reader of u's snapshot
    x[1:, :] = 0.5 * x[1:, :] + 1.0
    assert snapshots.stats()["copies"] == copies + 1
    numpy.testing.assert_array_equal(numpy.asarray(pending), old * 2.0)


def _native_steps(monkeypatch):
    """Structures compile at their first run (no payback to wait for)."""
    monkeypatch.setattr(scheduler, "PAYBACK", 0.0)


def test_a_value_reading_its_target_only_where_it_writes_is_written_in_place(monkeypatch):
    """`x[r] = f(x[r], ...)` on the user's guarded array, `f`'s value a temporary that reads
    the snapshot only at the elements it writes and nothing else reads it: once native, the
    program reads the user's buffer and writes the region in place, and the guard ends
    without a copy (`elements.sole_reader`); NumPy's values, step after step."""
    _native_steps(monkeypatch)
    rng = numpy.random.default_rng(7)
    u, h = rng.random((300, 400)), rng.random((300, 400))
    expected = u.copy()
    x, hz = dnp.asarray(u), dnp.asarray(h)
    copies, written = snapshots.stats()["copies"], db.stats()["written_in_place"]
    for _ in range(5):
        x[1:, :] = numpy.float64(0.5) * x[1:, :] + 0.25 * (hz[1:, :] - hz[:-1, :])
        expected[1:, :] = 0.5 * expected[1:, :] + 0.25 * (h[1:, :] - h[:-1, :])
        scheduler.wait_for_compiles()
    numpy.testing.assert_array_equal(u, expected)
    assert db.stats()["written_in_place"] - written >= 3
    assert snapshots.stats()["copies"] == copies


# Writes whose value must not be written in place over its own snapshot: each reads the old
# values somewhere else than where it writes, or something else keeps reading them. `keep`
# names what the script holds after the write, compared with NumPy's.
_NOT_IN_PLACE = {
    "shifted": "x[1:] = x[:-1] * 0.5 + 1.0",
    "broadcast row": "x[:] = x[0:1] + x",
    "reduction of x": "x[:] = x - x.mean()",
    "value kept": "v = x[1:] * 2.0 + 1.0\nx[1:] = v",
    "part kept": "t = x[1:] * 2.0\nx[1:] = t + 1.0",
    "another reader": "p = x * 3.0\nx[:] = x * 2.0 + 1.0",
    "transposed": "x[:] = x.T * 0.5 + x",
}


@pytest.mark.parametrize("name", sorted(_NOT_IN_PLACE))
def test_a_write_reading_its_target_elsewhere_keeps_numpys_values(name, monkeypatch):
    _native_steps(monkeypatch)
    script = _NOT_IN_PLACE[name]
    rng = numpy.random.default_rng(8)
    u = rng.random((300, 300))
    mine = u.copy()
    theirs = {"x": dnp.asarray(mine), "np": dnp}
    want = {"x": u, "np": numpy}
    for _ in range(4):  # the first runs in the library, later ones natively
        exec(script, theirs)
        exec(script, want)
        scheduler.wait_for_compiles()
        numpy.testing.assert_allclose(mine, u, rtol=1e-13)
        for kept in ("v", "t", "p"):
            if kept in want:
                numpy.testing.assert_allclose(numpy.asarray(theirs[kept]), want[kept], rtol=1e-13)


def test_floyd_warshalls_step_fuses_its_outer_sum_and_writes_in_place(monkeypatch):
    """`path[:] = np.minimum(path, np.add.outer(path[:, k], path[k, :]))` at a size where
    native code pays: the outer sum is recorded as a broadcast of copies of the row and the
    column, fused into the minimum, and written into `path` in place (no copy of `path`
    into a reserve); the answer is NumPy's, exactly (integers)."""
    _native_steps(monkeypatch)
    n = 560
    assert not scheduler.library_for_good(1, n * n)
    rng = numpy.random.default_rng(9)
    start = rng.integers(1, 50, (n, n)).astype(numpy.int32)
    mine, expected = start.copy(), start.copy()
    path = dnp.asarray(mine)
    copies, written = snapshots.stats()["copies"], db.stats()["written_in_place"]
    for k in range(12):
        path[:] = dnp.minimum(path[:], dnp.add.outer(path[:, k], path[k, :]))
        expected[:] = numpy.minimum(expected, numpy.add.outer(expected[:, k], expected[k, :]))
        scheduler.wait_for_compiles()
    numpy.testing.assert_array_equal(mine, expected)
    assert db.stats()["written_in_place"] - written >= 8
    assert snapshots.stats()["copies"] == copies


# A guard over a page-aligned buffer, released with its reserve kept, then a guard over a
# buffer of another alignment whose reserve has the same size (`snapshots._reserve_offset`).
_OTHER_ALIGNMENT = r"""
import numpy as np, daybreak as db, daybreak.numpy as dnp
from daybreak.frontends import scheduler, sites, snapshots
assert snapshots.load_now() is not None
sites.BIG_CALL = 0  # (cold code records its first calls: the guards are what is tested)
page, n = 4096, 200_000
def at(offset, length):
    u = np.ones(n + 1200)
    start = u.__array_interface__["data"][0]
    k = next(k for k in range(1200) if (start + 8 * k) % page == offset)
    return u, u[k : k + length]
keep_a, a = at(0, n)
keep_b, b = at(16, n - 2)  # 16 bytes less: a reserve of the same size before the fix
x = dnp.asarray(a)
y = x * 2.0
del y  # parked
x[0] = 5.0  # daybreak's write ends the guard; its reserve, never written, is kept
z = dnp.asarray(b) * 3.0  # the next guard, over the other alignment
print(db.stats()["snapshots_guarded"], float(np.asarray(z)[0]), float(np.asarray(x * 1.0)[0]))
"""


def test_a_kept_reserve_serves_a_buffer_of_another_alignment():
    """A released guard's reserve is reused by the next guard of its size; a page-aligned
    buffer's reserve once hid the page where a buffer of another alignment copies its first
    bytes, and the next guard faulted inside the guards' lock: a hang (in a child process,
    with a timeout, so that a regression fails instead of hanging the suite)."""
    out = subprocess.run(
        [sys.executable, "-c", _OTHER_ALIGNMENT],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "3.0", "5.0"]


# Random scripts over views of five arrays (float64, float32, int64; 1-D and 2-D), at three
# alignments and three lengths whose reserves collide in size: lazy values (made lazy at any
# size in half the runs: eager_below=0), reductions and views of them, the user's element
# writes and NumPy ufuncs writing the user's memory, daybreak's slice and in-place writes,
# another daybreak array over overlapping memory written in place; every value compared
# with a NumPy mirror of the same script.
_RANDOM_VIEWS = r"""
import sys
import numpy as np, daybreak as db, daybreak.numpy as dnp
from daybreak.frontends import scheduler, snapshots
assert snapshots.load_now() is not None
snapshots.MIN_BYTES = 0
page, dtypes = 4096, (np.float64, np.float32, np.int64)
for seed in range(int(sys.argv[1])):
    db.config(eager_below=0 if seed % 2 else 65_536)
    rng = np.random.default_rng(seed)
    bases = [np.arange(rng.integers(80_000, 90_000)).astype(dtypes[i % 3]) for i in range(5)]
    mirrors = [b.copy() for b in bases]
    for step in range(120):
        i = rng.integers(len(bases))
        b, mb = bases[i], mirrors[i]
        item, start = b.itemsize, b.__array_interface__["data"][0]
        want = int(rng.choice([0, 16, 2048])) // item * item
        k = next((k for k in range(2000) if (start + item * k) % page == want), 0)
        n = int(rng.choice([70_000, 69_998, 69_744]))
        u, mu = b[k : k + n], mb[k : k + n]
        if rng.integers(2):
            u, mu = u[: n // 100 * 100].reshape(-1, 100), mu[: n // 100 * 100].reshape(-1, 100)
        x = dnp.asarray(u)
        pending = []
        for _ in range(rng.integers(1, 6)):
            op = int(rng.integers(12))
            if op == 0:
                pending.append((x * 2 - 1, mu * 2 - 1))
            elif op == 1:
                j = int(rng.integers(u.size))
                u.reshape(-1)[j] = step
                mu.reshape(-1)[j] = step
            elif op == 2:
                x[: len(u) // 3] = -1
                mu[: len(u) // 3] = -1
            elif op == 3:
                pending.append(((x + 1) * 3, (mu + 1) * 3))
            elif op == 4:
                x[1:] -= x[:-1] * 0 + 1
                mu[1:] -= mu[:-1] * 0 + 1
            elif op == 5:
                b[: b.size // 2] += 1
                mb[: mb.size // 2] += 1
            elif op == 6:
                pending.append(((x * 2).sum(), (mu * 2).sum()))
            elif op == 7:
                pending.append((x[::2] + 1, mu[::2] + 1))
            elif op == 8:
                x += 2
                mu += 2
            elif op == 9:
                j = int(rng.integers(1, 5000))
                w = dnp.asarray(b[k + j : k + j + 20_000])
                w -= 3
                mb[k + j : k + j + 20_000] -= 3
            elif op == 10:
                np.add(u, 1, out=u)
                np.add(mu, 1, out=mu)
            else:
                pending.append(((x * 3)[1:], (mu * 3)[1:]))
                b[-10:] = 0
                mb[-10:] = 0
        for got, expected in pending:
            got = np.asarray(got)
            if got.ndim == 0 and got.dtype.kind == "f":
                np.testing.assert_allclose(got, expected, rtol=1e-6)
            else:
                np.testing.assert_array_equal(got, expected)
        for base, mirror in zip(bases, mirrors):
            np.testing.assert_array_equal(base, mirror)
        np.testing.assert_array_equal(np.asarray(x), mu)
print(db.stats()["snapshots_guarded"] > 0, snapshots.stats()["copies"] > 0)
"""


def test_random_scripts_over_views_of_several_alignments_agree_with_numpy():
    """Guards made, parked, revived, copied and released over views of a few arrays at
    alignments whose reserves are reused by one another (the hang fixed by
    `snapshots._reserve_offset` reproduced within seconds here): every lazy value means
    what NumPy's meant when it was made, and every array holds what NumPy's would. In a
    child process, with a timeout."""
    out = subprocess.run(
        [sys.executable, "-c", _RANDOM_VIEWS, "4"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]
