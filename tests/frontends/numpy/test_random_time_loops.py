"""Random time loops, written as stencil codes are (slices of the user's arrays read, written
in place and through views, boundary rows set from the loop counter, reductions read as
Python floats, masked writes, `np.where` rebinding), run with NumPy and with daybreak.numpy
three times over (the scheduler learns per line between calls: lines go from lazy to at
once and back, structures compile in the background): every array must hold NumPy's values.

Each program runs in a child process with a timeout (a regression that hangs fails the test
instead of the suite), half of them with everything lazy and compiled before it runs
(`eager_below=0, compile_in_background=False`), half with the defaults; the child reports
daybreak's native runs, library runs and fallbacks, so the test can check that daybreak's
own paths ran and nothing fell back to NumPy."""

from __future__ import annotations

from .helpers import run_generated_programs

_PROGRAMS = r"""
import sys
import numpy
import daybreak as db, daybreak.numpy as dnp
from daybreak.frontends import scheduler

def program(rng):
    n = int(rng.choice([64, 300]))
    cut = {0: "1:-1", 1: ":-2", 2: "2:"}
    def part(name):
        return f"{name}[{cut[int(rng.integers(3))]}, {cut[int(rng.integers(3))]}]"
    lines = []
    for _ in range(rng.integers(2, 6)):
        target = "ABC"[rng.integers(3)]
        terms = " + ".join(part("ABC"[rng.integers(3)]) for _ in range(rng.integers(1, 4)))
        c = float(rng.choice([0.5, 0.2, 1.5]))
        lines.append([
            f"{target}[1:-1, 1:-1] = {c} * ({terms})",
            f"{target}[1:-1, 1:-1] -= {c} * ({terms})",
            f"{target}[0, :] = {c} * t",
            f"s = float(({terms}).sum()); {target}[1:-1, 1:-1] *= 0.999",
            f"{target} = np.where({target} > 0.5, {target} * {c}, {target} + 0.01)",
            f"m = {target}.mean(axis=0); {target} -= m * 0.01",
            f"v = {target}[1:-1, 1:-1]; v += 0.001 * ({terms})",
            f"{target}[{target} > 0.9] = 0.1",
        ][rng.integers(8)])
    body = "".join(f"        {line}\n" for line in lines)
    source = (
        "def kernel(np, A, B, C, T):\n    s = 0.0\n    for t in range(T):\n"
        + body + "    return A, B, C, s\n"
    )
    return source, n, int(rng.choice([3, 30]))

for rng in seeded():
    source, n, steps = program(rng)
    scope = {}
    exec(source, scope)
    kernel = scope["kernel"]
    inputs = [rng.random((n, n)) for _ in range(3)]
    expected = kernel(numpy, *(x.copy() for x in inputs), steps)
    before = db.stats()
    for _ in range(3):
        got = kernel(dnp, *(dnp.asarray(x.copy()) for x in inputs), steps)
        for g, e in zip(got, expected):
            numpy.testing.assert_allclose(numpy.asarray(g), e, rtol=1e-9, atol=1e-9,
                                          err_msg=source)
        scheduler.wait_for_compiles()
    tally(before)
report()
"""


def test_random_time_loops_agree_with_numpy():
    run_generated_programs(_PROGRAMS, range(1, 13))
