"""Statements run at once (`frontends/numpy/replay.py`, `AtOnce`): a statement in a loop whose
calls the cost model all sent to the library runs, from its third run on, as NumPy's own
calls on its operands' data — with NumPy's values whatever its names come to hold (other
shapes, NumPy arrays, pending values, a rebound function), whatever reads what it writes
(pending values, views, the user's own memory), and NumPy's errors.

The tests run with the defaults outside tests (the library tier is what this is about:
strict mode compiles every graph), with no fallback allowed, and with the loops' arrays left
daybreak's (`db.config(handover=False)`: a loop of statements run at once hands its arrays
to NumPy once hot, `test_handover`)."""

import threading

import numpy
import pytest

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends import scheduler
from daybreak.frontends.numpy import replay
from daybreak.runtime.config import SETTINGS

from .helpers import defaults_outside_tests

N = 300  # floyd_warshall's matrix: 90,000 elements, each step's calls in the library


@pytest.fixture(autouse=True)
def library_tier(monkeypatch):
    scheduler.forget()
    monkeypatch.setattr(SETTINGS, "handover", False)
    with defaults_outside_tests():
        yield
    scheduler.forget()


def _at_once() -> int:
    return db.stats()["statements_at_once"]


def _paths(seed=5, n=N):
    rng = numpy.random.default_rng(seed)
    return rng.integers(1, 1000, (n, n)).astype(numpy.int32)


def _floyd(np, path):
    for k in range(path.shape[0]):
        path[:] = np.minimum(path[:], np.add.outer(path[:, k], path[k, :]))
    return path


@pytest.mark.parametrize("wrap", [dnp.asarray, dnp.array], ids=["users", "daybreaks"])
def test_a_loop_of_library_calls_runs_at_once_with_numpys_values(wrap):
    """floyd_warshall's step (a view, a row and a column, `add.outer`, `minimum`, a store
    into the whole matrix): marked at its first store, recorded at its second run, then
    run at once; the matrix (and the user's own) holds NumPy's values."""
    p0 = _paths()
    want = _floyd(numpy, p0.copy())
    before = _at_once()
    got = _floyd(dnp, wrap(p0))
    assert type(got) is dnp.ndarray  # (its calls' NumPy results went into it, not over it)
    numpy.testing.assert_array_equal(numpy.asarray(got), want)
    assert _at_once() - before >= N - 10
    if wrap is dnp.asarray:
        numpy.testing.assert_array_equal(p0, want)


def test_turned_off_with_replays():
    p0 = _paths()
    before = db.config(replay=False)
    try:
        counted = _at_once()
        got = _floyd(dnp, dnp.array(p0))
        assert _at_once() == counted
    finally:
        db.config(**before)
    numpy.testing.assert_array_equal(numpy.asarray(got), _floyd(numpy, p0.copy()))


def _bins(np, data, radius, out):
    top = float(radius.max())
    for i in range(out.shape[0]):
        r1, r2 = top * i / out.shape[0], top * (i + 1) / out.shape[0]
        out[i] = data[np.logical_and(r1 <= radius, radius < r2)].mean() + r1
    return out


def test_names_that_change_between_runs_give_numpys_values():
    """The same statement with its names rebound as it runs: other shapes, NumPy arrays,
    a pending value, a daybreak array over another buffer. Each call is NumPy's on what
    it is given; a pending operand's call runs as always."""
    rng = numpy.random.default_rng(7)
    data, radius = rng.random(100_000), rng.random(100_000)
    out = dnp.zeros((40, 2500))  # (rows of a daybreak array: 100,000 elements)
    before = _at_once()
    _bins(dnp, dnp.asarray(data), dnp.asarray(radius), out)  # (marked, recorded, run at once)
    assert _at_once() - before >= 30
    want = numpy.zeros((40, 2500))
    cases = [
        (data[:70_000], radius[:70_000]),  # other shapes, NumPy's arrays
        (dnp.asarray(data) * 2.0, dnp.asarray(radius)),  # a pending operand
        (dnp.array(radius), dnp.array(data)),  # daybreak's own buffers, swapped
    ]
    for d, r in cases:
        numpy.testing.assert_allclose(
            numpy.asarray(_bins(dnp, d, r, out)),
            _bins(numpy, numpy.asarray(d), numpy.asarray(r), want),
            rtol=1e-12,
        )


def test_a_pending_reader_of_the_target_keeps_what_it_read():
    """A lazy value made from the matrix before the loop writes it at once reads the
    matrix as it was (`own_buffer` at each store, as always)."""
    p0 = _paths()
    path = dnp.array(p0)
    before = _at_once()
    doubled = path * 2  # pending: reads `path`'s buffer
    view = path[5]  # a view: follows the writes
    _floyd(dnp, path)
    want = _floyd(numpy, p0.copy())
    numpy.testing.assert_array_equal(numpy.asarray(doubled), p0 * 2)
    numpy.testing.assert_array_equal(numpy.asarray(view), want[5])
    numpy.testing.assert_array_equal(numpy.asarray(path), want)
    assert _at_once() - before >= N - 10


# A statement that runs at once (rows of the user's matrix: `minimum` in the library), and
# the same with what keeps a statement from running at once
RUNS_AT_ONCE = "for k in range(n):\n    out[k] = np.minimum(big[k], big[k + 1])\n"
NEVER_AT_ONCE = {
    # an in-place operator writes what the subscript gave (NumPy's view of the buffer)
    "in place": "for k in range(n):\n    out[k] += np.minimum(big[k], big[k + 1])\n",
    # a store into a call's result: NumPy's view run at once, not daybreak's array (today
    # the store through daybreak's view makes a pending value as well: never at once either)
    "into a result": "for k in range(n):\n    out[k][:] = np.minimum(big[k], big[k + 1])\n",
    # not in a loop: run once a call, it would only make every call of its code ask
    "no loop": "out[3] = np.minimum(big[3], big[4])\nout[4] = np.minimum(big[4], big[5])\n",
}


def _run_script(source: str, name: str) -> int:
    """`source` run four times on daybreak's arrays and NumPy's: the same values each
    time; how many of its statements ran at once."""
    rng = numpy.random.default_rng(11)
    big0, out0 = rng.random((13, 80_000)), rng.random((12, 80_000))
    code = compile(source, f"<{name}>", "exec")  # (one code: its statements run again)
    counted = _at_once()
    for _ in range(4):
        mine = {"np": dnp, "big": dnp.asarray(big0.copy()), "out": dnp.array(out0), "n": 12}
        theirs = {"np": numpy, "big": big0.copy(), "out": out0.copy(), "n": 12}
        exec(code, mine)
        exec(code, theirs)
        numpy.testing.assert_array_equal(numpy.asarray(mine["out"]), theirs["out"])
    return _at_once() - counted


def test_a_loop_over_rows_of_the_users_matrix_runs_at_once():
    assert _run_script(RUNS_AT_ONCE, "rows") >= 12


@pytest.mark.parametrize("script", list(NEVER_AT_ONCE), ids=list(NEVER_AT_ONCE))
def test_statements_that_may_write_their_operands_never_run_at_once(script):
    """Each script run four times: none of its statements runs at once, and every run
    gives NumPy's values."""
    assert _run_script(NEVER_AT_ONCE[script], script) == 0


def _against(np, path, column):
    for k in range(path.shape[0]):
        path[:] = np.minimum(path[:], np.add.outer(column[:, k], path[k, :]))
    return path


def test_a_statement_that_raises_mid_run_raises_numpys_error_and_the_next_runs_as_always():
    """A statement run at once whose operands stop fitting: NumPy's error at its line; its
    next run (and the statements after it) give NumPy's values."""
    p0 = _paths()
    path = dnp.array(p0)
    before = _at_once()
    _against(dnp, path, dnp.array(p0))
    assert _at_once() - before >= N - 10
    wrong = dnp.array(numpy.ones((7, N), dtype=numpy.int32))
    with pytest.raises(ValueError, match="broadcast"):
        _against(dnp, path, wrong)
    again, want = dnp.array(p0), p0.copy()
    numpy.testing.assert_array_equal(
        numpy.asarray(_against(dnp, again, dnp.array(p0))), _against(numpy, want, p0.copy())
    )
    numpy.testing.assert_array_equal(numpy.asarray(_floyd(dnp, again)), _floyd(numpy, want))


def test_writing_methods_and_in_place_operators_are_found():
    """`statements.may_write_operands`: what keeps a statement from running at once."""
    from daybreak.frontends.statements import may_write_operands

    def span(source):
        code = compile(source, "<s>", "exec")
        offsets = [ins.offset for ins in __import__("dis").get_instructions(code)]
        return code, offsets[0], offsets[-1]

    assert may_write_operands(*span("a[k] += b[k]"))
    assert may_write_operands(*span("a[k] = (b[k].sort(), b[k])"))
    assert may_write_operands(*span("a[k] = b[k].fill(0)"))
    assert not may_write_operands(*span("a[k] = np.minimum(a[k - 1], b[k].copy())"))
    assert not may_write_operands(*span("a[k] = b[k] + a[k - 1]"))


def test_rechecked_runs_give_the_same_values(monkeypatch):
    """Every `_RECHECK`-th run is recorded again (here every other): the statement goes on
    running at once, with NumPy's values."""
    monkeypatch.setattr(replay, "_RECHECK", 2)
    p0 = _paths()
    before = _at_once()
    got = _floyd(dnp, dnp.array(p0))
    numpy.testing.assert_array_equal(numpy.asarray(got), _floyd(numpy, p0.copy()))
    assert N // 2 - 10 <= _at_once() - before < N - 10


def test_threads_running_the_same_statement_agree_with_numpy():
    """One statement run at once at a time, process-wide: another thread's run of it
    records as always. Both threads' matrices hold NumPy's values."""
    inputs = [_paths(seed) for seed in (1, 2)]
    before = _at_once()
    results: list = [None, None]
    errors: list = []

    def run(k):
        try:
            results[k] = numpy.asarray(_floyd(dnp, dnp.array(inputs[k])))
        except BaseException as why:  # (reported below: a thread's error is otherwise lost)
            errors.append(why)

    threads = [threading.Thread(target=run, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert _at_once() - before >= N // 2
    for k in (0, 1):
        numpy.testing.assert_array_equal(results[k], _floyd(numpy, inputs[k].copy()))


def _covariance(np, data):
    m = data.shape[1]
    cov = np.zeros((m, m), dtype=data.dtype)
    for i in range(m):
        cov[i:m, i] = cov[i, i:m] = data[:, i] @ data[:, i:m] / (data.shape[0] - 1.0)
    return cov


def test_a_chained_store_runs_at_once_up_to_its_first_store():
    """covariance's `cov[i:m, i] = cov[i, i:m] = data[:, i] @ data[:, i:m] / (n - 1)`: the
    statement up to its first store runs at once (the products NumPy's kernel), the value
    left over goes into the second target as always."""
    data = numpy.random.default_rng(13).random((300, 280))  # (cov: 78,400 elements)
    before = _at_once()
    got = _covariance(dnp, dnp.asarray(data))
    numpy.testing.assert_allclose(numpy.asarray(got), _covariance(numpy, data), rtol=1e-13)
    # (the last columns' slices are NumPy's small arrays: nothing of daybreak's to spare,
    # and a recheck there leaves the statement alone)
    assert _at_once() - before >= 280 // 2


def test_a_chained_store_written_natively_is_never_replayed():
    """A chained store whose value a program writes natively (two big regions): never a
    replayed statement (its placeholder would reach the second target); NumPy's values at
    every step."""
    rng = numpy.random.default_rng(17)
    a0 = rng.random(400_000)
    a, b, c = dnp.asarray(a0.copy()), dnp.zeros(400_000), dnp.zeros(400_000)
    want_b, want_c = numpy.zeros(400_000), numpy.zeros(400_000)
    replayed = db.stats()["statements_replayed"]
    for step in range(6):
        b[1:-1] = c[1:-1] = 0.5 * (a[2:] + a[:-2]) + step
        want_b[1:-1] = want_c[1:-1] = 0.5 * (a0[2:] + a0[:-2]) + step
        numpy.testing.assert_array_equal(numpy.asarray(b), want_b)
        numpy.testing.assert_array_equal(numpy.asarray(c), want_c)
    assert db.stats()["statements_replayed"] == replayed


def _masked_means(np, data, radius, bins):
    top = radius.max()  # (a NumPy float: `r1 <= radius` is NumPy's scalar operator)
    means = []
    for i in range(bins):
        r1, r2 = top * i / bins, top * (i + 1) / bins
        mask = np.logical_and(r1 <= radius, radius < r2)
        means.append(float(data[mask].mean()))
    return numpy.array(means), mask


def test_a_statement_binding_a_name_runs_at_once():
    """azimint_naive's `mask = np.logical_and(r1 <= radius, radius < r2)`: no daybreak code
    runs at its end; its library calls mark it, its next run is recorded up to the next
    statement's call, then it runs at once (a NumPy float's operator on a daybreak array
    too, through `__array_ufunc__`). The means and the last mask are NumPy's."""
    rng = numpy.random.default_rng(19)
    data, radius = rng.random(120_000), rng.random(120_000)
    before = _at_once()
    got, mask = _masked_means(dnp, dnp.asarray(data), dnp.asarray(radius), 60)
    want, want_mask = _masked_means(numpy, data, radius, 60)
    numpy.testing.assert_array_equal(got, want)
    numpy.testing.assert_array_equal(numpy.asarray(mask), want_mask)
    assert _at_once() - before >= 50


NAMED_NEVER_AT_ONCE = {
    # an in-place operator on the name's array
    "in place": "acc = np.minimum(big[0], big[1])\nfor k in range(n):\n"
    "    acc += np.minimum(big[k], big[k + 1])\n",
    # not in a loop
    "no loop": "m3 = np.minimum(big[3], big[4])\nm4 = np.minimum(big[4], big[5])\n",
}


@pytest.mark.parametrize("script", list(NAMED_NEVER_AT_ONCE), ids=list(NAMED_NEVER_AT_ONCE))
def test_statements_binding_names_that_may_write_never_run_at_once(script):
    rng = numpy.random.default_rng(23)
    big0 = rng.random((13, 80_000))
    code = compile(NAMED_NEVER_AT_ONCE[script], f"<{script}>", "exec")
    counted = _at_once()
    for _ in range(4):
        mine = {"np": dnp, "big": dnp.asarray(big0.copy()), "n": 12}
        theirs = {"np": numpy, "big": big0.copy(), "n": 12}
        exec(code, mine)
        exec(code, theirs)
        for name in ("acc", "m3", "m4"):
            if name in theirs:
                numpy.testing.assert_array_equal(numpy.asarray(mine[name]), theirs[name])
    assert _at_once() == counted


def test_a_numpy_scalars_operator_in_a_native_statement_is_replayed():
    """`B[1:-1] = c * (A[2:] + A[:-2])` with `c` a NumPy float: NumPy's scalar operator
    reaches daybreak through `__array_ufunc__`, a call the statement's recording notes, so
    the statement is replayed as its program, with NumPy's values at every step."""
    rng = numpy.random.default_rng(29)
    a0 = rng.random(400_000)
    c = numpy.float64(0.5)
    a, b = dnp.asarray(a0.copy()), dnp.zeros(400_000)
    want = numpy.zeros(400_000)
    before = db.config(strict=True)  # (every statement compiled: native at its first run)
    try:
        replayed = db.stats()["statements_replayed"]
        for _ in range(10):
            b[1:-1] = c * (a[2:] + a[:-2])
            want[1:-1] = c * (a0[2:] + a0[:-2])
            numpy.testing.assert_array_equal(numpy.asarray(b), want)
        assert db.stats()["statements_replayed"] - replayed >= 4
    finally:
        db.config(**before)


def _rows_into(np, out, big):
    for k in range(out.shape[0]):
        out[k] = np.minimum(big[k], big[k + 1])
    return out


def test_a_mark_whose_store_goes_to_numpys_array_is_let_go(monkeypatch):
    """resnet's conv: one statement storing into daybreak's array at one call (a big
    output) and NumPy's own at the next (a small one, no daybreak code at its store): the
    mark its recordings never end at a store is let go after a few tries, so that the
    code's calls stop asking `on_call`; NumPy's values throughout."""
    from daybreak.frontends.numpy import ufuncs
    from daybreak.frontends.sites import user_site

    # (every line computes at once, whatever the cost model learnt in earlier tests)
    monkeypatch.setattr(ufuncs, "site_at_once", lambda depth=1: (user_site(depth + 1), True))
    rng = numpy.random.default_rng(31)
    big0 = rng.random((13, 80_000))
    code = _rows_into.__code__

    def marked():
        return [w for at, w in replay.ENTRY.items() if at[0] == id(code)]

    # (marked at a store into daybreak's array, the loop's last: no recording yet)
    for _ in range(6):
        _rows_into(dnp, dnp.zeros((1, 80_000)), dnp.asarray(big0))
        if any(type(w) is replay._Marked for w in marked()):
            break
    assert any(type(w) is replay._Marked for w in marked())
    small = big0[:, :1000]
    for _ in range(6):  # (then NumPy's small arrays as the target)
        got = _rows_into(dnp, numpy.zeros((12, 1000)), dnp.asarray(big0)[:, :1000])
        numpy.testing.assert_array_equal(got, _rows_into(numpy, numpy.zeros((12, 1000)), small))
    assert not marked()


def _correlation(np, data):
    m = data.shape[1]
    corr = np.eye(m, dtype=data.dtype)
    for i in range(m - 1):
        corr[i + 1 : m, i] = corr[i, i + 1 : m] = data[:, i] @ data[:, i + 1 : m]
    return corr


def test_eye_is_daybreaks_and_its_chained_stores_run_at_once():
    """`np.eye` of a big matrix is a daybreak array (stores into it are daybreak's, and
    correlation's chained store, its key `i + 1 : m`, runs at once); a small one NumPy's."""
    assert type(dnp.eye(3)) is numpy.ndarray
    assert type(dnp.eye(300)) is dnp.ndarray and type(dnp.identity(300)) is dnp.ndarray
    numpy.testing.assert_array_equal(numpy.asarray(dnp.eye(300, 310, 2)), numpy.eye(300, 310, 2))
    data = numpy.random.default_rng(37).random((300, 280))
    before = _at_once()
    got = _correlation(dnp, dnp.asarray(data))
    numpy.testing.assert_allclose(numpy.asarray(got), _correlation(numpy, data), rtol=1e-13)
    assert _at_once() - before >= 280 // 2


@pytest.mark.parametrize("hot", [False, True], ids=["cold", "hot"])
def test_a_statement_of_sampled_calls_runs_at_once_out_of_its_recorded_runs(hot, monkeypatch):
    """Cold code's calls computed at once by sampling (`sites.sampled_out`) are not the
    library's for good: its recorded runs let its structures compile (floyd_warshall at
    900 x 900: native 1.6x NumPy, where running at once for good held it at NumPy's 1.0x).
    Here every call of the rows' statement is sampled out (counted as sampling): the
    statement runs at once, but one run in `SAMPLE_EVERY` is recorded (its calls all
    recorded, `sites.RECORDED`); once its code is hot (a structure made there compiled),
    every run is recorded."""
    from daybreak.frontends import sites
    from daybreak.frontends.numpy import ufuncs

    recorded = []

    def sampled(site, inputs, result_bytes):
        if sites.RECORDED[0] == site[0]:
            recorded.append(site)
            return False
        sites.SAMPLED[0] += 1
        return True

    monkeypatch.setattr(ufuncs, "site_at_once", lambda depth=1: (sites.user_site(depth + 1), False))
    monkeypatch.setattr(ufuncs, "_snapshot_is_a_copy", lambda site, borrowed: False)
    monkeypatch.setattr(ufuncs, "_sampled_out", sampled)
    if hot:
        monkeypatch.setattr(replay, "cold", lambda site: False)
    ran = _run_script(RUNS_AT_ONCE, "sampled rows")  # (4 x 12 runs)
    if hot:
        assert ran == 0 and not recorded
    else:
        assert 48 - 48 // sites.SAMPLE_EVERY - 12 <= ran <= 48 - 48 // sites.SAMPLE_EVERY
        assert recorded


def test_recorded_runs_of_a_time_step_run_at_once_let_its_program_compile():
    """jacobi_2d's steps (300 x 300, the suite's): in cold code its statements run at once
    out of their recorded runs, and those runs still count what compiling would save, so
    that the program compiles within a few calls and the steps are replayed natively; the
    values are NumPy's on every call. In the first call, the steps not recorded run at once,
    or natively once the program compiled (at once then: an earlier test of this process
    compiled the same structure, which `scheduler.forget` leaves in the compile cache)."""
    rng = numpy.random.default_rng(43)
    a0, b0 = rng.random((300, 300)), rng.random((300, 300))
    want = _jacobi_2d(numpy, 50, a0.copy(), b0.copy())
    first_at_once, replayed = None, 0
    for _ in range(12):
        counted = db.stats()
        got = _jacobi_2d(dnp, 50, dnp.asarray(a0.copy()), dnp.asarray(b0.copy()))
        for mine, theirs in zip(got, want, strict=True):
            numpy.testing.assert_allclose(numpy.asarray(mine), theirs, rtol=1e-13)
        scheduler.wait_for_compiles()
        now = db.stats()
        replayed = now["statements_replayed"] - counted["statements_replayed"]
        if first_at_once is None:
            first_at_once = now["statements_at_once"] - counted["statements_at_once"]
            assert first_at_once + now["runs"] - counted["runs"] >= 60
        if replayed >= 40:
            break
    assert replayed >= 40


def _jacobi_2d(np, steps, a, b):
    for _ in range(steps):
        b[1:-1, 1:-1] = 0.2 * (
            a[1:-1, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] + a[2:, 1:-1] + a[:-2, 1:-1]
        )
        a[1:-1, 1:-1] = 0.2 * (
            b[1:-1, 1:-1] + b[1:-1, :-2] + b[1:-1, 2:] + b[2:, 1:-1] + b[:-2, 1:-1]
        )
    return a, b


def _jacobi_1d(np, steps, a, b):
    for _ in range(steps):
        b[1:-1] = 0.33333 * (a[:-2] + a[1:-1] + a[2:])
        a[1:-1] = 0.33333 * (b[:-2] + b[1:-1] + b[2:])
    return a, b


@pytest.mark.parametrize("n, sampled", [(6_000, False), (60_000, True)], ids=["small", "big"])
def test_a_time_step_of_library_work_runs_at_once(n, sampled, monkeypatch):
    """jacobi_1d's steps on daybreak's arrays (`eager_below` lowered: at the default its
    6,000-element arrays are NumPy's own): each statement's calls make pending values the
    library computes at its store. With less work than a native replay pays for (calls x
    elements below `replay.WORTH`) the statement runs at once after its recording,
    whatever its code; with more (the big case: 4 x 60,000) only while its code is cold,
    one run in `SAMPLE_EVERY` recorded (the test above), never once it is hot (its runs
    wait for its program to compile, and replay it natively)."""
    from daybreak.frontends import sites

    assert (4 * 6_000 < replay.WORTH) and (4 * 60_000 >= replay.WORTH)
    runs = 2 * 40
    recorded = runs // sites.SAMPLE_EVERY
    if not sampled:
        monkeypatch.setattr(replay, "cold", lambda site: False)  # (small work: whatever)
    a0 = numpy.linspace(0.0, 1.0, n)
    b0 = numpy.linspace(1.0, 2.0, n)
    want = _jacobi_1d(numpy, 40, a0.copy(), b0.copy())
    before = db.config(eager_below=1024)
    try:
        counted = _at_once()
        got = _jacobi_1d(dnp, 40, dnp.asarray(a0.copy()), dnp.asarray(b0.copy()))
        ran = _at_once() - counted
        for mine, theirs in zip(got, want, strict=True):
            assert type(mine) is dnp.ndarray
            numpy.testing.assert_allclose(numpy.asarray(mine), theirs, rtol=1e-14)
        if not sampled:
            assert ran >= runs - 20
            return
        assert runs - recorded - 20 <= ran <= runs - recorded
        monkeypatch.setattr(replay, "cold", lambda site: False)
        counted = _at_once()
        got = _jacobi_1d(dnp, 40, dnp.asarray(a0.copy()), dnp.asarray(b0.copy()))
        assert _at_once() == counted  # (hot code: every run recorded)
        numpy.testing.assert_allclose(numpy.asarray(got[0]), want[0], rtol=1e-14)
    finally:
        db.config(**before)


def test_a_known_statements_store_asks_again_only_after_another_library_run(monkeypatch):
    """A store of NumPy data asks `replay.data_stored` whether to mark its statement only
    when a call went to the library since the last store that asked (a Python loop's every
    store comes here): a statement known already (left alone) answers, and its later stores
    are not asked again (gramschmidt's column updates after each column's library run).
    (The loop's array stays daybreak's: handed to NumPy, its stores would not come here.)"""
    from daybreak.frontends.numpy import assignment

    asked = []
    real = assignment.data_stored
    monkeypatch.setattr(assignment, "data_stored", lambda v, f: (asked.append(1), real(v, f)))
    big = dnp.asarray(numpy.random.default_rng(3).random((400, 300)))
    want = numpy.asarray(big).copy()
    column = numpy.ones(400)
    for k in range(3):
        counted = db.stats()["library_runs"]
        total = float(dnp.exp(big).sum())  # (a library run before each loop)
        assert db.stats()["library_runs"] > counted and total > 0
        asked.clear()
        for j in range(300):
            big[:, j] = column * (j + k)
            want[:, j] = column * (j + k)
        assert 1 <= len(asked) <= 3
    numpy.testing.assert_array_equal(numpy.asarray(big), want)
