"""How each operator of `daybreak.ir.ops.OPS`, and each cast, becomes LLVM instructions.

One table, `OP_EMITTERS`, holds an emitter for every op, all with one signature:

    emit(L, site, args) -> value

`site` (an `OpSite`) says which op, on which argument types, with which result type, where
in the source; `args` are the lowered arguments. For an op whose declaration is
`short_circuit` (`&&`, `||`) the lowerer hands over arguments that are lowered when the
emitter first reads them, so the right side is computed only on the way that needs it.

Float math functions are entries of one kind, `MathFunction`, whose data says where the code
comes from: our own branch-free kernels (vecmath.py: exp, log, erf, ...), which vectorise;
an LLVM intrinsic where the function is an instruction (sqrt, rounding); the C library for
the rest, with glibc's vector variants (libmvec) named so that loops over them vectorise too.

Every emitter matches the interpreter's semantics (docs/ir.md): wrapping integers,
`x / 0 == 0`, IEEE floats, NaN-propagating min/max, saturating float-to-int casts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from llvmlite import ir

from ...ir.dispatch import OpTable
from ...ir.errors import Loc
from ...ir.ops import OPS
from ...ir.types import Dict, Scalar, Struct, Type, Vec
from . import dicts, vecmath
from .algorithms import compare
from .cgutils import alloca_entry, i64, intrinsic, select_lazily, to_bool, truth
from .layout import I8, lltype


@dataclass(frozen=True)
class OpSite:
    """One use of an op, as its emitter sees it."""

    name: str
    arg_types: tuple[Type, ...]
    result: Type
    loc: Loc | None = None
    # False where the op's operands were checked before its loop (a lookup at the loop's
    # own position: `loops.run_iterations`), so its own check would only repeat that one
    checked: bool = True
    # True where its operands may be regrouped with other uses of the op (a merger combines
    # merges in an unspecified order, docs/ir.md), which its emitter may tell LLVM
    reassociate: bool = False


# emit(L, site: OpSite, args: Sequence[ir.Value]) -> ir.Value for every op
OP_EMITTERS = OpTable("llvm ops")  # tests/test_completeness.py: every op of OPS has one
emits = OP_EMITTERS.register


def emit_op(L, site: OpSite, args: Sequence[ir.Value]) -> ir.Value:
    """Emit op `site.name` on `args` (the lowerer's dispatch, and builders' merge ops)."""
    return OP_EMITTERS[site.name](L, site, args)


def _is_float(t: Type) -> bool:
    return isinstance(t, Scalar) and t.is_float


# ----------------------------------------------------------------------------------------------
# Arithmetic, bitwise, comparisons, logic.

_INT_ARITH = {"+": "add", "-": "sub", "*": "mul"}
_FLOAT_ARITH = {"+": "fadd", "-": "fsub", "*": "fmul"}


# What may be assumed of float operands that may be regrouped: LLVM's reassoc flag, and nsz
# (a sum of zeros may come out +0.0 for -0.0), which let it vectorise a sum or a product.
_REGROUPED = ("reassoc", "nsz")


@emits("+", "-", "*")
def _arith(L, site, args):
    if _is_float(site.arg_types[0]):
        flags = _REGROUPED if site.reassociate else ()
        return getattr(L.builder, _FLOAT_ARITH[site.name])(*args, flags=flags)
    return getattr(L.builder, _INT_ARITH[site.name])(*args)


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


# (float, signed int, unsigned int) instruction of `/` and `%`
_DIVISION = {"/": ("fdiv", "sdiv", "udiv"), "%": ("frem", "srem", "urem")}


@emits("/", "%")
def _divide(L, site, args):
    b = L.builder
    t = site.arg_types[0]
    a, d = args
    on_float, on_signed, on_unsigned = _DIVISION[site.name]
    if _is_float(t):
        return getattr(b, on_float)(a, d)
    # MIN / -1 wraps to MIN: with divisor 1 the quotient is MIN already.
    safe, is_zero = _safe_divisor(L, a, d, t)
    q = getattr(b, on_signed if t.is_signed else on_unsigned)(a, safe)
    return b.select(is_zero, ir.Constant(a.type, 0), q)


_BITWISE = {"&": "and_", "|": "or_", "^": "xor"}


@emits(*_BITWISE)
def _bitwise(L, site, args):
    return getattr(L.builder, _BITWISE[site.name])(*args)


@emits("<<", ">>")
def _shift(L, site, args):
    """NumPy's shifts (ir/ops.py `_shift`): an amount of the width or more, read as unsigned,
    shifts every bit out (LLVM's shl/ashr/lshr would give poison there)."""
    b = L.builder
    a, amount = args
    t = site.arg_types[0]
    last = ir.Constant(a.type, t.bits - 1)
    in_range = b.icmp_unsigned("<", amount, ir.Constant(a.type, t.bits))
    safe = b.select(in_range, amount, ir.Constant(a.type, 0))
    if site.name == "<<":
        return b.select(in_range, b.shl(a, safe), ir.Constant(a.type, 0))
    if t.is_signed:
        return b.select(in_range, b.ashr(a, safe), b.ashr(a, last))  # out: the sign, spread
    return b.select(in_range, b.lshr(a, safe), ir.Constant(a.type, 0))


@emits("==", "!=", "<", "<=", ">", ">=")
def _compare(L, site, args):
    a, b = args
    t = site.arg_types[0]
    if isinstance(t, Dict):
        # equal dicts have the same entries: compare the key-sorted entry vectors
        a, b, t = dicts.tovec(L, a, t), dicts.tovec(L, b, t), Vec(Struct((t.key, t.value)))
    return to_bool(L.builder, compare(L, site.name, a, b, t))


@emits("neg")
def _neg(L, site, args):
    if _is_float(site.arg_types[0]):
        return L.builder.fneg(args[0])
    return L.builder.neg(args[0])


@emits("not")
def _not(L, site, args):
    return L.builder.xor(args[0], ir.Constant(I8, 1))


@emits(*(name for name, decl in OPS.items() if decl.short_circuit))
def _short_circuit(L, site, args):
    """The left operand's declared deciding value (`&&`: false, `||`: true) is the result by
    itself; the right side is lowered (by reading args[1]) only on the other way."""
    b = L.builder
    deciding = OPS[site.name].short_circuit_on
    decided = ir.Constant(I8, int(deciding))

    def right() -> ir.Value:
        return args[1]

    if deciding:
        return select_lazily(b, truth(b, args[0]), decided, right, "sc")
    return select_lazily(b, truth(b, args[0]), right, decided, "sc")


@emits("select")
def _select(L, site, args):
    return L.builder.select(L.truth(args[0]), args[1], args[2])


# ----------------------------------------------------------------------------------------------
# Float math, and the other scalar functions.


class MathSource(Enum):
    KERNEL = "kernel"  # our own branch-free LLVM function (vecmath.py): vectorises
    INTRINSIC = "intrinsic"  # an LLVM intrinsic: an instruction on the CPUs we target
    LIBMVEC = "libmvec"  # the C library, with glibc's vector variants named for loops


@dataclass(frozen=True)
class MathFunction:
    """The emitter of a float math op, and where its code comes from."""

    source: MathSource
    kernel: vecmath.Kernel | None = None  # KERNEL: builds the function's body
    intrinsic: str = ""  # INTRINSIC: the intrinsic's name

    def __call__(self, L, site, args) -> ir.Value:
        return _MATH_CALLS[self.source](L, self, site, args)


def _call_kernel(L, math: MathFunction, site, args) -> ir.Value:
    fn = vecmath.math_function(L.module, site.name, math.kernel, args[0].type)
    return L.builder.call(fn, args)


def _call_intrinsic(L, math: MathFunction, site, args) -> ir.Value:
    t = args[0].type
    # (the overloaded type named once; the signature spelled out: llvmlite's default is
    # unary, and `llvm.copysign` takes two)
    fn = L.module.declare_intrinsic(math.intrinsic, [t], ir.FunctionType(t, [t] * len(args)))
    return L.builder.call(fn, args)


def _call_libm(L, math: MathFunction, site, args) -> ir.Value:
    return vecmath.call_libm(L, site.name, args, LIBMVEC_ARITY)


_MATH_CALLS = {
    MathSource.KERNEL: _call_kernel,
    MathSource.INTRINSIC: _call_intrinsic,
    MathSource.LIBMVEC: _call_libm,
}


def _kernel(kernel: vecmath.Kernel) -> MathFunction:
    return MathFunction(MathSource.KERNEL, kernel=kernel)


def _intrinsic(name: str) -> MathFunction:
    return MathFunction(MathSource.INTRINSIC, intrinsic=name)


_LIBM = MathFunction(MathSource.LIBMVEC)

_MATH_FUNCTIONS = {
    "exp": _kernel(vecmath.exp),
    "expm1": _kernel(vecmath.expm1),
    "log": _kernel(vecmath.log),
    "log1p": _kernel(vecmath.log1p),
    "log2": _kernel(vecmath.log2),
    "log10": _kernel(vecmath.log10),
    "erf": _kernel(vecmath.erf),
    "erfc": _kernel(vecmath.erfc),
    "sqrt": _intrinsic("llvm.sqrt"),
    "floor": _intrinsic("llvm.floor"),
    "ceil": _intrinsic("llvm.ceil"),
    "trunc": _intrinsic("llvm.trunc"),
    "rint": _intrinsic("llvm.rint"),
    "copysign": _intrinsic("llvm.copysign"),
    **dict.fromkeys(
        ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh"]
        + ["asinh", "acosh", "atanh", "cbrt", "pow", "atan2", "hypot"],
        _LIBM,
    ),
}
for _name, _math in _MATH_FUNCTIONS.items():
    emits(_name)(_math)

# What vecmath declares libmvec variants for: a view of the table, arities from ir/ops.py.
LIBMVEC_ARITY = {
    name: OPS[name].arity for name, e in _MATH_FUNCTIONS.items() if e.source is MathSource.LIBMVEC
}


def _fabs(L, x):
    return L.builder.call(L.module.declare_intrinsic("llvm.fabs", [x.type]), [x])


@emits("abs")
def _abs(L, site, args):
    b = L.builder
    t = site.arg_types[0]
    x = args[0]
    if t.is_float:
        return _fabs(L, x)
    if not t.is_signed:
        return x
    return b.select(b.icmp_signed("<", x, ir.Constant(x.type, 0)), b.neg(x), x)


@emits("isnan")
def _isnan(L, site, args):
    return to_bool(L.builder, L.builder.fcmp_unordered("uno", args[0], args[0]))


# isinf: |x| == inf; isfinite: |x| < inf (NaN is neither)
_AGAINST_INFINITY = {"isinf": "==", "isfinite": "<"}


@emits(*_AGAINST_INFINITY)
def _against_infinity(L, site, args):
    inf = ir.Constant(args[0].type, float("inf"))
    test = _AGAINST_INFINITY[site.name]
    return to_bool(L.builder, L.builder.fcmp_ordered(test, _fabs(L, args[0]), inf))


# (float intrinsic, integer comparison that picks the first operand)
_MIN_MAX = {"min": ("llvm.minimum", "<"), "max": ("llvm.maximum", ">")}


@emits(*_MIN_MAX)
def _minmax(L, site, args):
    b = L.builder
    t = site.arg_types[0]
    a, c = args
    float_intrinsic, first_if = _MIN_MAX[site.name]
    if t.is_float:
        fn = intrinsic(L.module, float_intrinsic, [a.type], a.type, [a.type, a.type])
        return b.call(fn, [a, c])
    cmp = b.icmp_signed(first_if, a, c) if t.is_signed else b.icmp_unsigned(first_if, a, c)
    return b.select(cmp, a, c)


# ----------------------------------------------------------------------------------------------
# Collection ops: vectors here, dicts in dicts.py; these use the lowerer's memory and
# runtime-error helpers.


@emits("len")
def _len(L, site, args):
    if isinstance(site.arg_types[0], Vec):
        return L.builder.extract_value(args[0], 1)
    return dicts.dict_len(L, args[0], site.arg_types[0])


@emits("lookup")
def _lookup(L, site, args):
    if not isinstance(site.arg_types[0], Vec):
        return dicts.dict_lookup(L, site, args)
    b = L.builder
    vec, index = args
    index = L.index_i64(index, site.arg_types[1])
    if not site.checked:  # in bounds on every iteration: checked before the loop
        return b.load(L.element_ptr(vec, index))
    length = b.extract_value(vec, 1)
    ok = b.icmp_unsigned("<", index, length)  # unsigned: negative indices are huge
    L.fail_unless(ok, "index out of bounds in lookup", site.loc)
    safe = b.select(ok, index, i64(0))
    # An empty vector has no element 0 either: load from a zeroed slot instead.
    slot = alloca_entry(b, lltype(site.result))
    b.store(ir.Constant(lltype(site.result), None), slot)
    ptr = b.select(ok, L.element_ptr(vec, safe), slot)
    return b.load(ptr)


@emits("slice")
def _slice(L, site, args):
    b = L.builder
    vec = args[0]
    length = b.extract_value(vec, 1)
    # Clamp without overflow: negative signed bounds become 0, then every bound is compared
    # as unsigned (a u64 above i64's range is just large), and the size is clamped to the
    # room left after the start rather than added to it.
    bounds = zip(args[1:], site.arg_types[1:], strict=True)
    start, size = (_non_negative(L, v, t) for v, t in bounds)
    start = _umin_i64(b, start, length)
    size = _umin_i64(b, size, b.sub(length, start))
    out = b.insert_value(vec, L.element_ptr(vec, start), 0)
    return b.insert_value(out, size, 1)


def _non_negative(L, value: ir.Value, t: Scalar) -> ir.Value:
    """An integer index as an i64 to be read as unsigned: negative signed values become 0."""
    value = L.index_i64(value, t)
    if not t.is_signed:
        return value
    b = L.builder
    return b.select(b.icmp_signed("<", value, i64(0)), i64(0), value)


def _umin_i64(b, x, y):
    return b.select(b.icmp_unsigned("<", x, y), x, y)


@emits("assert")
def _assert(L, site, args):
    L.fail_unless(L.truth(args[0]), "assertion failed", site.loc)
    return ir.Constant(I8, 1)


emits("optlookup")(dicts.dict_optlookup)
emits("keyexists")(dicts.dict_keyexists)
emits("tovec")(dicts.dict_tovec)


# ----------------------------------------------------------------------------------------------
# Casts, by the kinds of the source and target.


def _saturating_to_int(b: ir.IRBuilder, x: ir.Value, bits: int, signed: bool) -> ir.Value:
    """`llvm.fptosi.sat` / `fptoui.sat` (NaN to 0, out of range to the nearest bound), as
    compares and selects around a plain conversion: x86 has no vector form of the
    intrinsics, which LLVM scalarised (a min, a max, a compare and a conversion per element:
    `i32(rint(x))` over 10^6 doubles 2.2 ms, NumPy's `astype` 1 ms); this vectorises.

    `low` is the range's bound below (-2^(bits-1) or 0, exact in every float type) and `top`
    2^(bits-1) or 2^bits, the first value past the range above (exact too): a value below
    `low` becomes `low`, one at `top` or above becomes the largest integer, NaN becomes 0,
    and the conversion only ever sees values in range (out of range it would be poison)."""
    target = ir.IntType(bits)
    low = -float(1 << (bits - 1)) if signed else 0.0
    top = float(1 << (bits - 1)) if signed else float(1 << bits)
    largest = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    zero = ir.Constant(x.type, 0.0)
    floored = b.select(
        b.fcmp_ordered("<", x, ir.Constant(x.type, low)), ir.Constant(x.type, low), x
    )
    above = b.fcmp_ordered(">=", x, ir.Constant(x.type, top))
    nan = b.fcmp_unordered("uno", x, x)
    inside = b.select(b.or_(above, nan), zero, floored)
    converted = b.fptosi(inside, target) if signed else b.fptoui(inside, target)
    capped = b.select(above, ir.Constant(target, largest), converted)
    return b.select(nan, ir.Constant(target, 0), capped)


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
        return _saturating_to_int(b, value, dst.bits, dst.is_signed)
    if dst.is_float:
        return b.sitofp(value, target) if src_signed else b.uitofp(value, target)
    src_bits = 8 if src.kind == "bool" else src.bits
    if dst.bits == src_bits:
        return value
    if dst.bits < src_bits:
        return b.trunc(value, target)
    return b.sext(value, target) if src_signed else b.zext(value, target)
