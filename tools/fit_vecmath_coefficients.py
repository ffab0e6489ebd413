"""Reproduces the polynomial tables of backends/llvm/vecmath.py (development tool, needs mpmath).

Weighted least squares at Chebyshev nodes of each interval, solved by QR in 60-digit
arithmetic; prints each table as Python and the weighted max error with double coefficients.
"""

import mpmath as mp

mp.mp.dps = 60


def lsq(func, weight, a, b, degree, oversample=4):
    n = oversample * (degree + 1)
    nodes = [(a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (i + mp.mpf(0.5)) / n) for i in range(n)]
    A, rhs = mp.matrix(n, degree + 1), mp.matrix(n, 1)
    for i, v in enumerate(nodes):
        w = weight(v)
        for j in range(degree + 1):
            A[i, j] = w * v**j
        rhs[i] = w * func(v)
    sol, _ = mp.qr_solve(A, rhs)
    return [sol[j] for j in range(degree + 1)]


def max_err(func, weight, coeffs, a, b, m=1500):
    cs = [mp.mpf(float(c)) for c in coeffs]
    worst = 0
    for i in range(m + 1):
        v = a + (b - a) * mp.mpf(i) / m
        p = 0
        for c in reversed(cs):
            p = p * v + c
        worst = max(worst, abs(weight(v) * (p - func(v))))
    return worst


def table(name, func, weight, a, b, degree, **kw):
    a, b = mp.mpf(a), mp.mpf(b)
    c = lsq(func, weight, a, b, degree, **kw)
    error = mp.nstr(max_err(func, weight, c, a, b), 3)
    print(f"# {name}: degree {degree}, weighted max error {error}")
    print(f"{name} = ({', '.join(repr(float(x)) for x in c)})")


def exp_q(r):  # (e^r - 1 - r - r^2/2) / r^3
    return (
        mp.mpf(1) / 6 + r / 24 + r * r / 120
        if abs(r) < mp.mpf("1e-12")
        else (mp.exp(r) - 1 - r - r * r / 2) / r**3
    )


def log_p(z):  # (2 atanh(s) - 2 s) / s^3, z = s^2
    if z < mp.mpf("1e-40"):
        return mp.mpf(2) / 3
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) - 2 * s) / s**3


def erf_small(t):  # erf(x) / x, t = x^2
    return 2 / mp.sqrt(mp.pi) if t < mp.mpf("1e-40") else mp.erf(mp.sqrt(t)) / mp.sqrt(t)


K = mp.mpf(2)


def erfc_h(t):  # (x + K) e^{x^2} erfc(x), x = K (1 + t) / (1 - t)
    x = K * (1 + t) / (1 - t)
    return (x + K) * mp.erfc(x) * mp.exp(x * x)


def erfc_abs_weight(t):
    x = K * (1 + t) / (1 - t)
    return mp.exp(-x * x) / (x + K)


def t_of(x):
    return (mp.mpf(x) - K) / (mp.mpf(x) + K)


R, Z, T = mp.mpf("0.3467"), mp.mpf("0.17158") ** 2, mp.mpf("0.875") ** 2
table("EXP_Q64", exp_q, lambda r: abs(r) ** 3, -R, R, 8)
table("EXP_Q32", exp_q, lambda r: abs(r) ** 3, -R, R, 4)
table("LOG_P64", log_p, lambda z: z, 0, Z, 6)
table("LOG_P32", log_p, lambda z: z, 0, Z, 2)
table("ERF_SMALL64", erf_small, lambda t: 1, 0, T, 10)
table("ERF_SMALL32", erf_small, lambda t: 1, 0, T, 6)
table("ERF_BIG64", erfc_h, erfc_abs_weight, t_of("0.875"), t_of(6), 13, oversample=3)
table("ERF_BIG32", erfc_h, erfc_abs_weight, t_of("0.875"), t_of(4), 5, oversample=3)
table("ERFC64", erfc_h, lambda t: 1 / erfc_h(t), t_of(0), t_of("27.3"), 28, oversample=3)
table("ERFC32", erfc_h, lambda t: 1 / erfc_h(t), t_of(0), t_of("10.1"), 12, oversample=3)
