"""The declaration of every first-order operator of the IR — one entry per op.

An `OpDecl` states everything about an operator in one place:

* its text syntax — `infix` (`a + b`, with a precedence level), `prefix` (`-a`) or `call`
  (`exp(a)`, `lookup(v, i)`); the parser's grammar and the printer are built from it;
* its type rule — what argument types it accepts and the type it returns; the type checker
  calls it;
* its meaning — `evaluate` computes it on the reference interpreter's values with Weld's (and,
  where Weld is silent, C's) semantics: integers wrap, integer division truncates, floats are
  IEEE 754. The exact choices are written down in docs/ir.md;
* its traits — what passes and backends may assume about it (`can_fail`, `effect`,
  `short_circuit_on`, `commutative`, `associative`, `reads_container`): they ask the
  declaration, never the op's name.

The merge operators of builders (`merger[T,+]`) are declared the same way, in `MERGE_OP_DECLS`.

>>> from daybreak.ir.ops import OPS
>>> from daybreak.ir.types import I32
>>> OPS["+"].evaluate([2**31 - 1, 1], [I32, I32], I32)   # integers wrap
-2147483648
>>> OPS["/"].evaluate([-7, 2], [I32, I32], I32)           # and divide toward zero
-3
>>> OPS["lookup"].can_fail, OPS["+"].commutative, OPS["&&"].short_circuit_on
(True, True, False)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .types import (
    BOOL,
    I64,
    Dict,
    Scalar,
    Struct,
    Type,
    Unknown,
    Vec,
)


class OpTypeError(Exception):
    """Raised by a type rule; the type checker adds the location of the offending node."""


class NeedsInference(Exception):
    """Raised by a type rule that cannot decide yet because an argument type is unknown."""


class Unifier:
    """What a type rule may ask of the type checker (implemented there)."""

    def resolve(self, t: Type) -> Type:  # pragma: no cover - interface
        raise NotImplementedError

    def unify(self, a: Type, b: Type, what: str) -> Type:  # pragma: no cover - interface
        raise NotImplementedError

    def is_unknown(self, t: Type) -> bool:
        """Whether `t` is a type not yet inferred (the checker has its own variables)."""
        return isinstance(t, Unknown)


TypeRule = Callable[[Unifier, Sequence[Type]], Type]
Evaluate = Callable[[list[Any], Sequence[Type], Type], Any]


@dataclass(frozen=True)
class OpDecl:
    name: str  # the key in OPS; for call syntax also the keyword
    form: str  # "infix" | "prefix" | "call"
    arity: int
    type_rule: TypeRule
    evaluate: Evaluate
    symbol: str = ""  # infix/prefix: the text written
    level: int = 0  # infix: precedence level, higher binds tighter
    chain: bool = True  # infix: may `a op b op c` chain (left-assoc)? comparisons may not
    # -- traits: what a pass or backend may assume (docs/ir.md, "Semantics") ---------------
    # May raise a runtime error on some arguments (an index out of bounds, a failed assert):
    # such an op must not be dropped, duplicated or moved past another that can fail.
    can_fail: bool = False
    # Evaluating it does more than compute its value (an assertion checks): it is never
    # evaluated ahead of time by a pass, even on literal arguments.
    effect: bool = False
    # `&&` false, `||` true: the left operand's value that is the result by itself, without
    # evaluating the right side; None for ops that evaluate every argument, always.
    short_circuit_on: bool | None = None
    # `a op b` has the value of `b op a` for all arguments (bit for bit), so a pass may swap
    # operands that cannot fail. Not set on short-circuit ops: swapping changes what runs.
    commutative: bool = False
    # `(a op b) op c` has the value of `a op (b op c)`: exactly, except on floats, where the
    # two differ by rounding (`+`, `*`); regrouping those is allowed only where the order is
    # unspecified, as in a merger (docs/ir.md, "Builders").
    associative: bool = False
    # The first argument is a vector or dict the op only reads (its length, one element, a
    # key's presence): the container itself does not escape into the result.
    reads_container: bool = False
    # Computed by a long series of instructions (exp, log, sin, erf, pow): several times
    # faster where a loop computes its elements side by side (vectorised), so a pass does not
    # move it into a loop that must run its elements in order (a scanner's, `in_merge_order`).
    costly: bool = False

    @property
    def short_circuit(self) -> bool:
        """Whether the right side is evaluated only when the left does not decide."""
        return self.short_circuit_on is not None


OPS: dict[str, OpDecl] = {}


def _declare(**kw) -> None:
    decl = OpDecl(**kw)
    OPS[decl.name] = decl


# ----------------------------------------------------------------------------------------------
# Scalar semantics shared by the operators (and by mergers and casts).


def wrap_int(v: int, t: Scalar) -> int:
    """Two's-complement wrap-around of a Python int to the width of integer type `t`."""
    bits = t.bits
    v &= (1 << bits) - 1
    if t.is_signed and v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


def to_f32(x: float) -> float:
    """Round a Python float to the nearest float32 (IEEE: overflow gives inf)."""
    with np.errstate(all="ignore"):
        return float(np.float32(x))


def fix_scalar(v, t: Scalar):
    """Bring a Python number into the value set of type `t` (wrap ints, round f32)."""
    if t.is_int:
        return wrap_int(int(v), t)
    if t.kind == "f32":
        return to_f32(v)
    if t.kind == "f64":
        return float(v)
    return bool(v)


def int_min(t: Scalar) -> int:
    return -(1 << (t.bits - 1)) if t.is_signed else 0


def int_max(t: Scalar) -> int:
    return (1 << (t.bits - 1)) - 1 if t.is_signed else (1 << t.bits) - 1


def _float_div(a: float, b: float) -> float:
    if b == 0.0:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _int_div(a: int, b: int) -> int:
    # C: truncate toward zero. Division by zero is undefined in C; daybreak defines it as 0.
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def _int_rem(a: int, b: int) -> int:
    # C: the remainder has the sign of the dividend; x % 0 is defined as 0.
    if b == 0:
        return 0
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _fmin(a: float, b: float) -> float:
    # NaN-propagating, and -0.0 < 0.0 (LLVM's llvm.minimum, NumPy's np.minimum).
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == b == 0.0:
        return a if math.copysign(1.0, a) < 0 else b
    return a if a < b else b


def _fmax(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if a == b == 0.0:
        return a if math.copysign(1.0, a) > 0 else b
    return a if a > b else b


def _numeric_binary(int_fn, float_fn):
    """Evaluate a binary op on scalars of one type, wrapping ints and rounding f32."""

    def evaluate(args, types, result):
        a, b = args
        t = types[0]
        if t.is_int:
            return wrap_int(int_fn(a, b), t)
        if t.kind == "bool":
            return bool(int_fn(a, b))
        v = float_fn(a, b)
        return to_f32(v) if t.kind == "f32" else v

    return evaluate


# ----------------------------------------------------------------------------------------------
# Ordering and equality of values of any type (for ==, <, sort keys, dict keys).


def compare_values(a, b, t: Type) -> int | None:
    """-1, 0 or 1 by IEEE/lexicographic order; None when unordered (a NaN is involved)."""
    if isinstance(t, Scalar):
        if a == b:
            return 0
        if a < b:
            return -1
        if a > b:
            return 1
        return None
    if isinstance(t, Struct):
        for x, y, ft in zip(a, b, t.fields, strict=True):
            c = compare_values(x, y, ft)
            if c != 0:
                return c
        return 0
    if isinstance(t, Vec):
        for x, y in zip(a, b, strict=False):
            c = compare_values(x, y, t.elem)
            if c != 0:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    if isinstance(t, Dict):
        return 0 if a == b else None
    raise TypeError(f"values of type {t} cannot be compared")


def _comparison(test, when_unordered=False):
    def evaluate(args, types, result):
        c = compare_values(args[0], args[1], types[0])
        return when_unordered if c is None else test(c)

    return evaluate


# ----------------------------------------------------------------------------------------------
# Type rules.


def _scalar_of(u: Unifier, t: Type, what: str) -> Scalar:
    r = u.resolve(t)
    if u.is_unknown(r):
        raise NeedsInference(what)
    if not isinstance(r, Scalar):
        raise OpTypeError(f"{what} must be a scalar, not {r}")
    return r


def _same_type_rule(accept: Callable[[Scalar], bool], kinds: str, result: Type | None = None):
    """Both operands of one scalar type accepted by `accept`; result that type (or `result`)."""

    def rule(u: Unifier, args: Sequence[Type]) -> Type:
        t = args[0]
        for other in args[1:]:
            t = u.unify(t, other, "the operands")
        s = _scalar_of(u, t, "the operands")
        if not accept(s):
            raise OpTypeError(f"operands must be {kinds}, not {s}")
        return result or s

    return rule


def _any_value_rule(ordered: bool):
    """Comparisons: two operands of one value type; the result is bool."""

    def rule(u: Unifier, args: Sequence[Type]) -> Type:
        t = u.resolve(u.unify(args[0], args[1], "the operands"))
        if u.is_unknown(t):
            raise NeedsInference("operands")
        if t.is_builder or (ordered and isinstance(t, Dict)):
            raise OpTypeError(f"values of type {t} cannot be compared")
        return BOOL

    return rule


def _numeric(s: Scalar) -> bool:
    return s.is_numeric


def _float(s: Scalar) -> bool:
    return s.is_float


def _integral(s: Scalar) -> bool:
    return s.is_int or s.kind == "bool"


def _orderable(s: Scalar) -> bool:
    return True


def _is_bool(s: Scalar) -> bool:
    return s.kind == "bool"


def _float_pred_rule(u: Unifier, args: Sequence[Type]) -> Type:
    _same_type_rule(_float, "f32 or f64")(u, args)
    return BOOL


def _select_rule(u: Unifier, args: Sequence[Type]) -> Type:
    c = u.resolve(u.unify(args[0], BOOL, "the condition of select"))
    assert c == BOOL
    return u.unify(args[1], args[2], "the two choices of select")


def _int_index(u: Unifier, t: Type, what: str) -> None:
    s = _scalar_of(u, t, what)
    if not s.is_int:
        raise OpTypeError(f"{what} must be an integer, not {s}")


def _container(u: Unifier, t: Type, what: str, allow=(Vec, Dict)) -> Type:
    r = u.resolve(t)
    if u.is_unknown(r):
        raise NeedsInference(what)
    if not isinstance(r, allow):
        names = " or ".join("a vec" if a is Vec else "a dict" for a in allow)
        raise OpTypeError(f"{what} must be {names}, not {r}")
    return r


def _len_rule(u, args):
    _container(u, args[0], "the argument of len")
    return I64


def _lookup_rule(u, args):
    c = _container(u, args[0], "the first argument of lookup")
    if isinstance(c, Vec):
        _int_index(u, args[1], "a vector index")
        return c.elem
    u.unify(args[1], c.key, "the key")
    return c.value


def _optlookup_rule(u, args):
    d = _container(u, args[0], "the first argument of optlookup", (Dict,))
    u.unify(args[1], d.key, "the key")
    return Struct((BOOL, d.value))


def _keyexists_rule(u, args):
    d = _container(u, args[0], "the first argument of keyexists", (Dict,))
    u.unify(args[1], d.key, "the key")
    return BOOL


def _slice_rule(u, args):
    v = _container(u, args[0], "the first argument of slice", (Vec,))
    _int_index(u, args[1], "the start of slice")
    _int_index(u, args[2], "the size of slice")
    return v


def _tovec_rule(u, args):
    d = _container(u, args[0], "the argument of tovec", (Dict,))
    return Vec(Struct((d.key, d.value)))


def _assert_rule(u, args):
    u.unify(args[0], BOOL, "the argument of assert")
    return BOOL


# ----------------------------------------------------------------------------------------------
# Evaluation of the collection operators (the interpreter's runtime errors are raised with
# `OpRuntimeError`; the interpreter adds the location).


class OpRuntimeError(Exception):
    pass


def _eval_lookup(args, types, result):
    data, key = args
    if isinstance(types[0], Vec):
        if not 0 <= key < len(data):
            raise OpRuntimeError(f"index {key} out of bounds for a vector of length {len(data)}")
        return data[key]
    try:
        return data[canonical_key(key, types[0].key)]
    except KeyError:
        raise OpRuntimeError(f"key {key!r} not found in dictionary") from None


def _eval_optlookup(args, types, result):
    data, key = args
    k = canonical_key(key, types[0].key)
    if k in data:
        return (True, data[k])
    return (False, zero_value(types[0].value))


def _eval_slice(args, types, result):
    data, start, size = args
    n = len(data)
    start = min(max(start, 0), n)
    end = min(start + max(size, 0), n)
    return data[start:end]


def _eval_assert(args, types, result):
    if not args[0]:
        raise OpRuntimeError("assertion failed")
    return True


def canonical_key(value, t: Type):
    """The dictionary key for `value`: all NaNs are one key, and -0.0 is the key 0.0."""
    if isinstance(t, Scalar):
        if t.is_float:
            if value != value:
                return _CANONICAL_NAN
            return value + 0.0  # -0.0 + 0.0 == 0.0
        return value
    if isinstance(t, Struct):
        return tuple(canonical_key(v, ft) for v, ft in zip(value, t.fields, strict=True))
    if isinstance(t, Vec):
        if isinstance(t.elem, Scalar) and not t.elem.is_float:
            return value
        return tuple(canonical_key(v, t.elem) for v in value)
    return value


_CANONICAL_NAN = float("nan")


def sort_key(t: Type):
    """A Python sort key giving the total order used by `tovec`: IEEE order with NaN last,
    structs and vectors lexicographically."""
    if isinstance(t, Scalar):
        if t.is_float:
            return lambda v: (1, 0.0) if v != v else (0, v)
        return lambda v: v
    if isinstance(t, Struct):
        keys = [sort_key(f) for f in t.fields]
        return lambda v: tuple(k(x) for k, x in zip(keys, v, strict=True))
    if isinstance(t, Vec):
        k = sort_key(t.elem)
        return lambda v: tuple(k(x) for x in v)
    raise TypeError(f"values of type {t} have no order")


def _eval_tovec(args, types, result):
    d = args[0]
    key = sort_key(types[0].key)
    return tuple(sorted(d.items(), key=lambda kv: key(kv[0])))


def zero_value(t: Type):
    """The zero of a type: 0, 0.0, false, an empty vector, a struct of zeros, an empty dict."""
    if isinstance(t, Scalar):
        return fix_scalar(0, t)
    if isinstance(t, Vec):
        return ()
    if isinstance(t, Struct):
        return tuple(zero_value(f) for f in t.fields)
    if isinstance(t, Dict):
        return {}
    raise TypeError(f"type {t} has no zero value")


# ----------------------------------------------------------------------------------------------
# The table.

# (symbol, level, on integers, on floats, commutative and associative)
_INFIX_ARITH = [
    ("+", 9, lambda a, b: a + b, lambda a, b: a + b, True),
    ("-", 9, lambda a, b: a - b, lambda a, b: a - b, False),
    ("*", 10, lambda a, b: a * b, lambda a, b: a * b, True),
    ("/", 10, _int_div, _float_div, False),
    ("%", 10, _int_rem, lambda a, b: float(np.fmod(a, b)), False),
]
for _sym, _level, _ifn, _ffn, _ring in _INFIX_ARITH:
    _declare(
        name=_sym,
        form="infix",
        symbol=_sym,
        level=_level,
        arity=2,
        commutative=_ring,
        associative=_ring,
        type_rule=_same_type_rule(_numeric, "numbers"),
        evaluate=_numeric_binary(_ifn, _ffn),
    )

for _sym, _level, _fn in [
    ("&", 5, lambda a, b: a & b),
    ("^", 4, lambda a, b: a ^ b),
    ("|", 3, lambda a, b: a | b),
]:
    _declare(
        name=_sym,
        form="infix",
        symbol=_sym,
        level=_level,
        arity=2,
        commutative=True,
        associative=True,
        type_rule=_same_type_rule(_integral, "integers or bool"),
        evaluate=_numeric_binary(_fn, None),
    )


def _shift(left: bool):
    """`a << s` / `a >> s` on integers of one type, as NumPy shifts: the amount is read as
    unsigned, and an amount of the width or more (or negative) shifts every bit out — 0,
    or -1 for a negative signed `a` shifted right (arithmetic shift; logical on unsigned)."""

    def evaluate(args, types, result):
        a, amount = args
        t = types[0]
        amount &= (1 << t.bits) - 1  # as unsigned
        if amount >= t.bits:
            return -1 if (not left and t.is_signed and a < 0) else 0
        if left:
            return wrap_int(a << amount, t)
        if t.is_signed:
            return a >> amount  # Python's >> is arithmetic
        return (a & ((1 << t.bits) - 1)) >> amount

    return evaluate


# Shifts bind looser than `+` and tighter than comparisons, as in C (`a << n - 1 < b`).
for _sym, _left in (("<<", True), (">>", False)):
    _declare(
        name=_sym,
        form="infix",
        symbol=_sym,
        level=8,
        arity=2,
        type_rule=_same_type_rule(lambda s: s.is_int, "integers"),
        evaluate=_shift(_left),
    )

# (symbol, level, the test of the three-way comparison, whether it only tells equal from
# unequal (commutative, and defined on every value, not only on ordered ones), its value when
# the operands are unordered: `!=` is true (NaN != NaN), the others are false)
for _sym, _level, _test, _equality, _unordered in [
    ("==", 6, lambda c: c == 0, True, False),
    ("!=", 6, lambda c: c != 0, True, True),
    ("<", 7, lambda c: c < 0, False, False),
    ("<=", 7, lambda c: c <= 0, False, False),
    (">", 7, lambda c: c > 0, False, False),
    (">=", 7, lambda c: c >= 0, False, False),
]:
    _declare(
        name=_sym,
        form="infix",
        symbol=_sym,
        level=_level,
        chain=False,
        arity=2,
        commutative=_equality,
        type_rule=_any_value_rule(ordered=not _equality),
        evaluate=_comparison(_test, when_unordered=_unordered),
    )

_declare(
    name="&&",
    form="infix",
    symbol="&&",
    level=2,
    arity=2,
    associative=True,
    short_circuit_on=False,
    type_rule=_same_type_rule(_is_bool, "bool"),
    evaluate=lambda args, types, r: bool(args[0] and args[1]),
)
_declare(
    name="||",
    form="infix",
    symbol="||",
    level=1,
    arity=2,
    associative=True,
    short_circuit_on=True,
    type_rule=_same_type_rule(_is_bool, "bool"),
    evaluate=lambda args, types, r: bool(args[0] or args[1]),
)

_declare(
    name="neg",
    form="prefix",
    symbol="-",
    arity=1,
    type_rule=_same_type_rule(_numeric, "numbers"),
    evaluate=lambda args, types, r: fix_scalar(-args[0], types[0]),
)
_declare(
    name="not",
    form="prefix",
    symbol="!",
    arity=1,
    type_rule=_same_type_rule(_is_bool, "bool"),
    evaluate=lambda args, types, r: not args[0],
)


def _np_unary(fn):
    def evaluate(args, types, result):
        t = types[0]
        with np.errstate(all="ignore"):
            return float(fn(t.dtype.type(args[0])))

    return evaluate


def _math_unary(fn):
    # Computed in double precision and rounded once (erf is not in NumPy).
    def evaluate(args, types, result):
        v = fn(args[0])
        return to_f32(v) if types[0].kind == "f32" else v

    return evaluate


_FLOAT_MATH = {
    "exp": np.exp,
    "log": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "sqrt": np.sqrt,
    "cbrt": np.cbrt,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "floor": np.floor,
    "ceil": np.ceil,
    "trunc": np.trunc,
    "rint": np.rint,
}
# (one instruction each: the rest of _FLOAT_MATH is `costly`)
_SINGLE_INSTRUCTION = frozenset({"sqrt", "floor", "ceil", "trunc", "rint"})
for _name, _fn in _FLOAT_MATH.items():
    _declare(
        name=_name,
        form="call",
        arity=1,
        type_rule=_same_type_rule(_float, "f32 or f64"),
        evaluate=_np_unary(_fn),
        costly=_name not in _SINGLE_INSTRUCTION,
    )
for _name, _fn in {"erf": math.erf, "erfc": math.erfc}.items():
    _declare(
        name=_name,
        form="call",
        arity=1,
        type_rule=_same_type_rule(_float, "f32 or f64"),
        evaluate=_math_unary(_fn),
        costly=True,
    )
for _name, _fn in {"isnan": math.isnan, "isinf": math.isinf, "isfinite": math.isfinite}.items():
    _declare(
        name=_name,
        form="call",
        arity=1,
        type_rule=_float_pred_rule,
        evaluate=(lambda fn: lambda args, types, r: fn(args[0]))(_fn),
    )


def _eval_abs(args, types, result):
    t = types[0]
    return fix_scalar(abs(args[0]), t)


_declare(
    name="abs",
    form="call",
    arity=1,
    type_rule=_same_type_rule(_numeric, "numbers"),
    evaluate=_eval_abs,
)
_declare(
    name="min",
    form="call",
    arity=2,
    commutative=True,
    associative=True,
    type_rule=_same_type_rule(_orderable, "scalars"),
    evaluate=_numeric_binary(min, _fmin),
)
_declare(
    name="max",
    form="call",
    arity=2,
    commutative=True,
    associative=True,
    type_rule=_same_type_rule(_orderable, "scalars"),
    evaluate=_numeric_binary(max, _fmax),
)


def _c_pow(x: float, y: float) -> float:
    """C99's pow (Annex F). math.pow follows it for special values but raises where C returns
    a value: a domain error (negative base, non-integer exponent) is NaN, a pole (zero base,
    negative exponent) and an overflow are infinities with C's signs."""
    odd = y.is_integer() and abs(y) < 2.0**53 and int(y) % 2 == 1
    try:
        return math.pow(x, y)
    except ValueError:
        if x == 0.0:
            return math.copysign(math.inf, x) if odd else math.inf
        return math.nan
    except OverflowError:
        return -math.inf if (x < 0 and odd) else math.inf


def _math_binary(fn):
    def evaluate(args, types, result):
        v = fn(float(args[0]), float(args[1]))
        return to_f32(v) if types[0].kind == "f32" else v

    return evaluate


for _name, _fn in {
    "pow": _c_pow,
    "atan2": math.atan2,
    "hypot": math.hypot,
    "copysign": math.copysign,
}.items():
    _declare(
        name=_name,
        form="call",
        arity=2,
        type_rule=_same_type_rule(_float, "f32 or f64"),
        evaluate=_math_binary(_fn),
        costly=_name != "copysign",
    )

_declare(
    name="select",
    form="call",
    arity=3,
    type_rule=_select_rule,
    evaluate=lambda args, types, r: args[1] if args[0] else args[2],
)
_declare(
    name="len",
    form="call",
    arity=1,
    reads_container=True,
    type_rule=_len_rule,
    evaluate=lambda args, types, r: len(args[0]),
)
_declare(
    name="lookup",
    form="call",
    arity=2,
    can_fail=True,  # an index out of bounds, a key not in the dict
    reads_container=True,
    type_rule=_lookup_rule,
    evaluate=_eval_lookup,
)
_declare(
    name="optlookup",
    form="call",
    arity=2,
    reads_container=True,
    type_rule=_optlookup_rule,
    evaluate=_eval_optlookup,
)
_declare(
    name="keyexists",
    form="call",
    arity=2,
    reads_container=True,
    type_rule=_keyexists_rule,
    evaluate=lambda args, types, r: canonical_key(args[1], types[0].key) in args[0],
)
_declare(name="slice", form="call", arity=3, type_rule=_slice_rule, evaluate=_eval_slice)
_declare(name="tovec", form="call", arity=1, type_rule=_tovec_rule, evaluate=_eval_tovec)
_declare(
    name="assert",
    form="call",
    arity=1,
    can_fail=True,
    effect=True,
    type_rule=_assert_rule,
    evaluate=_eval_assert,
)

# Views of the table that the parser and printer use.
INFIX_LEVELS: dict[int, list[OpDecl]] = {}
for _d in OPS.values():
    if _d.form == "infix":
        INFIX_LEVELS.setdefault(_d.level, []).append(_d)
INFIX_BY_SYMBOL = {d.symbol: d for d in OPS.values() if d.form == "infix"}
PREFIX_BY_SYMBOL = {d.symbol: d for d in OPS.values() if d.form == "prefix"}
CALL_OPS = {d.name: d for d in OPS.values() if d.form == "call"}
PREFIX_LEVEL = 11  # prefix operators bind tighter than every infix operator


# ----------------------------------------------------------------------------------------------
# Merge operators of mergers, dictmergers and vecmergers (`+ * min max`), elementwise on structs.


@dataclass(frozen=True)
class MergeOpDecl:
    """A merge operator as written in a builder type (`merger[T,+]`). Its `combine` op is
    declared commutative and associative: a builder combines merges in an unspecified order."""

    symbol: str  # as written in the builder type; the key in MERGE_OP_DECLS
    combine: str  # the op of OPS that combines two merged values
    label: str  # the operator in generated names (`add`: symbols may not hold `+`)
    numbers_only: bool  # + and * are defined on numbers; min and max on every scalar
    # identity(t): the value of scalar type t merging into which changes nothing
    identity: Callable[[Scalar], Any]


def _largest(t: Scalar):
    if t.kind == "bool":
        return True
    return math.inf if t.is_float else int_max(t)


def _smallest(t: Scalar):
    if t.kind == "bool":
        return False
    return -math.inf if t.is_float else int_min(t)


MERGE_OP_DECLS: dict[str, MergeOpDecl] = {
    d.symbol: d
    for d in (
        MergeOpDecl("+", "+", "add", numbers_only=True, identity=lambda t: fix_scalar(0, t)),
        MergeOpDecl("*", "*", "mul", numbers_only=True, identity=lambda t: fix_scalar(1, t)),
        # min starts from the top, max from the bottom
        MergeOpDecl("min", "min", "min", numbers_only=False, identity=_largest),
        MergeOpDecl("max", "max", "max", numbers_only=False, identity=_smallest),
    )
}


def merge_combine(op: str, a, b, t: Type):
    """Combine two values of type `t` (a scalar or a struct of scalars) with merge op `op`."""
    if isinstance(t, Struct):
        return tuple(merge_combine(op, x, y, ft) for x, y, ft in zip(a, b, t.fields, strict=True))
    return OPS[MERGE_OP_DECLS[op].combine].evaluate([a, b], [t, t], t)


def merge_identity(op: str, t: Type):
    """The identity of merge op `op` on type `t` (a scalar or a struct of scalars): 0 for +,
    1 for *, the largest value for min, the smallest for max."""
    if isinstance(t, Struct):
        return tuple(merge_identity(op, f) for f in t.fields)
    assert isinstance(t, Scalar)
    return MERGE_OP_DECLS[op].identity(t)


def merge_op_accepts(op: str, t: Type) -> bool:
    """Whether merge op `op` is defined on type `t` (+ and * on numbers; min, max on any scalar;
    elementwise on structs of those)."""
    if isinstance(t, Struct):
        return bool(t.fields) and all(merge_op_accepts(op, f) for f in t.fields)
    decl = MERGE_OP_DECLS.get(op)
    if decl is None or not isinstance(t, Scalar):
        return False
    return t.is_numeric if decl.numbers_only else True


__all__ = [
    "OPS",
    "OpDecl",
    "MergeOpDecl",
    "MERGE_OP_DECLS",
    "OpTypeError",
    "NeedsInference",
    "OpRuntimeError",
    "Unifier",
    "INFIX_LEVELS",
    "INFIX_BY_SYMBOL",
    "PREFIX_BY_SYMBOL",
    "CALL_OPS",
    "PREFIX_LEVEL",
    "compare_values",
    "canonical_key",
    "sort_key",
    "zero_value",
    "wrap_int",
    "to_f32",
    "fix_scalar",
    "merge_combine",
    "merge_identity",
    "merge_op_accepts",
]
