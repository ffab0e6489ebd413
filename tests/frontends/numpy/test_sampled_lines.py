"""Lines whose structures have not compiled are sampled (`sites.sampled_out`): most of their
calls are computed at once, as NumPy computes them, one in `SAMPLE_EVERY` is recorded for the
scheduler to learn the structure and count what compiling it saves; once it compiled, every
call is recorded and runs natively. Values are NumPy's either way."""

from __future__ import annotations

import numpy
import pytest

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends import scheduler, sites
from daybreak.frontends.elements.expr import Leaf
from daybreak.frontends.numpy import methods, replay

from .helpers import defaults_outside_tests, fixed_clock

# every test twice: snapshots held by write guards, and copied (conftest.snapshot_kinds)
pytestmark = pytest.mark.usefixtures("snapshot_kinds")

N = 1 << 17  # above the default eager_below
_BIG_CALL = sites.BIG_CALL  # (the default: the fixture records first epochs, as for big work)


@pytest.fixture(autouse=True)
def outside_tests(monkeypatch):
    """The defaults (tier 0 while compiling in the background), with this module's lines
    seen for the first time, and no compile until a test allows it (`PAYBACK`)."""
    scheduler.forget()
    monkeypatch.setattr(scheduler, "PAYBACK", float("inf"))
    with defaults_outside_tests():
        yield
    scheduler.forget()


def _step(np, a, b):
    """A time step's statement over the user's memory (a five-call chain)."""
    b[1:-1] = 0.25 * (a[:-2] + a[1:-1] + a[1:-1] + a[2:])


def _recorded_structures() -> list:
    return [k for k in scheduler._KNOWN.values() if k.runs["library"] or k.runs["native"]]


def test_a_cold_lines_calls_are_computed_at_once_but_one_in_every_few(monkeypatch):
    """Before the statement's structure compiles, one epoch of `EPOCH` executions in every
    `SAMPLE_EVERY` is recorded (a library run of the whole statement: one structure, never a
    part of it) and the others are computed at once, call by call; the values are NumPy's at
    every step, also after the user wrote the input through NumPy in between."""
    every, epoch = sites.SAMPLE_EVERY, sites.EPOCH
    assert every > 1
    u, v = numpy.linspace(0.0, 1.0, N), numpy.zeros(N)
    a, b = dnp.asarray(u), dnp.asarray(v)
    want_v = v.copy()
    runs_before = db.stats()["runs"]
    steps = 2 * every * epoch  # two cycles: each records its first epoch's executions
    for k in range(steps):
        _step(dnp, a, b)
        _step(numpy, u, want_v)
        numpy.testing.assert_array_equal(v, want_v)  # b is v's memory
        u[k % N] += 1.0  # the user's own write: later steps read it
    structures = _recorded_structures()
    assert len(structures) == 1  # the whole statement, recorded whole
    assert structures[0].runs["library"] == 2 * epoch
    assert db.stats()["runs"] == runs_before


def test_small_calls_of_cold_code_record_their_second_epoch_first(monkeypatch):
    """Small work (below `BIG_CALL` bytes a call): a cold code's first `EPOCH` executions
    are NumPy's calls at once (recorded, each ran 4-6x slower than NumPy's at 10^5
    elements); the next epoch is recorded whole, then the cycle goes on as for big work.
    Values are NumPy's at every step."""
    monkeypatch.setattr(sites, "BIG_CALL", _BIG_CALL)
    assert N * 8 < _BIG_CALL
    epoch = sites.EPOCH
    u, v = numpy.linspace(0.0, 1.0, N), numpy.zeros(N)
    a, b = dnp.asarray(u), dnp.asarray(v)
    want_v = v.copy()
    recorded = []
    for k in range(3 * epoch):
        before = sum(s.runs["library"] for s in _recorded_structures())
        _step(dnp, a, b)
        recorded.append(sum(s.runs["library"] for s in _recorded_structures()) - before)
        _step(numpy, u, want_v)
        numpy.testing.assert_array_equal(v, want_v)
        u[k] += 1.0
    assert recorded == [0] * epoch + [1] * epoch + [0] * epoch


def test_once_the_structure_compiled_every_call_is_recorded_and_runs_natively(monkeypatch):
    """The sampled runs count for the executions computed at once, so the structure
    compiles after as many executions as when every call was recorded; its lines are then
    hot: every execution records and runs the compiled program."""
    u, v = numpy.linspace(0.0, 1.0, N), numpy.zeros(N)
    a, b = dnp.asarray(u), dnp.asarray(v)
    monkeypatch.setattr(scheduler, "PAYBACK", 0.0)  # compile at the first counted run
    _step(dnp, a, b)
    scheduler.wait_for_compiles()
    assert [k.state for k in _recorded_structures()] == ["ready"]
    want_v = v.copy()
    before = db.stats()
    for _ in range(2 * sites.SAMPLE_EVERY):
        _step(dnp, a, b)
        _step(numpy, u, want_v)
    after = db.stats()
    assert after["runs"] - before["runs"] == 2 * sites.SAMPLE_EVERY
    assert after["library_runs"] == before["library_runs"]
    numpy.testing.assert_allclose(v, want_v, rtol=1e-15)


def test_a_sampled_run_counts_for_the_executions_it_stands_for(monkeypatch):
    """What native code would have saved is counted `SAMPLE_EVERY` times per sampled run:
    with sampling off (every execution recorded) and on, the structure has counted about
    the same by the same number of executions."""
    saved = {}
    sampled = sites.SAMPLE_EVERY
    cycle = sampled * sites.EPOCH  # executions, of which one epoch is recorded

    fixed_clock(monkeypatch, 5e-4)  # (each library run measured alike)
    for every in (1, sampled):
        scheduler.forget()
        monkeypatch.setattr(sites, "SAMPLE_EVERY", every)
        u, v = numpy.linspace(0.0, 1.0, N), numpy.zeros(N)
        a, b = dnp.asarray(u), dnp.asarray(v)
        for _ in range(cycle):  # (a first run's cold costs, weighed alike on both sides)
            _step(dnp, a, b)
        (known,) = _recorded_structures()
        start = known.saved
        for _ in range(cycle):
            _step(dnp, a, b)
        saved[every] = known.saved - start
        assert known.runs["library"] == (2 * cycle if every == 1 else 2 * sites.EPOCH)
    assert saved[sampled] > 0
    assert 0.9 < saved[sampled] / saved[1] < 1.1  # (the same runs, counted alike)


def test_a_value_computed_at_once_by_the_lines_feedback_is_not_followed():
    """A call reading a value that its line computed at once for another reason than
    sampling (the line's feedback: a value made there was computed on its own) is decided by
    its own rules, not computed at once with it."""
    u = numpy.linspace(-1.0, 1.0, N)
    x = dnp.asarray(u)

    def two(x):
        y = x + 1.5
        return y, y * 2.0

    for _ in range(sites.EPOCH + 1):  # the first epoch recorded, then computed at once
        y, z = two(x)
        numpy.asarray(z)  # (the recorded values computed in the library)
    assert y.concrete() is not None and z.concrete() is not None  # z followed y
    assert sites.follows(y._site, (y._site[0], y._site[1] + 2))
    sites.materialised_alone(y._site)  # the line's feedback: computed at once from now on
    y, z = two(x)
    assert y.concrete() is not None
    # a later call of the code reading it decides by its own rules
    assert not sites.follows(y._site, (y._site[0], y._site[1] + 2))
    numpy.testing.assert_array_equal(numpy.asarray(z), (u + 1.5) * 2.0)


def test_no_sampling_where_every_graph_compiles():
    """Strict mode and compiling before running (no background compiles): every call is
    recorded, as every graph must compile."""
    u, v = numpy.linspace(0.0, 1.0, N), numpy.zeros(N)
    a, b = dnp.asarray(u), dnp.asarray(v)
    old = db.config(compile_in_background=False)
    try:
        before = db.stats()
        for _ in range(sites.SAMPLE_EVERY):
            _step(dnp, a, b)
        after = db.stats()
        assert after["library_runs"] == before["library_runs"]
        assert after["runs"] - before["runs"] == sites.SAMPLE_EVERY
    finally:
        db.config(**old)


def test_sites_sampling_rules():
    """`sampled_out` on its own: a code's calls recorded in the first epoch of `EPOCH` calls
    of every `SAMPLE_EVERY`, whichever of its sites they are at (a statement's two calls on
    data alike), the rest out; a follower out without counting; a hot code never out; a
    recorded value that never ran in the library makes its code hot; the weights."""
    site, second, later = ("code", 10), ("code", 12), ("code", 20)
    every, epoch = sites.SAMPLE_EVERY, sites.EPOCH

    def asked(at) -> bool:
        out = sites.sampled_out(at)
        if not out:
            sites.ran_in_library([at])  # (what tier 0 says of the recorded value)
        return out

    # two calls on data per execution: recorded in the same executions, both
    outs = [(asked(site), asked(second)) for _ in range(every * epoch)]
    want = [False] * (epoch // 2) + [True] * ((every - 1) * epoch // 2)
    assert outs == [(o, o) for o in want + want]
    assert sites.follows(site, later) and not sites.follows(site, ("code", 5))
    assert not sites.follows(site, ("other", 20))
    asks = sites._ASKS["code"]
    assert sites.sampled_out(later, following=True) and sites._ASKS["code"] == asks
    assert sites.sample_weight(site) == every
    sites.not_sampled(site)
    assert not sites.follows(site, later)
    sites.record_always([site])
    assert not sites.sampled_out(site) and sites.sample_weight(site) == 1
    # the code it is in is hot: its other lines too
    assert not any(sites.sampled_out(("code", 40)) for _ in range(every * epoch))
    # a recorded value that never ran in the library: its code is hot at its next call
    other = ("other code", 30)
    assert not sites.sampled_out(other)  # recorded (the first epoch)
    assert not sites.sampled_out(other) and other[0] in sites._HOT


def test_a_line_whose_recorded_value_never_ran_in_the_library_is_hot():
    """`alpha * A @ x`: the product reads the recorded `alpha * A` lazily and computes
    `alpha * (A @ x)` (no pass over A for the scalar). Computed at once instead, `alpha * A`
    would be a whole new matrix: a line whose recorded value never ran in the library is
    recorded from then on, never sampled out."""
    rng = numpy.random.default_rng(3)
    m, x = rng.random((512, 512)), rng.random(512)
    a = dnp.asarray(m)
    alpha = numpy.float64(1.5)

    def scaled_product(a):
        return alpha * a @ x

    for _ in range(2 * sites.SAMPLE_EVERY):
        before = db.stats()["library_runs"]
        got = numpy.asarray(scaled_product(a))
        # one library run: the product's kernel (BLAS) at once; no `alpha * A` computed
        assert db.stats()["library_runs"] == before + 1
        numpy.testing.assert_allclose(got, alpha * m @ x, rtol=1e-13)


def test_a_graph_reading_a_value_computed_at_once_by_sampling_does_not_count(monkeypatch):
    """`h ^= h >> 3` over a shift computed at once (sampled out): the in-place update (lazy
    here, as one of a buffer something else reads is: one of daybreak's own buffer is
    NumPy's ufunc in place, sampled as the shift is, `methods._in_own_buffer`) is recorded
    over that value, a variant of the structure the sampled executions record
    whole. The variant's library runs do not count toward compiling it (counted, it would
    compile first and the whole structure later still); the whole one's do."""
    monkeypatch.setattr(methods, "_in_own_buffer", lambda ufunc, inputs, out: (False, None))
    u = numpy.arange(N, dtype=numpy.uint64)

    def mix(h):
        h ^= h >> numpy.uint64(3)
        h *= numpy.uint64(5)
        return numpy.asarray(h)

    want = u ^ (u >> numpy.uint64(3))
    want = want * numpy.uint64(5)
    for _ in range(2 * sites.SAMPLE_EVERY):
        numpy.testing.assert_array_equal(mix(dnp.asarray(u).copy()), want)
    structures = _recorded_structures()
    counted = [k for k in structures if k.saved > 0]
    variants = [k for k in structures if k.saved == 0 and k.runs["library"] > 1]
    assert counted and variants


M = (1 << 16) + 2  # a user's array daybreak wraps, whose `[2:-2]` views NumPy computes at once


def _long_step(np, a, b):
    """A statement of more calls than an epoch (`sites.EPOCH`) on views below `eager_below`:
    NumPy computes them at once, and the store's work marks it to be recorded lazily."""
    b[2:-2] = (
        0.1 * (a[:-4] + a[1:-3] + a[2:-2] + a[3:-1] + a[4:])
        - 0.05 * a[2:-2] * a[2:-2]
        + 0.5 * a[1:-3] * a[3:-1]
    )


def _lazy_mark_of(fn):
    found = {
        type(v).__name__ + (":lazy" if getattr(v, "lazy", False) else "")
        for (code, _), v in replay.ENTRY.items()
        if code == id(fn.__code__)
    }
    return found


def test_a_lazily_marked_statement_of_cold_code_records_whole_runs_until_it_compiles(
    monkeypatch,
):
    """A statement whose calls NumPy computes at once, marked to be recorded lazily
    (`replay.data_stored`), in cold code: one run in `SAMPLE_EVERY` is recorded, every call
    of it (its calls sampled one by one in epochs of `EPOCH`, the statement's structure was
    never recorded whole), its library runs counting toward the compile; and as long as
    they do, its recordings are no failed tries (`_LAZY_TRIES`): once it has paid, it
    compiles and is replayed. NumPy's values at every step."""
    every = sites.SAMPLE_EVERY
    u, v = numpy.linspace(0.0, 1.0, M), numpy.zeros(M)
    a, b = dnp.asarray(u), dnp.asarray(v)
    want = v.copy()

    def steps(n):
        for k in range(n):
            _long_step(dnp, a, b)
            _long_step(numpy, u, want)
            numpy.testing.assert_array_equal(v, want)  # b is v's memory
            u[k % M] += 1.0  # the user's own write: later steps read it

    recorded = (replay._LAZY_TRIES + 8) * every
    steps(recorded)
    assert _lazy_mark_of(_long_step) == {"_Marked:lazy"}  # still marked, not left alone
    (known,) = [k for k in _recorded_structures() if k.runs["library"] > 4]
    # the first run marks it, then one run in every few is recorded whole
    assert abs(known.runs["library"] - recorded // every) <= 2
    assert known.saved > 0 and known.state == "new"
    monkeypatch.setattr(scheduler, "PAYBACK", 0.0)  # it has paid: its next recording compiles
    steps(every)
    scheduler.wait_for_compiles()
    assert known.state == "ready"
    before = db.stats()["statements_replayed"]
    steps(2 * every)
    assert _lazy_mark_of(_long_step) == {"Trace"}
    assert db.stats()["statements_replayed"] - before >= every


def _updated_in_place(np, x, y, m):
    z = x * 1.0
    z *= 2.0  # (daybreak's own buffer, read by nothing else: NumPy's ufunc writes it)
    z += y
    return z


# NumPy functions whose result is a new array (no view, no out=), each as a user's line of
# data: `copy_at_once` gives them the choice a ufunc call makes (in-place operators on a
# buffer of daybreak's own too).
_COPIES = {
    "in place": _updated_in_place,
    "roll": lambda np, x, y, m: np.roll(x, 3) - x,
    "diff": lambda np, x, y, m: np.diff(x),
    "triu": lambda np, x, y, m: np.triu(m, 1),
    "tril": lambda np, x, y, m: np.tril(m),
    "tile": lambda np, x, y, m: np.tile(x, 2),
    "repeat": lambda np, x, y, m: np.repeat(x, 2),
    "clip": lambda np, x, y, m: np.clip(x, 0.25, 0.75),
    "nan_to_num": lambda np, x, y, m: np.nan_to_num(x / (y - 0.5)),
    "einsum": lambda np, x, y, m: np.einsum("ij,ij->i", m, m),
    "where": lambda np, x, y, m: np.where(x > 0.5, x, y),
    "outer": lambda np, x, y, m: np.outer(m[0], m[1]),
    "allclose": lambda np, x, y, m: np.allclose(x * 2.0, x + x),
    "astype": lambda np, x, y, m: (x * 100.0).astype(np.int32),
}


@pytest.mark.parametrize("name", sorted(_COPIES))
def test_cold_lines_of_copying_functions_are_mostly_numpys_calls(name):
    """`np.roll(x, 3) - x` and the like in cold code: after the first epoch, recorded (a
    library run of the lazy form each), the line's calls are NumPy's own at once — no
    structure run for them (recording one copies or guards the user's memory and walks the
    scheduler around the same NumPy calls: 3-5x NumPy's time) — and every value is
    NumPy's, also after the user wrote the input in between."""
    line = _COPIES[name]
    rng = numpy.random.default_rng(7)
    u, w = rng.random(N), rng.random(N)
    u[::97] = numpy.nan
    mat = rng.random((512, 256))
    x, y, m = dnp.asarray(u), dnp.asarray(w), dnp.asarray(mat)
    runs = []
    library_runs = db.stats()["library_runs"]
    for k in range(3 * sites.EPOCH):
        before = sum(s.runs["library"] for s in _recorded_structures())
        made = line(dnp, x, y, m)
        if k >= sites.EPOCH:  # computed as it was made: no lazy node, no scheduler walk
            assert type(made) is not dnp.ndarray or type(made._held) is Leaf
        got = numpy.asarray(made)
        runs.append(sum(s.runs["library"] for s in _recorded_structures()) - before)
        want = numpy.asarray(line(numpy, u, w, mat))
        assert got.dtype == want.dtype and got.shape == want.shape
        numpy.testing.assert_array_equal(got, want)
        u[k] += 1.0  # the user's own writes: later calls read them
        mat[k, k] += 1.0
    assert db.stats()["library_runs"] - library_runs >= 3 * sites.EPOCH  # (each call counted)
    assert sum(runs[sites.EPOCH :]) == 0  # after the first epoch: NumPy's calls at once


def test_a_hot_lines_rolls_fuse_into_its_compiled_program(monkeypatch):
    """Once a structure of the code compiled, a roll is recorded as any call there is: the
    stencil's rolls and arithmetic run as one native program, with NumPy's values."""
    monkeypatch.setattr(scheduler, "PAYBACK", 0.0)  # compile at the first counted run
    u = numpy.random.default_rng(3).random(N)
    x = dnp.asarray(u)

    def stencil(np, v):
        return np.roll(v, 1) + np.roll(v, -1) - 2.0 * v

    native, library = [], []
    for k in range(3 * sites.SAMPLE_EVERY * sites.EPOCH):
        before = db.stats()
        got = numpy.asarray(stencil(dnp, x))
        native.append(db.stats()["runs"] - before["runs"])
        library.append(db.stats()["library_runs"] - before["library_runs"])
        numpy.testing.assert_array_equal(got, stencil(numpy, u))
        u[k] += 1.0
        scheduler.wait_for_compiles()
    assert (native[-1], library[-1]) == (1, 0)  # hot: the whole line is one native run


def test_a_where_computed_on_its_own_still_compiles(monkeypatch):
    """`np.where(x > 0.5, x, y)` handed to NumPy on its own: the select's line is not taught
    to run NumPy's where at once for good (`at_line(..., alone_at_once=False)`): one native
    pass over its operands beats NumPy's where (2.1 against 4.4 ms at 10^6). Its program
    compiles and runs; NumPy's values at every call."""
    monkeypatch.setattr(scheduler, "PAYBACK", 0.0)
    rng = numpy.random.default_rng(8)
    u, w = rng.random(1 << 20), rng.random(1 << 20)  # (work native code pays for)
    x, y = dnp.asarray(u), dnp.asarray(w)
    native = []
    for k in range(3 * sites.EPOCH):
        before = db.stats()["runs"]
        got = numpy.asarray(dnp.where(x > 0.5, x, y))
        native.append(db.stats()["runs"] - before)
        numpy.testing.assert_array_equal(got, numpy.where(u > 0.5, u, w))
        u[k] = 1.0 - u[k]
        scheduler.wait_for_compiles()
    assert native[-1] == 1
