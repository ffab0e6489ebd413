"""How each operator of `daybreak.ir.ops.OPS`, and each cast, becomes LLVM instructions.

One emitter per op, in a table keyed by the op's name; each matches the interpreter's semantics
(docs/ir.md): wrapping integers, `x / 0 == 0`, IEEE floats, NaN-propagating min/max,
saturating float-to-int casts.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from ...ir.types import Scalar, Type
from . import vecmath
from .cgutils import intrinsic, to_bool
from .layout import I8, lltype

# emitter(lowerer, op_name, args, arg_types, result_type) -> value
Emitter = Callable[..., ir.Value]
OP_EMITTERS: dict[str, Emitter] = {}


def emits(*names: str):
    def register(fn: Emitter) -> Emitter:
        for name in names:
            OP_EMITTERS[name] = fn
        return fn

    return register


def _is_float(t: Type) -> bool:
    return isinstance(t, Scalar) and t.is_float


_INT_ARITH = {"+": "add", "-": "sub", "*": "mul"}
_FLOAT_ARITH = {"+": "fadd", "-": "fsub", "*": "fmul", "/": "fdiv", "%": "frem"}


@emits("+", "-", "*")
def _arith(L, name, args, types, result):
    b = L.builder
    if _is_float(types[0]):
        return getattr(b, _FLOAT_ARITH[name])(*args)
    return getattr(b, _INT_ARITH[name])(*args)


def _safe_divisor(L, a, d, t: Scalar):
    """The divisor to use (never 0, never -1 with MIN) and whether the result is forced to 0."""
    b = L.builder
    zero = ir.Constant(d.type, 0)
    is_zero = b.icmp_unsigned("==", d, zero)
    bad = is_zero
    if t.is_signed:
        minimum = ir.Constant(a.type, -(1 << (t.bits - 1)))
        overflow = b.and_(
            b.icmp_signed("==", a, minimum), b.icmp_signed("==", d, ir.Constant(d.type, -1))
        )
        bad = b.or_(bad, overflow)
    return b.select(bad, ir.Constant(d.type, 1), d), is_zero


@emits("/", "%")
def _divide(L, name, args, types, result):
    b = L.builder
    t = types[0]
    a, d = args
    if _is_float(t):
        return b.fdiv(a, d) if name == "/" else b.frem(a, d)
    safe, is_zero = _safe_divisor(L, a, d, t)
    if name == "/":
        # MIN / -1 wraps to MIN: with divisor 1 the quotient is MIN already.
        q = b.sdiv(a, safe) if t.is_signed else b.udiv(a, safe)
    else:
        q = b.srem(a, safe) if t.is_signed else b.urem(a, safe)
    return b.select(is_zero, ir.Constant(a.type, 0), q)


@emits("&", "|", "^")
def _bitwise(L, name, args, types, result):
    b = L.builder
    return {"&": b.and_, "|": b.or_, "^": b.xor}[name](*args)


@emits("==", "!=", "<", "<=", ">", ">=")
def _compare(L, name, args, types, result):
    return to_bool(L.builder, L.compare(name, args[0], args[1], types[0]))


@emits("neg")
def _neg(L, name, args, types, result):
    if _is_float(types[0]):
        return L.builder.fneg(args[0])
    return L.builder.neg(args[0])


@emits("not")
def _not(L, name, args, types, result):
    return L.builder.xor(args[0], ir.Constant(I8, 1))


# Float math: our own branch-free functions (vecmath.py: exp, log, erf, ...), which vectorise;
# LLVM intrinsics for what is an instruction (sqrt, rounding); the C library for the rest,
# with glibc's vector variants (libmvec) named so that loops over them vectorise too.
_INTRINSIC_MATH = {
    "sqrt": "llvm.sqrt",
    "floor": "llvm.floor",
    "ceil": "llvm.ceil",
    "trunc": "llvm.trunc",
    "rint": "llvm.rint",
}


def _unary_intrinsic(intrinsic):
    def emit(L, name, args, types, result):
        fn = L.module.declare_intrinsic(intrinsic, [args[0].type])
        return L.builder.call(fn, args)

    return emit


for _name, _intr in _INTRINSIC_MATH.items():
    OP_EMITTERS[_name] = _unary_intrinsic(_intr)
for _name in vecmath.KERNELS:
    OP_EMITTERS[_name] = vecmath.emit
for _name in vecmath.LIBMVEC_ARITY:
    OP_EMITTERS[_name] = vecmath.emit_libm


@emits("abs")
def _abs(L, name, args, types, result):
    b = L.builder
    t = types[0]
    x = args[0]
    if t.is_float:
        return b.call(L.module.declare_intrinsic("llvm.fabs", [x.type]), [x])
    if not t.is_signed:
        return x
    return b.select(b.icmp_signed("<", x, ir.Constant(x.type, 0)), b.neg(x), x)


def _fabs(L, x):
    return L.builder.call(L.module.declare_intrinsic("llvm.fabs", [x.type]), [x])


@emits("isnan")
def _isnan(L, name, args, types, result):
    return to_bool(L.builder, L.builder.fcmp_unordered("uno", args[0], args[0]))


@emits("isinf")
def _isinf(L, name, args, types, result):
    inf = ir.Constant(args[0].type, float("inf"))
    return to_bool(L.builder, L.builder.fcmp_ordered("==", _fabs(L, args[0]), inf))


@emits("isfinite")
def _isfinite(L, name, args, types, result):
    inf = ir.Constant(args[0].type, float("inf"))
    return to_bool(L.builder, L.builder.fcmp_ordered("<", _fabs(L, args[0]), inf))


@emits("min", "max")
def _minmax(L, name, args, types, result):
    b = L.builder
    t = types[0]
    a, c = args
    if t.is_float:
        intr = "llvm.minimum" if name == "min" else "llvm.maximum"
        return b.call(intrinsic(L.module, intr, [a.type], a.type, [a.type, a.type]), [a, c])
    op = "<" if name == "min" else ">"
    cmp = b.icmp_signed(op, a, c) if t.is_signed else b.icmp_unsigned(op, a, c)
    return b.select(cmp, a, c)


@emits("select")
def _select(L, name, args, types, result):
    return L.builder.select(L.truth(args[0]), args[1], args[2])


# ----------------------------------------------------------------------------------------------
# Casts, by the kinds of the source and target.


def cast(L, value: ir.Value, src: Scalar, dst: Scalar) -> ir.Value:
    b = L.builder
    target = lltype(dst)
    if src == dst:
        return value
    if dst.kind == "bool":
        if src.is_float:
            return to_bool(b, b.fcmp_unordered("!=", value, ir.Constant(value.type, 0.0)))
        return to_bool(b, b.icmp_unsigned("!=", value, ir.Constant(value.type, 0)))
    src_signed = src.is_signed  # bool counts as unsigned 0/1
    if src.is_float and dst.is_float:
        return b.fpext(value, target) if dst.bits > src.bits else b.fptrunc(value, target)
    if src.is_float:
        intr = "llvm.fptosi.sat" if dst.is_signed else "llvm.fptoui.sat"
        fn = intrinsic(L.module, intr, [target, value.type], target, [value.type])
        return b.call(fn, [value])
    if dst.is_float:
        return b.sitofp(value, target) if src_signed else b.uitofp(value, target)
    src_bits = 8 if src.kind == "bool" else src.bits
    if dst.bits == src_bits:
        return value
    if dst.bits < src_bits:
        return b.trunc(value, target)
    return b.sext(value, target) if src_signed else b.zext(value, target)
