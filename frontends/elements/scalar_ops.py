"""NumPy's element semantics written with IR operators, where the IR's differ.

The IR divides like C (truncating, `x / 0 == 0`) and has no floor division, Python-style
remainder, integer power, sign or NaN-ignoring min/max; each is composed here from what it
has, following NumPy's own C code (`npy_divmod`, `npy_floor_divide`, ...) step by step so the
special cases (zeros, infinities, NaN, signed zeros) come out the same. Every function takes
the IR scalar type of the operands and their IR expressions.

>>> from daybreak.ir.types import I32
>>> from daybreak.ir.printer import format
>>> format(floor_divide_int(I32, B.ident("a"), B.ident("b")).node)
'select(a % b != 0 & a % b < 0 != b < 0, a / b - 1, a / b)'
"""

from __future__ import annotations

import math

from daybreak.ir import builder as B
from daybreak.ir.types import BOOL, Scalar

from ..lazy import Namer


def lit(value, t: Scalar) -> B.E:
    return B.lit(value, t)


def truthy(t: Scalar, a: B.E) -> B.E:
    """`a != 0` as a bool (NaN is true, as in NumPy)."""
    return a if t == BOOL else a.ne(lit(0, t))


def floor_divide_int(t: Scalar, a: B.E, b: B.E) -> B.E:
    """Python's `//` on integers: the truncated quotient, one less when the remainder's sign
    differs from the divisor's; `x // 0 == 0` (NumPy's result, the IR's too)."""
    if not t.is_signed:
        return a / b
    q, r = a / b, a % b
    zero = lit(0, t)
    return B.select(r.ne(zero) & ((r < zero).ne(b < zero)), q - lit(1, t), q)


def remainder_int(t: Scalar, a: B.E, b: B.E) -> B.E:
    """Python's `%` on integers: the remainder takes the divisor's sign; `x % 0 == 0`."""
    if not t.is_signed:
        return a % b
    r, zero = a % b, lit(0, t)
    return B.select(r.ne(zero) & ((r < zero).ne(b < zero)), r + b, r)


def _signbit(t: Scalar, x: B.E) -> B.E:
    # -0.0 < 0.0 is false; 1/-0.0 is -inf tells the zeros apart (x is not NaN here).
    zero = lit(0.0, t)
    return B.select(x.eq(zero), (lit(1.0, t) / x) < zero, x < zero)


def _divmod_float(t: Scalar, a: B.E, b: B.E) -> tuple[B.E, B.E]:
    """NumPy's npy_divmod for b != 0: (floor quotient, remainder with the divisor's sign)."""
    zero, one = lit(0.0, t), lit(1.0, t)
    neg_zero = lit(-0.0, t)
    mod0 = a % b  # C fmod
    div0 = (a - mod0) / b
    adjust = mod0.ne(zero) & (b < zero).ne(mod0 < zero)
    mod = B.select(
        mod0.ne(zero), B.select(adjust, mod0 + b, mod0), B.select(b < zero, neg_zero, zero)
    )
    div = B.select(adjust, div0 - one, div0)
    floor = B.op("floor", div)
    snapped = B.select((div - floor) > lit(0.5, t), floor + one, floor)
    quotient_sign_negative = _signbit(t, a).ne(b < zero)
    signed_zero = B.select(quotient_sign_negative, neg_zero, zero)
    return B.select(div.ne(zero), snapped, signed_zero), mod


def floor_divide_float(ctx: Namer, t: Scalar, a: B.E, b: B.E) -> B.E:
    """NumPy's npy_floor_divide: `a / b` when b == 0, else npy_divmod's quotient."""
    zero = lit(0.0, t)

    def with_names(a, b):
        return B.select(b.eq(zero), a / b, _divmod_float(t, a, b)[0])

    return ctx.let(a, lambda a: ctx.let(b, lambda b: with_names(a, b), "d"), "d")


def remainder_float(ctx: Namer, t: Scalar, a: B.E, b: B.E) -> B.E:
    """NumPy's npy_remainder: C fmod when b == 0 (NaN), else npy_divmod's remainder."""
    zero = lit(0.0, t)

    def with_names(a, b):
        return B.select(b.eq(zero), a % b, _divmod_float(t, a, b)[1])

    return ctx.let(a, lambda a: ctx.let(b, lambda b: with_names(a, b), "d"), "d")


def power_int(ctx: Namer, t: Scalar, a: B.E, b: B.E) -> B.E:
    """Integer power by repeated squaring (wrapping like NumPy). Negative exponents are
    rejected before the program runs (NumPy raises ValueError for them)."""
    one, two, zero = lit(1, t), lit(2, t), lit(0, t)

    def step(s):
        acc, base, e = s.field(0), s.field(1), s.field(2)
        acc2 = B.select((e % two).eq(one), acc * base, acc)
        return B.struct(B.struct(acc2, base * base, e / two), (e / two) > zero)

    return ctx.iterate(B.struct(one, a, b), step).field(0)


def sign(t: Scalar, a: B.E) -> B.E:
    """-1, 0 or 1 in the operand's type; NaN stays NaN and -0.0 gives 0.0 (NumPy)."""
    zero, one = lit(0, t), lit(1, t)
    if not t.is_signed and not t.is_float:
        return B.select(a > zero, one, zero)
    negative = lit(-1, t)
    inner = B.select(a < zero, negative, zero if not t.is_float else B.select(a.eq(zero), zero, a))
    return B.select(a > zero, one, inner)


def fmax(t: Scalar, a: B.E, b: B.E) -> B.E:
    """max ignoring NaN (NaN only when both are NaN)."""
    if not t.is_float:
        return B.op("max", a, b)
    return B.select(B.op("isnan", a), b, B.select(B.op("isnan", b), a, B.op("max", a, b)))


def fmin(t: Scalar, a: B.E, b: B.E) -> B.E:
    if not t.is_float:
        return B.op("min", a, b)
    return B.select(B.op("isnan", a), b, B.select(B.op("isnan", b), a, B.op("min", a, b)))


def heaviside(t: Scalar, x: B.E, h0: B.E) -> B.E:
    """0 below zero, 1 above, `h0` at zero, NaN for NaN (NumPy's `npy_heaviside`)."""
    zero = lit(0, t)
    at_zero = B.select(x.eq(zero), h0, x)  # (x NaN: x)
    return B.select(x < zero, zero, B.select(x > zero, lit(1, t), at_zero))


def logaddexp(t: Scalar, x: B.E, y: B.E, base2: bool = False) -> B.E:
    """log(exp(x) + exp(y)) (or log2(2**x + 2**y)) by NumPy's `npy_logaddexp(2)`: x + log(2)
    when x == y (equal infinities without a NaN), else the larger plus log1p of the
    exponential of minus the difference, NaN for a NaN."""
    d = x - y
    if base2:
        two = lit(2.0, t)
        tail = lambda e: B.op("log1p", B.op("pow", two, e)) * lit(1.0 / math.log(2.0), t)  # noqa: E731
        same = x + lit(1.0, t)
    else:
        tail = lambda e: B.op("log1p", B.op("exp", e))  # noqa: E731
        same = x + lit(math.log(2.0), t)
    below = B.select(d <= lit(0.0, t), y + tail(d), d)  # (d NaN: NaN)
    return B.select(x.eq(y), same, B.select(d > lit(0.0, t), x + tail(-d), below))


def invert(t: Scalar, a: B.E) -> B.E:
    """Bitwise not: xor with all ones (`!` on bool)."""
    if t == BOOL:
        return B.op("not", a)
    ones = -1 if t.is_signed else (1 << t.bits) - 1
    return a ^ lit(ones, t)
