"""Vectorisable math. exp, expm1, log, log1p, log2, log10, erf and erfc are our own small LLVM
functions made only of arithmetic, selects, bit casts and integer ops; the other functions
(sin, cos, pow, ...) call the C library and name glibc's vector variants (libmvec), see the
end of this file.

Why: LLVM's loop vectoriser can widen `llvm.exp.f64` to `llvm.exp.v4f64`, but code generation
then calls libm once per lane, and a call to libm's `erf` stops vectorisation altogether. The
functions here have no calls and no branches, are `alwaysinline`, and so become part of the
loop body that the vectoriser widens (`<8 x double>` arithmetic on AVX-512).

Accuracy: at most 2 ulp over the whole domain (measured against mpmath: erfc 1.6, erf 1.3,
expm1 1.2, the others below 1), with IEEE special values
(NaN in, NaN out; exp overflows to inf and underflows through the subnormals to 0; log(0) is
-inf, log of a negative is NaN; erf(+-inf) = +-1; -0.0 kept where the function is odd).
`f32` versions compute in `f64` with shorter polynomials and round once at the end, which
keeps them within ~0.51 ulp.

The polynomial coefficients below were fitted for this file at development time: weighted
least squares at 4(n+1) (3(n+1) for the erfc fits) Chebyshev nodes of the interval, solved
by QR in 60-digit arithmetic with mpmath, then rounded to double. The weight makes the fit
minimise the error that reaches the result (noted per table); the degree is the smallest
whose rounded coefficients give a weighted error below about 1e-17 (f64) or 1e-9 (f32).

>>> import numpy as np, daybreak as db
>>> f = db.compile("|v: vec[f64]| map(v, |x| erf(x))", backend="llvm")
>>> [round(float(y), 6) for y in f(np.array([0.0, 0.5, -3.0]))]
[0.0, 0.5205, -0.999978]
"""

from __future__ import annotations

import ctypes.util
import functools
import math
import platform
import struct
from collections.abc import Callable, Sequence

import llvmlite.binding as llvm
from llvmlite import ir

from .cgutils import intrinsic

F64 = ir.DoubleType()
F32 = ir.FloatType()
I64 = ir.IntType(64)

# exp(r) - 1 = r + r^2 (1/2 + r Q(r)) on |r| <= 0.3467 (just over ln2/2); weight |r|^3.
EXP_Q64 = (
    0.16666666666666685,
    0.04166666666660015,
    0.00833333333331628,
    0.0013888888928235749,
    0.00019841269898016137,
    2.4801506969537513e-05,
    2.755723340450045e-06,
    2.7625837635662967e-07,
    2.511249839002739e-08,
)
EXP_Q32 = (
    0.16666666790344592,
    0.04166645504342985,
    0.008333280431006057,
    0.0013935812222113245,
    0.00019909696323754315,
)

# log(1+f) = 2 atanh(s) with s = f/(2+f): P(z) = (2 atanh(s) - 2s)/s^3 with z = s^2 on
# [0, 0.17158^2]; weight z (the error that reaches log(1+f), relative to it).
LOG_P64 = (
    0.6666666666666736,
    0.39999999999404773,
    0.2857142874421215,
    0.2222219841108101,
    0.1818357183507536,
    0.15313875789583725,
    0.14797564598838173,
)
LOG_P32 = (0.6666677845814081, 0.39977342490218326, 0.2987620694723968)

# erf(x)/x as a polynomial in x^2 on |x| < ERF_SMALL_LIMIT; weight 1.
ERF_SMALL_LIMIT = 0.875
ERF_SMALL64 = (
    1.1283791670955126,
    -0.3761263890318305,
    0.11283791670918193,
    -0.02686617063757491,
    0.005223977546074672,
    -0.0008548322153284132,
    0.00012055146267646174,
    -1.4921036809882414e-05,
    1.638842185363624e-06,
    -1.5625666168568258e-07,
    1.047346315578139e-08,
)
ERF_SMALL32 = (
    1.12837916688989,
    -0.3761263625395891,
    0.11283735821516865,
    -0.026861739795009224,
    0.0052071342571497195,
    -0.0008215559847335885,
    8.6946677948632e-05,
)

# Above that: erfc(x) = exp(-x^2) H(t) / (x + ERFC_K) with t = (x - K)/(x + K) (the variable of
# Shepherd & Laframboise's expansion; any x >= 0 maps into [-1, 1)). H is fitted on
# [0.875, 6] (f64) or [0.875, 4] (f32) weighted by exp(-x^2)/(x+K), the absolute error of
# erfc and so of erf = 1 - erfc; and, for erfc itself, on [0, 27.3] (f64) or [0, 10.1] (f32)
# weighted by 1/H, the relative error. Beyond those ends erf rounds to 1 and erfc to 0.
ERFC_K = 2.0
ERF_BIG64 = (
    1.021582705242023,
    -0.6871606844138081,
    0.27947209255606315,
    -0.03644223150788717,
    -0.021510661899973638,
    0.006479185115083445,
    0.0030906131090563966,
    -0.000837293155692627,
    -0.000663095803465041,
    3.421818761258298e-05,
    0.000144303716249177,
    3.5361579692123624e-05,
    -1.6976944674406064e-05,
    -9.964877533184556e-06,
)
ERF_BIG32 = (
    1.0215827899467058,
    -0.687160143467053,
    0.27944444463468493,
    -0.03682943054795512,
    -0.023448623636374795,
    0.0022821137620251284,
)
ERFC64 = (
    1.021582705242023,
    -0.6871606844138106,
    0.2794720925560548,
    -0.03644223150687773,
    -0.021510661889497285,
    0.006479185067672014,
    0.003090612059703046,
    -0.0008372960607799116,
    -0.0006630735153981379,
    3.437141184695082e-05,
    0.00014447085227785886,
    3.4149104486951305e-05,
    -2.169683222518776e-05,
    -1.6122030443302802e-05,
    -1.1233921326176746e-06,
    3.6476630701251084e-06,
    1.9972065756520455e-06,
    -6.968411355414584e-09,
    -5.649634325328074e-07,
    -3.100765159052048e-07,
    -7.99285296432763e-09,
    9.481197392097442e-08,
    5.893235198753611e-08,
    1.0407203471538804e-09,
    -1.7898329675915234e-08,
    -7.915258487375807e-09,
    1.062976726485181e-09,
    1.6463533903546791e-09,
    3.459317542766406e-10,
)
ERFC32 = (
    1.021582705393622,
    -0.6871606854632112,
    0.279472073187882,
    -0.036442185113567616,
    -0.021510246095685553,
    0.006478698507504874,
    0.0030871949686230816,
    -0.0008357927118314739,
    -0.0006498098257114843,
    3.5493857151424e-05,
    0.00011986594179684971,
    2.19775967073345e-05,
    -4.277164868486756e-06,
)


# Constants split as hi + lo (hi with 42 significant bits so k * hi is exact for |k| < 2^11, or
# 26 bits so a product of two 26-bit heads is exact; lo = the double nearest the rest, from
# 50-digit values).
LN2_HI, LN2_LO = 0.6931471805598903, 5.497923018708371e-14
LOG2E = 1.4426950408889634
LOG2E_HI, LOG2E_LO = 1.4426950216293335, 1.9259629911266175e-08
LOG10E_HI, LOG10E_LO = 0.4342944771051407, 4.798111141615973e-09
LOG10_2_HI, LOG10_2_LO = 0.30102999566395283, 2.8363394551044964e-14
SHIFT = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer, kept in the low bits
HEAD_MASK = -(1 << 27)  # clears the low 27 of 52 fraction bits: 26 significant bits remain


def _bits_of(value: float) -> int:
    return struct.unpack("<q", struct.pack("<d", value))[0]


SHIFT_BITS = _bits_of(SHIFT)
SQRT_HALF_BITS = _bits_of(math.sqrt(0.5))


class _Arith:
    """f64 arithmetic on one builder, so that the kernels below read like the formulas."""

    def __init__(self, builder: ir.IRBuilder):
        self.b = builder
        self.module = builder.module

    def c(self, value: float) -> ir.Constant:
        return ir.Constant(F64, value)

    def i(self, value: int) -> ir.Constant:
        return ir.Constant(I64, value)

    def add(self, x, y):
        return self.b.fadd(x, y)

    def sub(self, x, y):
        return self.b.fsub(x, y)

    def mul(self, x, y):
        return self.b.fmul(x, y)

    def div(self, x, y):
        return self.b.fdiv(x, y)

    def fma(self, x, y, z):
        """x*y + z, fused where the CPU has FMA (only used where either rounding will do)."""
        fn = intrinsic(self.module, "llvm.fmuladd", [F64], F64, [F64, F64, F64])
        return self.b.call(fn, [x, y, z])

    def poly(self, x, coeffs: Sequence[float]):
        """coeffs[0] + coeffs[1] x + ... by Horner's rule."""
        acc = self.c(coeffs[-1])
        for coeff in reversed(coeffs[:-1]):
            acc = self.fma(acc, x, self.c(coeff))
        return acc

    def unary(self, name: str, x):
        return self.b.call(intrinsic(self.module, name, [F64], F64, [F64]), [x])

    def copysign(self, magnitude, sign):
        fn = intrinsic(self.module, "llvm.copysign", [F64], F64, [F64, F64])
        return self.b.call(fn, [magnitude, sign])

    def cmp(self, op: str, x, y):
        """Ordered comparison: false when either side is NaN."""
        return self.b.fcmp_ordered(op, x, y)

    def select(self, cond, x, y):
        return self.b.select(cond, x, y)

    def clamp(self, x, lo: float, hi: float):
        """x limited to [lo, hi]; NaN stays NaN."""
        x = self.select(self.cmp("<", x, self.c(lo)), self.c(lo), x)
        return self.select(self.cmp(">", x, self.c(hi)), self.c(hi), x)

    def bits(self, x):
        return self.b.bitcast(x, I64)

    def from_bits(self, n):
        return self.b.bitcast(n, F64)

    def pow2(self, k):
        """2^k for an i64 k in the normal exponent range [-1022, 1023]."""
        return self.from_bits(self.b.shl(self.b.add(k, self.i(1023)), self.i(52)))

    def two_sum(self, x, y):
        """(s, e) with s = fl(x + y) and s + e = x + y exactly (Knuth)."""
        s = self.add(x, y)
        y_part = self.sub(s, x)
        e = self.add(self.sub(x, self.sub(s, y_part)), self.sub(y, y_part))
        return s, e

    def two_product(self, x, y):
        """(p, e) with p = fl(x y) and p + e = x y to ~2^-106 (Dekker, no FMA needed)."""
        p = self.mul(x, y)
        xh, yh = self.head(x), self.head(y)
        xl, yl = self.sub(x, xh), self.sub(y, yh)
        e = self.add(self.add(self.sub(self.mul(xh, yh), p), self.mul(xh, yl)), self.mul(xl, yh))
        return p, self.add(e, self.mul(xl, yl))

    def head(self, x):
        """x with its low 27 fraction bits cleared: 26 significant bits, so the product of two
        heads is exact (Dekker's split)."""
        return self.from_bits(self.b.and_(self.bits(x), self.i(HEAD_MASK)))


# A kernel builds a function's value from x (a double; `single`: the result is rounded to f32).
Kernel = Callable[[_Arith, ir.Value, bool], ir.Value]


# ----------------------------------------------------------------------------------------------
# exp and expm1: x = k ln2 + r with |r| <= ln2/2, exp(x) = 2^k (1 + em1(r)).


def _reduce_exp(m: _Arith, x, single: bool):
    """(k as i64, r_hi, tail) with x = k ln2 + r and exp(r) - 1 = r_hi + tail, r_hi exact
    and |tail| small; `x` must already be clamped to |x| < 2^50."""
    t = m.add(m.mul(x, m.c(LOG2E)), m.c(SHIFT))
    kf = m.sub(t, m.c(SHIFT))  # rint(x / ln2)
    k = m.b.sub(m.bits(t), m.i(SHIFT_BITS))
    r_hi = m.sub(x, m.mul(kf, m.c(LN2_HI)))  # exact: kf * LN2_HI is exact and near x
    r_lo = m.mul(kf, m.c(-LN2_LO))
    r = m.add(r_hi, r_lo)
    p = m.fma(r, m.poly(r, EXP_Q32 if single else EXP_Q64), m.c(0.5))
    tail = m.fma(m.mul(r, r), p, r_lo)  # em1(r) - r_hi: the small part, computed on r
    return k, r_hi, tail


def exp(m: _Arith, x, single: bool):
    x = m.clamp(x, -746.0, 710.0)  # beyond: 0 and inf, which the scaling below produces
    k, r_hi, tail = _reduce_exp(m, x, single)
    y = m.add(m.c(1.0), m.add(r_hi, tail))
    # 2^k in two factors so that neither overflows; only the last product can round (when
    # the result is subnormal).
    k1 = m.b.ashr(k, m.i(1))
    k2 = m.b.sub(k, k1)
    return m.mul(m.mul(y, m.pow2(k1)), m.pow2(k2))


def expm1(m: _Arith, x, single: bool):
    # Below -40 expm1 rounds to -1; above 709.8 it overflows (2^(k-1) stays finite).
    x = m.clamp(x, -40.0, 709.8)
    k, r_hi, tail = _reduce_exp(m, x, single)
    # expm1 = 2^k (1 + r_hi + tail) - 1 = 2 ((s - 1/2) + s r_hi + s tail) with s = 2^(k-1):
    # s - 1/2 and s r_hi are exact, and with k = 0 this is r_hi + tail exactly.
    s = m.pow2(m.b.sub(k, m.i(1)))
    head = m.add(m.sub(s, m.c(0.5)), m.mul(s, r_hi))
    value = m.mul(m.c(2.0), m.add(head, m.mul(s, tail)))
    # Tiny x (zeros and subnormals included): expm1(x) rounds to x; s r_hi would underflow.
    tiny = m.cmp("<", m.unary("llvm.fabs", x), m.c(2.0**-54))
    return m.select(tiny, x, value)


# ----------------------------------------------------------------------------------------------
# log family: x = 2^e m with sqrt(1/2) <= m < sqrt(2), f = m - 1 (exact), s = f / (2 + f),
# log(m) = 2 atanh(s) = f - s (f - z P(z)), z = s^2.


def _log_parts(m: _Arith, x, single: bool):
    """(e as f64, f, c) with log(x) = e ln2 + (f - c) for finite x > 0."""
    b = m.b
    if single:  # an f32 argument widened to f64 is never subnormal
        scaled, e_adjust = x, m.i(0)
    else:
        tiny = m.cmp("<", x, m.c(2.0**-1022))
        scaled = m.select(tiny, m.mul(x, m.c(2.0**54)), x)
        e_adjust = b.select(tiny, m.i(-54), m.i(0))
    # Subtracting the bits of sqrt(1/2) moves the exponent boundary to sqrt(2)*2^e.
    e = b.ashr(b.sub(m.bits(scaled), m.i(SQRT_HALF_BITS)), m.i(52))
    mant = m.from_bits(b.sub(m.bits(scaled), b.shl(e, m.i(52))))
    e_float = b.sitofp(b.add(e, e_adjust), F64)
    f = m.sub(mant, m.c(1.0))
    s = m.div(f, m.add(m.c(2.0), f))
    z = m.mul(s, s)
    c = m.mul(s, m.sub(f, m.mul(z, m.poly(z, LOG_P32 if single else LOG_P64))))
    return e_float, f, c


def _log_specials(m: _Arith, x, value):
    """log's value at the edges of its domain: +inf at +inf, -inf at +-0, NaN below 0 or at NaN."""
    value = m.select(m.cmp("==", x, m.c(math.inf)), m.c(math.inf), value)
    value = m.select(m.cmp("==", x, m.c(0.0)), m.c(-math.inf), value)
    negative_or_nan = m.b.fcmp_unordered("<", x, m.c(0.0))
    return m.select(negative_or_nan, m.c(math.nan), value)


def _log_sum(m: _Arith, e, f, c, extra_low):
    """e ln2 + (f - c) + extra_low, rounded once at the end (the roundings of f - c and of
    the sum with e ln2_hi are measured and added back)."""
    value = m.sub(f, c)
    value_err = m.sub(m.sub(f, value), c)  # f - c = value + value_err exactly (|c| < |f|)
    head, head_err = m.two_sum(m.mul(e, m.c(LN2_HI)), value)
    low = m.add(m.add(head_err, value_err), m.add(m.mul(e, m.c(LN2_LO)), extra_low))
    return m.add(head, low)


def log(m: _Arith, x, single: bool):
    e, f, c = _log_parts(m, x, single)
    return _log_specials(m, x, _log_sum(m, e, f, c, m.c(0.0)))


def log1p(m: _Arith, x, single: bool):
    u = m.add(m.c(1.0), x)
    e, f, c = _log_parts(m, u, single)
    # log(1 + x) = log(u) + log(1 + d/u) with d = x - (u - 1) the rounding error of u.
    correction = m.div(m.sub(x, m.sub(u, m.c(1.0))), u)
    value = _log_specials(m, u, _log_sum(m, e, f, c, correction))
    return m.select(m.cmp("==", x, m.c(0.0)), x, value)  # keeps -0.0


def _scaled_log(m: _Arith, x, single: bool, base_hi: float, base_lo: float, e_scale):
    """log(x) * (base_hi + base_lo) with the exponent part added as `e_scale(e)` (hi, lo):
    the product of log(m) with the constant is kept to ~2^-70 by splitting both factors."""
    e, f, c = _log_parts(m, x, single)
    value = m.sub(f, c)
    value_err = m.sub(m.sub(f, value), c)  # f - c exactly = value + value_err (|c| < |f|)
    value_head = m.head(value)
    product_hi = m.mul(value_head, m.c(base_hi))  # exact
    product_lo = m.add(
        m.add(m.mul(m.sub(value, value_head), m.c(base_hi)), m.mul(value, m.c(base_lo))),
        m.mul(value_err, m.c(base_hi + base_lo)),
    )
    e_hi, e_lo = e_scale(e)
    # One rounding at the end keeps exact cases exact: log10(100) == 2.
    head, head_err = m.two_sum(e_hi, product_hi)
    result = m.add(head, m.add(head_err, m.add(product_lo, e_lo)))
    return _log_specials(m, x, result)


def log2(m: _Arith, x, single: bool):
    return _scaled_log(m, x, single, LOG2E_HI, LOG2E_LO, lambda e: (e, m.c(0.0)))


def log10(m: _Arith, x, single: bool):
    def exponent_part(e):
        return m.mul(e, m.c(LOG10_2_HI)), m.mul(e, m.c(LOG10_2_LO))

    return _scaled_log(m, x, single, LOG10E_HI, LOG10E_LO, exponent_part)


# ----------------------------------------------------------------------------------------------
# erf and erfc.


def _erfc_tail_absolute(m: _Arith, ax, coeffs, single: bool):
    """erfc(ax) for 0 <= ax <= 6 (clamped), to an absolute error near 2^-56: what
    erf = 1 - erfc needs."""
    inv_d = m.div(m.c(1.0), m.add(ax, m.c(ERFC_K)))  # one division: they are slow
    t = m.mul(m.sub(ax, m.c(ERFC_K)), inv_d)
    g = m.mul(m.poly(t, coeffs), inv_d)
    k, r_hi, tail = _reduce_exp(m, m.sub(m.c(0.0), m.mul(ax, ax)), single)
    return m.mul(m.fma(g, m.add(r_hi, tail), g), m.pow2(k))  # 2^k >= 2^-52 here


def _erfc_tail_relative(m: _Arith, ax, single: bool):
    """erfc(ax) for 0 <= ax <= 27.3 (clamped), to a relative error near 1 ulp.

    erfc(x) = exp(-x^2) H(t) / d with d = x + K, t = (x - K) / d. In f64 each rounding that
    would reach the result at full weight is measured exactly (two_sum, two_product) and
    put back as a correction: d, t, the last Horner step of H, H / d, and x^2."""
    if single:  # f64 arithmetic is already 2^29 times finer than the f32 result
        correction, square, err = m.c(0.0), m.mul(ax, ax), m.c(0.0)
        d = m.add(ax, m.c(ERFC_K))
        g0 = m.div(m.poly(m.div(m.sub(ax, m.c(ERFC_K)), d), ERFC32), d)
    else:
        d, d_err = m.two_sum(ax, m.c(ERFC_K))
        num, num_err = m.two_sum(ax, m.c(-ERFC_K))
        t = m.div(num, d)
        rest = m.poly(t, ERFC64[1:])
        p, p_err = m.two_product(t, rest)
        h, h_err = m.two_sum(m.c(ERFC64[0]), p)
        # t's own error: (num + num_err) - t (d + d_err), over d; H' is about `rest`.
        td, td_err = m.two_product(t, d)
        rho = m.sub(m.add(m.sub(m.sub(num, td), td_err), num_err), m.mul(t, d_err))
        inv_d = m.div(m.c(1.0), d)
        h_low = m.add(m.add(h_err, p_err), m.mul(rest, m.mul(rho, inv_d)))
        g0 = m.mul(h, inv_d)
        gd, gd_err = m.two_product(g0, d)
        residual = m.add(m.sub(m.sub(h, gd), gd_err), h_low)  # h + h_low - g0 d exactly-ish
        correction = m.mul(m.sub(residual, m.mul(g0, d_err)), inv_d)  # g = g0 + correction
        square, err = m.two_product(ax, ax)
    k, r_hi, tail = _reduce_exp(m, m.clamp(m.sub(m.c(0.0), square), -746.0, 0.0), single)
    # exp(-x^2) g = 2^k (1 + r_hi + tail)(1 - err)(g0 + correction)
    one_plus_q = m.add(m.c(1.0), m.add(r_hi, tail))
    small = m.fma(m.sub(correction, m.mul(g0, err)), one_plus_q, m.mul(g0, tail))
    v = m.add(g0, m.add(m.mul(g0, r_hi), small))
    k1 = m.b.ashr(k, m.i(1))
    return m.mul(m.mul(v, m.pow2(k1)), m.pow2(m.b.sub(k, k1)))


def erf(m: _Arith, x, single: bool):
    ax = m.unary("llvm.fabs", x)
    # erf(x) = x + x (P(x^2) - 1): the rounding of P does not reach the result at full weight.
    coeffs = ERF_SMALL32 if single else ERF_SMALL64
    small = m.fma(x, m.poly(m.mul(x, x), (coeffs[0] - 1.0, *coeffs[1:])), x)
    big_end = 4.0 if single else 6.0
    clamped = m.select(m.cmp(">", ax, m.c(big_end)), m.c(big_end), ax)
    tail = _erfc_tail_absolute(m, clamped, ERF_BIG32 if single else ERF_BIG64, single)
    big = m.copysign(m.sub(m.c(1.0), tail), x)
    return m.select(m.cmp("<", ax, m.c(ERF_SMALL_LIMIT)), small, big)


def erfc(m: _Arith, x, single: bool):
    ax = m.unary("llvm.fabs", x)
    end = 10.1 if single else 27.3
    clamped = m.select(m.cmp(">", ax, m.c(end)), m.c(end), ax)
    value = _erfc_tail_relative(m, clamped, single)
    return m.select(m.cmp("<", x, m.c(0.0)), m.sub(m.c(2.0), value), value)


def math_function(module: ir.Module, name: str, kernel: Kernel, ty: ir.Type) -> ir.Function:
    """The module's always-inline definition of math function `name`, built by `kernel`, for
    `ty` (float or double), defined on first use: `db.math.erf.f64` and so on."""
    single = ty == F32
    symbol = f"db.math.{name}.{'f32' if single else 'f64'}"
    existing = module.globals.get(symbol)
    if existing is not None:
        return existing
    fn = ir.Function(module, ir.FunctionType(ty, [ty]), name=symbol)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    fn.attributes.add("nounwind")
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    x = builder.fpext(fn.args[0], F64) if single else fn.args[0]
    value = kernel(_Arith(builder), x, single)
    builder.ret(builder.fptrunc(value, F32) if single else value)
    return fn


# ----------------------------------------------------------------------------------------------
# The other math functions: the C library for scalar code, plus glibc's vector math library
# (libmvec, at most 4 ulp) for vector code. The loop vectoriser calls a vector variant when
# the scalar function names it in a "vector-function-abi-variant" attribute and the variant
# is declared in the module; declarations nothing calls yet are dropped before vectorisation,
# so llvm.compiler.used keeps them. Which functions go this way is the op table's choice
# (ops.py: MathSource.LIBMVEC); it hands their arities here.

_KEEP_ALIVE = "llvm.compiler.used"


@functools.cache
def _has_variants(name: str, arity: int) -> bool:
    """Whether this process's libmvec has the vector variants of `name` (glibc adds
    functions over the years: `atan2` and `hypot` came in 2.35): a variant declared but
    missing would fail the module's linking."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("mvec"))
    except (OSError, TypeError):
        return False
    return all(
        hasattr(lib, _variant_name(name, arity, single, isa, bits))
        for isa, bits in libmvec_isas()
        for single in (False, True)
    )


@functools.cache
def libmvec_isas() -> tuple[tuple[str, int], ...]:
    """(VFABI ISA letter, vector bits) of the libmvec variants this process can call:
    b = SSE, d = AVX2, e = AVX-512; () without glibc's libmvec or off x86-64."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return ()
    name = ctypes.util.find_library("mvec")
    if name is None:
        return ()
    try:
        llvm.load_library_permanently(name)
    except RuntimeError:
        return ()
    features = llvm.get_host_cpu_features()
    isas = [("b", 128)]
    if features.get("avx2"):
        isas.append(("d", 256))
    if features.get("avx512f"):
        isas.append(("e", 512))
    return tuple(isas)


def _variant_name(name: str, arity: int, single: bool, isa: str, bits: int) -> str:
    lanes = bits // (32 if single else 64)
    symbol = name + ("f" if single else "")
    return f"_ZGV{isa}N{lanes}{'v' * arity}_{symbol}"


def _declare_variants(module: ir.Module, arities: dict[str, int]) -> None:
    """Declare every libmvec variant of the functions in `arities` (name -> arity), for both
    float types, and keep them in the module."""
    if _KEEP_ALIVE in module.globals:
        return
    declared = []
    for name, arity in arities.items():
        if not _has_variants(name, arity):
            continue
        for ty in (F64, F32):
            for isa, bits in libmvec_isas():
                vector = ir.VectorType(ty, bits // (32 if ty == F32 else 64))
                fnty = ir.FunctionType(vector, [vector] * arity)
                declared.append(
                    ir.Function(module, fnty, name=_variant_name(name, arity, ty == F32, isa, bits))
                )
    i8p = ir.IntType(8).as_pointer()
    keep = ir.GlobalVariable(module, ir.ArrayType(i8p, len(declared)), name=_KEEP_ALIVE)
    keep.linkage = "appending"
    keep.section = "llvm.metadata"
    keep.initializer = ir.Constant(keep.type.pointee, [fn.bitcast(i8p) for fn in declared])


def call_libm(L, name: str, args, arities: dict[str, int]) -> ir.Value:
    """A call to the C library function `name`, which loops vectorise into calls to its
    libmvec variants where libmvec exists (`arities`: every function that goes this way)."""
    ty = args[0].type
    single = ty == F32
    symbol = name + ("f" if single else "")
    fn = L.module.globals.get(symbol)
    if fn is None:
        fn = ir.Function(L.module, ir.FunctionType(ty, [ty] * len(args)), name=symbol)
        # No errno reads anywhere, so the call has no effect the vectoriser must keep.
        fn.attributes.add("nounwind")
        fn.attributes.add("readnone")
        isas = libmvec_isas()
        if isas and _has_variants(name, arities[name]):
            _declare_variants(L.module, arities)
            arity = arities[name]
            variants = ",".join(
                f"{v}({v})" for v in (_variant_name(name, arity, single, i, b) for i, b in isas)
            )
            # llvmlite only knows keyword attributes; this string attribute is valid LLVM.
            set.add(fn.attributes, f'"vector-function-abi-variant"="{variants}"')
    return L.builder.call(fn, args)
