"""Loop versioning on positional reads (`reserve.positional_lookups`, `loops.run_iterations`):
a lookup of a vector from outside the loop at the loop's own position is checked once before
the loop, and a copy of the loop reads without checks (and vectorises). The other copy runs
when the check fails, so errors stay exactly the interpreter's: the same message and place,
and none where the out-of-bounds read is never evaluated."""

from __future__ import annotations

import re

import numpy as np
import pytest

import daybreak as db
from daybreak.backends.llvm import LLVMBackend, jit
from daybreak.ir.errors import WeldRuntimeError
from daybreak.ir.typecheck import typecheck

MEAN_INSIDE = (
    "|x: vec[f64], m: vec[f64], n: i64| result(for(zip(x, rangeiter(0L, n, 1L)), "
    "merger[f64,+], |b, i, e| merge(b, (e.$0 - lookup(m, e.$1)) * (e.$0 - lookup(m, e.$1)))))"
)
AT_INDEX = (
    "|v: vec[f64], w: vec[f64]| result(for(v, appender[f64], |b, i, x| merge(b, x * lookup(w, i))))"
)
ONLY_WHEN_POSITIVE = (
    "|v: vec[f64], w: vec[f64]| result(for(v, merger[f64,+], |b, i, x| "
    "if(x > 0.0, merge(b, lookup(w, i)), b)))"
)


def _run(text: str, backend: str, *args):
    before = db.config(strict=True)
    try:
        return db.compile(text, backend=backend)(*args)
    finally:
        db.config(**before)


def _outcome(text: str, backend: str, *args):
    try:
        return np.asarray(_run(text, backend, *args)).tolist()
    except WeldRuntimeError as error:
        return str(error)


def _place(outcome) -> tuple:
    """Where an error was raised (line:col and the caret line) and that it is a bounds error;
    the backends word the message differently (the interpreter adds the index)."""
    assert isinstance(outcome, str) and "out of bounds" in outcome, outcome
    lines = outcome.splitlines()
    return lines[0].split(":")[:2], lines[1:]


def _optimised(text: str) -> str:
    llvm_text, _ = LLVMBackend().lower(typecheck(db.ir.parse(text)))
    return jit.optimized_ir(llvm_text)


def test_a_positional_read_vectorises():
    assert re.search(r"<(2|4|8|16) x double>", _optimised(MEAN_INSIDE))


@pytest.mark.parametrize("n", [0, 5, 1000])
def test_in_bounds_reads_agree(n):
    rng = np.random.default_rng(n)
    x, m = rng.normal(size=n), rng.normal(size=n)
    expected = _run(MEAN_INSIDE, "interp", x, m, n)
    assert _run(MEAN_INSIDE, "llvm", x, m, n) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    w = rng.normal(size=n + 3)  # longer than the loop: still in bounds
    assert _outcome(AT_INDEX, "llvm", x, w) == _outcome(AT_INDEX, "interp", x, w)


def test_an_out_of_bounds_read_fails_as_in_the_interpreter():
    v, w = np.arange(1.0, 9.0), np.arange(5.0)
    got, expected = _outcome(AT_INDEX, "llvm", v, w), _outcome(AT_INDEX, "interp", v, w)
    assert _place(got) == _place(expected)


def test_a_read_that_never_runs_out_of_bounds_does_not_fail():
    """The check before the loop fails (w is short), so the checked copy runs, and there the
    reads past w's end are never evaluated (x <= 0 there)."""
    v = np.array([1.0, 2.0, -1.0, -2.0, -3.0])
    w = np.array([10.0, 20.0])
    assert _outcome(ONLY_WHEN_POSITIVE, "llvm", v, w) == 30.0
    assert _outcome(ONLY_WHEN_POSITIVE, "interp", v, w) == 30.0
    v[3] = 4.0  # now one of them is evaluated
    got = _outcome(ONLY_WHEN_POSITIVE, "llvm", v, w)
    assert _place(got) == _place(_outcome(ONLY_WHEN_POSITIVE, "interp", v, w))
