"""Intermediates are freed after their last use, never while something can still read them."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import daybreak as db

PIPELINE = """|v: vec[f64]|
  let a = result(for(v, appender[f64](len(v)), |b, i, x| merge(b, x * 2.0)));
  let s = result(for(a, merger[f64,+], |b, i, x| merge(b, x)));
  let c = result(for(v, appender[f64](len(v)), |b, i, x| merge(b, x + s)));
  c"""


def test_intermediate_is_freed_before_the_next_stage():
    child = textwrap.dedent(
        f"""
        import resource, numpy as np, daybreak as db
        f = db.compile({PIPELINE!r}, backend="llvm")
        v = np.random.rand(1 << 24)  # 128 MB; a and c are 128 MB each
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        r = f(v)
        growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
        assert np.allclose(r, v + 2 * v.sum())
        print(growth // 1024)
        """
    )
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
    growth_mb = int(out.stdout)
    # without the free, a and c (and a thread's share of c) are alive together: ~384 MB
    assert growth_mb < 320, f"peak grew by {growth_mb} MB"


ESCAPES = [
    # the final expression returns it
    "|v: vec[f64]| let a = result(for(v, appender[f64], |b, i, x| merge(b, x)));"
    " let s = len(a); {a, s}",
    # a slice of it escapes
    "|v: vec[f64]| let a = result(for(v, appender[f64], |b, i, x| merge(b, x)));"
    " let t = slice(a, 1L, 2L); let s = len(a); t",
    # read only in one branch of an if
    "|v: vec[f64]| let a = sort(v, |x, y| compare(x, y));"
    " let m = if(len(v) > 2L, lookup(a, 1L), 0.0); let n = len(a); {m, n}",
    # read inside a lambda applied later
    "|v: vec[f64]| let a = result(for(v, appender[f64], |b, i, x| merge(b, x * 3.0)));"
    " let f = |k: i64| lookup(a, k); let z = f(0L); let w = f(2L); z + w",
    # rebound name
    "|v: vec[f64]| let a = [1.0, 2.0, 3.0]; let b = len(a); let a = v; {a, b}",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_values_that_escape_or_are_read_later_stay_alive(text):
    v = np.array([3.0, 1.0, 2.0, 5.0])
    want = db.compile(text, backend="interp")(v)
    for _ in range(3):  # freed memory would show up as garbage on reuse
        got = db.compile(text, backend="llvm")(v)
        assert str(got) == str(want)
