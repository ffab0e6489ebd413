"""Appenders filled by inner loops grow geometrically (issue #9's softmax with 2 threads ran
out of memory: each inner loop grew the per-thread buffer to exactly what it needed)."""

import numpy as np
import pytest

import daybreak as db

PROGRAM = """|v: vec[f64], rows: i64, width: i64|
  result(for(rangeiter(0L, rows, 1L), appender[f64], |b, i, r|
    let s = r * width;
    for(iter(v, s, s + width, 1L), b, |b2, j, x| merge(b2, x * 2.0))))
"""


@pytest.mark.parametrize("threads", [1, 2])
def test_inner_loops_into_an_outer_appender(threads):
    before = db.config(threads=threads, grain=16)
    try:
        rows, width = 40_000, 16
        v = np.random.default_rng(0).normal(size=rows * width)
        got = db.compile(PROGRAM)(v, rows, width)
        np.testing.assert_array_equal(got, v * 2.0)
        small = db.compile(PROGRAM, backend="interp")(v[:64], 4, 16)
        np.testing.assert_array_equal(db.compile(PROGRAM)(v[:64], 4, 16), small)
    finally:
        db.config(**before)
