"""Black-Scholes (WORKLOADS.md): call and put prices of n European options.

The kernel is plain NumPy and takes the NumPy module as its first argument, so the same code
runs with `numpy` and with `daybreak.numpy`:

>>> import numpy
>>> price, strike, t = make_inputs(4, numpy.random.default_rng(0))
>>> call, put = black_scholes(numpy, price, strike, t)
>>> call.shape, bool((call >= 0).all())
((4,), True)
"""

from __future__ import annotations

import math

import numpy
from scipy.special import erf

RATE, VOL = 0.1, 0.2
SQRT2 = math.sqrt(2.0)


def make_inputs(n: int, rng) -> tuple:
    """price, strike (uniform 10-50) and time to expiry t (0.1-2 years)."""
    return rng.uniform(10.0, 50.0, n), rng.uniform(10.0, 50.0, n), rng.uniform(0.1, 2.0, n)


def black_scholes(np, price, strike, t):
    rsig = RATE + VOL * VOL / 2
    vs = VOL * np.sqrt(t)
    d1 = (np.log(price / strike) + rsig * t) / vs
    d2 = d1 - vs
    n1 = 0.5 + 0.5 * erf(d1 / SQRT2)
    n2 = 0.5 + 0.5 * erf(d2 / SQRT2)
    e = np.exp(-RATE * t)
    call = price * n1 - e * strike * n2
    put = e * strike * (1 - n2) - price * (1 - n1)
    return call, put


def numexpr_black_scholes(price, strike, t):
    """numexpr has no erf: the two erf calls go to SciPy, the rest to numexpr."""
    import numexpr as ne

    v = {"price": price, "strike": strike, "t": t, "rate": RATE, "vol": VOL, "sqrt2": SQRT2}
    v["rsig"] = RATE + VOL * VOL / 2
    v["vs"] = ne.evaluate("vol * sqrt(t)", local_dict=v)
    v["d1"] = ne.evaluate("(log(price / strike) + rsig * t) / vs", local_dict=v)
    v["e1"] = erf(ne.evaluate("d1 / sqrt2", local_dict=v))
    v["e2"] = erf(ne.evaluate("(d1 - vs) / sqrt2", local_dict=v))
    call = ne.evaluate(
        "price * (0.5 + 0.5 * e1) - exp(-rate * t) * strike * (0.5 + 0.5 * e2)", local_dict=v
    )
    put = ne.evaluate(
        "exp(-rate * t) * strike * (0.5 - 0.5 * e2) - price * (0.5 - 0.5 * e1)", local_dict=v
    )
    return call, put


def make_numba():
    """The loop a Numba user writes: one prange over the options."""
    import numba

    @numba.njit(parallel=True, fastmath=True)
    def numba_black_scholes(price, strike, t):
        n = price.shape[0]
        call = numpy.empty(n)
        put = numpy.empty(n)
        rsig = RATE + VOL * VOL / 2
        for i in numba.prange(n):
            vs = VOL * math.sqrt(t[i])
            d1 = (math.log(price[i] / strike[i]) + rsig * t[i]) / vs
            d2 = d1 - vs
            n1 = 0.5 + 0.5 * math.erf(d1 / SQRT2)
            n2 = 0.5 + 0.5 * math.erf(d2 / SQRT2)
            e = math.exp(-RATE * t[i])
            call[i] = price[i] * n1 - e * strike[i] * n2
            put[i] = e * strike[i] * (1 - n2) - price[i] * (1 - n1)
        return call, put

    return numba_black_scholes
