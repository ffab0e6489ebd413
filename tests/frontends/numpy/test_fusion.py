"""Shapes of the programs the NumPy frontend builds: several outputs over one shape become one
loop that computes their shared work once, axis reductions index by loop counters, repeated
scripts hit the compile cache, and `x ** 2` is a multiply."""

import math

import numpy as np
from scipy import special

import daybreak as db
import daybreak.numpy as dnp
from daybreak.frontends import lazy


def _program(*values):
    return lazy.build_program([v._lazy_node() for v in values])[0]


def _black_scholes(m, price, strike, t):
    rate, vol = 0.1, 0.2
    vs = vol * m.sqrt(t)
    d1 = (m.log(price / strike) + (rate + vol * vol / 2) * t) / vs
    n1 = 0.5 + 0.5 * special.erf(d1 / math.sqrt(2))
    n2 = 0.5 + 0.5 * special.erf((d1 - vs) / math.sqrt(2))
    e = m.exp(-rate * t)
    return price * n1 - e * strike * n2, e * strike * (1 - n2) - price * (1 - n1)


def _inputs(n=1000):
    rng = np.random.default_rng(3)
    return rng.uniform(10, 50, n), rng.uniform(10, 50, n), rng.uniform(0.1, 2, n)


def test_two_outputs_are_one_loop_with_shared_erfs():
    call, put = _black_scholes(dnp, *map(dnp.asarray, _inputs()))
    text = db.ir.format(_program(call, put))
    assert text.count("for(") == 1
    assert text.count("erf(") == 2  # not 4: call and put share n1 and n2
    got = db.evaluate(call, put)
    want = _black_scholes(np, *_inputs())
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)  # cancellation near 0


def test_a_vector_and_a_reduction_share_one_loop():
    x = dnp.asarray(np.linspace(0.0, 1.0, 500))
    y = dnp.exp(x)
    text = db.ir.format(_program(y * 2.0, y.sum()))
    assert text.count("for(") == 1 and text.count("exp(") == 1
    doubled, total = db.evaluate(y * 2.0, y.sum())
    np.testing.assert_allclose(doubled, np.exp(np.linspace(0, 1, 500)) * 2, rtol=1e-15)
    np.testing.assert_allclose(total, np.exp(np.linspace(0, 1, 500)).sum(), rtol=1e-13)


def test_dependent_loops_are_not_fused():
    x = dnp.asarray(np.arange(100.0))
    total = x.sum()
    y = x - total  # reads the sum: a second loop after the first
    got = db.evaluate(y, total)
    np.testing.assert_array_equal(got[0], np.arange(100.0) - np.arange(100.0).sum())


def test_axis_sums_over_one_shape_are_one_loop_nest_without_division():
    rng = np.random.default_rng(5)
    a, b = rng.random(64), rng.random(64)
    x, y = dnp.asarray(a), dnp.asarray(b)
    d = x[None, :] - x[:, None]
    r = dnp.sqrt(d * d + 1.0)
    sx, sy = (d / r).sum(axis=1), (y[None, :] * r).sum(axis=1)
    text = db.ir.format(_program(sx, sy))
    assert text.count("for(") == 2  # rows, and one inner loop for both sums
    assert text.count("sqrt(") == 1
    assert " / p" not in text.replace("/ e", "") and " % " not in text  # coordinates by counters
    dn = a[None, :] - a[:, None]
    rn = np.sqrt(dn * dn + 1.0)
    got = db.evaluate(sx, sy)
    np.testing.assert_allclose(got[0], (dn / rn).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(got[1], (b[None, :] * rn).sum(axis=1), rtol=1e-12)


def test_axis_reductions_over_leading_axes_still_agree():
    a = np.random.default_rng(6).random((4, 5, 6))
    x = dnp.asarray(a)
    got = db.evaluate(x.sum(axis=0), (x * 2).max(axis=0))
    np.testing.assert_allclose(got[0], a.sum(axis=0), rtol=1e-13)
    np.testing.assert_array_equal(got[1], (a * 2).max(axis=0))


def test_second_call_of_a_script_hits_the_compile_cache():
    inputs = _inputs()
    db.evaluate(*_black_scholes(dnp, *map(dnp.asarray, inputs)))
    db.stats(reset=True)
    fresh = [v + 1.0 for v in inputs]  # new data, same script
    db.evaluate(*_black_scholes(dnp, *map(dnp.asarray, fresh)))
    stats = db.stats()
    # the scheduler finds the compiled program by the graph's structure: no rebuild, no lookup
    assert stats["compiles"] == 0 and stats["cache_misses"] == 0 and stats["runs"] == 1
    assert stats["scheduler_hits"] == 1


def test_square_by_python_two_is_a_multiply():
    x = dnp.asarray(np.linspace(-3.0, 3.0, 100))
    text = db.ir.format(_program(x**2 + x**2.0))
    assert "pow(" not in text
    np.testing.assert_array_equal(np.asarray(x**2), np.linspace(-3.0, 3.0, 100) ** 2)
    ints = dnp.asarray(np.arange(10))
    assert (ints**2).dtype == np.int64  # integers keep their own path
