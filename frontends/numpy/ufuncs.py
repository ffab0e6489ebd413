"""Ufuncs: a table from NumPy ufunc name to the IR of one element, and `apply_ufunc`.

Each entry maps the loop's input type (the IR scalar NumPy's chosen inner loop casts the
inputs to) to a builder `fn(ctx, *args) -> IR`, or to None when the IR cannot express that
loop (then the call falls back to NumPy, counted). Dtypes, casting and error messages are
NumPy's own: `apply_ufunc` asks NumPy on empty arrays before building anything.

>>> import daybreak.numpy as dnp
>>> x = dnp.asarray([-7, 7])
>>> (x // 2).tolist(), (x % -3).tolist()
([-4, 3], [-1, -2])
"""

from __future__ import annotations

import functools
import math

import numpy as np

from daybreak.ir import builder as B
from daybreak.ir.types import BOOL, Scalar
from daybreak.runtime.config import SETTINGS
from daybreak.runtime.stats import count_library_run

from ..elements import scalar_ops as S
from ..elements.broadcast import broadcast_to, out_shape
from ..elements.dtypes import (
    NUMPY_SCALAR_TYPES,
    ir_scalar,
    is_python_scalar,
    loop_dtypes,
    python_scalar_value,
)
from ..elements.expr import Apply, Leaf, Outer
from ..elements.signature import builder_key
from ..lazy import Param
from ..sites import (
    cold,
    computed_by_sampling,
    consumed,
    first_call,
    follows,
    not_sampled,
    sampled_out,
    site_at_once,
)
from ..snapshots import copies_now
from .array import (
    as_operand,
    data_now,
    fresh_apply_array,
    held_now,
    ndarray,
    result_array,
    wrap,
)
from .replay import library_call


def _any(fn):
    return lambda t: fn


def _by_kind(boolean=None, integer=None, floating=None):
    """Pick a builder by the loop type's kind (None: not compiled for that kind)."""

    def pick(t: Scalar):
        return boolean if t == BOOL else floating if t.is_float else integer

    return pick


def _float_fn(name: str):
    return _by_kind(floating=lambda c, a: B.op(name, a))


_IDENTITY = lambda c, a: a  # noqa: E731


def _t(fn):
    """A builder that also needs the loop type: `fn(t, *args)`."""
    return lambda t: lambda c, *args: fn(t, *args)


_CONST = {
    "degrees": 180.0 / math.pi,
    "rad2deg": 180.0 / math.pi,
    "radians": math.pi / 180.0,
    "deg2rad": math.pi / 180.0,
}

UFUNC_TABLE: dict[str, object] = {
    "add": _by_kind(lambda c, a, b: a | b, lambda c, a, b: a + b, lambda c, a, b: a + b),
    "subtract": _by_kind(None, lambda c, a, b: a - b, lambda c, a, b: a - b),
    "multiply": _by_kind(lambda c, a, b: a & b, lambda c, a, b: a * b, lambda c, a, b: a * b),
    "divide": _by_kind(floating=lambda c, a, b: a / b),
    "floor_divide": lambda t: (
        (lambda c, a, b: S.floor_divide_float(c, t, a, b))
        if t.is_float
        else (lambda c, a, b: S.floor_divide_int(t, a, b))
        if t.is_int
        else None
    ),
    "remainder": lambda t: (
        (lambda c, a, b: S.remainder_float(c, t, a, b))
        if t.is_float
        else (lambda c, a, b: S.remainder_int(t, a, b))
        if t.is_int
        else None
    ),
    "fmod": lambda t: (lambda c, a, b: a % b) if t.is_numeric else None,
    "power": lambda t: (
        (lambda c, a, b: B.op("pow", a, b))
        if t.is_float
        else (lambda c, a, b: S.power_int(c, t, a, b))
        if t.is_int
        else None
    ),
    "negative": _by_kind(None, lambda c, a: -a, lambda c, a: -a),
    "positive": _by_kind(None, _IDENTITY, _IDENTITY),
    "absolute": _by_kind(_IDENTITY, lambda c, a: B.op("abs", a), lambda c, a: B.op("abs", a)),
    "sign": lambda t: None if t == BOOL else (lambda c, a: S.sign(t, a)),
    "square": _by_kind(None, lambda c, a: a * a, lambda c, a: a * a),
    "reciprocal": lambda t: (lambda c, a: B.lit(1.0, t) / a) if t.is_float else None,
    "maximum": _any(lambda c, a, b: B.op("max", a, b)),
    "minimum": _any(lambda c, a, b: B.op("min", a, b)),
    "fmax": _t(S.fmax),
    "fmin": _t(S.fmin),
    "arctan2": _by_kind(floating=lambda c, a, b: B.op("atan2", a, b)),
    "hypot": _by_kind(floating=lambda c, a, b: B.op("hypot", a, b)),
    "float_power": _by_kind(floating=lambda c, a, b: B.op("pow", a, b)),  # (a float64 loop)
    "copysign": _by_kind(floating=lambda c, a, b: B.op("copysign", a, b)),
    "fabs": _by_kind(floating=lambda c, a: B.op("abs", a)),
    "signbit": lambda t: (
        (lambda c, a: B.op("copysign", B.lit(1.0, t), a) < B.lit(0.0, t)) if t.is_float else None
    ),
    "heaviside": lambda t: (lambda c, a, b: S.heaviside(t, a, b)) if t.is_float else None,
    "logaddexp": lambda t: (lambda c, a, b: S.logaddexp(t, a, b)) if t.is_float else None,
    "logaddexp2": lambda t: (
        (lambda c, a, b: S.logaddexp(t, a, b, base2=True)) if t.is_float else None
    ),
    "exp2": lambda t: (lambda c, a: B.op("pow", B.lit(2.0, t), a)) if t.is_float else None,
    "isnan": lambda t: (
        (lambda c, a: B.op("isnan", a)) if t.is_float else (lambda c, a: B.lit(False))
    ),
    "isinf": lambda t: (
        (lambda c, a: B.op("isinf", a)) if t.is_float else (lambda c, a: B.lit(False))
    ),
    "isfinite": lambda t: (
        (lambda c, a: B.op("isfinite", a)) if t.is_float else (lambda c, a: B.lit(True))
    ),
    "equal": _any(lambda c, a, b: a.eq(b)),
    "not_equal": _any(lambda c, a, b: a.ne(b)),
    "less": _any(lambda c, a, b: a < b),
    "less_equal": _any(lambda c, a, b: a <= b),
    "greater": _any(lambda c, a, b: a > b),
    "greater_equal": _any(lambda c, a, b: a >= b),
    "logical_and": lambda t: lambda c, a, b: S.truthy(t, a) & S.truthy(t, b),
    "logical_or": lambda t: lambda c, a, b: S.truthy(t, a) | S.truthy(t, b),
    "logical_xor": lambda t: lambda c, a, b: S.truthy(t, a).ne(S.truthy(t, b)),
    "logical_not": lambda t: lambda c, a: B.op("not", S.truthy(t, a)),
    "bitwise_and": lambda t: None if t.is_float else (lambda c, a, b: a & b),
    "bitwise_or": lambda t: None if t.is_float else (lambda c, a, b: a | b),
    "bitwise_xor": lambda t: None if t.is_float else (lambda c, a, b: a ^ b),
    "invert": lambda t: None if t.is_float else (lambda c, a: S.invert(t, a)),
    # (NumPy shifts bools as int8: the loop type is never bool here)
    "left_shift": lambda t: (lambda c, a, b: B.op("<<", a, b)) if t.is_int else None,
    "right_shift": lambda t: (lambda c, a, b: B.op(">>", a, b)) if t.is_int else None,
    "conjugate": _any(_IDENTITY),
}
for _np_name, _ir_name in {
    "exp": "exp",
    "log": "log",
    "log2": "log2",
    "log10": "log10",
    "log1p": "log1p",
    "expm1": "expm1",
    "sqrt": "sqrt",
    "cbrt": "cbrt",
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "rint": "rint",
}.items():
    UFUNC_TABLE[_np_name] = _float_fn(_ir_name)
for _np_name in ("floor", "ceil", "trunc"):  # NumPy 2 keeps integers as they are
    UFUNC_TABLE[_np_name] = _by_kind(
        _IDENTITY, _IDENTITY, (lambda n: lambda c, a: B.op(n, a))(_np_name)
    )
for _np_name, _factor in _CONST.items():
    UFUNC_TABLE[_np_name] = (
        lambda f: lambda t: (lambda c, a: a * B.lit(f, t)) if t.is_float else None
    )(_factor)

# scipy.special ufuncs the IR has (looked up by identity, so only scipy's own objects match).
SCIPY_TABLE: dict[str, object] = {
    "erf": _float_fn("erf"),
    "erfc": _float_fn("erfc"),
}


def lookup(ufunc) -> object | None:
    """The table entry for a NumPy (or scipy.special) ufunc object, or None."""
    name = getattr(ufunc, "__name__", None)
    if name in UFUNC_TABLE and getattr(np, name, None) is ufunc:
        return UFUNC_TABLE[name]
    if name in SCIPY_TABLE:
        import sys

        special = sys.modules.get("scipy.special")
        if special is not None and getattr(special, name, None) is ufunc:
            return SCIPY_TABLE[name]
    return None


class NotCompiled(Exception):
    """A call the IR cannot express: the caller falls back to NumPy (the reason is the text)."""


def _probe_operand(x):
    return x if is_python_scalar(x) else np.empty(0, dtype=x.dtype)


def _operand_expr(x, shape, loop_dtype: np.dtype):
    """The element expression of one operand, broadcast to `shape` and cast to the loop's
    input dtype: a daybreak array's expression, or a scalar parameter holding a Python or
    NumPy scalar (or a 0-d NumPy array's value now) cast as the loop casts it."""
    kind = type(x)
    if kind is float and loop_dtype == _F8:
        return Outer(Param.scalar(x, _F64), loop_dtype)  # (the value as it is)
    if kind is np.ndarray and not x.shape:
        x = x[()]  # a 0-d NumPy array: its value now (it may be written later)
        kind = type(x)
    if kind is int or kind is float or kind is bool or kind in NUMPY_SCALAR_TYPES:
        value = python_scalar_value(x, loop_dtype)
        return Outer(Param.scalar(value, ir_scalar(loop_dtype)), loop_dtype)
    expr = broadcast_to(held_now(x), x.shape, shape)
    return cast_expr(expr, loop_dtype)


def _operand_maker(x, shape, loop_dtype: np.dtype):
    """How a plan makes the expression of an operand of `x`'s kind (`_operand_expr`, with
    what is already known for this kind decided once): a daybreak array of the loop's shape
    and dtype is its own expression; a Python float in a float64 loop is a parameter."""
    kind = type(x)
    if kind is ndarray and x.shape == shape and x.dtype == loop_dtype:
        return _own_expr
    if (kind is float or kind is int) and loop_dtype == _F8:
        return _float_parameter
    if kind is np.ndarray and x.shape:
        return _numpy_operand
    return _operand_expr


def _numpy_operand(x, shape, loop_dtype):
    return _operand_expr(as_operand(x), shape, loop_dtype)  # (a snapshot of the user's array)


def _own_expr(x, shape, loop_dtype):
    return held_now(x)


def _float_parameter(x, shape, loop_dtype):
    return Outer.plain(Param.scalar(float(x), _F64), _F8)  # (an int: as NumPy's cast rounds it)


def cast_expr(expr, dtype: np.dtype):
    """`expr` cast to `dtype`, as NumPy casts (its C casts on x86-64, where a float out of
    the range of an integer type is platform-defined: `float_to_int`)."""
    dtype = np.dtype(dtype)
    if expr.dtype == dtype:
        return expr
    target = ir_scalar(dtype)
    if expr.dtype.kind == "f" and dtype.kind in "iu":
        return Apply(float_to_int(target), (expr,), dtype, lambda a: np.asarray(a).astype(dtype))
    return Apply(lambda c, a: a.cast(target), (expr,), dtype, lambda a: np.asarray(a).astype(dtype))


_F64_IR = ir_scalar(np.dtype(np.float64))


def _truncated(x, bits: int):
    """x86's truncating conversion of f64 `x` to a signed `bits`-bit integer (cvttsd2si):
    the integer toward zero when it fits, else the "integer indefinite" value, -2^(bits-1)
    (NaN and infinities too). The IR's cast saturates; this selects around it."""
    ty = ir_scalar(np.dtype(f"i{bits // 8}"))
    low, high = B.lit(-(2.0 ** (bits - 1)) - 1.0, _F64_IR), B.lit(2.0 ** (bits - 1), _F64_IR)
    fits = (x > low) & (x < high)
    return B.select(fits, x.cast(ty), B.lit(-(1 << (bits - 1)), ty))


def _unsigned_truncated(x, bits: int):
    """f64 to an unsigned `bits`-bit integer as x86 code does with signed conversions only:
    values from 2^(bits-1) on are converted less 2^(bits-1), the top bit set back by xor."""
    ty = ir_scalar(np.dtype(f"i{bits // 8}"))
    top = B.lit(2.0 ** (bits - 1), _F64_IR)
    high = _truncated(x - top, bits) ^ B.lit(-(1 << (bits - 1)), ty)
    return B.select(x >= top, high, _truncated(x, bits))


@functools.cache
def float_to_int(target):
    """The builder of a float-to-integer cast with NumPy's results on x86-64: int64 and int32
    by the truncating conversion of their width; narrower types through int32 (C's cast of
    a double to `short` or `char`), wrapping; uint32 and uint64 by the unsigned sequence.
    (-1.0 -> uint8 255, 1e10 -> int16 0, inf -> int32 -2^31, 3e9 -> uint32 3000000000.)"""
    bits = target.dtype.itemsize * 8
    if target.dtype.kind == "u" and bits >= 32:
        convert = lambda x: _unsigned_truncated(x, bits)  # noqa: E731
    else:
        convert = lambda x: _truncated(x, max(bits, 32))  # noqa: E731

    def build(ctx, a):
        value = convert(a.cast(_F64_IR))  # (a float32 widens exactly)
        return value.cast(target)  # same width: a reinterpretation; narrower: wraps

    return build


def apply_ufunc(ufunc, inputs, out=None, spent=None):
    """`ufunc(*inputs)` (with `out=` a daybreak array, or None), lazily when the IR can do it;
    raises NotCompiled otherwise. NumPy's errors are raised here, at the call. `spent`: an
    input that is a temporary of the user's expression (`methods._binary`), whose buffer a
    call computed at once may write its result into, as NumPy's own operators do."""
    if (
        ufunc is np.power
        and type(inputs[1]) in (int, float)
        and inputs[1] == 2
        and getattr(inputs[0], "dtype", None) is not None
        and inputs[0].dtype.kind == "f"
    ):
        # x ** 2 as x * x, as NumPy's own fast path does: a runtime exponent would be a call
        # to pow per element, which does not vectorise (nBody, Haversine).
        return apply_ufunc(np.square, inputs[:1], out=out, spent=spent)
    key = _plan_key(ufunc, inputs) if out is None else None
    plan = _PLANS.get(key) if key is not None else None
    if plan is not None:
        # The same ufunc on operands of the same kinds as before (a Python loop): NumPy's
        # answers about dtypes and shapes are known, only the expression is new.
        build, res_dtype, loop_dtype, shape, size, operands, build_key = plan
        if size < SETTINGS.eager_below:
            concrete = [x if type(x) is not ndarray else x.concrete() for x in inputs]
            if all(c is not None for c in concrete):
                return ufunc(*concrete)  # small and already computed: NumPy is cheaper
        site = None
        if SETTINGS.eager_below:
            now, site = _on_user_memory(
                ufunc,
                inputs,
                size * res_dtype.itemsize,
                None if spent is None else (spent, shape, res_dtype),
            )
            if now is not None:
                return now
        # (a NumPy scalar is cast to the loop's dtype, as the loop itself would cast it)
        if len(inputs) == 2:
            args = (
                operands[0](inputs[0], shape, loop_dtype),
                operands[1](inputs[1], shape, loop_dtype),
            )
        else:
            args = tuple(
                [make(x, shape, loop_dtype) for make, x in zip(operands, inputs, strict=True)]
            )
        made = Apply(build, args, res_dtype, ufunc)
        made.fn_sig = build_key
        return _lazy_at(site, made, shape)
    entry = lookup(ufunc)
    if entry is None:
        raise NotCompiled(f"ufunc {getattr(ufunc, '__name__', ufunc)}")
    if ufunc.nout != 1:
        raise NotCompiled(f"ufunc {ufunc.__name__} with {ufunc.nout} outputs")
    ops = [as_operand(x) for x in inputs]
    if any(x is None for x in ops):
        from .fallback import unsupported_operand

        found = next(unsupported_operand(x) for x, o in zip(inputs, ops, strict=True) if o is None)
        raise NotCompiled(f"{ufunc.__name__} on {found}")
    in_dtypes, res_dtype = _probe(ufunc, ops)
    if any(ir_scalar(d) is None for d in (*in_dtypes, res_dtype)):
        from ..elements.dtypes import why_unsupported

        found = next(d for d in (*in_dtypes, res_dtype) if ir_scalar(d) is None)
        raise NotCompiled(
            f"{ufunc.__name__} loop {in_dtypes}->{res_dtype}: {why_unsupported(found)}"
        )
    mixed = len(set(in_dtypes)) > 1
    if mixed:
        table = _MIXED_SIGN if in_dtypes[0] == _INT64 else _MIXED_SIGN_SWAPPED
        build = table.get(ufunc.__name__) if set(in_dtypes) == _I64_U64 else None
        if build is None:
            raise NotCompiled(f"{ufunc.__name__} on mixed loop types {in_dtypes}")
    else:
        _check_python_ints(ufunc, ops, in_dtypes[0])
        build = entry(ir_scalar(in_dtypes[0]))
        if build is None:
            raise NotCompiled(f"{ufunc.__name__} for {in_dtypes[0]}")
    arrays = [x for x in ops if not is_python_scalar(x)]
    shapes = [x.shape for x in arrays] + ([out.shape] if out is not None else [])
    shape = out_shape(shapes)
    if out is not None:
        _check_out(ufunc, ops, out, shape)
    if ufunc.__name__ == "power" and ir_scalar(in_dtypes[0]).is_int:
        _check_int_exponent(ops[1])
    elif key is not None and not mixed:  # (an integer power checks its exponent every time)
        if len(_PLANS) > 4096:
            _PLANS.clear()
        _PLANS[key] = (
            build,
            res_dtype,
            in_dtypes[0],
            shape,
            math.prod(shape),
            tuple(_operand_maker(x, shape, in_dtypes[0]) for x in inputs),
            builder_key(build),
        )
    if out is None and math.prod(shape) < SETTINGS.eager_below:
        concrete = [x if is_python_scalar(x) else x.concrete() for x in ops]
        if all(c is not None for c in concrete):
            return ufunc(*concrete)  # small and already computed: NumPy is cheaper
    site = None
    if out is None and SETTINGS.eager_below:
        now, site = _on_user_memory(
            ufunc,
            ops,
            math.prod(shape) * res_dtype.itemsize,
            None if spent is None else (spent, shape, res_dtype),
        )
        if now is not None:
            return now
    args = tuple(_operand_expr(x, shape, d) for x, d in zip(ops, in_dtypes, strict=True))
    result = Apply(build, args, res_dtype, ufunc)
    if out is None:
        return _lazy_at(site, result, shape)
    out._expr = cast_expr(result, out.dtype)
    return out


# Comparisons of a signed and an unsigned 64-bit integer, exact (NumPy 2's own loops: no
# common type holds both): `s` int64, `u` uint64, `s` reinterpreted as unsigned only where
# it is not negative.
_U64_IR = ir_scalar(np.dtype(np.uint64))


_MIXED_SIGN = {
    "equal": lambda c, s, u: (s >= 0) & s.cast(_U64_IR).eq(u),
    "not_equal": lambda c, s, u: (s < 0) | s.cast(_U64_IR).ne(u),
    "less": lambda c, s, u: (s < 0) | (s.cast(_U64_IR) < u),
    "less_equal": lambda c, s, u: (s < 0) | (s.cast(_U64_IR) <= u),
    "greater": lambda c, s, u: (s >= 0) & (s.cast(_U64_IR) > u),
    "greater_equal": lambda c, s, u: (s >= 0) & (s.cast(_U64_IR) >= u),
}
# The same with the unsigned operand first: `u op s` is `s op' u`, op' the mirrored one.
_MIRRORED = {
    "equal": "equal",
    "not_equal": "not_equal",
    "less": "greater",
    "less_equal": "greater_equal",
    "greater": "less",
    "greater_equal": "less_equal",
}
_MIXED_SIGN_SWAPPED = {
    name: (lambda c, u, s, signed_first=_MIXED_SIGN[mirrored]: signed_first(c, s, u))
    for name, mirrored in _MIRRORED.items()
}
_INT64 = np.dtype(np.int64)
_I64_U64 = {_INT64, np.dtype(np.uint64)}


def _lazy_at(site, apply: Apply, shape: tuple[int, ...]) -> ndarray:
    """The lazy array of `apply`, carrying the user's line that made it (None: not made from
    the user's memory) for `_on_user_memory` and `ndarray.value` to learn from."""
    made = fresh_apply_array(apply, shape)
    if site is not None:
        apply.site = made._site = site
    return made


def _on_user_memory(ufunc, inputs, result_bytes: int, spent=None):
    """(NumPy's result computed at once, or None; the user's line, or None) for a call that
    reads the user's memory (`docs/scheduler.md`, "Aliasing"). Recording it lazily costs a
    pass over that memory now (the snapshot), so the call is computed at once when that is
    the cheaper pass: when its result is a quarter of the bytes it reads from the user's
    memory or less (a comparison of floats: the lost fusion re-reads a small result), or when
    the line's last value was computed on its own or ran in the library for good (`sites`).
    A call whose inputs are all computed (no user memory) is computed at once by the same
    feedback alone; one with a pending input never is. Otherwise the line is returned, for
    the lazy value to carry. Values that fused at a line are marked here too."""
    borrowed = 0
    for x in inputs:
        if type(x) is np.ndarray:
            borrowed += x.nbytes  # (the user's NumPy array, as its wrapper would count: a plan's)
        elif type(x) is ndarray:
            x._hot = 0  # (a call not run at once: not NumPy's own, `handover.py`)
            if x._site is not None:
                consumed(x._site)  # a value made at that line fuses into this one
            e = x._held
            if type(e) is Leaf and e.node is not None and e.node.borrowed:
                borrowed += math.prod(x._shape) * e.dtype.itemsize
            del e  # (a reference to a spent operand's leaf: `own_buffer` counts them)
    site = None
    sampled = False
    if not borrowed:
        # Computed inputs only: the same feedback, without a snapshot to weigh. A line whose
        # value was computed on its own (a mask handed to a selection, a result printed) or
        # ran in the library for good computes at once; one whose value fused stays lazy.
        for x in inputs:
            if type(x) is ndarray and type(x._held) is not Leaf:
                return None, None  # a pending input: fusing with it is the point
        site, now = site_at_once(3)
        if not now:
            if not _sampled_out(site, inputs, result_bytes):
                return None, site
            sampled = True
    elif result_bytes * 4 > borrowed:
        site, now = site_at_once(3)
        if not now:
            if _snapshot_is_a_copy(site, borrowed):
                # (a line's first call: a graph reading it is a variant too, but the calls
                # reading it are recorded, a pending value an annotated call may split)
                not_sampled(site)
            elif not _sampled_out(site, inputs, result_bytes):
                return None, site
            sampled = True
    values = []
    for x in inputs:
        found = data_now(x)
        if found is None:
            return None, site
        values.append(found)
    count_library_run()
    library_call(site)  # (its statement, binding a name, may run at once: `replay`)
    into = _spent_buffer(*spent) if spent else None
    now = ufunc(*values) if into is None else ufunc(*values, out=into)
    if type(now) is not np.ndarray or now.size < SETTINGS.eager_below:
        return now, None
    now = result_array(now)
    if site is not None:
        now._site = site  # (if a later call fuses it, the line records again)
        if sampled:
            computed_by_sampling(now._held.node)
    return now, None


def copy_at_once(fn, inputs: list, result_bytes: int, *rest, **kwargs):
    """(`fn(*data, *rest, **kwargs)` computed at once, or None; the user's line, or None)
    for a NumPy function other than a ufunc whose result is a new array made from the arrays
    `inputs` (`np.roll`, `np.diff`, `np.triu`: no view, no out=): the choice a ufunc call
    makes (`_on_user_memory`) — at once where the line's values were computed on their own,
    or ran in the library for good, or are sampled out of cold code; else recorded lazily,
    and `at_line` tags what is recorded with the line for the next call to learn from.
    (Recorded, such a call of the user's memory costs a snapshot of it and the scheduler's
    walk around the same NumPy call: `np.roll(a, 3) - a` at 10^5, 5x NumPy's time.)"""
    if not SETTINGS.eager_below:
        return None, None
    return _on_user_memory(lambda *data: fn(*data, *rest, **kwargs), inputs, result_bytes)


def at_line(site, made, alone_at_once: bool = True):
    """`made` (a lazy array) carrying the user's line `site` that made it, as `_lazy_at`
    tags a ufunc's: what becomes of it teaches the line's next call (`sites`). Not
    `alone_at_once`: its element carries the line (sampling, the library's verdict) but the
    array does not, so that computed on its own it does not teach the line to run NumPy's
    call at once for good — where one native pass beats NumPy's own (`where`: 2.1 against
    4.4 ms at 10^6; `nan_to_num`'s three passes)."""
    if site is not None and type(made) is ndarray:
        e = made._held
        if isinstance(e, Apply) and e.site is None:
            e.site = site
            if alone_at_once:
                made._site = site
    return made


def _sampled_out(site, inputs, result_bytes: int) -> bool:
    """Whether this call at the cold `site` is computed at once while no structure it was
    part of has compiled (`sites.sampled_out`). Not where every graph must compile."""
    if not SETTINGS.compile_in_background or SETTINGS.strict or site is None or not cold(site):
        return False
    following = False
    for x in inputs:
        if type(x) is ndarray:
            if type(x._held) is not Leaf:
                return False  # a pending input: recorded, whatever the epoch (not counted)
            if x._site is not None and follows(x._site, site):
                following = True
    return sampled_out(site, following, result_bytes)


def _spent_buffer(x, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray | None:
    """The buffer of `x`, a temporary of the user's expression (nothing but the operator's
    call holds it: `methods._binary`), when the call's result (of `shape` and `dtype`) may be
    written into it, as NumPy's temporary elision does (`a * 2 + 1` adds into `a * 2`'s
    buffer; a new buffer for each call of a chain is that much more memory through the
    caches): a computed daybreak array of its own (not the user's memory, not a view) of
    that shape and dtype, whose buffer no lazy value reads (`assignment.own_buffer`). None
    otherwise."""
    if (
        type(x) is not ndarray
        or x._shape != shape
        or x._base is not None
        or x._memory is not None
        or type(x._held) is not Leaf
        or x._held.dtype != dtype
        or getattr(x._held.node, "borrowed", False)
    ):
        return None
    from . import assignment  # (a cycle: read at call time only)

    return assignment.own_buffer(x)


def _snapshot_is_a_copy(site, borrowed: int) -> bool:
    """Whether recording the first call of the line `site` would copy the user's `borrowed`
    bytes (no write guards yet: a process's first calls): then the call is computed now, a
    pass over the same memory and no more. A line's first call buys no compiled code by
    being recorded (the library would run it), its later calls teach the scheduler what to
    compile as before. Not where every graph must compile (strict mode, no background
    compiles)."""
    return (
        SETTINGS.compile_in_background
        and not SETTINGS.strict
        and first_call(site)
        and copies_now(borrowed)
    )


# (ufunc, operand kinds) -> (builder, result dtype, loop dtype, shape, size): what a call
# decided for daybreak arrays and Python scalars of these kinds, so that a Python loop
# calling the same ufunc pays NumPy's dtype and shape questions once (`apply_ufunc`).
_PLANS: dict = {}
_F8 = np.dtype(np.float64)
_F64 = ir_scalar(_F8)


_INT_WIDTHS = (7, 8, 15, 16, 31, 32, 63, 64)
_SMALL_INT = (int, False, 7)


def int_kind(x: int) -> tuple:
    """What NumPy's treatment of a Python int operand depends on: its sign and the narrowest
    integer width it fits (NEP 50 casts it weakly, and raises where it does not fit)."""
    if 0 <= x < 128:
        return _SMALL_INT  # (most: loop counters, small constants)
    bits = (~x if x < 0 else x).bit_length()  # -128 fits 7 bits and a sign; -129 does not
    return (int, x < 0, next((w for w in _INT_WIDTHS if bits <= w), 65))


def _plan_key(ufunc, inputs) -> tuple | None:
    """The operands' kinds: (dtype, shape) of a daybreak array (a NumPy scalar: its dtype and
    shape ()), the type of a Python float or bool, `int_kind` of an int; None for anything
    else."""
    key: list = [ufunc]
    for x in inputs:
        kind = type(x)
        if kind is ndarray:
            key.append(x._held.dtype)
            key.append(x._shape)
        elif kind is float or kind is bool:
            key.append(kind)
        elif kind is int:
            key.append(int_kind(x))
        elif kind in NUMPY_SCALAR_TYPES or (kind is np.ndarray and not x.shape):
            # (NumPy hands a scalar on the left of an operator to `__array_ufunc__` as 0-d)
            key.append(x.dtype)
            key.append(None)  # not `()`: a daybreak 0-d array's plan makes its operand otherwise
        elif kind is np.ndarray:
            # The user's NumPy array (a loop's mask of NumPy's comparisons, handed to a
            # ufunc): wrapped by the plan's maker only when the call records lazily
            key.append(_NUMPY_ARRAY)
            key.append(x.dtype)
            key.append(x.shape)
        else:
            return None
    return tuple(key)


_NUMPY_ARRAY = "numpy array"  # (a plan key's mark: the operand is NumPy's array, not ours)


_PROBED: dict = {}


def _probe(ufunc, ops) -> tuple[tuple, np.dtype]:
    """The loop's input dtypes and its result dtype, as NumPy decides on empty operands
    (raising NumPy's own TypeError / OverflowError). Remembered per ufunc and operand kinds
    (a Python int by `int_kind`: NumPy checks that it fits), so a Python loop pays once."""
    key = (
        ufunc,
        *(
            x.dtype if not is_python_scalar(x) else int_kind(x) if type(x) is int else type(x)
            for x in ops
        ),
    )
    found = _PROBED.get(key)
    if found is None:
        with np.errstate(all="ignore"):
            ufunc(*(_probe_operand(x) for x in ops))
            in_dtypes, (res_dtype,) = loop_dtypes(
                ufunc, [x if is_python_scalar(x) else x.dtype for x in ops]
            )
        found = (in_dtypes, res_dtype)
        if len(_PROBED) < 4096:
            _PROBED[key] = found
    return found


def _check_python_ints(ufunc, ops, loop_dtype: np.dtype) -> None:
    # NumPy compares arrays with out-of-range Python ints exactly (e.g. uint8 < 1000 is
    # always true) instead of casting them; that is not compiled.
    if loop_dtype.kind not in "iu":
        return
    info = np.iinfo(loop_dtype)
    for x in ops:
        if type(x) is int and not info.min <= x <= info.max:
            raise NotCompiled(f"{ufunc.__name__} with out-of-range Python int")


def _check_out(ufunc, ops, out, shape) -> None:
    if shape != out.shape:
        raise ValueError(
            f"non-broadcastable output operand with shape {out.shape} doesn't "
            f"match the broadcast shape {shape}"
        )
    with np.errstate(all="ignore"):
        ufunc(*(_probe_operand(x) for x in ops), out=np.empty(0, out.dtype))


def _check_int_exponent(exponent) -> None:
    # NumPy checks integer exponents before computing; we must know them to do the same.
    if is_python_scalar(exponent):
        negative = exponent < 0
    else:
        negative = bool(np.any(np.asarray(exponent.value()) < 0))
    if negative:
        raise ValueError("Integers to negative integer powers are not allowed.")


__all__ = ["UFUNC_TABLE", "NotCompiled", "apply_ufunc", "cast_expr", "lookup", "wrap"]
