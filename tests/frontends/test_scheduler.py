"""The scheduler (`frontends/scheduler.py`): structure keys, argument plans, tiers, budgets and
snapshots of user arrays. Each tier is compared with NumPy, and each test checks which tier
actually ran (db.stats: `library_runs` for tier 0, `scheduler_hits` and `runs` for native)."""

import numpy as np
import pytest

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends import scheduler

from .numpy import test_kernels as K
from .numpy.helpers import allowed_fallbacks, fixed_clock


@pytest.fixture(autouse=True)
def background_tiers(monkeypatch, request):
    """Tier 0 while compiling in the background (the default outside tests), all sizes; the
    native call's fixed costs counted as nothing, so the small data here still compiles
    (the cost model itself is tested with its real numbers in `test_tiny_work_...`)."""
    if "tiny" not in request.node.name:
        monkeypatch.setattr(scheduler, "NATIVE_CALL", 0.0)
        monkeypatch.setattr(scheduler, "NATIVE_OUTPUT", 0.0)
    if "pays" not in request.node.name:  # compile at the first run (no wait to pay back)
        monkeypatch.setattr(scheduler, "PAYBACK", 0.0)
    scheduler.forget()  # what other tests compiled would otherwise skip tier 0 here
    # strict=True would compile everything synchronously (no tier 0 to test), so strict mode
    # is off here; instead every fallback fails the test, as under strict mode.
    before = db.config(eager_below=0, strict=False, compile_in_background=True)
    with np.errstate(all="ignore"), allowed_fallbacks(r"(?!)"):  # allows nothing
        yield
    scheduler.wait_for_compiles()
    db.config(**before)


def _rng():
    return np.random.default_rng(11)


def _kernels():
    r = _rng()
    n = 3000
    bs = (
        r.uniform(10, 100, n),
        r.uniform(10, 100, n),
        r.uniform(0.1, 2, n),
        0.03,
        r.uniform(0.1, 0.5, n),
    )
    hv = tuple(r.uniform(-80, 80, n) for _ in range(4))
    body = tuple(r.uniform(0.5, 2.0, 64) if k == 0 else r.normal(size=64) for k in range(7))
    water = tuple(r.normal(size=(48, 64)) for _ in range(3))
    return {
        "softmax": (K.softmax, (r.normal(size=(40, 70)),)),
        "black_scholes": (K.black_scholes, bs),
        "haversine": (K.haversine, hv),
        "heat": (K.heat, (r.normal(size=(40, 50)), 3)),
        "jacobi": (K.jacobi, (40, 4)),
        "mlp": (
            K.mlp,
            (
                r.normal(size=(30, 20)),
                r.normal(size=(20, 16)),
                r.normal(size=16),
                r.normal(size=(16, 4)),
                r.normal(size=4),
            ),
        ),
        "nbody": (K.nbody_step, body),
        "shallow_water": (K.shallow_water_step, water),
        "reductions": (
            lambda np, x: (
                x.sum(axis=0),
                x.max(axis=1),
                x.argmin(axis=1),
                x.std(),
                np.mean(x, axis=(0, 1)),
                (x > 0).any(axis=0),
            ),
            (r.normal(size=(30, 40, 5)),),
        ),
        "indexing": (
            lambda np, x: (
                x[::2, 1:-1] * 2.0,
                np.roll(x, 3, axis=1) - x,
                np.where(x > 0, x, -x)[5:],
                x.T[2] + 1.0,
            ),
            (r.normal(size=(60, 50)),),
        ),
        "creation": (
            lambda np, x: (np.arange(4000.0) * 0.5 + x, np.linspace(0, 1, 4000) - x),
            (r.normal(size=4000),),
        ),
        "assignment": (_assign, (r.normal(size=(30, 40)),)),
    }


def _assign(np, x):
    y = x * 1.0
    y[3:10, ::3] = -1.0
    y[y > 1.5] = 0.0
    y[:, 0] += 5.0
    return y


def _run(fn, module, args):
    wrapped = [dnp.asarray(a) if module is dnp and isinstance(a, np.ndarray) else a for a in args]
    out = fn(module, *wrapped)
    out = out if isinstance(out, tuple) else (out,)
    if module is dnp:
        out = db.evaluate(*out)
        out = out if isinstance(out, tuple) else (out,)
    return [np.asarray(o) for o in out]


def _same(got, want):
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(_kernels()))
def test_tier0_then_native_agree_with_numpy(name):
    fn, args = _kernels()[name]
    want = _run(fn, np, args)
    db.stats(reset=True)
    _same(_run(fn, dnp, args), want)  # first call: the library runs the graph
    first = db.stats()
    assert first["library_runs"] >= 1, "tier 0 did not run"
    assert not first["fallbacks"], first["fallbacks"]
    scheduler.wait_for_compiles()
    db.stats(reset=True)
    _same(_run(fn, dnp, args), want)  # same structure again: native code, found by key
    second = db.stats()
    assert second["scheduler_hits"] >= 1 and second["runs"] >= 1, second
    assert second["compiles"] == 0 and second["cache_misses"] == 0


def test_new_data_and_scalars_share_compiled_code():
    x = dnp.array(_rng().normal(size=50_000))
    float((x * 2.0 + 1.0).sum())
    scheduler.wait_for_compiles()
    db.stats(reset=True)
    for k in range(20):
        data = _rng().normal(size=50_000)
        y = dnp.array(data)
        assert float((y * float(k) + 1.0).sum()) == pytest.approx(float((data * k + 1.0).sum()))
    stats = db.stats()
    assert stats["scheduler_hits"] == 20 and stats["compiles"] == 0


def test_a_structure_run_natively_again_skips_the_general_walk(monkeypatch):
    """A statement of a Python loop whose structure ran natively before runs by its compiled
    program straight away (`_known_native`), with NumPy's values; when what its cost was
    estimated under changes (the thread count), the general path decides again."""
    data = _rng().normal(size=(120, 130))
    x = dnp.array(data)
    walks = []  # the general path's decisions (the cost model asked again)
    decide = scheduler._compute_all
    monkeypatch.setattr(scheduler, "_compute_all", lambda *args: walks.append(1) or decide(*args))
    for _ in range(3):  # tier 0, the compile, then native code
        np.asarray(np.exp(x[1:, :-1] * 0.5 + x[:-1, 1:]))
        scheduler.wait_for_compiles()
    walks.clear()
    db.stats(reset=True)
    for k in range(5):
        y = np.asarray(np.exp(x[1:, :-1] * float(k) + x[:-1, 1:]))
        np.testing.assert_allclose(y, np.exp(data[1:, :-1] * float(k) + data[:-1, 1:]), rtol=1e-13)
    stats = db.stats()
    assert stats["scheduler_hits"] == 5 and stats["library_runs"] == 0 and not walks
    before = db.config(threads=db.config()["threads"] + 1)
    try:
        np.asarray(np.exp(x[1:, :-1] * 2.0 + x[:-1, 1:]))
    finally:
        db.config(**before)
    assert walks  # a new estimate: the general path


@pytest.mark.parametrize(
    "make",
    [
        lambda x, y: (x * 2.0 + 1.0).sum(),
        lambda x, y: x[1:, :-1] * 0.5 + x[:-1, 1:] - y[1:, 1:],
        lambda x, y: np.exp(x * y) / (y + 3.0),
        lambda x, y: (x > y).sum(axis=0),
        lambda x, y: x.T * x,
    ],
)
def test_the_known_structures_key_is_the_general_walks(make):
    """`_one_node_key` (what a statement run again is found by) makes the very key
    `structure_key` makes of the same one-node graph: a known structure is found either way."""
    r = _rng()
    x, y = dnp.array(r.normal(size=(30, 30))), dnp.array(r.normal(size=(30, 30)))
    node = make(x, y)._lazy_node()
    inputs = node.inputs
    assert all(i.is_leaf for i in inputs)
    general = scheduler.structure_key([*dict.fromkeys(inputs), node], (node,))
    fast = scheduler._one_node_key(node, inputs)
    assert fast[0] is not None and fast[0] == general[0] and fast[1] == general[1]


def test_tiny_work_stays_in_the_library():
    x = dnp.array(np.arange(64.0))
    db.stats(reset=True)
    for _ in range(5):
        assert float((x + 1.0).sum()) == float((np.arange(64.0) + 1.0).sum())
    scheduler.wait_for_compiles()
    assert db.stats()["compiles"] == 0 and db.stats()["library_runs"] == 5
    assert "too small" in db.explain((x + 1.0).sum())


def test_explain_shows_the_schedule():
    x = dnp.array(_rng().normal(size=200_000))
    text = db.explain(np.exp(x).sum())
    assert "scheduler:" in text and "cost model" in text and "tier:" in text


def test_sync_mode_compiles_first():
    db.config(compile_in_background=False)
    x = dnp.array(_rng().normal(size=10_000))
    db.stats(reset=True)
    float((x * 3.0).sum())
    assert db.stats()["library_runs"] == 0 and db.stats()["runs"] == 1


@pytest.mark.parametrize("background", [True, False])
def test_long_chains_stay_bounded(background):
    db.config(compile_in_background=background)
    x0 = _rng().normal(size=5000)
    y = dnp.asarray(x0)
    for _ in range(5000):
        y = y + 1.0
    np.testing.assert_allclose(np.asarray(y), x0 + 5000.0)
    assert y._expr.depth <= scheduler.DEPTH_BUDGET + 1


def test_time_loop_compiles_one_structure():
    u0 = _rng().normal(size=(64, 64))
    db.config(compile_in_background=False)
    u = dnp.asarray(u0)
    want = u0.copy()
    for _ in range(200):
        u = u + 0.1 * (np.roll(u, 1, axis=0) + np.roll(u, -1, axis=0) - 2 * u)
        want = want + 0.1 * (np.roll(want, 1, axis=0) + np.roll(want, -1, axis=0) - 2 * want)
    db.stats(reset=True)
    np.testing.assert_allclose(np.asarray(u), want, rtol=1e-10)
    # budgets cut the 200 steps into programs of one repeated structure: few compiles
    assert db.stats()["compiles"] <= 3


def test_lazy_values_snapshot_user_arrays():
    y = np.ones(3)
    s = dnp.dot(y, y)
    y[0] = 10.0
    assert float(s) == 3.0
    x = np.ones(10_000)
    e = dnp.multiply(x, 2.0)
    x[:] = 5.0
    assert np.asarray(e).tolist() == [2.0] * 10_000
    big = np.ones(100_000)
    a = dnp.asarray(big)
    b = a * 2
    big[:] = 7.0
    assert float(b.sum()) == 200_000.0
    view = np.arange(20_000.0).reshape(100, 200)[:, 3:50]
    c = dnp.asarray(view) + 1.0
    view[:] = 0.0
    assert float(c.sum()) == float((np.arange(20_000.0).reshape(100, 200)[:, 3:50] + 1).sum())


def test_read_only_arrays_are_not_copied():
    ro = np.arange(100_000.0)
    ro.flags.writeable = False
    a = dnp.asarray(ro)
    assert np.shares_memory(a._expr.node.cached, ro)


def test_big_work_compiles_first(monkeypatch):
    monkeypatch.setattr(scheduler, "NATIVE_CALL", 60e-6)  # the real fixed cost
    # A compile as fast as a cached one (the test's programs may be on disk already), so
    # that 2^22 elements are "big" (with the real 40 ms, 2^24 would be).
    monkeypatch.setattr(scheduler, "COMPILE_BASE", 5e-3)
    monkeypatch.setattr(scheduler, "COMPILE_COLD", 0.0)  # (whichever test compiled first)
    data = _rng().normal(size=1 << 22)
    x = dnp.array(data)
    y = np.exp(np.sin(x) * 2.0 + np.cos(x)) * np.sqrt(np.abs(x))
    assert "compiling first is sooner" in db.explain(y.sum())
    db.stats(reset=True)
    want = np.exp(np.sin(data) * 2.0 + np.cos(data)) * np.sqrt(np.abs(data))
    assert float(y.sum()) == pytest.approx(float(want.sum()), rel=1e-9)
    assert db.stats()["library_runs"] == 0 and db.stats()["runs"] == 1


def test_user_arrays_are_copied_only_when_a_lazy_value_depends_on_them():
    big = np.arange(200_000.0)
    x = dnp.asarray(big)
    assert float(x[7]) == 7.0  # read at once: no copy was needed
    assert np.shares_memory(x._expr.node.cached, big)
    y = np.exp(x)  # a lazy value: it reads a snapshot, and must not see the user's writes
    leaf = y._expr.args[0]
    assert not np.shares_memory(leaf.node.cached, big)
    assert np.exp(x)._expr.args[0].node is leaf.node  # one snapshot for both
    assert np.shares_memory(x._expr.node.cached, big)  # x is still the user's array
    big[:] = -1.0
    assert float(x[7]) == -1.0  # as NumPy's `np.asarray(big)[7]`
    assert float(y.sum()) == float(np.exp(np.arange(200_000.0)).sum())


def test_reductions_of_user_memory_are_computed_at_once():
    """A reduction of a user's writeable array is NumPy's, at once: one read of the buffer,
    where a lazy reduction would first copy it (a read and a write) to mean what NumPy's
    value meant at that line. An elementwise call keeps the copy and stays lazy: what
    follows fuses with it (computing it at once cost the fused workloads a quarter of their
    speed, see docs/scheduler.md)."""
    big = np.arange(200_000.0)
    x = dnp.asarray(big)
    db.stats(reset=True)
    total = dnp.sum(x)
    assert db.stats()["library_runs"] == 1 and float(total) == float(big.sum())
    rows = dnp.asarray(big.reshape(400, 500)).max(axis=1)
    assert np.shares_memory(x._expr.node.cached, big)  # nothing was copied
    y = x * 2.0  # lazy: the buffer is copied, and the product fuses with what follows
    assert y.concrete() is None and not np.shares_memory(y._expr.args[0].node.cached, big)
    big[:] = -1.0
    np.testing.assert_array_equal(np.asarray(rows), np.arange(200_000.0).reshape(400, 500)[:, -1])
    assert float((y + 1.0).sum()) == float((np.arange(200_000.0) * 2.0 + 1.0).sum())


def test_reductions_of_computed_data_are_numpy_at_once_where_native_would_not_be_faster(
    monkeypatch,
):
    """A reduction of a computed array is NumPy's at once when the cost model says native
    code would not reduce it faster (`library_for_good`): nothing pending fuses into it, so
    a loop node and a trip through the scheduler would only add their Python time. Where
    native code would be faster, it stays a lazy reduction."""
    monkeypatch.setattr(scheduler, "NATIVE_CALL", 45e-6)
    a = np.random.default_rng(5).random((300, 300))
    x = dnp.asarray(a) * 2.0
    x.value()  # computed
    db.stats(reset=True)
    total, rows, top = x.sum(), x.mean(axis=1), x.max(axis=0)
    assert isinstance(total, np.float64) and rows.concrete() is not None  # NumPy's values
    assert top.concrete() is not None
    assert db.stats()["library_runs"] == 3 and db.stats()["runs"] == 0
    np.testing.assert_allclose(float(total), (a * 2.0).sum(), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(rows), (a * 2.0).mean(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(top), (a * 2.0).max(axis=0))
    spread = x.std()  # NumPy's five passes against native code's two: lazy, by the model
    assert spread.concrete() is None
    np.testing.assert_allclose(float(spread), (a * 2.0).std(), rtol=1e-12)
    monkeypatch.setattr(scheduler, "NATIVE_CALL", 0.0)  # native code always faster
    assert x.sum().concrete() is None


def test_computed_graphs_leave_no_reference_cycles():
    """Lazy values are freed by reference counting as NumPy's arrays are: a computed graph
    leaves nothing for the cyclic collector (which would hold every input copy and
    intermediate buffer until it happened to run)."""
    import gc

    a, b = _rng().normal(size=(300, 400)), _rng().normal(size=(300, 400))
    shared = dnp.asarray(a) * 2.0 + dnp.asarray(b)
    np.asarray(shared.sum(axis=0) + np.roll(shared, 1, axis=1)[0])  # a warm-up
    gc.collect()
    gc.disable()
    try:
        gc.set_debug(gc.DEBUG_SAVEALL)
        x = dnp.asarray(a.copy()) * 2.0 + dnp.asarray(b.copy())
        y = x.sum(axis=0) + np.roll(x, 1, axis=1)[0]  # x has two consumers: its own loop
        np.testing.assert_allclose(
            np.asarray(y), (a * 2 + b).sum(axis=0) + np.roll(a * 2 + b, 1, axis=1)[0]
        )
        del x, y
        gc.collect()
        ours = [o for o in gc.garbage if type(o).__module__.startswith("daybreak.frontends")]
        assert ours == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_a_pending_array_read_row_by_row_is_computed_once():
    """A Python loop reading rows of a pending array (`out[i, :]`, a recursive filter's
    second pass) computes the array in its first iteration and reads it afterwards: every
    node the frontends made is kept once computed, not recomputed by each program."""
    db.config(compile_in_background=False, eager_below=1 << 16)  # the default size rule
    a = _rng().normal(size=(400, 300))
    x = dnp.asarray(a)
    whole = np.exp(x) * 2.0 + 1.0  # pending, 120,000 elements
    rows = dnp.zeros((400, 300))
    want = np.zeros((400, 300))
    held = [whole]  # (the loop's names may be handed NumPy's array itself: `handover.py`)
    db.stats(reset=True)
    for i in range(1, 400):
        rows[i, :] = whole[i, :] + 0.5 * rows[i - 1, :]
        want[i, :] = (np.exp(a[i]) * 2.0 + 1.0) + 0.5 * want[i - 1, :]
    np.testing.assert_allclose(np.asarray(rows), want, rtol=1e-12)
    # `whole` computed once (with the first row: one program); then its rows are small parts
    # of a computed array, NumPy's own work. Recomputing it would be one program per row.
    assert db.stats()["runs"] <= 3, db.stats()
    assert held[0].concrete() is not None  # the array reads its computed loop from now on


def test_small_joins_and_likes_of_numpy_data_are_numpy_at_once():
    """Small calls on NumPy data never record a graph (nothing to fuse at that size): the
    joining functions and the `*_like` constructors too, with arrays in a tuple."""
    db.config(eager_below=1 << 16)  # the default size rule
    parts = [np.arange(6.0).reshape(3, 2), np.ones((3, 1))]
    for fn, args in [
        (dnp.hstack, (parts,)),
        (dnp.concatenate, (parts, 1)),
        (dnp.vstack, ([parts[0], parts[0]],)),
        (dnp.stack, ([parts[1]] * 2,)),
        (dnp.zeros_like, (parts[0],)),
        (dnp.full_like, (parts[0], 7.0)),
        (dnp.copy, (parts[0],)),
    ]:
        got = fn(*args)
        assert type(got) is np.ndarray, fn
        np.testing.assert_array_equal(got, getattr(np, fn.__name__)(*args))
    big = [np.ones((300, 300))] * 2
    assert type(dnp.hstack(big)) is not np.ndarray  # big: daybreak's, lazy


def test_tiny_work_is_not_keyed():
    """Work too small for native code to ever pay runs in the library without the structure
    key's walk (it would cost more than the NumPy calls)."""
    x = dnp.array(np.arange(64.0))
    scheduler.forget()
    db.stats(reset=True)
    for _ in range(3):
        float((x * 2.0 + 1.0).sum())
    assert db.stats()["library_runs"] == 3 and len(scheduler._KNOWN) == 0


def test_a_structure_compiles_once_it_pays(monkeypatch):
    """Tier 0 runs a new structure while native code would have saved less than its compile
    costs; the saving (the library's measured time less the native estimate) is counted per
    structure, and the background compile starts once it has paid: a script's one-off call
    never compiles, a loop's body soon does."""
    monkeypatch.setattr(scheduler, "NATIVE_CALL", 60e-6)
    # A compile estimate of 20 ms: a dozen or so runs of ~1 ms saved each pay for it.
    monkeypatch.setattr(scheduler, "COMPILE_BASE", 20e-3)
    monkeypatch.setattr(scheduler, "COMPILE_COLD", 0.0)
    monkeypatch.setattr(scheduler, "COMPILE_NODE", 0.0)
    x = dnp.array(_rng().normal(size=1_000_000))

    def work():
        return float(np.exp(x * 0.5).sum())

    want = float(np.exp(np.asarray(x) * 0.5).sum())
    cost = scheduler.estimate(scheduler.topological([np.exp(x * 0.5).sum()._lazy_node()]))
    assert (
        cost.native_pays and cost.compile_seconds + cost.native_seconds > cost.library_seconds
    )  # not "big work": no compile-first
    db.stats(reset=True)
    assert work() == pytest.approx(want)
    scheduler.wait_for_compiles()
    assert db.stats()["compiles"] == 0 and db.stats()["library_runs"] == 1  # run once: no
    known = next(k for k in scheduler._KNOWN.values() if k.state == "new")
    assert known.saved > 0  # the library's run took longer than native code would have
    for _ in range(500):  # each run adds what it would have saved
        assert work() == pytest.approx(want)
        if known.state != "new":
            break
    assert known.state in ("compiling", "ready") and known.saved >= cost.compile_seconds
    scheduler.wait_for_compiles()
    db.stats(reset=True)
    assert work() == pytest.approx(want)
    assert db.stats()["runs"] == 1 and db.stats()["library_runs"] == 0


def test_only_what_a_live_array_holds_is_kept():
    """A program returns (and keeps) the pending nodes a live array still is; a temporary no
    variable holds is computed inside the program and freed after its last use."""
    import weakref

    from daybreak.frontends.elements.expr import realized_node

    db.config(compile_in_background=False)
    a = _rng().normal(size=(300, 400))
    x = dnp.array(a)

    def step(held):
        t = x * 2.0 + 1.0
        s = (t + np.roll(t, 1, axis=1)).sum()  # `t` read twice: its own loop
        node = weakref.ref(realized_node(t._expr, t.shape))
        if held:
            return s, node, t
        return s, node, None

    s, node, t = step(held=True)
    want = float(((a * 2 + 1) + np.roll(a * 2 + 1, 1, axis=1)).sum())
    assert float(s) == pytest.approx(want)
    assert node() is not None and node().is_leaf and t.concrete() is not None  # kept
    s, node, _ = step(held=False)
    assert float(s) == pytest.approx(want)
    assert node() is None  # the temporary went with the program


def test_savings_count_the_native_run_not_the_costs_both_tiers_pay(monkeypatch):
    """What a library run would have saved is its measured time less the native estimate of
    the same part (the work and `NATIVE_RUN`): the key, the plan and the results, which a
    native run pays as well (in `NATIVE_CALL`), are not held against native code."""
    # Dear, but paid by both tiers: held against native code, it would leave nothing saved
    # (a second is far beyond what this run measures, even on a loaded machine).
    monkeypatch.setattr(scheduler, "NATIVE_CALL", 1.0)
    monkeypatch.setattr(scheduler, "LIBRARY_RUN", 2.0)  # (so native code pays at all)
    monkeypatch.setattr(scheduler, "COMPILE_BASE", 10.0)  # (and compiling first does not)
    monkeypatch.setattr(scheduler, "NATIVE_RUN", 0.0)
    monkeypatch.setattr(scheduler, "PAYBACK", 1e9)  # never compile: only the count matters
    data = _rng().normal(size=200_000)
    x = dnp.array(data)
    db.stats(reset=True)
    assert float((x * 2.0 + 1.0).sum()) == pytest.approx(float((data * 2 + 1).sum()))
    assert db.stats()["library_runs"] == 1
    known = next(k for k in scheduler._KNOWN.values() if k.state == "new")
    assert 0 < known.saved < 1.0


def test_an_executable_runs_with_fewer_threads_and_restores_the_setting():
    program = "|x: vec[f64]| result(for(x, merger[f64, +], |b, i, e| merge(b, e * 2.0)))"
    before = db.config()["threads"]
    for backend in ("interp", "llvm"):
        run = db.compile(program, backend=backend)
        assert run.run([np.arange(10.0)], 1) == 90.0
        assert db.config()["threads"] == before


def test_native_code_starts_threads_only_where_sharing_the_work_saves_more_than_that():
    """The model's thread count: one where the work on one thread is less than twice what
    starting the second costs (`THREAD_START`), all of them above — whatever the element
    count (3 * 10^5 elements of `(a * 2 + 1).sum()`, 9 * 10^5 element-operations, ran 2.5x
    slower on two threads here); the cost counts the start where it starts them, and the
    schedule says the count."""
    before = db.config(threads=2)
    try:

        def cost(n):
            x = dnp.asarray(np.linspace(0.0, 1.0, n))
            return scheduler.estimate(scheduler.topological([(x * 2.0 + 1.0).sum()._lazy_node()]))

        small, big = cost(300_000), cost(8_000_000)
        assert small.element_ops >= 1 << 19 and small.threads == 1
        assert big.threads == 2
        assert big.native_seconds > scheduler.NATIVE_CALL + scheduler.THREAD_START  # counted
        x = dnp.asarray(np.linspace(0.0, 1.0, 8_000_000))
        assert "on 2 thread(s)" in db.explain((x * 2.0 + 1.0).sum())
        db.config(threads=1)
        assert cost(8_000_000).threads == 1
    finally:
        db.config(**before)


def test_the_librarys_passes_cost_more_per_element_once_they_outgrow_the_cache():
    """A library call whose operands and result outgrow a core's cache streams them (NumPy's
    `a + b`: 0.4 ns per element at 6.5 * 10^4 elements, 0.9 from 1.8 * 10^5 here): the
    model's cost per element grows with what a call holds between two bounds, and a graph's
    library estimate with it, more than native code's one pass."""
    costs = [scheduler._library_element(n) for n in (1_000, 3 << 16, 300_000, 3 << 17, 1 << 22)]
    assert costs[0] == costs[1] == scheduler.LIBRARY_ELEMENT
    assert costs[1] < costs[2] < costs[3] == costs[4] == scheduler.LIBRARY_ELEMENT_STREAMED

    def per_element(n):
        x = dnp.asarray(np.linspace(0.0, 1.0, n))
        cost = scheduler.estimate(scheduler.topological([(x * 2.0 + x)._lazy_node()]))
        calls = scheduler.LIBRARY_RUN + cost.calls * scheduler.LIBRARY_CALL
        return (cost.library_seconds - calls) / n, cost.native_seconds / n

    small, big = per_element(30_000), per_element(1_000_000)
    assert big[0] > 2 * small[0]  # the library's passes stream
    assert big[0] / big[1] > small[0] / small[1]  # and more than native code's


def test_rows_of_a_pending_array_read_in_a_loop_compute_it_once():
    """A small part (8x smaller or more) of a pending array makes even one call its own
    loop, computed once: a Python loop reading columns one by one then reads computed data,
    instead of computing each column in a program of its own."""
    db.config(compile_in_background=False, eager_below=1 << 16)  # (columns: NumPy's views)
    data = dnp.array(_rng().normal(size=(2000, 64))) / dnp.array(_rng().random(64) + 1.0)
    db.stats(reset=True)
    cols = [np.asarray(data[:, i]) for i in range(64)]
    assert db.stats()["runs"] + db.stats()["library_runs"] == 1
    np.testing.assert_array_equal(np.stack(cols, axis=1), np.asarray(data))


def test_a_cold_compiler_costs_more_than_a_warm_one(monkeypatch):
    """The first compile of a process imports the compiler and builds LLVM's runtime module:
    "compiling first is sooner" counts it (`COMPILE_COLD`) until a program has been
    compiled, so work is not made to wait for a cold compiler where a warm one would have
    paid; a background compile's payback does not (nobody waits for it)."""
    from daybreak.frontends.lazy import topological

    x = dnp.array(_rng().normal(size=1 << 20))
    order = topological([np.exp(x).sum()._lazy_node()])
    monkeypatch.setattr(scheduler, "_compiled", [False])
    cold = scheduler.estimate(order)
    monkeypatch.setattr(scheduler, "_compiled", [True])
    warm = scheduler.estimate(order)
    assert cold.compile_first_seconds == pytest.approx(
        warm.compile_first_seconds + scheduler.COMPILE_COLD
    )
    # the payback of a background compile (which no call waits for) is the same either way
    assert cold.compile_seconds == warm.compile_seconds == warm.compile_first_seconds
    # a graph writing much fresh memory in the library: its estimate is the uncertain one
    monkeypatch.setattr(scheduler, "FRESH_UNKNOWN", 1)
    monkeypatch.setattr(scheduler, "_compiled", [False])
    assert scheduler.estimate(order).compile_first_seconds == warm.compile_first_seconds
    monkeypatch.setattr(scheduler, "FRESH_UNKNOWN", 1 << 26)
    monkeypatch.setattr(scheduler, "_compiled", [False])
    db.config(compile_in_background=False)
    float(np.exp(x * 0.5).sum())  # a compile warms the compiler
    assert scheduler._compiled[0]


def test_temporaries_the_library_frees_are_no_fresh_memory(monkeypatch):
    """A chain of calls on one big array writes a temporary per call in the library, but
    each is freed for the next to reuse: the fresh memory that makes the library's estimate
    the uncertain one (`FRESH_UNKNOWN`) is a temporary and the result, not every call's
    write (int_hash's chain of twelve in-place operators on 8 * 10^6 integers waited ~0.35
    s for a cold compiler where NumPy takes ~0.25 s)."""
    from daybreak.frontends.lazy import topological

    n = 1 << 19
    h = dnp.array(_rng().integers(0, 1 << 40, size=n).astype(np.uint64))
    for _ in range(4):
        h = h ^ (h >> np.uint64(7))
    order = topological([h._lazy_node()])
    assert scheduler.estimate(order).calls >= 8
    monkeypatch.setattr(scheduler, "_compiled", [False])
    # every call's write is past the mark, the distinct memory (two arrays) is not
    monkeypatch.setattr(scheduler, "FRESH_UNKNOWN", 3 * n)
    assert scheduler.estimate(order).cold_seconds == scheduler.COMPILE_COLD
    monkeypatch.setattr(scheduler, "FRESH_UNKNOWN", 2 * n)
    assert scheduler.estimate(order).cold_seconds == 0.0


@pytest.fixture
def library_calls(monkeypatch):
    """The NumPy function of every element the library computes, in order (no temporary is
    written in place, so every call is one of these)."""
    from daybreak.frontends.elements import eager
    from daybreak.frontends.elements.expr import Apply

    calls = []
    evaluate = Apply.evaluate_eagerly
    monkeypatch.setattr(
        Apply, "evaluate_eagerly", lambda self, v: calls.append(self.eager) or evaluate(self, v)
    )
    monkeypatch.setattr(eager, "_spent_temporary", lambda *args: None)
    return calls


def _softmax(m, x):
    top = m.max(x, axis=-1, keepdims=True)
    e = m.exp(x - top)
    return e / m.sum(e, axis=-1, keepdims=True)


def _normalised(m, x):
    d = x - x.mean(axis=0)
    return d / m.sqrt((d * d).sum(axis=0)), (d * 2.0).max()


@pytest.mark.parametrize("fn", [_softmax, _normalised])
def test_tier0_computes_a_part_several_loops_share_once(fn, library_calls):
    """A value read by two loops of one library run (softmax's `exp(x - max)`, read by its
    sum and by its division) is computed once in the run, as the user's NumPy computes it,
    and never written in place by either loop; the values are NumPy's."""
    x = np.random.default_rng(5).normal(size=(40, 300))
    want = fn(np, x)
    calls = library_calls
    runs = db.stats()["library_runs"]
    got = fn(dnp, dnp.asarray(x) * 1.0)
    got = db.evaluate(*got) if isinstance(got, tuple) else db.evaluate(got)
    assert db.stats()["library_runs"] > runs, "tier 0 did not run"
    shared = np.exp if fn is _softmax else np.subtract
    assert calls.count(shared) == 1, calls
    got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-12)


def test_tier0_keeps_only_the_outermost_shared_part(monkeypatch):
    """The steps of a chain that several loops share (int_hash's `h ^= h >> 33; h *= k`)
    stay temporaries written in place: only the chain's result is kept for the other loops,
    so the library run allocates no array per step."""
    keys = np.random.default_rng(9).integers(0, 2**62, 50_000).astype(np.uint64)

    def mix(m, h):
        for _ in range(3):
            h = h ^ (h >> m.uint64(33))
            h = h * m.uint64(0xFF51AFD7ED558CCD)
        return h, (h % m.uint64(97)).astype(m.int64).max(), (h & m.uint64(0xFF)).sum()

    want = mix(np, keys.copy())
    kept = []

    class Counting(dict):  # the most values the run holds at once
        def __setitem__(self, key, value):
            super().__setitem__(key, value)
            kept.append(len(self))

    run_nodes = scheduler._run_library_nodes

    def counting(*args):
        scheduler.SHARED_PARTS.values = Counting()
        return run_nodes(*args)

    monkeypatch.setattr(scheduler, "_run_library_nodes", counting)
    got = db.evaluate(*mix(dnp, dnp.asarray(keys) * np.uint64(1)))
    assert kept and max(kept) == 1, kept  # the chain's result alone
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.asarray(g), w)


def test_bincount_computes_its_positions_once(library_calls):
    """`bincount` reads its positions three times (their minimum, their maximum, the
    counts): one loop computes them, and what a user's variable holds is kept, so two
    bincounts of one pending array compute it once."""
    x, w = np.random.default_rng(4).random((2, 5000))
    calls = library_calls
    positions = dnp.floor(dnp.asarray(x) * 50.0).astype(np.int64)
    counts = np.asarray(dnp.bincount(positions, minlength=60))
    sums = np.asarray(dnp.bincount(positions, weights=dnp.asarray(w), minlength=60))
    assert calls.count(np.floor) == 1, calls
    want = np.floor(x * 50.0).astype(np.int64)
    np.testing.assert_array_equal(counts, np.bincount(want, minlength=60))
    np.testing.assert_allclose(sums, np.bincount(want, weights=w, minlength=60), rtol=1e-12)


def test_tier0_reads_what_an_array_is_instead_of_computing_it_again(library_calls):
    """A mask held by a variable and read by two later lines, each computed on its own by
    the library: the second reads the value the first computed (`Elem.library_value`), as
    NumPy computes the mask once. The values are NumPy's."""
    x = np.random.default_rng(6).random(5000)
    calls = library_calls

    def lines(m, x):
        valid = (x > 0.2) & (x < 0.9)
        upper = m.count_nonzero(valid & (x > 0.5))
        weight = (x * valid).sum()
        return int(upper), float(weight)

    want = lines(np, x)
    runs = db.stats()["library_runs"]
    got = lines(dnp, dnp.asarray(x) * 1.0)
    assert db.stats()["library_runs"] >= runs + 2, "tier 0 did not run both lines"
    assert calls.count(np.less) == 1, calls  # `x < 0.9`: once
    assert got[0] == want[0] and got[1] == pytest.approx(want[1], rel=1e-12)


def test_tier0_keeps_what_an_array_is_when_a_reduction_reads_it(library_calls):
    """`d = a - b; d.mean(); d.std()`, each computed on its own by the library: the mean's
    loop computes `d` (the value it reduces) and keeps it, since an array is it; the
    standard deviation reads it."""
    a, b = np.random.default_rng(8).random((2, 4000))
    calls = library_calls
    x, y = dnp.asarray(a) * 1.0, dnp.asarray(b) * 1.0
    d = x - y
    got = float(d.mean()), float(d.std())
    d_np = a - b
    assert calls.count(np.subtract) == 2, calls  # `x - y` once; the deviations from the mean
    assert got == pytest.approx((d_np.mean(), d_np.std()), rel=1e-12)


def test_an_array_computed_inside_its_mask_is_data_to_its_selection(library_calls):
    """bincount_hist's `ix = floor(x * n).astype(int64)`, `inside = (ix >= 0) & (ix < n)`,
    `ix[inside]`: the mask's library run computes `ix` too and keeps it (an array is it);
    the selection reads that buffer as `ix`'s data (`ndarray.concrete`), NumPy's own
    selection, not positions of the mask and `ix`'s expression computed again at them."""
    x = np.random.default_rng(12).normal(0.5, 0.3, 20_000)
    calls = library_calls
    ix = dnp.floor(dnp.asarray(x) * 16.0).astype(np.int64)
    inside = (ix >= 0) & (ix < 16)
    np.asarray(inside)
    assert calls.count(np.floor) == 1, calls
    assert ix.concrete() is not None  # (the mask's run made it data)
    got = np.asarray(ix[inside] * 3)
    want_ix = np.floor(x * 16.0).astype(np.int64)
    np.testing.assert_array_equal(got, want_ix[(want_ix >= 0) & (want_ix < 16)] * 3)
    assert calls.count(np.floor) == 1, calls


def test_each_array_a_loop_reads_beyond_its_first_costs_the_library_half_a_pass():
    """NumPy's `a + b` costs about twice `a * 0.2` per element (three arrays moved against
    two): the cost model's library estimate of a loop counts half a pass (`READ_PASS`) for
    each array it reads beyond the first, besides one pass per call."""
    rng = _rng()
    a, b, c = (dnp.array(rng.normal(size=(300, 300))) for _ in range(3))

    def passes(value):
        """The library's work of `value`'s one loop, in passes of `a * 0.2`'s."""
        cost = scheduler.estimate(scheduler.topological([value._lazy_node()]))
        return cost.library_seconds - scheduler.LIBRARY_RUN - cost.calls * scheduler.LIBRARY_CALL

    one = passes(a * 0.2)
    assert one > 0
    assert passes(a * 0.2 + b) / one == pytest.approx(2.5)
    assert passes(a * 0.2 + b + c) / one == pytest.approx(4)
    assert passes(a * 0.2 + a * 0.3) / one == pytest.approx(3)  # (one array read, three calls)


def _rows(np, a, b, out):
    """A loop over rows: one structure per row (each row's view starts elsewhere)."""
    for k in range(a.shape[0]):
        out[k] = np.sqrt(a[k] * 2.0 + b[k] * b[k]) - 0.5 * a[k]
    return out


def test_a_loops_structures_that_differ_in_offsets_only_compile_once_the_loop_pays(
    monkeypatch,
):
    """The rows of `_rows` make structures that differ only in where their views start:
    one family (`scheduler.Family`), whose members' savings count together toward one
    compile; once one compiled, each member builds its program after saving
    `MEMBER_COMPILE` itself, and runs natively. A family of one (the row at offset zero, a
    program without the offset parameter) or another expression counts alone. NumPy's
    values throughout."""
    rng = _rng()
    rows, n = 12, 50_000
    a0, b0 = rng.random((rows, n)), rng.random((rows, n))
    want = _rows(np, a0, b0, np.zeros((rows, n)))
    a, b = dnp.array(a0), dnp.array(b0)
    fixed_clock(monkeypatch, 1e-3)

    def run():
        out = dnp.array(np.zeros((rows, n)))
        np.testing.assert_allclose(np.asarray(_rows(dnp, a, b, out)), want, rtol=1e-14)

    monkeypatch.setattr(scheduler, "PAYBACK", float("inf"))
    run()
    members = [k for k in scheduler._KNOWN.values() if k.family is not None]
    families = {id(k.family) for k in members}
    shared = max(families, key=lambda f: sum(id(k.family) == f for k in members))
    family = next(k.family for k in members if id(k.family) == shared)
    mine = [k for k in members if k.family is family]
    assert len(mine) == rows - 1  # every row but the one at offset zero
    assert family.saved == pytest.approx(sum(k.saved for k in mine))
    assert family.saved > 0 and not family.ready
    # one compile pays where the family's savings do, and one member's never would
    most = max(k.saved for k in mine)
    assert most < family.saved / 2
    monkeypatch.setattr(scheduler, "PAYBACK", family.saved / 2 / most)
    monkeypatch.setattr(scheduler, "COMPILE_BASE", most)  # (a compile pays half its savings)
    monkeypatch.setattr(scheduler, "COMPILE_NODE", 0.0)
    monkeypatch.setattr(scheduler, "COMPILE_COLD", 0.0)
    monkeypatch.setattr(scheduler, "MEMBER_COMPILE", 0.0)
    db.stats(reset=True)
    run()  # the family has paid: a member compiles
    scheduler.wait_for_compiles()
    assert family.ready and any(k.state == "ready" for k in mine)
    run()  # each member builds its program
    scheduler.wait_for_compiles()
    db.stats(reset=True)
    run()
    assert db.stats()["runs"] >= rows - 1  # every member natively


def test_a_scatter_and_a_histogram_cost_what_they_pass_over_not_their_bins():
    """`bincount` of computed positions and `histogram` pass over every position or value
    (NumPy too), whatever their bins: the cost model counts those elements (with few bins,
    counted by the bins, a histogram of 10^6 values was tiny work: one thread, 5.8 ms
    against 2.9 ms on two)."""
    x = dnp.array(_rng().random(300_000))
    counts = dnp.bincount((x * 9.0).astype(np.int64), minlength=10)
    hist = dnp.histogram(x, 10)[0]
    for value in (counts, hist):
        order = scheduler.topological([value._lazy_node()])
        cost = scheduler.estimate(order)
        assert cost.element_ops >= 300_000
        np.asarray(value)  # (computed as always)
    np.testing.assert_array_equal(np.asarray(hist), np.histogram(np.asarray(x), 10)[0])
    # (`flatnonzero`'s filter loop, computed where it is made: its node, as it makes it)
    from daybreak.frontends.elements.dtypes import ir_scalar
    from daybreak.frontends.elements.loops import Positions, realize

    mask = x > 0.5
    node = Positions(realize(mask._expr, mask.shape), ir_scalar(mask.dtype), mask.size)
    assert scheduler.estimate(scheduler.topological([node])).element_ops >= 300_000


def test_a_histogram_of_big_data_writes_no_fresh_temporaries_in_the_library():
    """NumPy's histogram works in cached blocks of values and bincount writes its counts
    only: their library estimates count no fresh memory per pass (which, at 10^7 values,
    made compiling first look sooner than NumPy's own histogram: a first call 4x NumPy's)."""
    from daybreak.frontends.elements.loops import Histogram, ScatterAdd

    n = 1 << 20  # (big arrays: `BIG_ARRAY`)
    x = dnp.array(_rng().random(n))
    for value, passes in (
        (dnp.histogram(x, 10)[0], 20),
        (dnp.bincount((x * 9.0).astype(np.int64)), 1),
    ):
        order = scheduler.topological([value._lazy_node()])
        node = next(n for n in order if type(n) in (Histogram, ScatterAdd))
        cost = scheduler.estimate([node])
        want = (
            scheduler.LIBRARY_RUN
            + passes * scheduler.LIBRARY_CALL
            + passes * n * scheduler._library_element(n + node.output_elements())
        )
        assert cost.library_seconds == pytest.approx(want)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_tier0_computes_an_arg_reduction_by_numpys_kernel_alone(name, monkeypatch):
    """`np.argmax(x * 2, axis=1)` in the library: NumPy's `argmax` of the terms, one pass;
    the row extremes its compiled form compares with are not computed too (a reduction
    pass nobody reads), and the terms go to it as NumPy's array. The positions are NumPy's,
    NaN rows included."""
    from daybreak.frontends.elements.loops import AxisReduce

    reduced, given = [], []
    finish, kernel = AxisReduce._finish_eagerly, AxisReduce._finish_with_kernel
    monkeypatch.setattr(
        AxisReduce, "_finish_eagerly", lambda self, v: reduced.append(self.op) or finish(self, v)
    )
    monkeypatch.setattr(
        AxisReduce,
        "_finish_with_kernel",
        lambda self, k, v: given.append(v.flags.writeable) or kernel(self, k, v),
    )
    a = _rng().normal(size=(300, 400))
    a[7, 11] = np.nan
    x = dnp.array(a)
    db.stats(reset=True)
    got = np.asarray(getattr(np, name)(x * 2.0, axis=1))
    np.testing.assert_array_equal(got, getattr(np, name)(a * 2.0, axis=1))
    assert db.stats()["library_runs"] >= 1 and db.stats()["runs"] == 0
    assert reduced == []  # (the kernel's node finishes by `_finish_with_kernel`)
    # NumPy's own array of the terms, not a broadcast view of it (which NumPy's argmax
    # copies first: 82 ms against 3 on 2000 x 2000 here)
    assert given == [True]


def test_a_value_read_again_after_a_run_is_a_loop_of_its_own():
    """`x = x * 0.999 + 0.001 * y` between reads of a value of `x` (an iterative update and
    its convergence norm): the norm's program computes `x` inline; the next step reads `x`
    again, now through a loop of its own whose value the program keeps (`held_now`,
    `READ_AGAIN`), so every step runs one structure natively instead of an expression one
    step deeper each time (never compiled, walked whole). Reads with no run between them
    still fuse."""
    rng = _rng()
    a, b = rng.random(5000), rng.random(5000)
    x, y = dnp.asarray(a) * 1.0, dnp.asarray(b) * 1.0
    xn, yn = a * 1.0, b * 1.0
    norms = []
    for _ in range(12):
        norms.append(float(dnp.linalg.norm(x - y)))
        x = x * 0.999 + 0.001 * y
        xn = xn * 0.999 + 0.001 * yn
        scheduler.wait_for_compiles()
    want = []
    xn = a * 1.0
    for _ in range(12):
        want.append(float(np.linalg.norm(xn - yn)))
        xn = xn * 0.999 + 0.001 * yn
    assert norms == pytest.approx(want, rel=1e-12)
    db.stats(reset=True)
    for _ in range(6):
        float(dnp.linalg.norm(x - y))
        x = x * 0.999 + 0.001 * y
    stats = db.stats()
    assert stats["runs"] == 6 and stats["compiles"] == 0, stats  # one structure, native
    assert stats["bytes_out"] >= 6 * x.nbytes  # (each step's `x`, kept)
    np.testing.assert_allclose(np.asarray(x), _steps(a * 1.0, yn, 18), rtol=1e-12)
    p = dnp.asarray(a) * 2.0
    q, r = p + 1.0, p - 1.0  # (no run between the reads: both fuse `p`)
    assert type(q._expr.args[0]) is type(r._expr.args[0]) is type(p._expr)


def _steps(x, y, n):
    for _ in range(n):
        x = x * 0.999 + 0.001 * y
    return x
