"""Random programs written as Python loops over arrays are (element reads and updates,
`np.dot` of row slices, column updates, row views kept and written through, masked and
fancy writes, lazy values kept across writes, copies, products of rows with matrices,
scans of rows, columns and whole arrays, scalar reads as Python floats), run with NumPy and
with daybreak.numpy three times over: every array, kept value and view must hold NumPy's
values.

What they exercise is the fast path of a Python loop's writes (`assignment.setitem`: NumPy's
own write into a computed buffer nobody else reads, whatever the key) against everything
that must send a write the general way: pending readers, views, the user's memory.

Each batch runs in a child process with a timeout (a regression that hangs fails the test
instead of the suite), half of the programs with everything lazy and compiled before it
runs (`eager_below=0, compile_in_background=False`), half with the defaults; the child
reports daybreak's native runs, library runs and fallbacks, so the test can check that
daybreak's own paths ran and nothing fell back to NumPy."""

from __future__ import annotations

from .helpers import run_generated_programs

_PROGRAMS = r"""
import sys
import numpy
import daybreak as db, daybreak.numpy as dnp
from daybreak.frontends import scheduler

def program(rng, n):
    lines = []
    for _ in range(int(rng.integers(3, 12))):
        X, Y = (str(c) for c in rng.choice(list("ABC"), 2))
        i, j, k = (int(v) for v in rng.integers(1, n - 4, 3))
        c = float(rng.choice([0.5, -2.0, 3.0]))
        lines.append([
            f"{X}[{i}, {j}] = {c} * {Y}[{j}, {i}]",
            f"{X}[{i}, {j}] -= np.dot({X}[{i}, :{j}], {Y}[{j}, :{j}]) * 0.01",
            f"{X}[{i}, {j}] /= {Y}[{j}, {j}] * {Y}[{j}, {j}] + 1.0",
            f"{X}[:, {j}] = {X}[:, {j}] * {c}",
            f"{X}[:, {j}] -= {Y}[:, {k}] * {X}[{k}, {j}] * 0.01",
            f"v = {X}[{i}]",
            f"v[{k}] = {c}" if rng.integers(2) else f"v[[{k}, {j}]] = {c}",
            f"K.append({X} * {c})",
            f"{X}[{X} > {c}] = {c}",
            f"{X}[[{i}, {k}, {i}]] = {c}",
            f"{X}[np.array([{i}, {j}]), np.array([{k}, {k}])] = {c}",
            f"{X} += {c}",
            f"{X}[{i}:{i} + 3, {j}] = {Y}[{k}, {j}:{j} + 3]",
            f"s = s + float({X}[{i}, {j}])",
            f"{X}[{i}] = {Y}[{k}] @ {Y} * 0.001",
            f"{X} = {X}.copy()",
            f"{X}[{i}] = np.cumsum({Y}[{k}] * 0.001)",
            f"K.append(np.cumsum({X} * 0.001, axis=1))",
            f"{X}[:, {j}] = np.maximum.accumulate({Y}[:, {k}])",
        ][int(rng.integers(19))])
    body = "".join(f"        {line}\n" for line in lines)
    return (
        "def kernel(np, A, B, C, T):\n    s, v, K = 0.0, None, []\n    for t in range(T):\n"
        + body.replace("        v[", "        if v is not None: v[")
        + "    return [A, B, C, *K] + ([v] if v is not None else []), s\n"
    )

for rng in seeded():
    n = int(rng.choice([40, 300, 300]))
    source = program(rng, n)
    scope = {}
    exec(source, scope)
    kernel = scope["kernel"]
    base = numpy.arange(n * n, dtype=numpy.float64).reshape(n, n) % 7 / 7
    inputs = [base, base.T.copy(), base * 2]
    expected, s_want = kernel(numpy, *(x.copy() for x in inputs), 3)
    before = db.stats()
    for _ in range(3):
        # the user's memory, daybreak's own computed array, and a copy of the user's
        A, B, C = (x.copy() for x in inputs)
        got, s_got = kernel(dnp, dnp.asarray(A), dnp.asarray(B) + 0, dnp.array(C), 3)
        agree(got, expected, s_got, s_want, source)
        scheduler.wait_for_compiles()
    tally(before)
report()
"""


def test_random_loop_programs_agree_with_numpy():
    run_generated_programs(_PROGRAMS, range(1, 41))
