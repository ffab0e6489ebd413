"""A hot Python loop's array handed to NumPy itself (`frontends/numpy/handover.py`): after
`HOT` element reads and writes in a row, the loop frame's names holding a computed daybreak
array hold NumPy's array over the same memory. Every test checks NumPy's values (the arrays,
the lazy values made before and during the loop, the user's own memory) and whether the
handover happened (`db.stats()["handed_over"]`, the names' type) or, where it must not, did
not.

The tests run with the defaults outside tests, with no fallback allowed."""

import sys

import numpy
import pytest

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends import frames, scheduler
from daybreak.frontends.numpy.handover import HOT, SMALL_PART
from daybreak.frontends.numpy.replay import HOT_AT_ONCE
from daybreak.runtime.config import SETTINGS

from .helpers import defaults_outside_tests, run_generated_programs
from .test_at_once import _covariance, _floyd, _masked_means


@pytest.fixture(autouse=True)
def library_tier():
    with defaults_outside_tests():
        yield


def _handed() -> int:
    return db.stats()["handed_over"]


def _spd(n: int) -> numpy.ndarray:
    m = numpy.tril(numpy.fromfunction(lambda i, j: (-j % n) / n + 1, (n, n)))
    numpy.fill_diagonal(m, 1.0)
    return m @ m.T


def _cholesky(np, A):
    A[0, 0] = np.sqrt(A[0, 0])
    for i in range(1, A.shape[0]):
        for j in range(i):
            A[i, j] -= np.dot(A[i, :j], A[j, :j])
            A[i, j] /= A[j, j]
        A[i, i] -= np.dot(A[i, :i], A[i, :i])
        A[i, i] = np.sqrt(A[i, i])
    return A


@pytest.mark.parametrize("made", ["users", "computed", "pending"])
def test_a_cholesky_loop_gets_numpys_array_with_numpys_values(made):
    """The loop's `A` becomes NumPy's array over the daybreak array's memory: the values are
    NumPy's, and the caller's daybreak array (and the user's own memory, `asarray`'s) holds
    them too."""
    user = _spd(300)
    want = _cholesky(numpy, user.copy())
    x = {
        "users": lambda: dnp.asarray(user),
        "computed": lambda: dnp.array(user),
        "pending": lambda: dnp.asarray(user.copy()) * 1.0,
    }[made]()
    before = _handed()
    got = _cholesky(dnp, x)
    assert _handed() - before == 1
    assert type(got) is numpy.ndarray  # (the loop's name, rebound and returned)
    assert type(x) is dnp.ndarray  # (the caller's name: daybreak's array still)
    numpy.testing.assert_array_equal(got, want)
    numpy.testing.assert_array_equal(numpy.asarray(x), want)
    assert numpy.shares_memory(got, numpy.asarray(x))
    if made == "users":
        numpy.testing.assert_array_equal(user, want)


def _diagonal_stores(np, A, n):
    for i in range(n):
        A[i, i] = 2.0 * i
    return A


@pytest.mark.parametrize("reads", [False, True], ids=["stores", "reads"])
def test_a_buffer_nothing_else_reads_is_handed_over_without_a_copy(reads):
    """A computed array's buffer goes to NumPy as it is: no copy of it is kept for readers
    when the loop's own subscript or store is all that holds it (traced allocations stay far
    below the buffer's 1.28 MB)."""
    import tracemalloc

    x = dnp.exp(dnp.asarray(numpy.zeros((400, 400))))
    assert x[0, 0] == 1.0  # (computed now, a buffer of its own: not handed out yet)
    tracemalloc.start()
    try:
        before = _handed()
        got = _row_sums(dnp, x, 20) if reads else _diagonal_stores(dnp, x, 400)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert _handed() - before == 1
    assert peak < 400 * 400 * 8 // 4
    assert numpy.shares_memory(got[0] if reads else got, numpy.asarray(x))
    want = numpy.ones((400, 400))
    if not reads:
        want[range(400), range(400)] = 2.0 * numpy.arange(400)
    numpy.testing.assert_array_equal(numpy.asarray(x), want)


def test_a_loop_of_column_and_row_stores_gets_numpys_array():
    """covariance's chained stores of a column and a row (small parts) make the loop hot:
    `cov` is NumPy's from then on (and `data`, once its last columns' parts are small)."""
    data = numpy.random.default_rng(13).random((300, 280))
    before = _handed()
    got = _covariance(dnp, dnp.asarray(data))
    assert _handed() - before >= 1
    assert type(got) is numpy.ndarray
    numpy.testing.assert_allclose(got, _covariance(numpy, data), rtol=1e-13)


@pytest.mark.parametrize("wrap", [dnp.asarray, dnp.array], ids=["users", "daybreaks"])
def test_a_loop_of_statements_run_at_once_gets_numpys_array(wrap):
    """floyd_warshall's step runs at once (each call NumPy's own on the matrix's data): after
    `HOT_AT_ONCE` reads of the matrix in such runs, the loop's `path` is NumPy's array, with
    nothing of daybreak's between its calls."""
    from daybreak.frontends.numpy.replay import HOT_AT_ONCE

    p0 = numpy.random.default_rng(5).integers(1, 1000, (300, 300)).astype(numpy.int32)
    want = _floyd(numpy, p0.copy())
    before, at_once = _handed(), db.stats()["statements_at_once"]
    got = _floyd(dnp, wrap(p0.copy()))
    assert _handed() - before == 1
    assert type(got) is numpy.ndarray
    numpy.testing.assert_array_equal(got, want)
    # (run at once until then: the first runs recorded, then each reads `path` three times)
    assert 1 <= db.stats()["statements_at_once"] - at_once <= HOT_AT_ONCE


def test_a_name_statement_run_at_once_hands_its_operands_over():
    """azimint_naive's `mask = np.logical_and(r1 <= radius, radius < r2)` (a name's
    statement run at once): `radius` goes to NumPy; the means are NumPy's."""
    rng = numpy.random.default_rng(19)
    data, radius = rng.random(120_000), rng.random(120_000)
    want, want_mask = _masked_means(numpy, data, radius, 120)
    before = _handed()
    got, mask = _masked_means(dnp, dnp.asarray(data), dnp.asarray(radius), 120)
    assert _handed() - before >= 1
    numpy.testing.assert_array_equal(got, want)
    numpy.testing.assert_array_equal(numpy.asarray(mask), want_mask)


def test_a_call_not_run_at_once_starts_the_count_again():
    """A call the cost model records or computes (not a statement run at once) reads its
    operands as daybreak's: their count of reads at once (`replay.read_at_once`) starts
    again."""
    x0 = numpy.random.default_rng(9).random(100_000)
    x = dnp.asarray(x0)
    x._hot = 40
    y = x * 2.0 + 1.0
    assert x._hot == 0
    numpy.testing.assert_array_equal(numpy.asarray(y), x0 * 2.0 + 1.0)


def _gradient_steps(np, X, y, steps):
    """logreg_gd's loop: the user's `X` read whole by BLAS twice a step (once through a
    view, `X.T`), every statement's work NumPy's (small vectors)."""
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        z = X @ w + 0.5
        g = 1.0 / (1.0 + numpy.exp(-z)) - y
        w = w - 0.1 * (X.T @ g / X.shape[0] + 1e-3 * w)
    return w


def test_a_users_array_read_by_products_at_once_goes_to_numpy():
    """`z = X @ w + 0.5` and `w = w - ... (X.T @ g ...)`: the products mark their
    statements (the `@` operator asks `on_call`), which run at once; the reads of `X` (those
    through the view `X.T` too) hand it to NumPy within the call. A later call's statements,
    which handed arrays over before, hand its new `X` over at their first run."""
    rng = numpy.random.default_rng(31)
    X, y = rng.normal(size=(20_000, 20)), (rng.random(20_000) > 0.5) * 1.0
    want = _gradient_steps(numpy, X, y, 40)
    at_once, handed = db.stats()["statements_at_once"], _handed()
    got = _gradient_steps(dnp, dnp.asarray(X), y, 40)
    numpy.testing.assert_array_equal(numpy.asarray(got), want)
    first = db.stats()["statements_at_once"] - at_once
    assert _handed() - handed == 1  # (`X`, once: the view's reads counted for it)
    assert 20 <= first < 70  # (80 statements, those after the handover NumPy's own)
    at_once = db.stats()["statements_at_once"]
    got = _gradient_steps(dnp, dnp.asarray(X), y, 40)
    numpy.testing.assert_array_equal(numpy.asarray(got), want)
    assert _handed() - handed == 2
    # (the first statements' runs, up to the handover at the next one's call)
    assert db.stats()["statements_at_once"] - at_once <= 3


def test_a_product_operator_in_a_statement_run_at_once_is_numpys():
    """`@` and `.dot` in statements run at once, with a daybreak array on either side
    (`__rmatmul__`, after a list): NumPy's products of the operands' data, NumPy's values; `A`, read
    `HOT_AT_ONCE` times so, goes to NumPy."""

    def steps(np, A, v, n):
        out = []
        for k in range(n):
            u = v @ A + k
            u = u + ([1.0] * 300 @ A)[k % 5]
            t = A.dot(u) * 0.5
            out.append(float(t[k % 7]) + float(u[3]))
        return out

    rng = numpy.random.default_rng(37)
    A, v = rng.random((300, 300)), rng.random(300)
    want = steps(numpy, A, v, 80)
    at_once, handed = db.stats()["statements_at_once"], _handed()
    assert steps(dnp, dnp.asarray(A), v, 80) == want
    assert db.stats()["statements_at_once"] - at_once >= HOT_AT_ONCE - 4
    assert _handed() - handed == 1


def _masks_and_steps(np, a, b, bins):
    top = float(a.max())
    counts = []
    for i in range(bins):
        mask = np.logical_and(top * i / bins <= a, a < top * (i + 1) / bins)
        counts.append(int(np.count_nonzero(mask)))
        b[1:-1] = 0.5 * (a[2:] + a[:-2]) + i  # a step that fuses: replayed natively
    return a, b, counts


def test_an_array_a_native_statement_reads_stays_daybreaks():
    """An array read by a statement run at once (the masks) and by a step that fuses and
    runs natively once compiled: those reads start its count again (the calls recorded
    lazily, the replays' names), so it is never handed over, and the step stays native."""
    a0 = numpy.random.default_rng(23).random(200_000)
    want = _masks_and_steps(numpy, a0.copy(), a0 * 0.0, 200)
    counted, before = db.stats(), _handed()
    native_runs = 0
    # (passes until the step's program is compiled: how soon depends on measured times,
    # which a loaded machine stretches; four passes suffice on an idle one)
    for _ in range(10):
        start = db.stats()["runs"]
        got = _masks_and_steps(dnp, dnp.asarray(a0.copy()), dnp.asarray(a0 * 0.0), 200)
        assert type(got[0]) is dnp.ndarray and type(got[1]) is dnp.ndarray
        numpy.testing.assert_array_equal(numpy.asarray(got[1]), want[1])
        assert got[2] == want[2]
        scheduler.wait_for_compiles()
        native_runs = db.stats()["runs"] - start
        if native_runs >= 200:
            break
    # (fewer run at once where an earlier test of this process compiled the step's program)
    assert db.stats()["statements_at_once"] - counted["statements_at_once"] > 0
    assert native_runs >= 200  # each of the pass's 200 steps ran natively
    assert _handed() == before


def _box_blur(np, steps, a, b):
    for _ in range(steps):
        b[1:-1, 1:-1] = (
            a[:-2, :-2] + a[:-2, 1:-1] + a[:-2, 2:] + a[1:-1, :-2] + a[1:-1, 1:-1]
            + a[1:-1, 2:] + a[2:, :-2] + a[2:, 1:-1] + a[2:, 2:]
        ) / 9.0  # fmt: skip
        a[1:-1, 1:-1] = (
            b[:-2, :-2] + b[:-2, 1:-1] + b[:-2, 2:] + b[1:-1, :-2] + b[1:-1, 1:-1]
            + b[1:-1, 2:] + b[2:, :-2] + b[2:, 1:-1] + b[2:, 2:]
        ) / 9.0  # fmt: skip
    return a, b


def test_cold_codes_statements_run_at_once_still_compile():
    """A 9-point stencil's steps in cold code run at once out of their recorded runs
    (sampled, `AtOnce.sampled`), reading each array 9 times a run: their arrays are not
    handed over, so the program compiles and the steps are replayed natively within a few
    calls (as `test_at_once`'s test of jacobi_2d, with the handover on)."""
    rng = numpy.random.default_rng(43)
    a0, b0 = rng.random((300, 300)), rng.random((300, 300))
    want = _box_blur(numpy, 50, a0.copy(), b0.copy())
    before, replayed = _handed(), 0
    for _ in range(12):
        counted = db.stats()
        got = _box_blur(dnp, 50, dnp.asarray(a0.copy()), dnp.asarray(b0.copy()))
        for mine, theirs in zip(got, want, strict=True):
            assert type(mine) is dnp.ndarray
            numpy.testing.assert_allclose(numpy.asarray(mine), theirs, rtol=1e-13)
        scheduler.wait_for_compiles()
        replayed = db.stats()["statements_replayed"] - counted["statements_replayed"]
        if replayed >= 40:
            break
    assert replayed >= 40
    assert _handed() == before


def _rows_then_snapshots(np, A, held, n):
    before = A * 2.0  # a pending value made before the loop
    kept = []
    for i in range(n):
        for j in range(n):
            A[i, j] = A[i, j] + 1.0
        if i % 40 == 5:
            kept.append(held[0] * 1.0)  # made from the caller's array mid-loop
            kept.append(A.sum())
    return A, before, kept


@pytest.mark.parametrize("made", ["users", "computed"])
def test_lazy_values_mean_what_the_array_held_when_they_were_made(made):
    """A pending value made before the loop keeps the values it read (it is computed before
    the loop writes), and one made mid-loop from the caller's daybreak array (a snapshot of
    what is the user's memory now) keeps the values of that moment."""
    user = numpy.arange(90_000.0).reshape(300, 300) % 11
    x = dnp.asarray(user.copy()) if made == "users" else dnp.exp(dnp.asarray(user)) * 1.0
    ref = user.copy() if made == "users" else numpy.exp(user) * 1.0
    before = _handed()
    got = _rows_then_snapshots(dnp, x, [x], 300)
    want = _rows_then_snapshots(numpy, ref, [ref], 300)
    assert _handed() - before == 1
    assert type(got[0]) is numpy.ndarray
    numpy.testing.assert_allclose(got[0], want[0], rtol=1e-15)
    numpy.testing.assert_allclose(numpy.asarray(got[1]), want[1], rtol=1e-15)
    assert any(type(k) is dnp.ndarray for k in got[2])  # (lazy values made from `held`)
    for mine, theirs in zip(got[2], want[2], strict=True):
        numpy.testing.assert_allclose(numpy.asarray(mine), theirs, rtol=1e-12)


def _reads_then_writes(np, A, n):
    pending = A * 1.0
    total = 0.0
    for i in range(n):  # reads only: hot, with `pending` reading A's buffer
        total += A[i, i]
    for i in range(n):
        A[i, i] = -1.0
    return A, pending, total


def test_a_pending_reader_of_the_array_keeps_its_values():
    """A value still pending when the loop gets hot is computed before the loop can write
    the buffer (`ndarray._handed_out`)."""
    user = numpy.arange(90_000.0).reshape(300, 300)
    want = _reads_then_writes(numpy, user.copy() + 1.0, 300)
    before = _handed()
    got = _reads_then_writes(dnp, dnp.asarray(user) + 1.0, 300)
    assert _handed() - before == 1
    assert type(got[0]) is numpy.ndarray
    for mine, theirs in zip(got, want, strict=True):
        numpy.testing.assert_array_equal(numpy.asarray(mine), theirs)


def _time_steps(np, A, B, steps):
    total = 0.0
    for _ in range(steps):
        B[1:-1, 1:-1] = 0.25 * (A[2:, 1:-1] + A[:-2, 1:-1] + A[1:-1, 2:] + A[1:-1, :-2])
        A[1:-1, 1:-1] = 0.25 * (B[2:, 1:-1] + B[:-2, 1:-1] + B[1:-1, 2:] + B[1:-1, :-2])
        total += float(A[7, 9])  # one element read a step: not a hot element loop
    return A, B, total


def test_a_time_loop_that_reads_an_element_a_step_keeps_daybreaks_arrays():
    """The big parts a time step reads (lazy views, to fuse) start the count again: its
    arrays stay daybreak's, whatever the number of steps."""
    a0 = numpy.random.default_rng(1).random((300, 300))
    want = _time_steps(numpy, a0.copy(), a0.copy(), 2 * HOT)
    before = _handed()
    got = _time_steps(dnp, dnp.asarray(a0.copy()), dnp.asarray(a0.copy()), 2 * HOT)
    assert _handed() == before
    assert type(got[0]) is dnp.ndarray and type(got[1]) is dnp.ndarray
    for mine, theirs in zip(got[:2], want[:2], strict=True):
        numpy.testing.assert_allclose(numpy.asarray(mine), theirs, rtol=1e-12)
    assert abs(got[2] - want[2]) <= 1e-9 * abs(want[2])


def _block_sums(np, A, B, steps):
    total = 0.0
    for t in range(steps):
        block = A[t % 280 : t % 280 + 20]  # 6,000 elements: NumPy's work, not the call's
        B[t % 280 : t % 280 + 20] = block * 0.5 + 1.0
        total += float(A[t % 280, 7])
    return A, B, total


def test_parts_past_small_part_are_not_element_work():
    """Reads and stores of parts of `SMALL_PART` elements or more (a time step's slices)
    start the count again: the arrays stay daybreak's."""
    a0 = numpy.random.default_rng(2).random((300, 300))
    want = _block_sums(numpy, a0.copy(), a0 * 0.0, 3 * HOT)
    before = _handed()
    got = _block_sums(dnp, dnp.asarray(a0.copy()), dnp.asarray(a0 * 0.0), 3 * HOT)
    assert _handed() == before
    assert type(got[0]) is dnp.ndarray and type(got[1]) is dnp.ndarray
    for mine, theirs in zip(got, want, strict=True):
        numpy.testing.assert_array_equal(numpy.asarray(mine), theirs)


def _binned_means(np, data, radius, bins, low):
    """azimint's loop: per bin, NumPy's mask of the radii (its own arrays once handed over),
    the data it selects, their mean. The bins are `[low + i, i + 1) / bins`."""
    out = np.zeros(bins)
    for i in range(bins):
        mask = np.logical_and((low + i) / bins <= radius, radius < (i + 1) / bins)
        out[i] = data[mask].mean()
    return out


@pytest.mark.parametrize("low", [0, -HOT])
def test_selections_of_a_few_elements_are_element_work(low):
    """`data[mask]` selecting a few elements counts toward the handover (a loop over bins
    gets NumPy's `data`); selections of `SMALL_PART` elements or more start the count
    again (bins reaching `HOT` bins back: from ~30,000 elements a bin)."""
    scheduler.forget()  # (the line's handovers in another run: `handover.HANDED_AT`)
    rng = numpy.random.default_rng(4)
    radius = rng.random(100_000)
    data = rng.random(100_000)
    bins = 3 * HOT
    want = _binned_means(numpy, data, radius, bins, low)
    x = dnp.asarray(data.copy())
    before = _handed()
    got = _binned_means(dnp, x, dnp.asarray(radius.copy()), bins, low)
    numpy.testing.assert_allclose(numpy.asarray(got), want, rtol=1e-12)
    handed = _handed() - before
    if low == 0:
        assert handed >= 2  # the data and the radii (the loop's frame: not `x` here)
    else:
        assert handed <= 1  # the radii at most: the data's selections are big parts
    numpy.testing.assert_array_equal(numpy.asarray(x), data)


def _csr_product(np, rows, cols, vals, x):
    """spmv's loop: per row, the positions and values of its nonzeros (slices), and the
    product with NumPy's gather of `x` at those positions (`x[c]`, a key of data)."""
    y = np.empty(rows.size - 1, vals.dtype)
    for i in range(rows.size - 1):
        c = cols[rows[i] : rows[i + 1]]
        y[i] = vals[rows[i] : rows[i + 1]] @ x[c]
    return y, x


@pytest.mark.parametrize("per_row", [4, SMALL_PART])
def test_gathers_of_a_few_positions_are_element_work(per_row):
    """`x[c]` gathering a few positions of a vector (a CSR row's) counts toward the
    handover: the loop's `x` becomes NumPy's; gathers of `SMALL_PART` positions or more
    start the count again."""
    rng = numpy.random.default_rng(5)
    n = 1 << 16  # (daybreak's arrays)
    m = (2 * HOT if per_row < SMALL_PART else 24) + 1
    rows = numpy.arange(m, dtype=numpy.int64) * per_row
    cols = rng.integers(0, n, size=rows[-1])
    vals, x0 = rng.random(rows[-1]), rng.random(n)
    want, _ = _csr_product(numpy, rows, cols, vals, x0)
    x = dnp.asarray(x0)
    got, x_after = _csr_product(dnp, rows, cols, vals, x)
    numpy.testing.assert_allclose(numpy.asarray(got), want, rtol=1e-12)
    assert type(x) is dnp.ndarray  # (the caller's name: not the loop's frame)
    assert (type(x_after) is numpy.ndarray) == (per_row < SMALL_PART)
    numpy.testing.assert_array_equal(numpy.asarray(x_after), x0)


def test_a_subscript_that_handed_an_array_over_hands_a_later_one_over_at_once(monkeypatch):
    """`x[c]` handed the first call's `x` to NumPy after `HOT` gathers: the subscript is
    remembered (`handover.HANDED_AT`), and a later call's new `x` goes at its first gather
    there. A gather elsewhere of an array of its own counts from the start."""
    from daybreak.frontends.numpy import handover
    from daybreak.frontends.statements import user_frame

    scheduler.forget()  # (`_csr_product` ran in other tests)
    counts = []  # each array's count when it was handed over
    real = handover.hand_over

    def spy(a, frame=None, site=False):
        counts.append(a._hot)
        real(a, frame or user_frame(), site)  # (the user's frame: not this one)

    monkeypatch.setattr(handover, "hand_over", spy)
    rng = numpy.random.default_rng(41)
    rows = numpy.arange(400, dtype=numpy.int64) * 4
    cols = rng.integers(0, 50_000, size=rows[-1])
    vals, x0 = rng.random(rows[-1]), rng.random(50_000)
    want, _ = _csr_product(numpy, rows, cols, vals, x0)
    for _ in range(2):
        got, x_after = _csr_product(dnp, rows, cols, vals, dnp.asarray(x0))
        numpy.testing.assert_allclose(numpy.asarray(got), want, rtol=1e-12)
        assert type(x_after) is numpy.ndarray
    assert counts == [HOT, 1]
    y = dnp.asarray(x0)
    for i in range(3):
        assert float(y[cols[i : i + 2]].sum()) == x0[cols[i : i + 2]].sum()
    assert 0 < y._hot <= 3 and counts == [HOT, 1]  # (counted, not handed over)


def test_a_statement_run_at_once_is_not_recorded_again_after_its_arrays_went_to_numpy(
    monkeypatch,
):
    """Once the arrays a statement run at once reads went to NumPy, its `_RECHECK`-th runs
    are not recorded again: its calls' operands are NumPy's own, and a recorded run of them
    records lazily with nothing to fuse, which ended the marking (azimint_naive's first call
    41 -> 60 ms). Its values stay NumPy's."""
    from daybreak.frontends.numpy import replay

    scheduler.forget()  # (the statements' marks too: `_binned_means` ran in other tests)
    starts = []  # the handovers counted when each recording of a marked statement began
    real = replay._Marked.begin
    monkeypatch.setattr(
        replay._Marked,
        "begin",
        lambda self, *a, **k: starts.append(_handed()) or real(self, *a, **k),
    )
    rng = numpy.random.default_rng(4)
    radius, data = rng.random(100_000), rng.random(100_000)
    bins = 5 * replay._RECHECK
    want = _binned_means(numpy, data, radius, bins, 0)
    before = _handed()
    got = _binned_means(dnp, dnp.asarray(data.copy()), dnp.asarray(radius.copy()), bins, 0)
    numpy.testing.assert_allclose(numpy.asarray(got), want, rtol=1e-12)
    assert _handed() >= before + 2 and starts
    assert all(n == before for n in starts), starts


def _row_sums(np, A, n):
    total = 0.0
    for i in range(n):
        for j in range(n):
            total += A[i, j]
    return A, total


def _not_handed(made=None) -> None:
    """`_row_sums` of a daybreak array (`made`: it and NumPy's equal array; by default the
    user's memory) hands nothing over and gives NumPy's sum."""
    user = numpy.arange(90_000.0).reshape(300, 300)
    x, same = made() if made is not None else (dnp.asarray(user.copy()), user)
    want = _row_sums(numpy, same, 100)[1]
    before = _handed()
    got, total = _row_sums(dnp, x, 100)
    assert _handed() == before
    assert type(got) is dnp.ndarray
    assert total == want


def test_not_when_turned_off(monkeypatch):
    monkeypatch.setattr(SETTINGS, "handover", False)
    _not_handed()


def test_not_under_a_trace_function():
    """A debugger's frame: its names stay what the user bound."""
    sys.settrace(lambda *a: None)
    try:
        _not_handed()
    finally:
        sys.settrace(None)


def test_a_frame_that_cannot_be_rebound_is_left_alone(monkeypatch):
    """Where the interpreter refuses to rebind a frame's names, the loop goes on as
    daybreak's, with NumPy's values and no error of daybreak's."""
    from daybreak.frontends.numpy import handover

    def refuse(frame, old, new):
        raise RuntimeError("not here")

    monkeypatch.setattr(handover, "rebind", refuse)
    _not_handed()


def test_not_a_view_of_another_daybreak_array():
    """A view's writes go through its base (`write_back`): it stays daybreak's."""
    user = numpy.arange(100_000.0).reshape(400, 250)
    base = dnp.asarray(user)
    _not_handed(lambda: (base[50:350, :], user[50:350, :]))
    _not_handed(lambda: (base[:300, :], user[:300, :]))
    _not_handed(lambda: (base[:], user[:]))
    _not_handed(lambda: (base.T, user.T))


def _through_a_list(np, arrays, n):
    for i in range(n):
        for j in range(n):
            arrays[0][i, j] = arrays[0][j, i] + 1.0
    return arrays[0]


def test_an_array_read_through_a_container_stays_daybreaks():
    """No name of the frame holds it: nothing is rebound, the values are NumPy's."""
    user = numpy.arange(90_000.0).reshape(300, 300)
    want = _through_a_list(numpy, [user.copy()], 100)
    before = _handed()
    got = _through_a_list(dnp, [dnp.asarray(user.copy())], 100)
    assert _handed() == before
    assert type(got) is dnp.ndarray
    numpy.testing.assert_array_equal(numpy.asarray(got), want)


def test_a_modules_names_are_rebound_in_its_namespace():
    """A script's loop at module level: the module's own name is rebound."""
    source = (
        "import daybreak.numpy as np\n"
        "A = np.asarray(user)\n"
        "B = A\n"
        "for i in range(200):\n"
        "    A[i, i] = A[i, i] * 2.0 + A[i, 0]\n"
    )
    user = numpy.arange(90_000.0).reshape(300, 300)
    want = user.copy()
    for i in range(200):
        want[i, i] = want[i, i] * 2.0 + want[i, 0]
    before = _handed()
    scope = {"user": user}
    exec(compile(source, "<script>", "exec"), scope)
    assert _handed() - before == 1
    assert type(scope["A"]) is numpy.ndarray and scope["B"] is scope["A"]
    numpy.testing.assert_array_equal(scope["A"], want)
    numpy.testing.assert_array_equal(user, want)  # (the user's memory itself)


def test_rebind_binds_the_frames_own_variables_and_cells_only():
    outer = object()

    def run():
        mine, alias = outer, outer
        captured = outer

        def inner():
            return captured

        assert frames.rebind(sys._getframe(), outer, "new")
        return mine, alias, inner(), outer

    got = run()
    if frames.CAN_REBIND:
        assert got[:3] == ("new", "new", "new")
        assert got[3] is outer  # (a free variable: the enclosing frame's, left alone)


_PROGRAMS = r"""
import numpy
import daybreak as db, daybreak.numpy as dnp
from daybreak.frontends import scheduler

def program(rng, n):
    lines = []
    for _ in range(int(rng.integers(2, 7))):
        X, Y = (str(c) for c in rng.choice(list("ABC"), 2))
        k = int(rng.integers(1, n - 4))
        c = float(rng.choice([0.5, -2.0, 3.0]))
        lines.append([
            f"{X}[i, j] = {c} * {Y}[j, i]",
            f"{X}[i, j] -= np.dot({X}[i, :j], {Y}[j, :j]) * 0.01",
            f"{X}[i, j] /= {Y}[j, j] * {Y}[j, j] + 1.0",
            f"s = s + float({X}[i, j])",
            f"K.append({X} * {c})" if rng.integers(4) == 0 else f"s = s + {X}[j, i]",
            f"H[int(j % 3)][{k}, j] = {c}",
            f"v = {X}[{k}]\n            v[j] = {c}",
            f"{X}[:, j] = {X}[:, j] * {c}",
            f"W = {X}[1:, :]\n            W[j, {k}] = {c}",
            f"{X}[{k}:{k} + 3, j] = {Y}[{k}, j:j + 3]",
            f"u = {X} @ {Y}[j] * 0.001 + {c}\n            s = s + float(u[{k}])",
            f"{X}[j, :3] = ({X}.T @ {Y}[:, j])[:3] * 0.001",
            f"s = s + float({X}.dot({Y}[:, {k}])[j]) * 0.001",
        ][int(rng.integers(13))])
    body = "".join(f"            {line}\n" for line in lines)
    return (
        "def kernel(np, A, B, C, H, T):\n    s, v, K = 0.0, None, []\n"
        "    for i in range(T):\n        for j in range(1, 60):\n"
        + body
        + "    return [A, B, C, *H, *K], s\n"
    )

for rng in seeded():
    n = 300
    source = program(rng, n)
    scope = {}
    exec(source, scope)
    kernel = scope["kernel"]
    base = numpy.arange(n * n, dtype=numpy.float64).reshape(n, n) % 7 / 7 + 1.0
    inputs = [base, base.T.copy(), base * 2]
    A, B, C = (x.copy() for x in inputs)
    expected, s_want = kernel(numpy, A, B, C, [A, B, C], 4)
    before = db.stats()
    for _ in range(2):
        # the user's memory, daybreak's own computed array, and a copy of the user's
        A, B, C = (x.copy() for x in inputs)
        A, B, C = dnp.asarray(A), dnp.asarray(B) + 0, dnp.array(C)
        got, s_got = kernel(dnp, A, B, C, [A, B, C], 4)
        agree(got, expected, s_got, s_want, source)
        scheduler.wait_for_compiles()
    tally(before)
report()
"""


def test_random_hot_loops_agree_with_numpy():
    """Random loops of element reads and writes, dot products of row slices, lazy values
    kept, the caller's arrays written through a list, row and big views written through,
    products of whole arrays (`@`, `.dot`, through `.T` too: statements run at once):
    every array, kept value and sum holds NumPy's values, and hot loops were handed arrays."""
    run_generated_programs(_PROGRAMS, range(1, 25), handed_over=True)
