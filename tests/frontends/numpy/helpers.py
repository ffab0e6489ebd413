"""Run one function with real NumPy and with daybreak.numpy and compare values and dtypes
(or the exception types when NumPy raises) — and check that daybreak's own compiled path did
the work, not a detour through NumPy.

The tests here run under `db.config(strict=True)` (see conftest.py): any fallback raises
`UnsupportedError`. A test that expects fallbacks (a known gap) names them, with the
`@pytest.mark.allow_fallbacks(...)` marker for the whole test or the `allowed_fallbacks(...)`
context manager around a few lines: inside, strict mode is off and afterwards every fallback
that happened must match one of the listed reasons. A listed reason that did not happen is not
an error (generated examples do not hit every gap on every run); the context manager yields the
Counter of what did happen, for tests that assert a fallback is counted.

    with allowed_fallbacks("numpy: ufunc nextafter") as seen:
        dnp.nextafter(x, 0.0).tolist()
    assert seen == {"numpy: ufunc nextafter": 1}
"""

from __future__ import annotations

import contextlib
import logging
import re
import subprocess
import sys
from collections import Counter

import numpy as np

import daybreak as db
import daybreak.numpy as dnp
from daybreak.ir.errors import UnsupportedError

# Every fallback is logged on this logger (`daybreak.runtime.stats.record_fallback`), one record
# per fallback with the reason as its argument: unlike deltas of `db.stats()["fallbacks"]`, this
# also sees the fallbacks of a test that calls `db.stats(reset=True)`.
_FALLBACK_LOG = logging.getLogger("daybreak.fallback")


class _Scope:
    def __init__(self, reasons):
        self.reasons = tuple(reasons)
        self.seen: Counter = Counter()

    def allows(self, reason: str) -> bool:
        return any(_matches(pattern, reason) for pattern in self.reasons)


def _matches(pattern: str, reason: str) -> bool:
    """A listed reason matches as a substring or as a regular expression (re.search)."""
    if pattern in reason:
        return True
    try:
        return re.search(pattern, reason) is not None
    except re.error:
        return False


class _Recorder(logging.Handler):
    """Records each fallback into the innermost open allow-list scope."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.scopes: list[_Scope] = []
        self.level_before = logging.NOTSET  # the logger's level while no scope is open

    def emit(self, record: logging.LogRecord) -> None:
        reason = (
            record.args[0]
            if isinstance(record.args, tuple) and record.args
            else record.getMessage()
        )
        if self.scopes:
            self.scopes[-1].seen[str(reason)] += 1


_recorder = _Recorder()


@contextlib.contextmanager
def allowed_fallbacks(*reasons: str):
    """Allow exactly these fallbacks (substrings or regexes of the reasons in
    `db.stats()["fallbacks"]`, e.g. "numpy: ufunc nextafter") inside the block: strict mode is off
    there, and on leaving, any other fallback fails the test. Yields the Counter of the
    fallbacks seen (reason -> count)."""
    if not reasons:
        raise ValueError("allowed_fallbacks() needs the reasons it allows")
    scope = _Scope(reasons)
    if not _recorder.scopes:
        _FALLBACK_LOG.addHandler(_recorder)
        _recorder.level_before = _FALLBACK_LOG.level
        _FALLBACK_LOG.setLevel(logging.INFO)
    _recorder.scopes.append(scope)
    before = db.config(strict=False)
    try:
        yield scope.seen
    finally:
        db.config(strict=before["strict"])
        _recorder.scopes.pop()
        if not _recorder.scopes:
            _FALLBACK_LOG.removeHandler(_recorder)
            _FALLBACK_LOG.setLevel(_recorder.level_before)
    unexpected = {r: n for r, n in scope.seen.items() if not scope.allows(r)}
    if unexpected:
        raise AssertionError(f"fallbacks not in the allow-list {list(reasons)}: {unexpected}")


def _fallback_count() -> int:
    return sum(db.stats()["fallbacks"].values())


def outcome(fn, module, *args):
    """The result as a NumPy value (computed), or the exception raised. A strict-mode refusal
    (`UnsupportedError`: daybreak would have fallen back) is not an outcome: it propagates."""
    try:
        with np.errstate(all="ignore"):
            result = fn(module, *args)
            return np.asarray(result) if module is dnp else result
    except UnsupportedError:
        raise
    except Exception as error:  # noqa: BLE001 - we compare what each side raises
        return error


def daybreak_input(a: np.ndarray):
    """`a` as a daybreak array that the compiled path reads in place: a read-only copy. (The
    user's writeable memory is not: a reduction of it is NumPy's, at once, instead of a copy
    for a lazy value, `reductions._of_data`; the tests of that are in
    test_scheduler.py.)"""
    frozen = a.copy()
    frozen.flags.writeable = False
    return dnp.asarray(frozen)


def assert_same(fn, *arrays, rtol=None, atol=0.0, lazy_args=True, expect_native=True):
    """`fn(np, *arrays)` and `fn(dnp, *wrapped)` agree: same exception type, or same dtype,
    shape and values (exactly, or within `rtol` and `atol`).

    And daybreak's own path did the work: a compiled program ran (`db.stats()["runs"]` grew),
    or no program was needed because the result has no elements, or it IS one of the inputs'
    buffers (a no-op reshape, view, roll or concatenation of a computed array hands back that
    array's memory: checked with `np.may_share_memory`). A
    fallback the test allows (see `allowed_fallbacks`) also excuses the missing run. Pass
    `expect_native=False` only where daybreak answers without a program by design (0-d
    inputs stay NumPy's own, NumPy's kernels for matrix products, ...), and say why there;
    `expect_native` may also be a function of NumPy's result (e.g. `lambda r: r.ndim > 0`:
    a 0-d result is one element read from the computed input)."""
    want = outcome(fn, np, *arrays)
    wrapped = [daybreak_input(a) if lazy_args and isinstance(a, np.ndarray) else a for a in arrays]
    runs, fallbacks = db.stats()["runs"], _fallback_count()
    got = outcome(fn, dnp, *wrapped)
    ran = db.stats()["runs"] - runs
    fell_back = _fallback_count() > fallbacks  # only possible inside allowed_fallbacks
    if isinstance(want, Exception):
        # NumPy's errors are raised at the call, before any program runs.
        assert isinstance(got, type(want)), f"NumPy raised {want!r}, daybreak gave {got!r}"
        return
    assert not isinstance(got, Exception), f"daybreak raised {got!r}, NumPy gave {want!r}"
    want = np.asarray(want)
    got = np.asarray(got)
    assert got.dtype == want.dtype, f"dtype {got.dtype} != NumPy's {want.dtype}"
    assert got.shape == want.shape, f"shape {got.shape} != NumPy's {want.shape}"
    if rtol is None or want.dtype.kind not in "fc":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    if callable(expect_native):
        expect_native = expect_native(want)
    if expect_native and not fell_back and ran == 0 and got.size:
        # The inputs' own buffers (computed: reading them runs nothing; a user's writeable
        # array is read through daybreak's snapshot of it, so compare with that).
        buffers = [np.asarray(w) for w in wrapped if isinstance(w, dnp.ndarray)]
        assert any(np.may_share_memory(got, b) for b in buffers), (
            "daybreak gave the value without running a compiled program (and it is not a "
            "view of an input)"
        )


@contextlib.contextmanager
def defaults_outside_tests(record_first_epoch: bool = True):
    """The defaults outside tests: the default `eager_below`, tier 0 while compiling in the
    background, and no fallback allowed. Strict mode is off because it also compiles every
    graph (nothing runs in the library by choice, which is what these tests are about);
    `allowed_fallbacks` with an allow-list that matches nothing stands in for it: any
    fallback fails the test. Tests under it still check which of daybreak's paths ran
    (library runs counted, values lazy or computed). `record_first_epoch`: cold code records
    its first calls, as it does for big work (`sites.BIG_CALL`), so that a test's first lines
    make the pending values it is about; small work's own phase (its first calls NumPy's at
    once) is tested in test_sampled_lines."""
    from daybreak.frontends import scheduler, sites

    before = db.config(eager_below=1 << 16, strict=False, compile_in_background=True)
    big_call = sites.BIG_CALL
    if record_first_epoch:
        sites.BIG_CALL = 0
    try:
        with allowed_fallbacks(r"(?!)"):
            yield
    finally:
        sites.BIG_CALL = big_call
        scheduler.wait_for_compiles()
        db.config(**before)


# The harness of a generated-program test's child process (put before its program): the
# seeds it runs (`seeded()`: each seed's generator, with odd seeds everything lazy and
# compiled before it runs, even ones the defaults), and what it counts: daybreak's native
# runs, library runs, fallbacks and arrays handed over to a hot loop (`handover.py`) over
# the calls between `before = db.stats()` and `tally(before)`, printed at the end by
# `report()`.
CHILD_TALLY = r"""
_totals = [0, 0, 0, 0]

def seeded():
    import sys, numpy, daybreak
    for seed in map(int, sys.argv[1:]):
        if seed % 2:  # everything lazy and compiled (the compiled path's setting)
            daybreak.config(eager_below=0, compile_in_background=False)
        else:  # the defaults: the library at once, lazily, or native once compiled
            daybreak.config(eager_below=65_536, compile_in_background=True)
        yield numpy.random.default_rng(seed)

def tally(before):
    after = db.stats()
    _totals[0] += after["runs"] - before["runs"]
    _totals[1] += after["library_runs"] - before["library_runs"]
    _totals[2] += sum(after["fallbacks"].values()) - sum(before["fallbacks"].values())
    _totals[3] += after["handed_over"] - before["handed_over"]

def report():
    print(*_totals)

def agree(got, expected, s_got, s_want, source):
    # a loop program's arrays and kept values, and its sum, against NumPy's
    import numpy
    assert len(got) == len(expected), source
    for g, e in zip(got, expected):
        numpy.testing.assert_allclose(numpy.asarray(g), e, rtol=1e-12, atol=1e-9,
                                      err_msg=source)
    assert abs(s_got - s_want) <= 1e-9 * max(1.0, abs(s_want)), source
"""


def run_generated_programs(program: str, seeds, handed_over: bool = False) -> None:
    """Run `program` (a child process's source, which uses `CHILD_TALLY`'s functions) over
    `seeds` with a timeout (a regression that hangs fails the test, not the suite), and check
    that it passed, that both of daybreak's tiers ran and that nothing fell back (and, with
    `handed_over`, that hot loops were handed arrays)."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD_TALLY + program, *map(str, seeds)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    native, library, fallbacks, handed = map(int, out.stdout.split())
    assert native > 0 and library > 0  # both of daybreak's tiers ran
    assert fallbacks == 0
    assert handed > 0 or not handed_over


def threads_stepping(shape: tuple, rounds: int, seed: int = 21) -> None:
    """Four threads run time steps at once, each over its own arrays (the user's, through
    `dnp.asarray`) reading a shared one the user writes between rounds (no data race:
    nothing writes what another thread's statement reads while it runs); every array is
    checked against NumPy's."""
    import threading

    rng = np.random.default_rng(seed)
    shared0 = rng.random(shape)
    shared = dnp.asarray(shared0)
    mine0 = [rng.random(shape) for _ in range(4)]
    want = [m.copy() for m in mine0]
    mine = [dnp.asarray(m) for m in mine0]

    def steps(b, s, count):
        for _ in range(count):
            b[1:-1, 1:-1] = 0.25 * (s[2:, 1:-1] + s[:-2, 1:-1] + b[1:-1, 2:] + b[1:-1, :-2])

    for r in range(3):
        workers = [threading.Thread(target=steps, args=(m, shared, rounds)) for m in mine]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        for m in want:
            steps(m, shared0, rounds)
        shared0[:] = shared0 * 0.5 + r  # the user's write, between rounds
    for got, expected in zip(mine0, want, strict=True):
        np.testing.assert_array_equal(got, expected)


def fixed_clock(monkeypatch, step: float) -> None:
    """The scheduler's clock advancing `step` seconds at each reading: every library run
    measured alike, so that what native code would have saved is the counts', not a loaded
    machine's stalls."""
    from daybreak.frontends import scheduler

    class Clock:
        now = 0.0

        @classmethod
        def perf_counter(cls):
            cls.now += step
            return cls.now

    monkeypatch.setattr(scheduler, "time", Clock)
