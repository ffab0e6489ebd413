"""Calls on the user's memory: recorded lazily (over a snapshot) or computed at once by NumPy,
whichever is the cheaper pass (`ufuncs._on_user_memory`, `frontends/sites.py`). A comparison
of floats is computed at once (its result is an eighth of what it reads); a call at a line
whose last value was computed on its own is computed at once from then on, and a line whose
value fuses into more work goes back to recording. Either way the values are NumPy's, also
when the user writes the array between making a value and reading it.

These tests run with the defaults outside tests — `eager_below`, tier 0 while compiling in the
background — where the other tests use `eager_below=0` and strict mode (the choice is off
there: nothing runs in the library by choice); no fallback is allowed (`allowed_fallbacks`
with nothing in its list stands in for strict mode). Arrays are above `eager_below`."""

from __future__ import annotations

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends import scheduler, sites

from .helpers import defaults_outside_tests

# every test twice: snapshots held by write guards, and copied (conftest.snapshot_kinds)
pytestmark = pytest.mark.usefixtures("snapshot_kinds")

N = 1 << 17  # above the default eager_below


@pytest.fixture(autouse=True)
def outside_tests(monkeypatch):
    """The defaults, with the cost model's library pass at its cached cost at every size:
    these tests are about what a line does once the model keeps its work in the library (or
    not), at sizes picked for that, not about where the boundary lies; and every call that
    the line's feedback records is recorded (no sampling of lines whose structures have not
    compiled, `sites.sampled_out`: its own tests are in test_sampled_lines.py)."""
    sites._ALONE.clear()
    monkeypatch.setattr(scheduler, "LIBRARY_ELEMENT_STREAMED", scheduler.LIBRARY_ELEMENT)
    monkeypatch.setattr(sites, "SAMPLE_EVERY", 1)
    with defaults_outside_tests():
        yield


def _library_runs() -> int:
    return db.stats()["library_runs"]


def _shift(np, x):
    return x + 1.5  # one line, one value computed on its own


def _shift_then_scale(np, x):
    y = x + 1.5
    return y * 2.0  # the first line's value fuses into the second's


def test_a_comparison_of_the_users_floats_is_numpys_at_once():
    u = numpy.linspace(-1.0, 1.0, N)
    x = dnp.asarray(u)
    before = _library_runs()
    mask = x > 0.25
    assert _library_runs() == before + 1  # computed at once: no snapshot of u
    u[:] = 0.0  # the user's write after the comparison: NumPy's mask is unchanged
    numpy.testing.assert_array_equal(numpy.asarray(mask), numpy.linspace(-1.0, 1.0, N) > 0.25)


def test_a_line_whose_value_is_computed_alone_is_computed_at_once_next_time():
    want = numpy.linspace(0.0, 1.0, N) + 1.5
    first = _shift(dnp, dnp.asarray(numpy.linspace(0.0, 1.0, N)))
    assert isinstance(first, dnp.ndarray) and first.concrete() is None  # lazy the first time
    numpy.testing.assert_array_equal(numpy.asarray(first), want)
    before = _library_runs()
    again = _shift(dnp, dnp.asarray(numpy.linspace(0.0, 1.0, N)))
    assert _library_runs() == before + 1 and again.concrete() is not None  # NumPy's, at once
    numpy.testing.assert_array_equal(numpy.asarray(again), want)


def test_a_line_whose_value_fuses_stays_lazy():
    big = 1 << 21  # native code pays here: not the library's for good, which computes at once
    for _ in range(3):
        u = numpy.linspace(0.0, 1.0, big)
        got = _shift_then_scale(dnp, dnp.asarray(u))
        assert got.concrete() is None  # one lazy expression over the snapshot
        numpy.testing.assert_array_equal(numpy.asarray(got), (u + 1.5) * 2.0)
    assert list(sites._ALONE.values()) == [False]  # `x + 1.5`'s line: its value fused


def _mask_then_select(np, x, y, lo):
    a, b = x >= lo, y < lo + 0.5  # (comparisons of the user's floats: at once)
    both = np.logical_and(a, b)  # computed inputs only: recorded, or at once once taught
    return x[both]


def test_a_line_over_computed_arrays_learns_as_a_line_over_the_users_memory():
    rng = numpy.random.default_rng(3)
    x, y = dnp.asarray(rng.random(N)), dnp.asarray(rng.random(N))
    before = _library_runs()
    for k in range(3):
        lo = 0.1 * k
        got = _mask_then_select(dnp, x, y, lo)
        want = _mask_then_select(numpy, numpy.asarray(x), numpy.asarray(y), lo)
        numpy.testing.assert_array_equal(numpy.asarray(got), want)
    # the mask was computed on its own (a selection reads it): its line computes at once
    assert "library" in sites._ALONE.values() or True in sites._ALONE.values()
    # three calls: two comparisons each (at once), the mask lazily then at once twice
    assert _library_runs() == before + 9
    a, b = x >= 0.2, y < 0.7
    assert a.concrete() is not None and b.concrete() is not None
    both = dnp.logical_and(a, b)  # another line: not taught, recorded
    assert both.concrete() is None
    numpy.testing.assert_array_equal(
        numpy.asarray(both), numpy.logical_and(numpy.asarray(a), numpy.asarray(b))
    )


def test_a_line_over_computed_arrays_whose_value_fuses_stays_lazy():
    rng = numpy.random.default_rng(4)
    x = dnp.asarray(rng.random(1 << 21))  # native code pays: not the library's for good
    for _ in range(3):
        s = x * 1.0 + 0.0  # (computed below: a value of daybreak's own, not the user's)
        numpy.asarray(s)
        t = s * 2.0  # computed input; its value fuses into the next line's
        got = t + 1.0
        assert t.concrete() is None and got.concrete() is None
        numpy.testing.assert_array_equal(numpy.asarray(got), numpy.asarray(s) * 2.0 + 1.0)


def test_a_line_computed_alone_then_fused_records_again():
    def step(np, x, fuse):
        y = x * 3.0
        return y - 1.0 if fuse else y

    big = 1 << 21  # native code pays here: the values are not the library's for good
    for fuse in (False, True):
        u = numpy.linspace(0.0, 1.0, big)
        got = step(dnp, dnp.asarray(u), fuse)
        numpy.testing.assert_array_equal(numpy.asarray(got), step(numpy, u.copy(), fuse))
    # the line was computed alone once (at once from then on), then its value fused: lazy
    u = numpy.linspace(0.0, 1.0, big)
    y = step(dnp, dnp.asarray(u), False)
    assert y.concrete() is None


def test_a_line_whose_fused_value_ran_in_the_library_stays_at_once():
    def step(np, x):
        return (x * 3.0) - 1.0  # small work: the library computes it call by call

    for _ in range(3):
        u = numpy.linspace(0.0, 1.0, N)
        got = step(dnp, dnp.asarray(u))
        numpy.testing.assert_array_equal(numpy.asarray(got), u * 3.0 - 1.0)
    # `x * 3.0`'s call, taught by the first call; then `- 1.0`'s, recorded over its computed
    # value in the second and computed in the library for good too
    assert list(sites._ALONE.values()) == ["library", "library"]
    u = numpy.linspace(0.0, 1.0, N)
    before = _library_runs()
    got = step(dnp, dnp.asarray(u))
    assert _library_runs() == before + 2  # both calls at once: NumPy's, no snapshot
    assert got.concrete() is not None


def _script(np, u, computed_alone_first: bool, write_at: int):
    x = np.asarray(u)
    values = []
    for k in range(3):
        v = x * 2.0 + k if not computed_alone_first else x - float(k)
        c = x < 0.5
        if write_at == k:
            u[k] = 9.0  # NumPy's own write, after the values were made
        values += [v, c]
    return values


@settings(max_examples=25, deadline=None)
@given(st.booleans(), st.integers(0, 3), st.integers(1, 3))
def test_values_agree_with_numpy_whichever_way_a_line_is_computed(alone, write_at, calls):
    for _ in range(calls):  # later calls take what the earlier ones taught the lines
        mine, theirs = numpy.linspace(0.0, 1.0, N), numpy.linspace(0.0, 1.0, N)
        got = _script(dnp, mine, alone, write_at)
        want = _script(numpy, theirs, alone, write_at)
        numpy.testing.assert_array_equal(mine, theirs)
        for g, w in zip(got, want, strict=True):
            numpy.testing.assert_array_equal(numpy.asarray(g), w)


def test_the_choice_is_off_at_eager_below_zero():
    db.config(eager_below=0)  # (the fixture puts it back)
    x = dnp.asarray(numpy.linspace(-1.0, 1.0, N))
    assert (x > 0.25).concrete() is None  # recorded: the compiled-path setting


def _step(np, ey, hz):
    ey[1:, :] -= 0.5 * (hz[1:, :] - hz[:-1, :])  # fdtd_2d's update: small work, op by op
    hz[:-1, :] += 0.25 * ey[1:, :]
    return ey, hz


def test_an_in_place_call_on_a_view_of_the_users_array_writes_it_without_a_snapshot(
    monkeypatch,
):
    from daybreak.frontends.lazy import Param

    rng = numpy.random.default_rng(1)
    ey, hz = rng.random((400, 450)), rng.random((400, 450))
    copies = []
    take = Param.snapshot
    monkeypatch.setattr(Param, "snapshot", lambda self: copies.append(self) or take(self))
    mine_ey, mine_hz = ey.copy(), hz.copy()
    x, h = dnp.asarray(mine_ey), dnp.asarray(mine_hz)
    before = len(copies)
    x[1:, :] *= 0.5  # a view of the user's array, written in place by NumPy's ufunc
    assert len(copies) == before
    numpy.testing.assert_array_equal(mine_ey[1:], ey[1:] * 0.5)  # the user's memory
    numpy.testing.assert_array_equal(numpy.asarray(x)[0], ey[0])
    numpy.testing.assert_array_equal(numpy.asarray(x[1:, :]), mine_ey[1:])
    ey[1:, :] *= 0.5
    for _ in range(3):  # the first call teaches the lines; later ones take no snapshot
        copies.clear()
        got = _step(dnp, x, h)
        want = _step(numpy, ey, hz)
        for g, w, users in zip(got, want, (mine_ey, mine_hz), strict=True):
            numpy.testing.assert_array_equal(numpy.asarray(g), w)
            numpy.testing.assert_array_equal(users, w)
    assert not copies


@pytest.fixture
def guards_not_loaded(monkeypatch):
    """A process's first calls: no write guards yet (they load after its first compile), so
    a snapshot of the user's memory would be a copy."""
    from daybreak.frontends import snapshots

    monkeypatch.setattr(snapshots, "_guards", [None])
    monkeypatch.setattr(snapshots, "MIN_BYTES", 1 << 16)
    monkeypatch.setitem(snapshots._state, "started", True)
    monkeypatch.setattr(snapshots, "_copied", [0])
    sites._SEEN.clear()
    return snapshots


def _scaled_sum(np, x):
    return ((x * 2.0 + 1.0).sum(),)


def test_without_guards_a_lines_first_call_on_the_users_memory_is_computed_not_copied(
    guards_not_loaded,
):
    """Recording `x * 2.0` would copy the user's array (its snapshot): at the line's first
    call, computing it now is a pass over the same memory, and nothing is copied. Later calls
    over the computed value are recorded as usual, and a write to the user's array after the
    call changes nothing the call made."""
    u = numpy.linspace(-1.0, 1.0, N)
    x = dnp.asarray(u)
    before = db.stats()
    y = x * 2.0
    assert y.concrete() is not None  # computed now
    z = y + 1.0
    assert z.concrete() is None  # over a computed array: recorded
    u[7] = 100.0
    after = db.stats()
    assert after["snapshots_copied"] == before["snapshots_copied"]
    assert after["library_runs"] == before["library_runs"] + 1
    want = numpy.linspace(-1.0, 1.0, N) * 2.0
    numpy.testing.assert_array_equal(numpy.asarray(y), want)
    numpy.testing.assert_array_equal(numpy.asarray(z), want + 1.0)
    got, expected = _scaled_sum(dnp, x)[0], _scaled_sum(numpy, u)[0]
    assert float(got) == pytest.approx(float(expected), rel=1e-12)


def test_the_copies_not_made_count_toward_loading_the_guards(guards_not_loaded, monkeypatch):
    """The bytes a call computed now would have copied count as copies do: past
    `COPIED_BEFORE_GUARDS` the guards start loading, and calls are recorded again once they
    are loaded."""
    snapshots = guards_not_loaded
    started = []
    monkeypatch.setitem(snapshots._state, "started", False)
    monkeypatch.setattr(snapshots, "start_loading", lambda: started.append(True))
    x = dnp.asarray(numpy.linspace(-1.0, 1.0, N))
    snapshots._copied[0] = snapshots.COPIED_BEFORE_GUARDS - x.nbytes - 8
    assert (x * 2.0).concrete() is not None
    assert not started
    assert (x * 3.0).concrete() is not None
    assert started == [True]


def test_comparisons_with_a_snapshot_copy_count_half_toward_loading_the_guards(
    guards_not_loaded, monkeypatch
):
    """A value recorded again from the same unwritten user array shares the snapshot's copy
    after comparing the buffer with it: a pass the guards would spare, counted at half its
    bytes (a copy reads and writes), so a process whose work stays in the library loads
    them in the end instead of comparing its inputs at every call."""
    snapshots = guards_not_loaded
    monkeypatch.setitem(snapshots._state, "started", False)  # (counting: not loading yet)
    monkeypatch.setattr(snapshots, "start_loading", lambda: None)
    x = dnp.asarray(numpy.linspace(-1.0, 1.0, N))
    made, counted = [], []
    for _ in range(3):  # one line: computed at once, then recorded over a copy, then shared
        before = (db.stats()["snapshots_copied"], snapshots._copied[0])
        made.append(x * 2.0)
        after = (db.stats()["snapshots_copied"], snapshots._copied[0])
        counted.append((after[0] - before[0], after[1] - before[1]))
    assert counted == [(0, x.nbytes), (1, x.nbytes), (0, x.nbytes // 2)]
    for y in made:
        numpy.testing.assert_array_equal(numpy.asarray(y), numpy.linspace(-1.0, 1.0, N) * 2.0)


def test_under_strict_mode_a_call_on_the_users_memory_is_recorded_without_guards(
    guards_not_loaded,
):
    """Where every graph must compile (strict mode), the call is recorded over a copy."""
    db.config(strict=True)  # (the fixture puts it back)
    u = numpy.linspace(-1.0, 1.0, N)
    x = dnp.asarray(u)
    before = db.stats()["snapshots_copied"]
    y = x * 2.0
    assert y.concrete() is None
    u[3] = 5.0
    assert db.stats()["snapshots_copied"] == before + 1
    numpy.testing.assert_array_equal(numpy.asarray(y), numpy.linspace(-1.0, 1.0, N) * 2.0)


def test_without_guards_a_lines_later_calls_are_recorded(guards_not_loaded):
    """From its second call on, a line is recorded over a copy again, as before: what the
    scheduler learns from its runs decides what compiles (and then the guards load)."""
    u = numpy.linspace(-1.0, 1.0, N)
    x = dnp.asarray(u)
    made = []
    for _ in range(3):
        made.append(x * 2.0)
    assert made[0].concrete() is not None
    assert made[1].concrete() is None and made[2].concrete() is None
    u[5] = 9.0
    for y in made:
        numpy.testing.assert_array_equal(numpy.asarray(y), numpy.linspace(-1.0, 1.0, N) * 2.0)
